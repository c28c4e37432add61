#!/usr/bin/env bash
# test.sh - run every test of b2c-authy on a Debian 12 machine: install the
# missing Debian packages (as root), build, then `make check` (unit, component,
# end-to-end through cgi-fcgi, real nginx, Apache and lighttpd, two instances
# behind nginx, the Debian package built, installed and purged, policy
# validation).
# The last line of the output is "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
make -j"$(nproc)" all unit component
make check
