#!/usr/bin/env bash
# Runs the SMS-pumping attack of issue 16 against a real Caddy built with
# phone_otp, with the guard's defaults, and prints the figures that
# docs/pumping.md gives: how many pumping sends and how many real
# visitors' sends reached the provider, and the shape of every answer;
# first with the guard off, for comparison.
#
#   bench/pumping.sh                 # go build ./cmd/caddy
#   XCADDY=1 bench/pumping.sh        # build with xcaddy from this checkout
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
echo "== the guard off (withhold_types none, limit_prefix off, breaker_sends off)"
"$work/pumping" -caddy "$work/caddy" -options "withhold_types none
		limit_prefix off
		breaker_sends off"
echo "== the guard's defaults${OPTIONS:+, and $OPTIONS}"
"$work/pumping" -caddy "$work/caddy" -options "${OPTIONS:-}"
