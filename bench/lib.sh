# Sourced by bench/run.sh, bench/sessions.sh and bench/pumping.sh: what
# they share. Run from the repository's root, under set -euo pipefail.

# pin_cpus: with PIN=1 (and taskset), Caddy on CPU 0 and wrk (and any
# helper) on CPU 1, so that the two do not take turns on each other's
# core. Sets the arrays caddy_on and wrk_on, prefixes of those commands.
pin_cpus() {
	caddy_on=() wrk_on=()
	if [ "${PIN:-0}" = 1 ] && command -v taskset >/dev/null; then
		caddy_on=(taskset -c 0) wrk_on=(taskset -c 1)
	fi
}

need_wrk() {
	command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
}

# ports_free PORT...: exits if anything listens on one of them.
ports_free() {
	local port
	for port in "$@"; do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			echo "port $port is in use; stop whatever listens there first" >&2
			exit 1
		fi
	done
}

# make_work: a fresh directory $work, removed on exit after the processes
# whose ids are added to the array pids are stopped.
make_work() {
	work=$(mktemp -d)
	pids=()
	trap cleanup EXIT
}
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}

# build_caddy: Caddy with phone_otp at $work/caddy; with XCADDY=1 built
# by xcaddy from this checkout, else by go build ./cmd/caddy.
build_caddy() {
	if [ "${XCADDY:-0}" = 1 ]; then
		(cd "$work" && xcaddy build --output "$work/caddy" \
			--with "github.com/caddyotp/caddyotp@v0.0.0-00010101000000-000000000000=$OLDPWD") >&2
	else
		go build -o "$work/caddy" ./cmd/caddy
	fi
}

# caddyfile_head [ADMIN [GLOBAL]]: how a bench Caddyfile starts: no admin
# endpoint (or one at ADMIN, e.g. 127.0.0.1:18019, which also serves
# /metrics and takes `caddy reload`), GLOBAL's lines added to the global
# options, the storage and a WARN log in $work, and bare Caddy on :18081.
caddyfile_head() {
	cat <<CADDY
{
	admin ${1:-off}
${2:-}
	storage file_system $work/data
	log {
		output file $work/caddy.log
		level WARN
	}
}
http://:18081 {
	respond "ok"
}
CADDY
}

# wait_http URL: waits up to 5s for URL to answer 2xx.
wait_http() {
	for _ in $(seq 50); do curl -fs -o /dev/null "$1" && break; sleep 0.1; done
}

# ticks: Caddy's CPU time so far ($caddy_pid), in clock ticks (user +
# system); hz ticks make a second.
ticks() { awk '{print $14 + $15}' "/proc/$caddy_pid/stat"; }
hz=$(getconf CLK_TCK)

# us_per_request T0 T1 N: µs of Caddy's CPU per request, N requests
# between ticks T0 and T1.
us_per_request() { echo "($2 - $1) * 1000000 / $hz / $3" | bc -l; }

# rotate_rounds: ROUNDS rounds of `run SETUP ROUND` for every setup in the array
# setups, the order rotated each round, so that drift in the machine's
# speed and the place in a round hit every setup alike.
rotate_rounds() {
	local r i
	for r in $(seq "$ROUNDS"); do
		for i in $(seq 0 $((${#setups[@]} - 1))); do
			run "${setups[$(((i + r) % ${#setups[@]}))]}" "$r" || exit 1
		done
		echo "round $r done" >&2
	done
}

# median and range of the numbers on stdin (blank-separated).
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
range() { tr ' ' '\n' | grep -v '^$' | sort -g | awk 'NR==1 {lo=$1} {hi=$1} END {printf "%.3f-%.3f", lo, hi}'; }

# metric NAME ADMIN: the sum of every series of the counter NAME on Caddy's
# admin /metrics at ADMIN, or n/a when Caddy does not expose it (older
# code); an exposed counter with no series yet is 0.
metric() {
	curl -fs "http://$2/metrics" | awk -v m="$1" '
		$1 == "#" && $3 == m {seen = 1}
		index($1, m) == 1 && (length($1) == length(m) || substr($1, length(m) + 1, 1) == "{") {seen = 1; n += $NF}
		END {if (seen) printf "%.0f\n", n; else print "n/a"}'
}

# per A B N: (B - A) / N with two decimals, or n/a when A or B is.
per() {
	if [ "$1" = n/a ] || [ "$2" = n/a ]; then echo n/a; else echo "($2 - $1) / $3" | bc -l | xargs printf "%.2f"; fi
}

# snap NAME [PORT]: a snapshot of what the stores did so far, to subtract
# later with delta: the commands Redis at PORT has served, by name, in
# $work/snap-NAME (empty without PORT), and the round-trip counter in
# rt[NAME] (n/a where Caddy does not expose it; needs $admin).
declare -A rt
snap() {
	echo "_ 0" >"$work/snap-$1" # so that no snapshot is empty, for delta's awk
	if [ -n "${2:-}" ]; then
		redis-cli -p "$2" info commandstats | tr -d '\r' |
			awk -F'[:=,]' '/^cmdstat_/ {sub(/^cmdstat_/, "", $1); print $1, $3}' >"$work/snap-$1"
	fi
	rt[$1]=$(metric caddy_phone_otp_store_round_trips_total "$admin")
}

# delta A B: what the stores did between the snapshots A and B, as one
# line "COMMANDS NAMES ROUNDTRIPS": the store's Redis commands in all,
# each by name (NAMES, e.g. GET=10000,EVALSHA=10000; - for none) and the
# round trips Caddy counted (n/a without the counter). The bench's own
# commands (INFO, CONFIG) and connection upkeep (PING, HELLO, CLIENT,
# SELECT, AUTH, the SUBSCRIBE family, COMMAND) are left out.
delta() {
	local cmds
	cmds=$(awk '
		FNR == NR {was[$1] = $2; next}
		$1 != "_" {
			base = $1; sub(/\|.*/, "", base)
			if (base ~ /^(info|config|ping|hello|client|select|auth|subscribe|psubscribe|ssubscribe|unsubscribe|punsubscribe|sunsubscribe|command|readonly)$/) next
			d = $2 - was[$1]
			if (d > 0) {total += d; names = names (names == "" ? "" : ",") toupper($1) "=" d}
		}
		END {print total + 0, (names == "" ? "-" : names)}' "$work/snap-$1" "$work/snap-$2")
	if [ "${rt[$1]}" = n/a ] || [ "${rt[$2]}" = n/a ]; then
		echo "$cmds n/a"
	else
		echo "$cmds $((rt[$2] - rt[$1]))"
	fi
}

# start_redis PORT: a throwaway redis-server on 127.0.0.1:PORT (no
# persistence, its files in $work), stopped with the other pids; returns
# once it answers PING.
start_redis() {
	command -v redis-server >/dev/null || { echo "redis-server is not installed" >&2; exit 1; }
	redis-server --port "$1" --bind 127.0.0.1 --save "" --appendonly no --dir "$work" --logfile "$work/redis.log" &
	pids+=($!)
	for _ in $(seq 50); do redis-cli -p "$1" ping >/dev/null 2>&1 && break; sleep 0.1; done
}
