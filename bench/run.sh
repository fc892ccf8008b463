#!/usr/bin/env bash
# Drives a real Caddy built with phone_otp with wrk, side by side with the
# same Caddy serving the same route with no auth, with basic_auth, and with
# forward_auth to a minimal auth service, and prints req/s ratios against
# the no-auth baseline measured in the same run. Then measures the send
# path with the `log` provider.
#
#   bench/run.sh                 # go build ./cmd/caddy
#   XCADDY=1 bench/run.sh        # build with xcaddy from this checkout
#   DUR=3s ROUNDS=9 CONNS=64 bench/run.sh  # the defaults
#   PIN=1 bench/run.sh           # Caddy on one CPU, wrk on the other
#   MODE=sessions bench/run.sh   # many distinct sessions at once, their cold fill and
#                                # the rounds after a caddy reload: bench/sessions.sh
#   MODE=signin bench/run.sh     # a login storm, memory and redis: bench/signin.sh
#   MODE=soak bench/run.sh       # sign-ins, GETs, logouts, revokes for SOAK=10m per
#                                # store (STORES="memory redis", CONNS=32, SAMPLE=30s);
#                                # RSS, heap, goroutines, p99s start vs end: bench/soak.sh
#
# Needs wrk (apt-get install wrk) and curl. Every request goes to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
if [ "${MODE:-}" = sessions ]; then
	exec bench/sessions.sh
fi
if [ "${MODE:-}" = signin ]; then
	exec bench/signin.sh
fi
if [ "${MODE:-}" = soak ]; then
	exec bench/soak.sh
fi
DUR=${DUR:-3s}
ROUNDS=${ROUNDS:-9}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
# PIN=1: Caddy on CPU 0, wrk and the auth service on CPU 1 (steadier ratios).
pin_cpus
need_wrk
ports_free 18081 18082 18083 18084 18085 18090
make_work

echo "building Caddy with phone_otp..." >&2
build_caddy
go build -o "$work/authsvc" ./bench/authsvc

"${wrk_on[@]}" "$work/authsvc" -addr 127.0.0.1:18090 -token bench &
pids+=($!)

hash=$("$work/caddy" hash-password --plaintext bench)
secret=bench-secret-0123456789abcdef0123456789
cat > "$work/Caddyfile" <<CADDY
$(caddyfile_head)
http://:18082 {
	phone_otp {
		sms log
		origin bench.example.com  # a catch-all site names its host in the SMS
		secret $secret
		limit_ip 1000000000
		limit_global 1000000000
		limit_phone 1000
		resend_after 1s
	}
	respond "ok"
}
http://:18083 {
	basic_auth {
		bench $hash
	}
	respond "ok"
}
http://:18085 {
	# A second handler that does nothing of note: what Caddy charges for
	# any middleware in the route, auth or not.
	header X-Noop 1
	respond "ok"
}
http://:18084 {
	forward_auth 127.0.0.1:18090 {
		uri /check
		copy_headers X-User
	}
	respond "ok"
}
CADDY
"${caddy_on[@]}" "$work/caddy" run --config "$work/Caddyfile" >"$work/stdout.log" 2>&1 &
pids+=($!)
wait_http http://127.0.0.1:18081/

# Log in once through the real endpoints; the log provider prints the code.
jar=$work/jar
st=$(curl -s -o "$work/send.json" -w '%{http_code}' -c "$jar" -H 'Content-Type: application/json' -d '{"phone":"+12015550123"}' http://127.0.0.1:18082/_otp/send)
[ "$st" = 200 ] || { echo "send answered $st: $(cat "$work/send.json")" >&2; cat "$work/stdout.log" >&2; exit 1; }
code=
for _ in $(seq 50); do # Caddy's log is written a moment after the answer
	code=$(grep -ao '"code":"[0-9]*"' "$work/caddy.log" | tail -1 | grep -o '[0-9]\+' || true)
	[ -n "$code" ] && break
	sleep 0.1
done
[ -n "$code" ] || { echo "no code in the log:" >&2; cat "$work/caddy.log" "$work/stdout.log" >&2; exit 1; }
curl -fs -b "$jar" -c "$jar" -H 'Content-Type: application/json' -d "{\"code\":\"$code\"}" http://127.0.0.1:18082/_otp/verify >/dev/null
session=$(awk '$6 == "otp_session" {print $7}' "$jar")
[ -n "$session" ] || { echo "could not log in" >&2; exit 1; }
# The session passes, and a request without it does not.
[ "$(curl -s -o /dev/null -w '%{http_code}' -b "otp_session=$session" http://127.0.0.1:18082/)" = 200 ]
[ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:18082/)" = 401 ]

caddy_pid=${pids[-1]} # for ticks

declare -A url hdr
url[bare]=http://127.0.0.1:18081/ hdr[bare]="Cookie: otp_session=$session"
url[noop_middleware]=http://127.0.0.1:18085/ hdr[noop_middleware]="Cookie: otp_session=$session"
url[phone_otp]=http://127.0.0.1:18082/ hdr[phone_otp]="Cookie: otp_session=$session"
url[basic_auth]=http://127.0.0.1:18083/ hdr[basic_auth]="Authorization: Basic $(printf bench:bench | base64)"
url[forward_auth]=http://127.0.0.1:18084/ hdr[forward_auth]="Cookie: auth=bench"

declare -A rps cpu
run() { # setup; sets rps[setup,round] and cpu[setup,round] (µs of Caddy CPU per request); fails on any non-2xx
	local name=$1 round=$2 out t0 t1 n
	t0=$(ticks)
	out=$("${wrk_on[@]}" wrk -t"$THREADS" -c"$CONNS" -d"$DUR" -H "${hdr[$name]}" "${url[$name]}")
	t1=$(ticks)
	if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
		echo "$name: non-2xx answers:" >&2; echo "$out" >&2; exit 1
	fi
	rps[$name,$round]=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
	n=$(awk '/requests in/ {print $1}' <<<"$out")
	cpu[$name,$round]=$(us_per_request "$t0" "$t1" "$n")
}

# basic_auth runs bcrypt once per password, then caches the result.
st=$(curl -s -o /dev/null -w "%{http_code}" -u bench:bench http://127.0.0.1:18083/)
[ "$st" = 200 ] || { echo "basic_auth warm-up answered $st" >&2; cat "$work/Caddyfile" >&2; exit 1; }

setups=(bare noop_middleware phone_otp basic_auth forward_auth)
# A short warm-up, so that the first round does not pay for Caddy's start.
"${wrk_on[@]}" wrk -t"$THREADS" -c"$CONNS" -d1s -H "${hdr[bare]}" "${url[bare]}" >/dev/null
# Every setup once a round, the order rotated each round. Every setup
# but basic_auth and forward_auth gets the same request, session cookie
# included, so the ratios measure the handler and not the bytes of a
# header.
rotate_rounds

declare -A rounds
echo
echo "authenticated GET, $ROUNDS rounds of $DUR, $CONNS connections, wrk -t$THREADS"
echo "  req/s: median of the rounds; × bare: median (and range) of each round's ratio to bare in that round;"
echo "  Caddy CPU: µs of Caddy's CPU time per request, median, and its ratio to bare's"
printf "  %-16s %8s  %-20s %-20s %s\n" setup "req/s" "× bare (range)" "× noop_middleware" "Caddy CPU µs/req (× bare)"
for s in "${setups[@]}"; do
	all= rb= rn= cs= cb=
	for r in $(seq "$ROUNDS"); do
		all+=" ${rps[$s,$r]}"
		rb+=" $(echo "${rps[$s,$r]} / ${rps[bare,$r]}" | bc -l)"
		rn+=" $(echo "${rps[$s,$r]} / ${rps[noop_middleware,$r]}" | bc -l)"
		cs+=" ${cpu[$s,$r]}"
		cb+=" $(echo "${cpu[$s,$r]} / ${cpu[bare,$r]}" | bc -l)"
	done
	printf "  %-16s %8.0f  %.3f (%s)  %.3f (%s)  %5.1f (%.3f)\n" "$s" "$(median <<<"$all")" \
		"$(median <<<"$rb")" "$(range <<<"$rb")" "$(median <<<"$rn")" "$(range <<<"$rn")" \
		"$(median <<<"$cs")" "$(median <<<"$cb")"
	rounds[$s]=$rb
done
echo "  each round's ratio to bare:"
for s in "${setups[@]}"; do
	printf "    %-16s" "$s"; printf " %.3f" ${rounds[$s]}; echo
done

# The send path: a new random number each request, limits raised.
out=$("${wrk_on[@]}" wrk -t"$THREADS" -c"$CONNS" -d"$DUR" -s bench/send.lua http://127.0.0.1:18082/)
read -r _ sent _ s400 _ s429 _ s5xx _ other _ secs _ errs < <(grep '^SENT' <<<"$out")
echo
printf "send path (log provider): %.0f codes sent/s (%d sent in %.1fs; refused: %d 400, %d 429, %d 5xx, %d other; %d socket errors)\n" \
	"$(echo "$sent / $secs" | bc -l)" "$sent" "$secs" "$s400" "$s429" "$s5xx" "$other" "$errs"
