#!/usr/bin/env bash
# deps.sh - install the Debian packages that b2c-authy needs to build, test and
# run its demo, when any is missing. Quiet when everything is present.
#
# Usage: scripts/deps.sh [--check]
#   --check   only report what is missing (exit 1 when something is)
#
# Runs apt-get update only when a missing package has no install candidate.
# Installing nginx, apache2 or lighttpd must not leave them serving on port 80: their
# start during installation is suppressed (policy-rc.d), and when systemd runs,
# freshly installed ones are disabled and stopped.
set -euo pipefail

packages=(
	build-essential pkg-config libfcgi-dev libfcgi-bin libcurl4-openssl-dev
	libjson-c-dev libssl-dev nginx apache2 spawn-fcgi curl openssl python3
	libxml2-utils ca-certificates
	valgrind clang libclang-rt-14-dev # make valgrind, make asan, libFuzzer targets
	cppcheck clang-format # make lint
	lighttpd lighttpd-mod-openssl # the lighttpd suite (mod_openssl is a package of its own)
	dpkg-dev debhelper lintian man-db systemd git # make deb (git ls-files), the deb and docs suites
	wrk nodejs iproute2 # bench/run.sh
)
web_servers=(nginx apache2 lighttpd)

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]
}

missing=()
for p in "${packages[@]}"; do
	installed "$p" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "${1:-}" = "--check" ] || [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing Debian packages: ${missing[*]}" >&2
	echo "deps: install them as root:" >&2
	echo "  apt-get install -y --no-install-recommends ${missing[*]}" >&2
	[ "$(id -u)" -ne 0 ] && [ "${1:-}" != "--check" ] && echo "deps: or run $0 as root" >&2
	exit 1
fi

# Update the package lists only when they do not know a missing package.
need_update=0
for p in "${missing[@]}"; do
	cand=$(apt-cache policy "$p" 2>/dev/null | awk '/Candidate:/ { print $2 }')
	if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
		need_update=1
		break
	fi
done
if [ "$need_update" -eq 1 ]; then
	echo "deps: apt-get update"
	apt-get update -qq
fi

# Keep the web servers from starting while they are installed.
policy=/usr/sbin/policy-rc.d
own_policy=0
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# b2c-authy deps.sh: no service starts during installation\nexit 101\n' \
		>"$policy"
	chmod 0755 "$policy"
	own_policy=1
fi
cleanup() {
	if [ "$own_policy" -eq 1 ]; then
		rm -f "$policy"
	fi
}
trap cleanup EXIT

echo "deps: installing ${missing[*]}"
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"

# Freshly installed web servers must not hold port 80 now or after a reboot.
if [ -d /run/systemd/system ]; then
	for p in "${web_servers[@]}"; do
		case " ${missing[*]} " in
		*" $p "*)
			systemctl disable --now "$p.service" >/dev/null 2>&1 || true
			echo "deps: $p installed, disabled and stopped (b2c-authy runs its own instances)"
			;;
		esac
	done
fi
echo "deps: done"
