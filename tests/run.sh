#!/usr/bin/env bash
# tests/run.sh - the single test entry point of b2c-authy (make check, .ci/run).
# Runs every unit test binary, then every suite script tests/suites/*.sh. Each
# part prints its own "N passed, N failed" line; this script adds them up and
# prints the total as its last line. Exit status 1 when anything failed.
#
# Environment: BUILD (build dir, default build), B2C_AUTHY_BIN (responder
# binary), VALGRIND=1 (run unit tests and the responder under valgrind),
# SUITES="a b" (only these suite names; an unknown name is a failure),
# B2C_AUTHY_NO_SKIP=1 (a part that skipped as a whole, "0 passed, 0 failed",
# counts as a failure: for CI, where every package is installed), with
# B2C_AUTHY_MAY_SKIP="a b" (these suites may skip as a whole all the same).
# A part that ran nothing without a skip line ("skipped: ...") always fails.
# Every skip line of a part is repeated before the total.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
export BUILD=${BUILD:-build}
export B2C_AUTHY_BIN=${B2C_AUTHY_BIN:-$root/cgi-bin/b2c-authy.fcgi}
export B2C_AUTHY_ROOT=$root
total_pass=0
total_fail=0

# add_counts LOGFILE NAME: take the last "N passed, N failed" line of a part.
add_counts() {
	local line p f
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		echo "  $2: no result line (crashed?)"
		total_fail=$((total_fail + 1))
		return
	fi
	p=${line%% passed*}
	f=${line#*passed, }
	f=${f%% failed*}
	total_pass=$((total_pass + p))
	total_fail=$((total_fail + f))
	echo "  $2: $line"
	awk -v n="$2" '/^ *skipped:/ { sub(/^ */, ""); print "  " n ": " $0 }' "$1" |
		tee -a "$skips"
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		echo "  $2: ran nothing" | tee -a "$skips"
		if ! grep -qE '^ *skipped:' "$1"; then
			echo "  $2: ran nothing and gave no skip line"
			total_fail=$((total_fail + 1))
		elif [ "${B2C_AUTHY_NO_SKIP:-0}" = 1 ] && ! may_skip "$2"; then
			total_fail=$((total_fail + 1))
		fi
	fi
}

# may_skip NAME: is the part NAME (suite/x) one of B2C_AUTHY_MAY_SKIP's suites?
may_skip() {
	case " ${B2C_AUTHY_MAY_SKIP:-} " in *" ${1#suite/} "*) [ "${1#suite/}" != "$1" ] ;; *) false ;; esac
}

run_part() { # NAME CMD...
	local name=$1 log rc
	shift
	log=$(mktemp)
	echo "== $name"
	"$@" >"$log" 2>&1
	rc=$?
	if [ $rc -ne 0 ] || ! grep -qE '^[0-9]+ passed, 0 failed' "$log"; then
		sed 's/^/    /' "$log" | tail -n 60
	fi
	add_counts "$log" "$name"
	if [ $rc -ne 0 ] && grep -qE '^[0-9]+ passed, 0 failed' "$log"; then
		echo "  $name: exit status $rc"
		total_fail=$((total_fail + 1))
	fi
	rm -f "$log"
}

vg=()
if [ "${VALGRIND:-0}" = 1 ]; then
	vg=(valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite)
fi

skips=$(mktemp)
trap 'rm -f "$skips"' EXIT

# A name in SUITES that is neither "unit" nor a suite would run nothing.
for name in ${SUITES:-}; do
	if [ "$name" != unit ] && [ ! -f "$here/suites/$name.sh" ]; then
		echo "  $name: no such suite (tests/suites/$name.sh)"
		total_fail=$((total_fail + 1))
	fi
done

# Every unit test source must have its binary: one that was not built is a failure.
for src in "$here"/unit/test_*.c; do
	case " ${SUITES:-unit} " in *" unit "*) ;; *) break ;; esac
	t=$root/$BUILD/tests/$(basename "$src" .c)
	if [ ! -x "$t" ]; then
		echo "  unit/$(basename "$t"): not built ($t)"
		total_fail=$((total_fail + 1))
		continue
	fi
	run_part "unit/$(basename "$t")" "${vg[@]}" "$t"
done

for s in "$here"/suites/*.sh; do
	[ -f "$s" ] || continue
	name=$(basename "$s" .sh)
	if [ -n "${SUITES:-}" ]; then
		case " $SUITES " in *" $name "*) ;; *) continue ;; esac
	fi
	run_part "suite/$name" bash "$s"
done

if [ -s "$skips" ]; then
	echo "skipped:"
	cat "$skips"
fi
echo "$total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
