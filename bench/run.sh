#!/usr/bin/env bash
# bench/run.sh - build the responder and run the side-by-side benchmark
# (bench/bench.py: responder, Node.js peer and the nginx limit in one run).
# Installs what is missing (scripts/deps.sh). Arguments go to bench.py,
# e.g. --waits 10000 or --bin PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
make -s all
exec /usr/bin/python3 bench/bench.py "$@"
