#!/usr/bin/env bash
# fuzz.sh - a short libFuzzer run of every harness in tests/fuzz/ as part of
# `make check`: builds them with clang and the sanitizers (make fuzz-build,
# into build/fuzz), then runs each for FUZZ_SUITE_SECONDS (default 10) on its
# seed corpus. Skipped when clang or its libFuzzer runtime is missing.
# Last line "N passed, N failed": one pass per harness that found nothing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=${B2C_AUTHY_ROOT:-$(cd "$here/../.." && pwd)}

skip() {
	echo "skipped: $1"
	echo "0 passed, 0 failed"
	exit 0
}

# The committed seeds are what corpus.py writes (also without clang).
if ! python3 "$root/tests/fuzz/corpus.py" --check; then
	echo "fuzz: tests/fuzz/corpus/ differs from tests/fuzz/corpus.py; run it and commit"
	echo "0 passed, 1 failed"
	exit 1
fi

command -v clang >/dev/null || skip "clang not installed"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
	'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
	'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
	>"$tmp/probe.c"
clang -fsanitize=fuzzer,address,undefined -o "$tmp/probe" "$tmp/probe.c" >"$tmp/probe.log" 2>&1 ||
	skip "clang has no libFuzzer runtime (Debian: libclang-rt-14-dev)"

if ! make -s -C "$root" fuzz-build >"$tmp/build.log" 2>&1; then
	tail -n 30 "$tmp/build.log"
	echo "fuzz: building the harnesses failed"
	echo "0 passed, 1 failed"
	exit 1
fi
FUZZ_SECONDS=${FUZZ_SUITE_SECONDS:-10} BUILD=$root/build/fuzz exec "$root/tests/fuzz/run.sh"
