package memory

import (
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/internal/fake"
	"github.com/caddyotp/caddyotp/store"
	"github.com/caddyotp/caddyotp/store/storetest"
)

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) (store.Store, func(time.Duration)) {
			clk := fake.NewClock()
			return New(clk.Now), clk.Step
		},
	})
}
