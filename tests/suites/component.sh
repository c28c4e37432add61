#!/usr/bin/env bash
# component.sh - component tests of upstream.c + authy.c against the mock Authy
# over TLS on loopback. Generates the test certificates (or reuses
# $B2C_AUTHY_CERTS), starts two mocks on free ports (one with the proper server
# certificate, one whose certificate names another host), finds a closed port,
# and runs build/component/test_upstream_authy (not built: a failure). The
# mocks are always stopped.
# Last line: the test binary's "N passed, N failed"; exit status 1 on failure.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=${B2C_AUTHY_ROOT:-$(cd "$here/../.." && pwd)}
build=${BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
bin=$build/component/test_upstream_authy
python=/usr/bin/python3
api_key=k3y-component-$$-0123456789abcdef

skip() {
	echo "skipped: $1"
	echo "0 passed, 0 failed"
	exit 0
}

[ -x "$python" ] || skip "$python not found"
command -v openssl >/dev/null || skip "openssl not found"

tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

fail() {
	echo "component: $1"
	echo "0 passed, 1 failed"
	exit 1
}

# Like a unit test, a component test that was not built is a failure, not a skip.
[ -x "$bin" ] || fail "$bin not built (make component)"

certs=${B2C_AUTHY_CERTS:-$tmp/certs}
"$root/scripts/gen-test-certs.sh" "$certs" >"$tmp/certs.log" 2>&1 ||
	{ cat "$tmp/certs.log"; fail "certificate generation failed"; }

# start_mock NAME CERT: start a mock on a free port; sets port_NAME.
start_mock() {
	local name=$1 cert=$2 ready=$tmp/$1.ready
	"$python" "$root/tests/mock/mock_authy.py" --port 0 --host 127.0.0.1 \
		--cert "$certs/$cert.pem" --key "$certs/$cert.key" --api-key "$api_key" \
		--ready-file "$ready" --log "$tmp/$name.log" >/dev/null 2>"$tmp/$name.err" &
	pids+=($!)
	for _ in $(seq 100); do
		if [ -s "$ready" ]; then
			printf -v "port_$name" '%s' "$(tr -d '[:space:]' <"$ready")"
			return 0
		fi
		kill -0 "${pids[-1]}" 2>/dev/null || break
		sleep 0.1
	done
	cat "$tmp/$name.err"
	fail "mock $name did not start"
}

start_mock main server
start_mock wrongname wrongname
closed_port=$("$python" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()')

# The mock by the machine's name, so that curl resolves it: only when the
# server certificate names it and it resolves to 127.0.0.1 alone.
host=$(hostname 2>/dev/null || true)
host_url=
if [ -n "$host" ] &&
	openssl x509 -in "$certs/server.pem" -noout -ext subjectAltName 2>/dev/null |
	grep -qF "DNS:$host," &&
	"$python" -c 'import socket, sys
addrs = {a[4][0] for a in socket.getaddrinfo(sys.argv[1], 443, proto=socket.IPPROTO_TCP)}
sys.exit(addrs != {"127.0.0.1"})' "$host" 2>/dev/null; then
	host_url=https://$host:$port_main
fi

slack=500
runner=()
if [ "${VALGRIND:-0}" = 1 ]; then
	slack=5000
	runner=(valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite)
fi

B2C_MOCK_URL=https://localhost:$port_main \
	B2C_MOCK_CA=$certs/ca.pem \
	B2C_MOCK_API_KEY=$api_key \
	B2C_MOCK_WRONGNAME_URL=https://localhost:$port_wrongname \
	B2C_CLOSED_URL=https://127.0.0.1:$closed_port \
	B2C_MOCK_HOST_URL=$host_url \
	B2C_TIMING_SLACK_MS=$slack \
	"${runner[@]}" "$bin" >"$tmp/out" 2>"$tmp/err"
rc=$?

# The mock's own log must not hold the API key either (and must be there to say so).
if [ ! -s "$tmp/main.log" ]; then
	echo "component: the mock wrote no log ($tmp/main.log)"
	rc=1
elif grep -qF "$api_key" "$tmp/main.log" "$tmp/main.err"; then
	echo "component: the API key appears in the mock's log"
	rc=1
fi
cat "$tmp/err"
result=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$tmp/out" | tail -n 1)
if [ -z "$result" ]; then
	echo "component: test binary exited with status $rc and no result line"
	cat "$tmp/out"
	echo "0 passed, 1 failed"
	exit 1
fi
[ $rc -eq 0 ] || echo "component: exit status $rc"
echo "$result"
[ $rc -eq 0 ]
