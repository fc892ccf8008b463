package caddysms

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/sms"
)

func init() {
	caddy.RegisterModule(Failover{})
}

// Failover tries its providers in order until one accepts the message.
// Each member keeps its own options and timeout, so the visitor may wait
// for the sum of the timeouts of the members that fail.
//
// Members may mix who makes the code: for a member that checks codes
// remotely (dexatel with `check remote`, twilio_verify) the code that
// member made is checked with that same member, whichever Caddy instance
// the visitor reaches next, since which member sent it is stored with
// the code.
type Failover struct {
	// Providers are the members, tried in this order: modules in the
	// http.handlers.phone_otp.sms namespace. At least two.
	ProvidersRaw []json.RawMessage `json:"providers,omitempty" caddy:"namespace=http.handlers.phone_otp.sms inline_key=provider"`

	members []failoverMember
	remote  bool // every member checks codes remotely
	logger  *zap.Logger
}

type failoverMember struct {
	name   string
	p      sms.Provider
	rc     sms.RemoteChecker // nil unless it checks codes remotely
	minLen int
	maxLen int
}

// CaddyModule returns the Caddy module information.
func (Failover) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  sms.Namespace + ".failover",
		New: func() caddy.Module { return new(Failover) },
	}
}

// Provision loads the members.
func (f *Failover) Provision(ctx caddy.Context) error {
	f.logger = ctx.Logger()
	if len(f.ProvidersRaw) < 2 {
		return errors.New("failover: needs at least two providers")
	}
	var names []string
	for _, raw := range f.ProvidersRaw {
		var head struct {
			Provider string `json:"provider"`
		}
		_ = json.Unmarshal(raw, &head) // LoadModule below reports a bad one
		names = append(names, head.Provider)
	}
	mods, err := ctx.LoadModule(f, "ProvidersRaw")
	if err != nil {
		return fmt.Errorf("failover: %w", err)
	}
	f.remote = true
	for i, mod := range mods.([]any) {
		p, ok := mod.(sms.Provider)
		if !ok {
			return fmt.Errorf("failover: member %d (%s) is not an SMS provider", i+1, names[i])
		}
		m := failoverMember{name: names[i], p: p, minLen: 1, maxLen: 1 << 10}
		if rc, ok := p.(sms.RemoteChecker); ok {
			// Kept for members that pick per message (a nested
			// failover) as well as for those that always check.
			m.rc = rc
		}
		if m.rc == nil || !m.rc.ChecksRemotely() {
			f.remote = false
		}
		if l, ok := p.(sms.CodeLengthLimiter); ok {
			m.minLen, m.maxLen = l.CodeLengthRange()
		}
		f.members = append(f.members, m)
	}
	if lo, hi := f.CodeLengthRange(); lo > hi {
		return errors.New("failover: the providers accept no code length in common")
	}
	f.logger.Info("failover provider ready", zap.Strings("providers", names), zap.Bool("checks_remotely", f.remote))
	return nil
}

// Send hands m to each member in turn until one accepts it. A member
// that makes its own code gets no code and no text; the Result then says
// the code is remote, and its Ref names the member. Result.Attempts, set
// with an error too, counts the members that may have delivered it: each
// one tried, save those that definitely refused.
func (f *Failover) Send(ctx context.Context, m sms.Message) (sms.Result, error) {
	if len(f.members) == 0 {
		return sms.Result{}, NotProvisioned("failover", "send")
	}
	var errs []error
	attempts := 0
	for i, mem := range f.members {
		if ctx.Err() != nil {
			errs = append(errs, ctx.Err())
			break
		}
		msg := m
		remote := mem.rc != nil && mem.rc.ChecksRemotely()
		if remote {
			msg.Code, msg.Text = "", ""
		}
		res, err := mem.p.Send(ctx, msg)
		if err == nil || !sms.Definite(err) {
			attempts += max(res.Attempts, 1)
		}
		if err != nil {
			errs = append(errs, err)
			if i < len(f.members)-1 {
				f.logger.Warn("sms provider failed, trying the next one",
					zap.String("failed", mem.name), zap.String("next", f.members[i+1].name),
					zap.String("phone", sms.MaskPhone(m.Phone)), zap.Error(sms.Scrub(err, m.Phone, m.Code)))
			}
			continue
		}
		ref := strconv.Itoa(i) + "." + mem.name
		if res.Ref != "" {
			ref += "/" + res.Ref
		}
		return sms.Result{ID: res.ID, Remote: remote || res.Remote, Ref: ref, Attempts: attempts}, nil
	}
	return sms.Result{Attempts: attempts}, &sms.Error{Provider: "failover", Op: "send", Message: "every provider failed", Err: errors.Join(errs...)}
}

// ChecksRemotely reports whether every member makes and checks its own
// codes, so phone_otp need make none.
func (f *Failover) ChecksRemotely() bool { return f.remote }

// Check asks the member that sent the code, named by ref.
func (f *Failover) Check(ctx context.Context, phone, code, ref string) (bool, error) {
	const op = "check"
	head, _, _ := strings.Cut(ref, "/")
	mem, inner, ok := f.member(ref)
	if !ok {
		// The members changed since the code was sent (a reload): the
		// one that sent it is not known any more.
		return false, &sms.Error{Provider: "failover", Op: op, Err: fmt.Errorf("no member %q to check the code with", head)}
	}
	if mem.rc == nil {
		return false, &sms.Error{Provider: "failover", Op: op, Err: fmt.Errorf("member %q cannot check codes", head)}
	}
	return mem.rc.Check(ctx, phone, code, inner)
}

// CheckLimit is the check limit of the member that sent the code named
// by ref.
func (f *Failover) CheckLimit(ref string) (int, time.Duration) {
	mem, inner, ok := f.member(ref)
	if !ok {
		return 0, 0
	}
	return sms.CheckLimit(mem.p, inner)
}

// member is the member named by a Result.Ref, and the member's own ref.
func (f *Failover) member(ref string) (mem failoverMember, inner string, ok bool) {
	head, inner, _ := strings.Cut(ref, "/")
	idx, name, _ := strings.Cut(head, ".")
	i, err := strconv.Atoi(idx)
	if err != nil || i < 0 || i >= len(f.members) || f.members[i].name != name {
		return failoverMember{}, "", false
	}
	return f.members[i], inner, true
}

// CodeLengthRange is the code lengths every member accepts.
func (f *Failover) CodeLengthRange() (lo, hi int) {
	lo, hi = 1, 1<<10
	for _, m := range f.members {
		lo, hi = max(lo, m.minLen), min(hi, m.maxLen)
	}
	return lo, hi
}

// UnmarshalCaddyfile sets up the provider from Caddyfile tokens:
//
//	sms failover {
//	    sms <provider> { ... }
//	    sms <provider> { ... }
//	}
func (f *Failover) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return ParseBlock(d, "failover", map[string]BlockOption{
		"sms": func(d *caddyfile.Dispenser) error {
			if !d.NextArg() {
				return d.ArgErr()
			}
			name := d.Val()
			unm, err := caddyfile.UnmarshalModule(d, sms.Namespace+"."+name)
			if err != nil {
				return err
			}
			f.ProvidersRaw = append(f.ProvidersRaw, caddyconfig.JSONModuleObject(unm, "provider", name, nil))
			return nil
		},
	}, "sms")
}

// Interface guards
var (
	_ caddy.Module          = (*Failover)(nil)
	_ caddy.Provisioner     = (*Failover)(nil)
	_ caddyfile.Unmarshaler = (*Failover)(nil)
	_ sms.RemoteChecker     = (*Failover)(nil)
	_ sms.CodeLengthLimiter = (*Failover)(nil)
	_ sms.CheckLimiter      = (*Failover)(nil)
)
