package caddysms

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/caddyotp/caddyotp/sms"
)

func init() {
	caddy.RegisterModule(Log{})
}

// Log writes each message, code included, to Caddy's log at WARN instead
// of sending it. It is for first runs and development only: anyone who
// can read the log can sign in as any phone.
type Log struct {
	// Timeout is accepted for symmetry with the other providers and
	// ignored: writing a log line does not wait on anything.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	logger *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (Log) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  sms.Namespace + ".log",
		New: func() caddy.Module { return new(Log) },
	}
}

// Provision warns, loudly, that codes will be written to the log.
func (l *Log) Provision(ctx caddy.Context) error {
	l.logger = ctx.Logger()
	l.logger.Warn("PHONE_OTP SMS PROVIDER 'log' IS IN USE: one-time codes are written to this log " +
		"and no SMS is sent; anyone who can read the log can sign in. Do not use it in production.")
	return nil
}

// Send writes the message to the log at WARN and reports it as sent.
func (l *Log) Send(_ context.Context, m sms.Message) (sms.Result, error) {
	logger := l.logger
	if logger == nil {
		logger = caddy.Log()
	}
	id := logMessageID()
	// Logging the code is this provider's whole purpose; the phone is
	// still masked, as everywhere else.
	logger.Warn("phone_otp code (sms log provider, development only)",
		zap.String("id", id),
		zap.String("phone", sms.MaskPhone(m.Phone)),
		zap.String("host", m.Host),
		zap.String("code", m.Code),
		zap.String("text", m.Text),
		zap.String("channel", cmp.Or(m.Channel, "sms")),
		zap.Duration("ttl", m.TTL))
	return sms.Result{ID: id}, nil
}

// CanCall reports true: a call's spoken text is logged like an SMS, so
// that "Call me instead" can be tried out.
func (*Log) CanCall() bool { return true }

// UnmarshalCaddyfile sets up the provider from Caddyfile tokens:
//
//	sms log [{
//	    timeout <duration>
//	}]
func (l *Log) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the module name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := make(map[string]bool)
	for d.NextBlock(0) {
		switch name := d.Val(); name {
		case "timeout":
			if seen[name] {
				return d.Errf("log option '%s' already specified", name)
			}
			seen[name] = true
			var v string
			if !d.AllArgs(&v) {
				return d.ArgErr()
			}
			dur, err := caddy.ParseDuration(v)
			if err != nil {
				return d.Errf("log timeout '%s': %v", v, err)
			}
			if dur <= 0 {
				return d.Errf("log timeout must be positive, not '%s'", v)
			}
			l.Timeout = caddy.Duration(dur)
		default:
			return d.Errf("unrecognized log option '%s'", name)
		}
	}
	return nil
}

// logMessageID makes an id for the log line, so an admin can tie the
// flow's "sent" log entry to the line holding the code.
func logMessageID() string {
	var b [8]byte
	rand.Read(b[:]) // never fails since Go 1.24
	return "log-" + hex.EncodeToString(b[:])
}

// Interface guards
var (
	_ caddy.Module          = (*Log)(nil)
	_ caddy.Provisioner     = (*Log)(nil)
	_ caddyfile.Unmarshaler = (*Log)(nil)
	_ sms.Provider          = (*Log)(nil)
	_ sms.Caller            = (*Log)(nil)
)
