#!/usr/bin/env bash
# The README's demo: DEMO_ONESHOT=1 scripts/demo.sh on free ports with the mock
# Authy API; checks the register -> wait -> approve flow it runs, the commands
# it prints, and that it leaves nothing running. Skips when nginx, spawn-fcgi,
# curl or the responder binary is missing.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
pass=0
fail=0

check() { # CONDITION-STATUS WHAT [DETAIL]
	if [ "$1" -eq 0 ]; then
		pass=$((pass + 1))
		echo "ok $2"
	else
		fail=$((fail + 1))
		echo "not ok $2 ${3:-}"
	fi
}

for tool in nginx spawn-fcgi curl python3; do
	if ! command -v "$tool" >/dev/null && [ ! -x "/usr/sbin/$tool" ]; then
		echo "skipped: $tool not installed"
		echo "0 passed, 0 failed"
		exit 0
	fi
done
if [ ! -x "$root/cgi-bin/b2c-authy.fcgi" ]; then
	echo "skipped: cgi-bin/b2c-authy.fcgi not built (run make)"
	echo "0 passed, 0 failed"
	exit 0
fi

work=$(mktemp -d /tmp/b2c-authy-demo-test.XXXXXX)
trap 'rm -rf "$work"' EXIT
read -r port health_port < <(python3 -c '
import socket
s = [socket.socket() for _ in range(2)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')

start=$(date +%s)
env -u AUTHY_API_KEY DEMO_ONESHOT=1 DEMO_PORT="$port" DEMO_HEALTH_PORT="$health_port" \
	DEMO_DIR="$work/demo" PATH="/usr/sbin:/usr/bin:/sbin:/bin" \
	timeout 120 bash "$root/scripts/demo.sh" >"$work/out" 2>&1
rc=$?
took=$(($(date +%s) - start))
sed 's/^/# /' "$work/out"

check $rc "demo exits 0" "rc=$rc"
out=$(cat "$work/out")
grep -q 'demo: mock Authy API on https://127.0.0.1:' "$work/out"
check $? "runs the mock Authy API without AUTHY_API_KEY"
grep -A1 -E '^ +\{"authyId":"[0-9]+"\}$' "$work/out" | grep -qE '^ +HTTP 200$'
check $? "register -> 200 with an authyId"
grep -A2 'the reply B2C gets' "$work/out" | tr -d ' \n' |
	grep -q '^demo:4.thereplyB2Cgets:{"authyApproved":true}HTTP200$'
check $? "wait -> approved -> 200 {\"authyApproved\":true}"
grep -q 'flow succeeded' "$work/out"
check $? "reports the flow as succeeded"
case "$out" in
*"https://127.0.0.1:$port/api/identity/register"*"https://127.0.0.1:$port/api/identity/waitforauthyapproval"*"/_mock/users/<authyId>/approve-pending"*)
	check 0 "prints the curl commands for register, wait and approving in the mock" ;;
*) check 1 "prints the curl commands for register, wait and approving in the mock" ;;
esac
grep -qE 'outcome=approved' "$work/demo/responder.log" 2>/dev/null
check $? "responder logged the approval"
grep -q 'route=callback status=200' "$work/demo/responder.log" 2>/dev/null
check $? "the mock's signed callback reached the responder through nginx"
# A log that was not written would pass these vacuously: each must be there.
[ -s "$work/demo/responder.log" ] && [ -s "$work/demo/mock.log" ] &&
	! grep -q 'demo-api-key' "$work/demo/responder.log" "$work/demo/mock.log"
check $? "the API key appears in no log (both written)"
[ -f "$work/demo/nginx/error.log" ] &&
	! grep -qE '\[(emerg|alert|crit)\]' "$work/demo/nginx/error.log"
check $? "nginx logged no emergencies (its error log written)"

# Nothing left behind: ports closed, runtime directory removed.
closed() {
	python3 -c '
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.5).close()
    sys.exit(1)
except OSError:
    sys.exit(0)' "$1"
}
mock_port=$(cat "$work/demo/mock.port" 2>/dev/null || echo 0)
closed "$port" && closed "$health_port" && closed "$mock_port"
check $? "nginx and the mock are stopped on exit"
sock=$(sed -n 's/^demo: responder on \(.*\) (log.*/\1/p' "$work/out")
[ -n "$sock" ] && [ ! -e "$sock" ] && [ ! -e "$(dirname "$sock")" ]
check $? "runtime directory removed" "$sock"
left=$(pgrep -af "$work/demo/" || true)
[ -z "$left" ]
check $? "no process of the demo left running" "$left"
[ "$took" -lt 90 ]
check $? "demo finishes within 90 s" "${took}s"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
