#!/usr/bin/env bash
# Drives a real Caddy built with phone_otp with wrk, side by side with the
# same Caddy serving the same route with no auth, with basic_auth, and with
# forward_auth to a minimal auth service, and prints req/s ratios against
# the no-auth baseline measured in the same run. Then measures the send
# path with the `log` provider.
#
#   bench/run.sh                 # go build ./cmd/caddy
#   XCADDY=1 bench/run.sh        # build with xcaddy from this checkout
#   DUR=10s ROUNDS=5 CONNS=64 bench/run.sh
#   PIN=1 bench/run.sh           # Caddy on one CPU, wrk on the other
#
# Needs wrk (apt-get install wrk) and curl. Every request goes to 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${DUR:-5s}
ROUNDS=${ROUNDS:-3}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
# PIN=1: Caddy on CPU 0, wrk and the auth service on CPU 1, so that the
# two do not take turns on each other's core (steadier ratios).
caddy_on=() wrk_on=()
if [ "${PIN:-0}" = 1 ] && command -v taskset >/dev/null; then
	caddy_on=(taskset -c 0) wrk_on=(taskset -c 1)
fi
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

for port in 18081 18082 18083 18084 18085 18090; do
	if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
		echo "port $port is in use; stop whatever listens there first" >&2
		exit 1
	fi
done

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

echo "building Caddy with phone_otp..." >&2
if [ "${XCADDY:-0}" = 1 ]; then
	(cd "$work" && xcaddy build --output "$work/caddy" \
		--with "github.com/caddyotp/caddyotp@v0.0.0-00010101000000-000000000000=$OLDPWD") >&2
else
	go build -o "$work/caddy" ./cmd/caddy
fi
go build -o "$work/authsvc" ./bench/authsvc

"${wrk_on[@]}" "$work/authsvc" -addr 127.0.0.1:18090 -token bench &
pids+=($!)

hash=$("$work/caddy" hash-password --plaintext bench)
secret=bench-secret-0123456789abcdef0123456789
cat > "$work/Caddyfile" <<CADDY
{
	admin off
	storage file_system $work/data
	log {
		output file $work/caddy.log
		level WARN
	}
}
http://:18081 {
	respond "ok"
}
http://:18082 {
	phone_otp {
		sms log
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
for _ in $(seq 50); do curl -fs -o /dev/null http://127.0.0.1:18081/ && break; sleep 0.1; done

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

run() { # name url [wrk args...]; prints req/s, fails on any non-2xx
	local name=$1 url=$2; shift 2
	local out
	out=$("${wrk_on[@]}" wrk -t"$THREADS" -c"$CONNS" -d"$DUR" "$@" "$url")
	if grep -q "Non-2xx\|Socket errors" <<<"$out"; then
		echo "$name: non-2xx answers:" >&2; echo "$out" >&2; exit 1
	fi
	awk '/Requests\/sec/ {print $2}' <<<"$out"
}

# basic_auth runs bcrypt once per password, then caches the result.
st=$(curl -s -o /dev/null -w "%{http_code}" -u bench:bench http://127.0.0.1:18083/)
[ "$st" = 200 ] || { echo "basic_auth warm-up answered $st" >&2; cat "$work/Caddyfile" >&2; exit 1; }

declare -A results
setups=(bare noop_middleware phone_otp basic_auth forward_auth)
for r in $(seq "$ROUNDS"); do
	# Alternate, so drift in the machine's speed hits every setup alike.
	# Every setup gets the same request, session cookie included, so the
	# ratios measure the handler and not the bytes of a header.
	v=$(run bare http://127.0.0.1:18081/ -H "Cookie: otp_session=$session") || exit 1
	results[bare]+=" $v"
	v=$(run noop_middleware http://127.0.0.1:18085/ -H "Cookie: otp_session=$session") || exit 1
	results[noop_middleware]+=" $v"
	v=$(run phone_otp http://127.0.0.1:18082/ -H "Cookie: otp_session=$session") || exit 1
	results[phone_otp]+=" $v"
	v=$(run basic_auth http://127.0.0.1:18083/ -H "Authorization: Basic $(printf bench:bench | base64)") || exit 1
	results[basic_auth]+=" $v"
	v=$(run forward_auth http://127.0.0.1:18084/ -H "Cookie: auth=bench") || exit 1
	results[forward_auth]+=" $v"
	echo "round $r done" >&2
done

median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
base=$(median <<<"${results[bare]}")
noop=$(median <<<"${results[noop_middleware]}")
echo
echo "authenticated GET, $ROUNDS rounds of $DUR, $CONNS connections: median req/s, ratio to bare, ratio to noop_middleware"
for s in "${setups[@]}"; do
	m=$(median <<<"${results[$s]}")
	printf "  %-16s %8.0f  %.3f  %.3f   [%s ]\n" "$s" "$m" "$(echo "$m / $base" | bc -l)" "$(echo "$m / $noop" | bc -l)" "${results[$s]}"
done

# The send path: a new random number each request, limits raised.
out=$("${wrk_on[@]}" wrk -t"$THREADS" -c"$CONNS" -d"$DUR" -s bench/send.lua http://127.0.0.1:18082/)
read -r _ sent _ s400 _ s429 _ s5xx _ other _ secs _ errs < <(grep '^SENT' <<<"$out")
echo
printf "send path (log provider): %.0f codes sent/s (%d sent in %.1fs; refused: %d 400, %d 429, %d 5xx, %d other; %d socket errors)\n" \
	"$(echo "$sent / $secs" | bc -l)" "$sent" "$secs" "$s400" "$s429" "$s5xx" "$other" "$errs"
