#!/usr/bin/env bash
# The Debian package: build (dpkg-buildpackage), lintian, apt-get install,
# the installed service through nginx against the mock, remove, purge, and
# nothing left behind. Root only; skips otherwise.
set -u
exec /usr/bin/python3 "$(dirname "$0")/../e2e/deb.py"
