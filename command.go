package caddyotp

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/caddyotp/caddyotp/internal/flow"
	"github.com/caddyotp/caddyotp/internal/phone"
	"github.com/caddyotp/caddyotp/sms"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "phone-otp",
		Usage: "secret | send --config <path> [--adapter <name>] --phone <number> [--issuer <name>] [--host <name>]",
		Short: "Makes a phone_otp secret, or sends a test SMS through the configured provider",
		Long: `
Tools for the phone_otp handler.

secret
    Prints a new random secret (48 bytes, base64) for the secret option:
    export OTP_SECRET="$(caddy phone-otp secret)"

send
    Loads the config, finds its phone_otp handlers, sets up each one's SMS
    provider and sends a test message through it to --phone, then reports
    the provider's answer: its message id, or its error. Test credentials
    with it before going live. The code in the message is random and valid
    for nothing. Handlers with the same provider settings send once.

    --config   the config file (default: ./Caddyfile)
    --adapter  its adapter (default: by file name, caddyfile for Caddyfile)
    --phone    the destination, in E.164 form (+12015550123)
    --issuer   only the phone_otp handler with this issuer
    --host     the site named in the message (default: the route's host)
`,
		CobraFunc: func(cmd *cobra.Command) {
			secret := &cobra.Command{
				Use:   "secret",
				Short: "Prints a new random secret for the secret option",
				Args:  cobra.NoArgs,
				RunE:  caddycmd.WrapCommandFuncForCobra(cmdSecret),
			}
			send := &cobra.Command{
				Use:   "send --config <path> [--adapter <name>] --phone <number> [--issuer <name>] [--host <name>]",
				Short: "Sends a test SMS through each configured provider",
				Args:  cobra.NoArgs,
				RunE:  caddycmd.WrapCommandFuncForCobra(cmdSend),
			}
			send.Flags().StringP("config", "c", "", "Configuration file")
			send.Flags().StringP("adapter", "a", "", "Name of config adapter to apply")
			send.Flags().String("phone", "", "Destination phone number, E.164 (+12015550123)")
			send.Flags().String("issuer", "", "Only the phone_otp handler with this issuer")
			send.Flags().String("host", "", "Site named in the message (default: the route's host)")
			cmd.AddCommand(secret, send)
		},
	})
}

// secretLen is the secret's length in bytes: above the 32 that HS256 needs.
const secretLen = 48

func cmdSecret(caddycmd.Flags) (int, error) {
	b := make([]byte, secretLen)
	rand.Read(b)
	fmt.Println(base64.StdEncoding.EncodeToString(b))
	return caddy.ExitCodeSuccess, nil
}

func cmdSend(fl caddycmd.Flags) (int, error) {
	input := fl.String("phone")
	if input == "" {
		return caddy.ExitCodeFailedStartup, errors.New("--phone is required")
	}
	config := fl.String("config")
	cfg, _, _, err := caddycmd.LoadConfig(config, fl.String("adapter"))
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	if len(cfg) == 0 {
		return caddy.ExitCodeFailedStartup, errors.New("no config: name one with --config")
	}
	found, err := findHandlers(cfg, fl.String("issuer"))
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}

	failed := 0
	seen := map[string]bool{}
	for _, f := range found {
		if seen[string(f.h.SMSRaw)] {
			continue
		}
		seen[string(f.h.SMSRaw)] = true
		host := fl.String("host")
		if host == "" {
			host = f.host
		}
		name, res, err := f.h.sendTest(input, host)
		where := fmt.Sprintf("phone_otp (issuer %s, site %s)", f.h.Issuer, host)
		var phoneErr *testPhoneError
		switch {
		case errors.As(err, &phoneErr):
			return caddy.ExitCodeFailedStartup, err
		case err != nil && name == "":
			fmt.Printf("%s: cannot set up the provider: %v\n", where, err)
			failed++
		case err != nil:
			fmt.Printf("%s: %s refused: %v\n", where, name, err)
			failed++
		default:
			fmt.Printf("%s: %s accepted the message to %s: id %q\n", where, name, sms.MaskPhone(res.phone), res.ID)
		}
	}
	if failed > 0 {
		return caddy.ExitCodeFailedStartup, fmt.Errorf("%d of %d providers failed", failed, len(seen))
	}
	return caddy.ExitCodeSuccess, nil
}

// foundHandler is a phone_otp handler in a config, and the host of the
// nearest route around it that names one.
type foundHandler struct {
	h    *Handler
	host string
}

// findHandlers finds the phone_otp handlers anywhere in a JSON config
// (in routes, subroutes, handle blocks), optionally of one issuer.
func findHandlers(cfg []byte, issuer string) ([]foundHandler, error) {
	var root any
	if err := json.Unmarshal(cfg, &root); err != nil {
		return nil, fmt.Errorf("decoding config: %w", err)
	}
	var raws []struct {
		raw  []byte
		host string
	}
	var walk func(v any, host string)
	walk = func(v any, host string) {
		switch v := v.(type) {
		case []any:
			for _, x := range v {
				walk(x, host)
			}
		case map[string]any:
			if sets, ok := v["match"].([]any); ok {
				for _, set := range sets {
					if m, ok := set.(map[string]any); ok {
						if hosts, ok := m["host"].([]any); ok && len(hosts) > 0 {
							host, _ = hosts[0].(string)
						}
					}
				}
			}
			if v["handler"] == "phone_otp" {
				raw, _ := json.Marshal(v)
				raws = append(raws, struct {
					raw  []byte
					host string
				}{raw, host})
			}
			for _, k := range slices.Sorted(maps.Keys(v)) { // a stable order
				walk(v[k], host)
			}
		}
	}
	walk(root, "localhost")

	var out []foundHandler
	for _, r := range raws {
		h := new(Handler)
		if err := json.Unmarshal(r.raw, h); err != nil {
			return nil, fmt.Errorf("decoding a phone_otp handler: %w", err)
		}
		repl := caddy.NewReplacer()
		h.Issuer, h.Message = repl.ReplaceKnown(h.Issuer, ""), repl.ReplaceKnown(h.Message, "")
		h.setDefaults()
		if issuer != "" && h.Issuer != issuer {
			continue
		}
		host := r.host
		if o := normalHost(repl.ReplaceKnown(h.Origin, "")); o != "" {
			host = o // what the site's own texts name
		}
		out = append(out, foundHandler{h: h, host: host})
	}
	if len(out) == 0 {
		if issuer != "" {
			return nil, fmt.Errorf("the config has no phone_otp handler with issuer %q", issuer)
		}
		return nil, errors.New("the config has no phone_otp handler")
	}
	return out, nil
}

// testPhoneError is a --phone that is not a phone number.
type testPhoneError struct{ err error }

func (e *testPhoneError) Error() string { return "--phone: " + e.err.Error() }

// testResult is a provider's answer to a test message.
type testResult struct {
	sms.Result
	phone string
}

// sendTest sets up h's provider alone (not the store, not the secret) and
// sends it a message with a random code that is stored nowhere. It returns
// the provider's name once the provider is set up.
func (h *Handler) sendTest(input, host string) (string, testResult, error) {
	region := ""
	if len(h.Countries) > 0 {
		region = h.Countries[0]
	}
	phone, err := phone.Parse(input, region)
	if err != nil {
		return "", testResult{}, &testPhoneError{errors.New("not a valid phone number; write it with + and the country code")}
	}
	if h.SMSRaw == nil {
		return "", testResult{}, errors.New("the handler has no sms provider")
	}
	// An empty config gives the provider Caddy's default logger (JSON on
	// stderr) rather than the bare context's development logger.
	ctx, err := caddy.ProvisionContext(new(caddy.Config))
	if err != nil {
		return "", testResult{}, err
	}
	mod, err := ctx.LoadModule(h, "SMSRaw")
	if err != nil {
		return "", testResult{}, err
	}
	p, ok := mod.(sms.Provider)
	if !ok {
		return "", testResult{}, fmt.Errorf("module %T is not an SMS provider", mod)
	}
	name := caddy.GetModuleName(mod)

	// The provider's own timeout bounds each call; this bounds the whole.
	sendCtx, stop := context.WithTimeout(ctx, 2*time.Minute)
	defer stop()
	msg := sms.Message{Phone: phone, CodeLength: h.CodeLength, Host: host, TTL: time.Duration(h.CodeTTL)}
	if rc, ok := p.(sms.RemoteChecker); !ok || !rc.ChecksRemotely() {
		msg.Code = flow.RandomCode(h.CodeLength)
		msg.Text = h.renderMessage(msg.Code, host)
	}
	res, err := p.Send(sendCtx, msg)
	return name, testResult{Result: res, phone: phone}, err
}
