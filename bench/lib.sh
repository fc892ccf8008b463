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

# caddyfile_head: how a bench Caddyfile starts: no admin endpoint, the
# storage and a WARN log in $work, and bare Caddy on :18081.
caddyfile_head() {
	cat <<CADDY
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
