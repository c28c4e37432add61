#!/usr/bin/env bash
# The benchmark harness (bench/) runs end to end with tiny figures: every
# figure produced, nothing left running. No performance assertions.
set -u
exec /usr/bin/python3 "$(dirname "$0")/../e2e/bench_smoke.py"
