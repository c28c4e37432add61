#!/usr/bin/env bash
# The Debian package: build (dpkg-buildpackage), lintian, apt-get install,
# the installed service through nginx against the mock, remove, purge, and
# nothing left behind. Root only; skips otherwise. One run at a time on this
# machine (other checkouts may run it too): the lock waits for the other.
set -u
suite=$(dirname "$0")/../e2e/deb.py
if [ "$(id -u)" -eq 0 ] && command -v flock >/dev/null; then
	exec flock -w 900 /run/lock/b2c-authy-deb-suite.lock /usr/bin/python3 "$suite"
fi
exec /usr/bin/python3 "$suite"
