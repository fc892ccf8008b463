#!/usr/bin/env bash
# bench/run.sh's sign-in mode (MODE=signin bench/run.sh): a login storm.
# CONNS visitors at once, each signing in over and over (POST /_otp/send
# with a new mobile number, the code, POST /_otp/verify, the session
# cookie checked), against two phone_otp sites in one Caddy: store memory
# and store redis (a redis-server started here). The SMS provider is the
# webhook one, posting to bench/signin's own listener, which answers at
# once; each visitor has a client IP of its own (X-Forwarded-For, trusted
# from 127.0.0.1) and numbers over prefixes of its own, in one of several
# countries, so that the limits and the SMS-pumping guard judge the sends
# as they would real ones (the guard at its defaults; the limits raised so
# that nothing is refused: any refusal fails the run, with the answer).
# Paired rounds, the order rotated each round. Prints per store sign-ins/s
# (median, range), the redis/memory ratio of each round, send and verify
# latency p50 and p99, and per sign-in the Redis commands by name (INFO
# commandstats deltas) and caddy_phone_otp_store_round_trips_total's delta
# (n/a where Caddy has no such counter); then a counted phase per store,
# COUNTED sends and then their verifies, for the same per send and per
# verify.
#
#   MODE=signin bench/run.sh                          # memory and redis
#   MODE=signin CONNS=64 ROUNDS=5 DUR=3s COUNTED=256 bench/run.sh  # the defaults
#   MODE=signin STORES=redis bench/run.sh
#   XCADDY=1 MODE=signin bench/run.sh                 # build with xcaddy from this checkout
#
# Needs curl and redis-server on PATH. Every request goes to 127.0.0.1;
# nothing is texted.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
DUR=${DUR:-3s}
ROUNDS=${ROUNDS:-5}
CONNS=${CONNS:-64}
COUNTED=${COUNTED:-256}
STORES=${STORES:-memory redis}
admin=127.0.0.1:18019
command="MODE=signin STORES='$STORES' CONNS=$CONNS ROUNDS=$ROUNDS DUR=$DUR COUNTED=$COUNTED PIN=${PIN:-0} bench/run.sh"
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
sites= drive= redis_arg=
for s in $STORES; do
	[ -n "${port[$s]:-}" ] || { echo "unknown store $s (memory, redis)" >&2; exit 1; }
	store=memory
	if [ "$s" = redis ]; then
		start_redis 18379
		store="redis 127.0.0.1:18379"
		redis_arg=127.0.0.1:18379
	fi
	# The guard (withhold_types, limit_prefix, breakers) at its defaults;
	# the limits raised so that the storm's sends are all taken.
	sites+="
http://:${port[$s]} {
	phone_otp {
		sms webhook {
			url http://127.0.0.1:18095/hook
			body \`{\"to\":\"{phone}\",\"text\":\"{message}\"}\`
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
	respond \"ok\"
}"
	drive+="${drive:+,}$s=http://127.0.0.1:${port[$s]}"
done
cat >"$work/Caddyfile" <<CADDY
$(caddyfile_head "$admin" "	servers {
		trusted_proxies static 127.0.0.1/8
		client_ip_headers X-Forwarded-For
	}")
$sites
CADDY
"${caddy_on[@]}" "$work/caddy" run --config "$work/Caddyfile" >"$work/stdout.log" 2>&1 &
pids+=($!)
wait_http http://127.0.0.1:18081/
caddy_pid=${pids[-1]}

"${wrk_on[@]}" "$work/signin" -sites "$drive" -hook 127.0.0.1:18095 -redis "$redis_arg" -admin "$admin" \
	-conns "$CONNS" -dur "$DUR" -rounds "$ROUNDS" -counted "$COUNTED" -caddy-pid "$caddy_pid" -hz "$hz" \
	-command "$command  # at $commit, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)" ||
	{ echo "the sign-in storm failed; Caddy's log:" >&2; tail -20 "$work/caddy.log" "$work/stdout.log" >&2; exit 1; }
