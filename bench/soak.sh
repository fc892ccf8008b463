#!/usr/bin/env bash
# bench/run.sh's soak mode (MODE=soak bench/run.sh): a steady mix through a
# real Caddy for SOAK per store, to see that nothing grows. For each store
# in STORES, a Caddy of its own (admin endpoint on 127.0.0.1:18019) with one
# phone_otp site as bench/signin.sh's (webhook provider answered by the
# driver, X-Forwarded-For per visitor, limits raised, the SMS-pumping guard
# at its defaults), and bench/signin -soak: CONNS visitors, each signing in
# over and over (send, the code, verify), then 5 authenticated GETs with the
# session; every 4th sign-in of a visitor a logout (POST /_otp/logout, then
# the old session must get 401), every 25th instead an admin revoke of the
# phone (POST /phone_otp/revoke on the admin endpoint, then 401 within 3s).
# Any refusal or wrong answer fails the run.
#
# Every SAMPLE a line per store: elapsed, sign-ins/s, authenticated GET p99
# and sign-in p99 (send to verify answered, the code's trip included) in ms,
# the logouts and revokes, Caddy's RSS (VmRSS), Go heap (HeapAlloc, from the
# admin endpoint's /debug/vars) and goroutines (/debug/pprof/goroutine). At
# the end, per store, the first sample after the warm-up (1m, at most a
# quarter of SOAK) against the last, with the ratios end/start.
#
#   MODE=soak bench/run.sh                                  # memory, then redis
#   MODE=soak SOAK=10m SAMPLE=30s CONNS=32 bench/run.sh     # the defaults
#   MODE=soak SOAK=1m SAMPLE=15s STORES=redis bench/run.sh  # a smoke run
#
# Needs curl and redis-server on PATH (for the redis store). Every request
# goes to 127.0.0.1; nothing is texted.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
SOAK=${SOAK:-10m}
SAMPLE=${SAMPLE:-30s}
CONNS=${CONNS:-32}
STORES=${STORES:-memory redis}
admin=127.0.0.1:18019
command="MODE=soak STORES='$STORES' SOAK=$SOAK SAMPLE=$SAMPLE CONNS=$CONNS PIN=${PIN:-0} bench/run.sh"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo '+changes')"
pin_cpus
ports_free 18081 18088 18089 18095 18379 18019
make_work

echo "building Caddy with phone_otp, and the driver..." >&2
build_caddy
go build -o "$work/signin" ./bench/signin
secret=bench-secret-0123456789abcdef0123456789

declare -A port
port[memory]=18088 port[redis]=18089
for s in $STORES; do
	[ -n "${port[$s]:-}" ] || { echo "unknown store $s (memory, redis)" >&2; exit 1; }
done
echo "# $command  # at $commit, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
for s in $STORES; do
	store=memory
	if [ "$s" = redis ]; then
		start_redis 18379
		store="redis 127.0.0.1:18379"
	fi
	cat >"$work/Caddyfile" <<CADDY
$(caddyfile_head "$admin" "	servers {
		trusted_proxies static 127.0.0.1/8
		client_ip_headers X-Forwarded-For
	}")
http://:${port[$s]} {
	phone_otp {
		sms webhook {
			url http://127.0.0.1:18095/hook
			body \`{"to":"{phone}","text":"{message}"}\`
		}
		origin bench.example.com
		secret $secret
		realm bench-$s
		store $store
		limit_ip 1000000000
		limit_global 1000000000
		limit_phone 1000
		resend_after 1s
	}
	respond "ok"
}
CADDY
	# A Caddy of its own per store: the figures of one are not the other's.
	"${caddy_on[@]}" "$work/caddy" run --config "$work/Caddyfile" >"$work/stdout.log" 2>&1 &
	caddy_pid=$!
	pids+=($caddy_pid)
	wait_http http://127.0.0.1:18081/
	echo "soaking $s for $SOAK..." >&2
	"${wrk_on[@]}" "$work/signin" -sites "$s=http://127.0.0.1:${port[$s]}" -hook 127.0.0.1:18095 -admin "$admin" \
		-conns "$CONNS" -soak "$SOAK" -sample "$SAMPLE" -caddy-pid "$caddy_pid" ||
		{ echo "the soak failed; Caddy's log:" >&2; tail -20 "$work/caddy.log" "$work/stdout.log" >&2; exit 1; }
	kill "$caddy_pid"
	wait "$caddy_pid" 2>/dev/null || true
done
