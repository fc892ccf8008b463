package caddyotp

import (
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyevents"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddyotp/caddyotp/internal/flow"
	"github.com/caddyotp/caddyotp/internal/session"
	"github.com/caddyotp/caddyotp/sms"
)

// Event names, for `events { on phone_otp.verified … }` and for plugins
// that subscribe in Go.
const (
	eventVerified = "phone_otp.verified"
	eventBlocked  = "phone_otp.blocked"
	eventWithheld = "phone_otp.withheld" // held back by the SMS-pumping guard
	eventPaused   = "phone_otp.paused"   // a pumping breaker tripped
)

// audit records every decision phone_otp takes three ways: one structured
// line in the audit log, a Prometheus counter, and for verified and blocked
// phones a Caddy event. A line carries the masked phone, the client IP, the
// outcome and the provider's message id; never a code, a secret or a whole
// phone number. Event data is masked the same way, because Caddy's events
// app writes every event's data to its debug log.
type audit struct {
	// log is the handler's logger named "audit"
	// (http.handlers.phone_otp.audit), so admins can route it to a file
	// of its own with a `log { include … }` block.
	log     *zap.Logger
	m       *metrics
	ipAgain prometheus.Counter // m.rateLimited{limit="ip"}, looked up once
	events  *caddyevents.App   // nil when no events app is loaded
	ctx     caddy.Context      // the handler's, for the events' origin
	issuer  string
}

// provisionAudit registers the metrics, times and counts the provider's
// calls, and sets up the audit log and events.
func (h *Handler) provisionAudit(ctx caddy.Context) error {
	m, err := registerMetrics(ctx.GetMetricsRegistry())
	if err != nil {
		return err
	}
	h.sender = instrument(h.sender, caddy.GetModuleName(h.sender), m)
	a := &audit{log: h.logger.Named("audit"), m: m, ctx: ctx, issuer: h.Issuer,
		ipAgain: m.rateLimited.WithLabelValues("ip")}
	// The http app loads the events app before any handler, so it is
	// there whenever Caddy runs us. AppIfConfigured, unlike App, does not
	// panic on the bare contexts of unit tests: there are no events there.
	if app, err := ctx.AppIfConfigured("events"); err == nil {
		a.events, _ = app.(*caddyevents.App)
	}
	h.audit = a
	return nil
}

func (a *audit) fields(phone, ip string) []zap.Field {
	return []zap.Field{
		zap.String("issuer", a.issuer),
		zap.String("phone", sms.MaskPhone(phone)),
		zap.String("client_ip", ip),
	}
}

// send records a send. withheld is why no SMS went out to a phone the
// allowlist or countries ruled out or the pumping guard held back ("":
// it did): the visitor was told "sent", the log tells the admin the truth.
func (a *audit) send(r *http.Request, phone string, ch challenge, withheld string, err error) {
	if err != nil {
		fields := a.fields(phone, clientIP(r))
		if ref := asRefusal(err); ref.kind == kindRateLimited {
			a.m.rateLimited.WithLabelValues(ref.limit).Inc()
			fields = append(fields, zap.String("limit", ref.limit))
		}
		a.refused("send", err, fields)
		return
	}
	fields := a.sendFields(r, phone, ch)
	if withheld != "" {
		a.withheld(phone, fields, withheld)
		return
	}
	a.log.Info("send", append(fields, zap.String("outcome", "sent"),
		zap.String("message_id", ch.MessageID))...)
}

// sendFields are the fields of a send's line that went its way: who, and
// the channel when it was a call.
func (a *audit) sendFields(r *http.Request, phone string, ch challenge) []zap.Field {
	fields := a.fields(phone, clientIP(r))
	if ch.Channel == sms.ChannelCall {
		fields = append(fields, zap.String("channel", "call"))
	}
	return fields
}

// ipRefusedAgain counts a send refused from its first store read, because
// its client IP was refused just before. It writes no line: that first
// refusal was logged, and a flood from one address must not become a
// flood of log lines.
func (a *audit) ipRefusedAgain() {
	a.ipAgain.Inc()
}

// verify records a verify, and the block it set if it set one. c is the
// session issued when err is nil.
func (a *audit) verify(r *http.Request, phone string, c *session.Claims, err error) {
	a.m.verifications.WithLabelValues(verifyOutcome(err)).Inc()
	ip := clientIP(r)
	fields := a.fields(phone, ip)
	if err != nil {
		a.refused("verify", err, fields)
		if ref := asRefusal(err); ref.newBlock {
			a.block(phone, ip, ref)
		}
		return
	}
	a.m.issued.Inc()
	a.log.Info("verify", append(fields, zap.String("outcome", "verified"),
		zap.String("session", c.ID), zap.String("user", c.User))...)
	a.emit(eventVerified, map[string]any{
		"issuer": a.issuer, "phone": sms.MaskPhone(phone), "client_ip": ip,
		"session": c.ID, "user": c.User,
	})
}

func (a *audit) block(phone, ip string, ref *refusal) {
	a.m.blocks.Inc()
	a.log.Warn("block", append(a.fields(phone, ip), zap.String("outcome", "blocked"),
		zap.Int64("retry_after", seconds(ref.retryAfter)))...)
	a.emit(eventBlocked, map[string]any{
		"issuer": a.issuer, "phone": sms.MaskPhone(phone), "client_ip": ip,
		"retry_after": seconds(ref.retryAfter),
	})
}

// logout records a logout; c is nil when the request held no valid session.
func (a *audit) logout(r *http.Request, c *session.Claims, err error) {
	phone, session := "", ""
	if c != nil {
		phone, session = c.Subject, c.ID
	}
	fields := append(a.fields(phone, clientIP(r)), zap.String("session", session))
	switch {
	case err != nil:
		a.refused("logout", unavailable("revoke", err), fields)
	case c == nil:
		a.log.Info("logout", append(fields, zap.String("outcome", "no_session"))...)
	default:
		a.m.revoked.WithLabelValues("logout").Inc()
		a.log.Info("logout", append(fields, zap.String("outcome", "logged_out"))...)
	}
}

// admin records an action taken through the admin API; ip is the admin
// client's address.
func (a *audit) admin(action, phone, ip, outcome string, err error) {
	fields := append(a.fields(phone, ip), zap.String("outcome", outcome))
	if err != nil {
		a.log.Error(action, append(fields, zap.Error(err))...)
		return
	}
	if action == "revoke" {
		a.m.revoked.WithLabelValues("admin").Inc()
	}
	a.log.Info(action, fields...)
}

// refused writes the line for a refusal: provider failures at ERROR with
// their cause (provider errors never hold the code), the rest at INFO. A
// store failure is a line like any refusal (outcome unavailable), its
// cause at DEBUG: the store logs each outage once, at ERROR, rather than
// once per request.
func (a *audit) refused(action string, err error, fields []zap.Field) {
	ref := asRefusal(err)
	fields = append(fields, zap.String("outcome", outcomeTable[ref.kind].code))
	switch ref.kind {
	case kindRateLimited, kindBlocked:
		fields = append(fields, zap.Int64("retry_after", seconds(ref.retryAfter)))
	case kindInvalidCode:
		fields = append(fields, zap.Int("attempts_left", ref.attemptsLeft))
	}
	level := zapcore.InfoLevel
	switch ref.kind {
	case kindSMSFailed:
		level = zapcore.ErrorLevel
		fields = append(fields, zap.Error(err))
	case kindUnavailable:
		a.log.Debug(action+": store failure", append(fields, zap.Error(err))...)
	}
	a.log.Log(level, action, fields...)
}

// emit hands an event to the events app, which runs its subscribers
// synchronously; an abort by a subscriber changes nothing here.
func (a *audit) emit(name string, data map[string]any) {
	if a.events != nil {
		a.events.Emit(a.ctx, name, data)
	}
}

// withheld records a send that got no SMS: a line with the reason and the
// country, the metric, and for the pumping guard's reasons an event.
func (a *audit) withheld(phone string, fields []zap.Field, reason string) {
	country := flow.Country(phone)
	a.m.withheld.WithLabelValues(reason, country).Inc()
	a.log.Info("send", append(fields, zap.String("outcome", "withheld"),
		zap.String("reason", reason), zap.String("country", country))...)
	if reason != flow.ReasonPolicy {
		a.emit(eventWithheld, map[string]any{
			"issuer": a.issuer, "phone": sms.MaskPhone(phone), "reason": reason, "country": country,
		})
	}
}

// flagged records a send the pumping guard, in monitor mode, would have
// withheld: it was texted. The line, the metric and the event say what
// enforce would have done.
func (a *audit) flagged(r *http.Request, phone string, ch challenge, reason string) {
	country := flow.Country(phone)
	a.m.flagged.WithLabelValues(reason, country).Inc()
	a.log.Info("send", append(a.sendFields(r, phone, ch), zap.String("outcome", "sent"), zap.String("message_id", ch.MessageID),
		zap.String("flagged", reason), zap.String("country", country))...)
	a.emit(eventWithheld, map[string]any{
		"issuer": a.issuer, "phone": sms.MaskPhone(phone), "reason": reason, "country": country, "monitor": true,
	})
}

// paused records a breaker the send to phone tripped: a WARN line, the
// metric and an event, each with the evidence. A prefix is logged with
// its last two digits hidden: with the last four that a masked phone
// shows, it would spell whole the numbers of the lines about it. The
// admin API lists it whole. monitor: the guard withholds nothing.
func (a *audit) paused(phone string, p *flow.Pause, monitor bool) {
	country := flow.Country(phone)
	key := maskKey(p.Scope, p.Key)
	a.m.pauses.WithLabelValues(p.Scope, country).Inc()
	a.log.Warn("pause", zap.String("issuer", a.issuer), zap.String("scope", p.Scope), zap.String("key", key),
		zap.String("country", country), zap.Int64("sends", p.Sends), zap.Int64("verified", p.Verified),
		zap.Int64("expired", p.Expired), zap.Int64("networks", p.Networks), zap.Bool("monitor", monitor),
		zap.Time("until", p.Until))
	a.emit(eventPaused, map[string]any{
		"issuer": a.issuer, "scope": p.Scope, "key": key, "country": country,
		"sends": p.Sends, "verified": p.Verified, "expired": p.Expired, "networks": p.Networks,
		"monitor": monitor, "until": p.Until.Unix(),
	})
}

// lift records a pause lifted through the admin API; ip is the admin
// client's address.
func (a *audit) lift(scope, key, ip, outcome string, err error) {
	fields := []zap.Field{zap.String("issuer", a.issuer), zap.String("scope", scope), zap.String("key", maskKey(scope, key)),
		zap.String("client_ip", ip), zap.String("outcome", outcome)}
	if err != nil {
		a.log.Error("lift", append(fields, zap.Error(err))...)
		return
	}
	a.log.Info("lift", fields...)
}

// maskKey hides a prefix's last two digits (see paused); a country is
// logged as it is.
func maskKey(scope, key string) string {
	if scope == flow.ScopePrefix && len(key) > 4 {
		return key[:len(key)-2] + "**"
	}
	return key
}
