#!/usr/bin/env bash
# tests/fuzz/run.sh - run every built libFuzzer harness ($BUILD/fuzz_*) for
# FUZZ_SECONDS each (default 60) on its seed corpus tests/fuzz/corpus/<name>,
# FUZZ_JOBS at a time (default: the number of CPUs). New inputs go to a
# scratch directory, so the checked-in corpus stays as it is; a crashing
# input is kept in $BUILD/artifacts. Prints executions and executions per
# second for each harness, then "N passed, N failed" (a harness that ran
# without a finding passes). Exit status 1 on any finding.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${BUILD:-build/fuzz}
case $build in /*) ;; *) build=$root/$build ;; esac
secs=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$build/artifacts"

# fuzz_one BIN: run one harness; its log goes to $scratch/NAME.log.
fuzz_one() {
	local bin=$1 name seeds=()
	name=$(basename "$bin")
	mkdir -p "$scratch/$name.corpus"
	[ -d "$here/corpus/$name" ] && seeds=("$here/corpus/$name")
	ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0} \
		UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
		"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix="$build/artifacts/$name-" "$scratch/$name.corpus" \
		"${seeds[@]}" >"$scratch/$name.log" 2>&1
	echo $? >"$scratch/$name.rc"
}

bins=()
for b in "$build"/fuzz_*; do
	[ -x "$b" ] && bins+=("$b")
done
if [ ${#bins[@]} -eq 0 ]; then
	echo "no harness built in $build (make fuzz-build)"
	echo "0 passed, 1 failed"
	exit 1
fi

running=0
for b in "${bins[@]}"; do
	fuzz_one "$b" &
	running=$((running + 1))
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
done
wait

pass=0
fail=0
for b in "${bins[@]}"; do
	name=$(basename "$b")
	log=$scratch/$name.log
	rc=$(cat "$scratch/$name.rc" 2>/dev/null || echo 99)
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		pass=$((pass + 1))
		printf 'ok %s: %s runs in %ss, %s exec/s, %s\n' "$name" "${runs:-?}" "$secs" \
			"${rate:-?}" "${cov:-cov: ?}"
	else
		fail=$((fail + 1))
		printf 'not ok %s: exit status %s after %s runs\n' "$name" "$rc" "${runs:-?}"
		grep -E 'ERROR|runtime error|invariant failed|Test unit written|SUMMARY' "$log" |
			head -n 20 | sed 's/^/    /'
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
