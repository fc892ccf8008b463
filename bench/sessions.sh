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
# Before the steady rounds, each store's cold fill: from a Caddy that has
# seen none of the tokens, one wrk pass that asks for each session exactly
# once (bench/sessions.lua's pass mode), then DUR rounds over all of them
# until one makes no store command (at most FILL_ROUNDS); then BURST fresh
# sessions, each asked by SAME connections at once (bench/sametoken). After
# the steady rounds, each store's after-reload figures: `caddy reload
# --force` with the unchanged Caddyfile (so it is re-provisioned), then 4
# rounds of the store's site, each beside a bare round, with its ratio to
# the steady median and to that bare round. Store commands are Redis's
# `INFO commandstats` deltas by command name (the bench's own INFO and
# CONFIG, and connection upkeep such as PING and HELLO, left out); round
# trips are the delta of caddy_phone_otp_store_round_trips_total on the
# admin endpoint's /metrics, n/a where Caddy does not expose it.
#
#   MODE=sessions bench/run.sh                        # 10,000 sessions, memory and redis
#   MODE=sessions SESSIONS=100000 STORES=memory bench/run.sh
#   DUR=3s ROUNDS=5 CONNS=64 THREADS=2                # the defaults here
#   SAME=8 BURST=SESSIONS/10 FILL_ROUNDS=6 RELOAD_ROUNDS=4  # the cold fill's and the reload's
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
SAME=${SAME:-8}
BURST=${BURST:-$((SESSIONS / 10 > 100 ? SESSIONS / 10 : 100))}
FILL_ROUNDS=${FILL_ROUNDS:-6}
RELOAD_ROUNDS=${RELOAD_ROUNDS:-4}
admin=127.0.0.1:18019
command="MODE=sessions SESSIONS=$SESSIONS STORES='$STORES' ROUNDS=$ROUNDS DUR=$DUR CONNS=$CONNS THREADS=$THREADS SAME=$SAME BURST=$BURST PIN=${PIN:-0} bench/run.sh"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo '+changes')"
pin_cpus
need_wrk
ports_free 18081 18086 18087 18379 18019
make_work

echo "building Caddy with phone_otp, and minting $SESSIONS sessions per store..." >&2
go build -o "$work/caddy" ./cmd/caddy
go build -o "$work/mint" ./bench/mint
go build -o "$work/sametoken" ./bench/sametoken
secret=bench-secret-0123456789abcdef0123456789

declare -A port realm
port[memory]=18086 realm[memory]=bench-memory
port[redis]=18087 realm[redis]=bench-redis
sites=
for s in $STORES; do
	[ -n "${port[$s]:-}" ] || { echo "unknown store $s (memory, redis)" >&2; exit 1; }
	store=memory
	if [ "$s" = redis ]; then
		start_redis 18379
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
$(caddyfile_head "$admin")
$sites
CADDY
"${caddy_on[@]}" "$work/caddy" run --config "$work/Caddyfile" >"$work/stdout.log" 2>&1 &
pids+=($!)
caddy_pid=${pids[-1]}
wait_http http://127.0.0.1:18081/
# Minted once Caddy runs: a memory store on a fresh storage refuses the
# tokens issued before its start (and in its second), as it must.
sleep 1
# Per store: SESSIONS tokens for the rotation, BURST more for the
# same-token burst, and one to probe the site with, none of them seen by
# Caddy before the cold fill.
for s in $STORES; do
	"$work/mint" -secret "$secret" -realm "${realm[$s]}" -n $((SESSIONS + BURST + 1)) -ttl 12h >"$work/minted-$s"
	head -n "$SESSIONS" "$work/minted-$s" >"$work/tokens-$s"
	sed -n "$((SESSIONS + 1)),$((SESSIONS + BURST))p" "$work/minted-$s" >"$work/burst-$s"
	tail -n 1 "$work/minted-$s" >"$work/probe-$s"
done

declare -A url tok
url[bare]=http://127.0.0.1:18081/ tok[bare]=$work/tokens-$(set -- $STORES; echo "$1")
setups=(bare)
for s in $STORES; do
	url[$s]=http://127.0.0.1:${port[$s]}/ tok[$s]=$work/tokens-$s
	setups+=("$s")
	# A minted session passes, and a request without one does not.
	[ "$(curl -s -o /dev/null -w '%{http_code}' -b "otp_session=$(cat "$work/probe-$s")" "${url[$s]}")" = 200 ] ||
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
redis_port=
if [[ " $STORES " = *" redis "* ]]; then redis_port=18379; fi
dur_s=$(sed 's/s$//; s/^\([0-9.]*\)m$/\1*60/' <<<"$DUR" | bc -l)

# round URL TOKENS: one DUR round of wrk over the tokens; prints its
# req/s, and fails on any answer but 200.
round() {
	local out
	out=$(wrkrun "$1" "$2" "$DUR")
	if ! grep -q '^BAD 0$' <<<"$out" || grep -q "Socket errors" <<<"$out"; then
		echo "$1: answers other than 200:" >&2; echo "$out" >&2; exit 1
	fi
	awk '/Requests\/sec/ {print $2}' <<<"$out"
}

# coldfill STORE: the store's site had seen none of its tokens. One pass
# asks for each exactly once; then DUR rounds over all of them until one
# makes no store command and no round trip; then BURST fresh tokens, each
# asked by SAME connections at once. Sets fill[STORE,…].
declare -A fill
coldfill() {
	local s=$1 out ok secs k c t t0 wpid tick marks
	snap f0 "$redis_port"
	# wrk runs for its whole -d whatever its threads do: it is stopped
	# (SIGINT, which prints its summary) once every thread has marked its
	# slice done; the pass lasts from its start to the last mark.
	: >"$work/pass-done"
	t0=$(date +%s.%N)
	"${wrk_on[@]}" wrk -t"$THREADS" -c"$CONNS" -d$((SESSIONS / 200 + 30))s -s bench/sessions.lua "${url[$s]}" -- \
		"${tok[$s]}" "$THREADS" pass "$work/pass-done" >"$work/pass.out" 2>&1 &
	wpid=$!
	[ -p "$work/tick" ] || mkfifo "$work/tick"
	exec {tick}<>"$work/tick" # a read that times out: a 10 ms sleep with no process to start
	while mapfile -t marks <"$work/pass-done" && [ "${#marks[@]}" -lt "$THREADS" ] && kill -0 "$wpid" 2>/dev/null; do
		read -rt 0.01 -u "$tick" _ || true
	done
	exec {tick}>&-
	secs=$(echo "$(date +%s.%N) - $t0" | bc -l)
	kill -INT "$wpid" 2>/dev/null || true
	wait "$wpid" || true
	snap f1 "$redis_port"
	out=$(cat "$work/pass.out")
	read -r _ ok _ < <(grep '^OK' <<<"$out") || true
	if [ "$ok" != "$SESSIONS" ] || ! grep -q '^BAD 0$' <<<"$out" || grep -q "Socket errors" <<<"$out"; then
		echo "$s: the cold pass had $ok of $SESSIONS sessions answered 200:" >&2; echo "$out" >&2; exit 1
	fi
	fill[$s,pass]="$secs $(delta f0 f1)"
	fill[$s,rounds]= fill[$s,zero]="none of $FILL_ROUNDS"
	if [ "$s" = memory ] && [ "${rt[f0]}" = n/a ]; then
		# Nothing to count: the memory store makes no Redis command, and
		# Caddy counts no round trips.
		fill[$s,rounds]=- fill[$s,zero]="n/a (no Redis, no round-trip counter)"
	fi
	for k in $(seq "$FILL_ROUNDS"); do
		[ "${fill[$s,rounds]}" = - ] && break
		snap f0 "$redis_port"
		round "${url[$s]}" "${tok[$s]}" >/dev/null
		snap f1 "$redis_port"
		read -r c _ t <<<"$(delta f0 f1)"
		fill[$s,rounds]+=" $c/$t"
		if [ "$c" = 0 ] && { [ "$t" = n/a ] || [ "$t" = 0 ]; }; then
			fill[$s,zero]="round $k, after $(printf %.1f "$(echo "$secs + ($k - 1) * $dur_s" | bc -l)") s of load"
			break
		fi
	done
	snap f0 "$redis_port"
	out=$("$work/sametoken" -url "${url[$s]}" -tokens "$work/burst-$s" -same "$SAME")
	snap f1 "$redis_port"
	fill[$s,same]="$(awk '{print $NF}' <<<"$out") $(delta f0 f1)"
}
for s in $STORES; do
	echo "cold fill on $s..." >&2
	coldfill "$s"
done

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

# afterreload STORE: `caddy reload --force` with the unchanged Caddyfile
# (--force: Caddy re-provisions even an unchanged config), then
# RELOAD_ROUNDS rounds of the store's site, each followed by a bare round.
# Sets reload[STORE,…].
declare -A reload
afterreload() {
	local s=$1 k t0 loaded0
	loaded0=$(metric caddy_config_last_reload_success_timestamp_seconds "$admin")
	t0=$(date +%s.%N)
	"$work/caddy" reload --config "$work/Caddyfile" --address "$admin" --force >"$work/reload.log" 2>&1 ||
		{ echo "caddy reload failed:" >&2; cat "$work/reload.log" >&2; exit 1; }
	reload[$s,secs]=$(echo "$(date +%s.%N) - $t0" | bc -l)
	# The config was loaded anew: Caddy's time of its last successful load moved.
	[ "$(metric caddy_config_last_reload_success_timestamp_seconds "$admin")" != "$loaded0" ] ||
		{ echo "caddy reload did not load the config anew" >&2; cat "$work/reload.log" >&2; exit 1; }
	for k in $(seq "$RELOAD_ROUNDS"); do
		snap f0 "$redis_port"
		reload[$s,$k]=$(round "${url[$s]}" "${tok[$s]}")
		snap f1 "$redis_port"
		reload[$s,$k,d]=$(delta f0 f1)
		reload[$s,$k,bare]=$(round "${url[bare]}" "${tok[bare]}")
	done
}
for s in $STORES; do
	echo "reload, then $RELOAD_ROUNDS rounds on $s..." >&2
	afterreload "$s"
done

echo
echo "== $command  # at $commit, $(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "steady: $SESSIONS distinct sessions in rotation, $ROUNDS rounds of $DUR, $CONNS connections, wrk -t$THREADS"
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

echo
echo "cold fill: $SESSIONS sessions the site had not seen, each asked once (wrk -t$THREADS -c$CONNS)"
echo "  (store cmds: Redis commands by name, INFO commandstats deltas; round trips: caddy_phone_otp_store_round_trips_total delta, n/a if Caddy has no such counter)"
printf "  %-7s %6s %7s %10s %8s %11s %8s  %s\n" store secs "req/s" "store cmds" "/session" "round trips" "/session" "by command"
for s in $STORES; do
	read -r secs c names t <<<"${fill[$s,pass]}"
	printf "  %-7s %6.2f %7.0f %10s %8s %11s %8s  %s\n" "$s" "$secs" "$(echo "$SESSIONS / $secs" | bc -l)" "$c" "$(per 0 "$c" "$SESSIONS")" \
		"$t" "$(per 0 "$t" "$SESSIONS")" "$names"
done
echo "  then $DUR rounds over all of them (store cmds/round trips each round), until one makes none:"
for s in $STORES; do
	printf "  %-7s %-40s %s\n" "$s" "${fill[$s,rounds]# }" "${fill[$s,zero]}"
done
echo "  $BURST more sessions the site had not seen, each asked by $SAME connections at once (bench/sametoken):"
for s in $STORES; do
	read -r secs c names t <<<"${fill[$s,same]}"
	printf "  %-7s %6.2f %7s %10s %8s %11s %8s  %s\n" "$s" "$secs" "" "$c" "$(per 0 "$c" "$BURST")" "$t" "$(per 0 "$t" "$BURST")" "$names"
done

echo
echo "after \`caddy reload --force\` with the unchanged Caddyfile: $RELOAD_ROUNDS rounds of $DUR, each followed by a bare round"
printf "  %-7s %-6s %5s %8s %9s %7s %10s %11s  %s\n" store reload round "req/s" "× steady" "× bare" "store cmds" "round trips" "by command"
for s in $STORES; do
	all=
	for r in $(seq "$ROUNDS"); do all+=" ${rps[$s,$r]}"; done
	steady=$(median <<<"$all")
	for k in $(seq "$RELOAD_ROUNDS"); do
		read -r c names t <<<"${reload[$s,$k,d]}"
		printf "  %-7s %-6s %5d %8.0f %9.3f %7.3f %10s %11s  %s\n" "$s" "$([ "$k" = 1 ] && printf %.2fs "${reload[$s,secs]}")" "$k" \
			"${reload[$s,$k]}" "$(echo "${reload[$s,$k]} / $steady" | bc -l)" "$(echo "${reload[$s,$k]} / ${reload[$s,$k,bare]}" | bc -l)" "$c" "$t" "$names"
	done
done
