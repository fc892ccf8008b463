#!/usr/bin/env bash
# Mutation testing of the security code (issue 26), not run in CI: gremlins
# (github.com/go-gremlins/gremlins) mutates one covered line at a time
# (comparisons flipped and negated, boundaries moved, arithmetic swapped,
# ++/--, negatives) and runs the package's tests against each mutant. A
# mutant that no test fails "lived": it is a rule nothing checks, so it
# gets a test, or a line in docs/security.md saying why it is equivalent.
#
# Covered: internal/flow and internal/session with all their tests, and
# the root's request.go, strip.go and forwardauth.go with the tests named
# in ROOT_RUN (the root's whole suite per mutant would take hours).
#
#   bench/mutate.sh                 # all three, results in bench/results/mutate/
#   bench/mutate.sh internal/flow   # one target: internal/flow, internal/session or root
#   WORKERS=1 bench/mutate.sh       # gremlins workers (default 1: a shared 2-core machine)
#   GREMLINS=/path/to/gremlins …    # else it is installed into a temporary GOBIN
#
# Each mutant costs a build of the package's tests: about 8 s on two
# busy cores with WORKERS=2, so the whole run (some 370 covered mutants)
# takes close to an hour; the *_EXCLUDE variables cut it short. Each
# target's JSON report and log land in OUT (default bench/results/mutate);
# the summary gives killed, lived, timed out and not covered mutants, and
# the efficacy (killed / (killed + lived)). The score and the survivors
# are in docs/security.md.
set -euo pipefail
cd "$(dirname "$0")/.."

GREMLINS_VERSION=${GREMLINS_VERSION:-v0.6.0}
OUT=${OUT:-bench/results/mutate}
WORKERS=${WORKERS:-1}
# gremlins times a mutant out at this many times its first (coverage) run,
# which the build cache may have made fast: a mutant's run builds anew.
TIMEOUT_COEF=${TIMEOUT_COEF:-40}
# Extra file exclusions, to cut a run short: regexps on the paths gremlins
# walks, which start in the package's folder (the module root for root),
# e.g. FLOW_EXCLUDE='^(pumping|imitate)' leaves the pumping guard and the
# withheld-send imitation out of internal/flow.
FLOW_EXCLUDE=${FLOW_EXCLUDE:-}
SESSION_EXCLUDE=${SESSION_EXCLUDE:-}
ROOT_EXCLUDE=${ROOT_EXCLUDE:-}
ROOT_RUN=${ROOT_RUN:-'^(TestSafeReturn|TestSameOrigin.*|TestIsHTTPS|TestNormalizeCode|TestSameHeaderName|TestStrip.*|TestForwardLogin|TestForwardAuthNoSession|TestValidHostPort|TestForwardAuthEndpoint|TestForwardAuthSecondFactor|TestForwardAuthCaddy|TestIntegrationUpstreamHeaders|TestIntegrationOpenRedirect|TestIntegrationBadInput)$'}

gremlins=${GREMLINS:-$(command -v gremlins || true)}
if [[ -z $gremlins ]]; then
	bin=$(mktemp -d)
	GOBIN=$bin go install "github.com/go-gremlins/gremlins/cmd/gremlins@$GREMLINS_VERSION"
	gremlins=$bin/gremlins
fi
mkdir -p "$OUT"

# run TARGET PATH [gremlins flags…]: one package; GOFLAGS carries a -run
# to every go test gremlins makes, the coverage pass included, so only
# lines those tests reach get mutants.
run() {
	local name=$1 path=$2
	shift 2
	echo "== $name"
	"$gremlins" unleash "$path" --workers "$WORKERS" --test-cpu 1 --timeout-coefficient "$TIMEOUT_COEF" \
		-o "$OUT/$name.json" "$@" 2>&1 | tee "$OUT/$name.log" | grep -E 'LIVED|TIMED OUT|Killed:|Mutator|efficacy' || true
}

targets=("${@:-internal/flow internal/session root}")
for t in ${targets[@]}; do
	case $t in
	internal/flow | internal/session)
		name=${t#internal/}
		var=${name^^}_EXCLUDE
		ex=(-E '_test\.go$')
		[[ -n ${!var} ]] && ex+=(-E "${!var}")
		run "$name" "./$t" "${ex[@]}"
		;;
	root)
		# Every file of the module but the three.
		ex=(-E '^(bench|cmd|internal|sms|store)/' -E '_test\.go$')
		[[ -n $ROOT_EXCLUDE ]] && ex+=(-E "$ROOT_EXCLUDE")
		for f in *.go; do
			case $f in request.go | strip.go | forwardauth.go | *_test.go) ;; *) ex+=(-E "^$f\$") ;; esac
		done
		GOFLAGS="-run=$ROOT_RUN" run root . "${ex[@]}"
		;;
	*)
		echo "unknown target $t: internal/flow, internal/session or root" >&2
		exit 2
		;;
	esac
done
