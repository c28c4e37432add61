#!/usr/bin/env bash
# bench/run.sh - build and run the loopback benchmark (see bench/bench.py).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v wrk >/dev/null || apt-get install -y wrk
make -s all
exec /usr/bin/python3 bench/bench.py "$@"
