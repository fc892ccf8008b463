#!/usr/bin/env bash
# Runs the SMS-pumping guard's scenarios (internal/pumpsim) against a real
# Caddy built with phone_otp, each on a fresh Caddy with the guard's
# defaults in compressed time (code_ttl 10s, breaker_window 2m, pause_for
# 24m: the defaults thirty times faster), paced in real time; prints each
# scenario's figures (per country), then the table docs/pumping.md gives:
# the share of pumping sends that reached the provider, the share of real
# visitors' sends that did, and the shape of every answer. With today,
# first today with the guard off, for comparison. All of them take about
# 25 minutes.
#
#   bench/pumping.sh                              # every scenario
#   SCENARIOS=today,launch bench/pumping.sh       # some: today launch
#       # hostage-one hostage-handful pump-verifies-tenth slow-pump
#   GUARD_OFF=0 bench/pumping.sh                  # no guard-off run
#   XCADDY=1 bench/pumping.sh                     # build with xcaddy from this checkout
#   OPTIONS="limit_prefix off" bench/pumping.sh   # more phone_otp options
#
# Every request goes to 127.0.0.1; nothing is texted (the webhook provider
# posts to a receiver in the driver).
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
make_work

echo "building Caddy with phone_otp..." >&2
build_caddy
go build -o "$work/pumping" ./bench/pumping
guard_off=true
[ "${GUARD_OFF:-1}" = 0 ] && guard_off=false
"$work/pumping" -caddy "$work/caddy" -scenarios "${SCENARIOS:-all}" \
	-guard-off="$guard_off" -options "${OPTIONS:-}"
