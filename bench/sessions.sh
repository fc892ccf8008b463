#!/usr/bin/env bash
# bench/run.sh's many-sessions mode (MODE=sessions bench/run.sh): many
# distinct signed-in visitors at once, as a busy site has, rather than one
# session cookie over and over. bench/mint mints SESSIONS valid sessions
# for each phone_otp site (one realm per store), and wrk cycles through
# them (bench/sessions.lua), each request the next visitor's cookie; bare
# Caddy gets the very same requests. Paired rounds, order rotated, as in
# run.sh; prints each store's median ratio to bare, its range, Caddy's CPU
# time per request (and its ratio to bare's, steadier on a busy machine),
# Caddy's RSS, and how many store reads Redis served during the measured
# rounds. With the memory store, the setup memory-1 is the control: the
# same site with one session over and over.
#
#   MODE=sessions bench/run.sh                        # 10,000 sessions, memory and redis
#   MODE=sessions SESSIONS=100000 STORES=memory bench/run.sh
#   DUR=3s ROUNDS=5 CONNS=64 THREADS=2                # the defaults here
#
# Needs wrk, curl and (for redis) redis-server on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
DUR=${DUR:-3s}
ROUNDS=${ROUNDS:-5}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
SESSIONS=${SESSIONS:-10000}
STORES=${STORES:-memory redis}
pin_cpus
need_wrk
ports_free 18081 18086 18087 18379
make_work

echo "building Caddy with phone_otp, and minting $SESSIONS sessions per store..." >&2
go build -o "$work/caddy" ./cmd/caddy
go build -o "$work/mint" ./bench/mint
secret=bench-secret-0123456789abcdef0123456789

declare -A port realm
port[memory]=18086 realm[memory]=bench-memory
port[redis]=18087 realm[redis]=bench-redis
sites=
for s in $STORES; do
	[ -n "${port[$s]:-}" ] || { echo "unknown store $s (memory, redis)" >&2; exit 1; }
	store=memory
	if [ "$s" = redis ]; then
		command -v redis-server >/dev/null || { echo "redis-server is not installed" >&2; exit 1; }
		redis-server --port 18379 --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --logfile "$work/redis.log" &
		pids+=($!)
		for _ in $(seq 50); do redis-cli -p 18379 ping >/dev/null 2>&1 && break; sleep 0.1; done
		store="redis 127.0.0.1:18379"
	fi
	sites+="
http://:${port[$s]} {
	phone_otp {
		sms log
		origin bench.example.com
		secret $secret
		realm ${realm[$s]}
		session_ttl 12h
		store $store
	}
	respond \"ok\"
}"
done
cat >"$work/Caddyfile" <<CADDY
$(caddyfile_head)
$sites
CADDY
"${caddy_on[@]}" "$work/caddy" run --config "$work/Caddyfile" >"$work/stdout.log" 2>&1 &
pids+=($!)
caddy_pid=${pids[-1]}
wait_http http://127.0.0.1:18081/
# Minted once Caddy runs: a memory store on a fresh storage refuses the
# tokens issued before its start (and in its second), as it must.
sleep 1
for s in $STORES; do
	"$work/mint" -secret "$secret" -realm "${realm[$s]}" -n "$SESSIONS" -ttl 12h >"$work/tokens-$s"
done

declare -A url tok
url[bare]=http://127.0.0.1:18081/ tok[bare]=$work/tokens-$(set -- $STORES; echo "$1")
setups=(bare)
for s in $STORES; do
	url[$s]=http://127.0.0.1:${port[$s]}/ tok[$s]=$work/tokens-$s
	setups+=("$s")
	# A minted session passes, and a request without one does not.
	[ "$(curl -s -o /dev/null -w '%{http_code}' -b "otp_session=$(head -1 "${tok[$s]}")" "${url[$s]}")" = 200 ] ||
		{ echo "a minted session does not pass on $s:" >&2; cat "$work/caddy.log" "$work/stdout.log" >&2; exit 1; }
	[ "$(curl -s -o /dev/null -w '%{http_code}' "${url[$s]}")" = 401 ]
done
# The control: the memory site again, with one session over and over, so
# that what many sessions cost over one is measured in the same rounds.
if [ -n "${url[memory]:-}" ]; then
	head -1 "${tok[memory]}" >"$work/tokens-one"
	url[memory-1]=${url[memory]} tok[memory-1]=$work/tokens-one
	setups+=(memory-1)
fi

wrkrun() { # url tokens duration
	"${wrk_on[@]}" wrk -t"$THREADS" -c"$CONNS" -d"$3" -s bench/sessions.lua "$1" -- "$2" "$THREADS"
}
# Warm-up: every session at least once through its site (its first
# request pays for the full verification and a store read), and bare as
# long. The store reads printed at the end show whether it sufficed.
warm=$((SESSIONS / 2000 + 2))s
for s in "${setups[@]}"; do wrkrun "${url[$s]}" "${tok[$s]}" "$warm" >/dev/null; done

reads() { # store reads Redis has served (GET and the store's scripts)
	if [[ " $STORES " = *" redis "* ]]; then
		redis-cli -p 18379 info commandstats | awk -F'[:=,]' '/^cmdstat_(get|eval|evalsha|exists)/ {n += $3} END {print n + 0}'
	else echo 0; fi
}
declare -A rps cpu
run() { # sets rps and cpu (µs of Caddy's CPU per request) of setup, round
	local name=$1 round=$2 out t0 t1 n
	t0=$(ticks)
	out=$(wrkrun "${url[$name]}" "${tok[$name]}" "$DUR")
	t1=$(ticks)
	n=$(awk '/requests in/ {print $1}' <<<"$out")
	cpu[$name,$round]=$(us_per_request "$t0" "$t1" "$n")
	if ! grep -q '^BAD 0$' <<<"$out" || grep -q "Socket errors" <<<"$out"; then
		echo "$name: answers other than 200:" >&2; echo "$out" >&2; exit 1
	fi
	rps[$name,$round]=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
}
reads0=$(reads)
rotate_rounds
reads1=$(reads)

echo
echo "$SESSIONS distinct sessions in rotation, $ROUNDS rounds of $DUR, $CONNS connections, wrk -t$THREADS"
printf "  %-8s %8s  %-22s %-26s %s\n" setup "req/s" "× bare (range)" "Caddy CPU µs/req (× bare)" "each round × bare"
for s in "${setups[@]}"; do
	all= rb= cs= cb=
	for r in $(seq "$ROUNDS"); do
		all+=" ${rps[$s,$r]}"
		rb+=" $(echo "${rps[$s,$r]} / ${rps[bare,$r]}" | bc -l)"
		cs+=" ${cpu[$s,$r]}"
		cb+=" $(echo "${cpu[$s,$r]} / ${cpu[bare,$r]}" | bc -l)"
	done
	printf "  %-8s %8.0f  %.3f (%s)    %5.1f (%.3f)              " "$s" "$(median <<<"$all")" "$(median <<<"$rb")" "$(range <<<"$rb")" \
		"$(median <<<"$cs")" "$(median <<<"$cb")"
	printf " %.3f" $rb; echo
done
echo "  Caddy RSS: $(awk '/VmRSS/ {print $2/1024 " MB"}' /proc/$caddy_pid/status) now, $(awk '/VmHWM/ {print $2/1024 " MB"}' /proc/$caddy_pid/status) at its peak"
echo "  store reads Redis served during the measured rounds: $((reads1 - reads0)); revocation subscription losses logged: $(grep -c 'revocation subscription lost' "$work/caddy.log" || true)"
grep 'revocation subscription lost' "$work/caddy.log" | head -3 || true
