package caddyotp

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddyotp/caddyotp/internal/flow"
	"github.com/caddyotp/caddyotp/sms"
)

// reachOptions are the options for calls and for how the pages present
// the site (issue 17). Handler embeds them, so the JSON stays flat.
type reachOptions struct {
	// A second provider that makes the calls "Call me instead" asks for,
	// when the `sms` provider cannot call: a module in the
	// http.handlers.phone_otp.sms namespace that can (twilio_verify,
	// dexatel with voice_template or channel VOICE, log). With it, or
	// with an `sms` provider that can call itself, the code page offers
	// "Call me instead" once resend_after has passed: the same limits,
	// the same block, counted as a send. Default: none; the `sms`
	// provider's own calls, if it can make them.
	CallRaw json.RawMessage `json:"call,omitempty" caddy:"namespace=http.handlers.phone_otp.sms inline_key=provider"`

	// An image file shown at the top of every page, served by phone_otp
	// at {prefix}/logo: PNG, JPEG, GIF, WebP or SVG (the type is read
	// from the content), at most 256 KiB, read at start-up and on reload,
	// sent with an ETag and cached for a day. Default: none.
	Logo string `json:"logo,omitempty"`

	// The logo as a URL path on this site (`/static/logo.svg`), for a
	// logo the site serves itself; the pages' Content-Security-Policy
	// allows images from the site only. Not with logo. Default: none.
	LogoURL string `json:"logo_url,omitempty"`

	callSender sms.Provider // the `call` provider, before joinCalls
	canCall    bool         // the code page offers "Call me instead"
	logo       *logoImage   // logo, read; nil without one
}

// provisionSender loads the `sms` provider, and the `call` provider if
// there is one, and checks that both take code_length.
func (h *Handler) provisionSender(ctx caddy.Context) error {
	if h.SMSRaw == nil {
		return errors.New("sms: a provider is required, e.g. `sms log` to try it out")
	}
	h.smsID = providerIdentity(h.SMSRaw)
	var err error
	if h.sender, err = h.loadProvider(ctx, "sms", "SMSRaw"); err != nil {
		return err
	}
	h.canCall = sms.OffersCall(h.sender)
	if h.CallRaw != nil {
		if h.callSender, err = h.loadProvider(ctx, "call", "CallRaw"); err != nil {
			return err
		}
		if !sms.CanCall(h.callSender) {
			return fmt.Errorf("call: provider %s cannot make calls (twilio_verify can, and dexatel with voice_template or channel VOICE)", caddy.GetModuleName(h.callSender))
		}
		h.canCall = true
	}
	if err := h.provisionLogo(); err != nil {
		return err
	}
	return nil
}

func (h *Handler) loadProvider(ctx caddy.Context, opt, field string) (sms.Provider, error) {
	mod, err := ctx.LoadModule(h, field)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opt, err)
	}
	p, ok := mod.(sms.Provider)
	if !ok {
		return nil, fmt.Errorf("%s: module %T is not an SMS provider", opt, mod)
	}
	if l, ok := p.(sms.CodeLengthLimiter); ok {
		lo, hi := l.CodeLengthRange()
		if h.CodeLength < lo || h.CodeLength > hi {
			return nil, fmt.Errorf("code_length: %d digits is not accepted by the %s provider (it takes %d to %d)", h.CodeLength, opt, lo, hi)
		}
	}
	return p, nil
}

// joinCalls puts the `call` provider, timed, counted and recorded like
// the `sms` one, behind h.sender: calls go to it, texts as before. It
// runs after the `sms` provider is instrumented and records its calls
// (recordCalls), since the joined pair is not one instrumented provider.
func (h *Handler) joinCalls() {
	if h.callSender == nil {
		return
	}
	call := instrument(h.callSender, caddy.GetModuleName(h.callSender), h.audit.m)
	// Its calls are recorded too, for a withheld number's call to imitate.
	recordCalls(call, h.recent, flow.CheckedByCall)
	h.sender = sms.WithCalls(h.sender, call)
}

// unmarshalReach reads this file's Caddyfile options; ok is false for
// an option that is none of them.
func (h *Handler) unmarshalReach(d *caddyfile.Dispenser, opt string) (ok bool, err error) {
	switch opt {
	case "call":
		return true, h.unmarshalModule(d, &h.CallRaw, sms.Namespace, "provider")
	case "logo":
		return true, oneString(d, &h.Logo, checkNonEmpty)
	case "logo_url":
		return true, oneString(d, &h.LogoURL, checkLogoURL)
	}
	return false, nil
}
