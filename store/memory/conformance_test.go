package memory

import (
	"testing"
	"time"

	"github.com/caddyotp/caddyotp/store"
	"github.com/caddyotp/caddyotp/store/storetest"
)

func TestMemoryConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) (store.Store, func(time.Duration)) {
			clk := storetest.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
			return New(clk.Now), clk.Advance
		},
	})
}
