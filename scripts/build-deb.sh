#!/usr/bin/env bash
# build-deb.sh - build the Debian package of b2c-authy (debian/) with
# dpkg-buildpackage in a private copy of the source tree, so that the build
# leaves nothing in the tree and nothing next to it, and put the .deb (and
# the .buildinfo and .changes) into OUTDIR.
#
# Usage: scripts/build-deb.sh OUTDIR
# Needs the Build-Depends of debian/control (scripts/deps.sh installs them).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: build-deb.sh OUTDIR}
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The tracked files and new ones not ignored: what a clean clone would hold,
# plus uncommitted work.
mkdir "$work/b2c-authy"
# (Files deleted but not yet committed are left out.)
cd "$root"
git ls-files -z --cached --others --exclude-standard |
	while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
	xargs -0 cp --parents -t "$work/b2c-authy"
if [ ! -f "$work/b2c-authy/debian/rules" ]; then
	echo "build-deb: $root is not a git checkout with debian/" >&2
	exit 1
fi
(cd "$work/b2c-authy" && nice dpkg-buildpackage -us -uc -b -j"$(nproc)")
cp "$work"/*.deb "$work"/*.buildinfo "$work"/*.changes "$out"/
ls "$out"/*.deb
