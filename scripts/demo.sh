#!/usr/bin/env bash
# demo.sh - run b2c-authy end to end on this machine: nginx with mutual TLS on
# https://127.0.0.1:8443, the responder under spawn-fcgi, and the mock Authy
# API (or the real one when AUTHY_API_KEY is set). Registers a user, waits for
# the approval, approves it, prints the reply and the curl commands to try by
# hand, then keeps running until Ctrl-C. Everything it starts is stopped on exit.
#
# Usage: sudo ./scripts/demo.sh
#
# Environment:
#   DEMO_PORT         HTTPS port of nginx (default 8443)
#   DEMO_HEALTH_PORT  plain-HTTP port for /healthz and /metrics (default DEMO_PORT+1)
#   DEMO_DIR          certificates, configurations and logs (default build/demo)
#   DEMO_ONESHOT=1    stop after the automatic flow (exit status 0 when it worked)
#   AUTHY_API_KEY     use the real Authy API with this key instead of the mock;
#                     AUTHY_API_URL (default https://api.authy.com), and
#                     DEMO_EMAIL + DEMO_PHONE (+<country code><number>) of a real
#                     phone with the Authy app for the automatic flow
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
port=${DEMO_PORT:-8443}
health_port=${DEMO_HEALTH_PORT:-$((port + 1))}
dir=${DEMO_DIR:-$root/build/demo}
oneshot=${DEMO_ONESHOT:-0}
bin=$root/cgi-bin/b2c-authy.fcgi
web_user=www-data
pids=()
run=""

say() { printf 'demo: %s\n' "$*"; }
die() {
	printf 'demo: error: %s\n' "$*" >&2
	exit 1
}

# Stop what this script started, newest first, and wait for each.
# shellcheck disable=SC2317 # called through the EXIT trap
cleanup() {
	local i pid
	trap - EXIT INT TERM
	for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
		pid=${pids[$i]}
		if kill -0 "$pid" 2>/dev/null; then
			kill -TERM "$pid" 2>/dev/null || true
		fi
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	[ -n "$run" ] && rm -rf "$run"
	[ ${#pids[@]} -gt 0 ] && say "stopped"
	return 0
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# wait_until SECONDS DESCRIPTION COMMAND...: retry COMMAND every 0.1 s.
wait_until() {
	local n=$(($1 * 10)) what=$2
	shift 2
	while ! "$@" 2>/dev/null; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || die "timed out waiting for $what"
		sleep 0.1
	done
}

# ---- build and certificates ----
"$root/scripts/deps.sh" || die "missing packages (see above): run this script as root"
make -s -C "$root" >/dev/null || die "make failed"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
bash "$root/scripts/gen-test-certs.sh" "$dir/certs" >/dev/null
certs=$dir/certs
thumbprint=$(awk '$1 == "client" { print $2 }' "$certs/thumbprints.txt")

# Sockets and nginx's temporary files live where the web server user can reach.
run=$(mktemp -d /tmp/b2c-authy-demo.XXXXXX)
chmod 0711 "$run"
sock=$run/b2c-authy.sock

# ---- Authy: the mock unless a real API key is given ----
callback_url=https://localhost:$port/api/authy/callback
umask 077
if [ -n "${AUTHY_API_KEY:-}" ]; then
	api_url=${AUTHY_API_URL:-https://api.authy.com}
	printf '%s\n' "$AUTHY_API_KEY" >"$dir/api-key"
	ca_line=""
	mock_url=""
	say "using the Authy API at $api_url"
else
	printf 'demo-api-key\n' >"$dir/api-key"
	rm -f "$dir/mock.port"
	# The mock also signs a OneTouch callback for each decision and posts it to
	# nginx's callback host (here "localhost", a name on the demo certificate).
	python3 "$root/tests/mock/mock_authy.py" --port 0 --cert "$certs/server.pem" \
		--key "$certs/server.key" --api-key demo-api-key --ready-file "$dir/mock.port" \
		--log "$dir/mock.log" --callback-url "$callback_url" --callback-deliver \
		--callback-ca "$certs/ca.pem" >/dev/null 2>&1 &
	pids+=($!)
	wait_until 15 "the mock Authy API" test -s "$dir/mock.port"
	mock_url=https://127.0.0.1:$(cat "$dir/mock.port")
	api_url=$mock_url
	ca_line="authy_ca_file = $certs/ca.pem
callback_url = $callback_url"
	say "mock Authy API on $mock_url (log: $dir/mock.log)"
fi
unset AUTHY_API_KEY

# ---- the responder under spawn-fcgi ----
cat >"$dir/b2c-authy.conf" <<EOF
# b2c-authy demo configuration (see etc/b2c-authy.conf.example)
authy_api_key_file = $dir/api-key
authy_api_url = $api_url
$ca_line
client_cert_thumbprints = $thumbprint
wait_budget_ms = 25000
poll_interval_ms = 500
approval_message = "Sign in to the b2c-authy demo"
EOF
umask 022
"$bin" -c "$dir/b2c-authy.conf" --check-config >/dev/null || die "configuration refused"
group=()
[ "$(id -u)" -eq 0 ] && group=(-G "$web_user")
spawn-fcgi -n -s "$sock" -M 0660 "${group[@]}" -- "$bin" -c "$dir/b2c-authy.conf" \
	>>"$dir/responder.log" 2>&1 &
pids+=($!)
wait_until 10 "the responder socket" test -S "$sock"
say "responder on $sock (log: $dir/responder.log)"

# ---- nginx with the shipped site configuration ----
mkdir -p "$dir/nginx" "$run/nginx"
sed -e "s|listen 443 ssl|listen 127.0.0.1:$port ssl|" \
	-e "s|listen 127.0.0.1:8081;|listen 127.0.0.1:$health_port;|" \
	-e "s|server_name authy-callback.example.com;|server_name localhost;|" \
	-e "s|/etc/b2c-authy/tls/server.pem|$certs/server.pem|" \
	-e "s|/etc/b2c-authy/tls/server.key|$certs/server.key|" \
	-e "s|/etc/b2c-authy/tls/client-ca.pem|$certs/ca.pem|" \
	-e "s|/run/b2c-authy/b2c-authy.sock|$sock|" \
	"$root/nginx/b2c-authy.conf" >"$dir/nginx/b2c-authy.conf"
cp /etc/nginx/fastcgi_params "$dir/nginx/"
user_line=""
[ "$(id -u)" -eq 0 ] && user_line="user $web_user $web_user;"
cat >"$dir/nginx/nginx.conf" <<EOF
# private nginx instance of the b2c-authy demo
$user_line
worker_processes 1;
pid $run/nginx/nginx.pid;
error_log $dir/nginx/error.log;
events { worker_connections 256; }
http {
	access_log $dir/nginx/access.log;
	client_body_temp_path $run/nginx/body;
	fastcgi_temp_path $run/nginx/fastcgi;
	proxy_temp_path $run/nginx/proxy;
	uwsgi_temp_path $run/nginx/uwsgi;
	scgi_temp_path $run/nginx/scgi;
	include $dir/nginx/b2c-authy.conf;
}
EOF
nginx_cmd=(nginx -p "$dir/nginx" -e "$dir/nginx/error.log" -c "$dir/nginx/nginx.conf")
"${nginx_cmd[@]}" -t -q || die "nginx -t failed"
"${nginx_cmd[@]}" -g 'daemon off;' &
pids+=($!)
url=https://127.0.0.1:$port
tls=(--cacert "$certs/ca.pem" --cert "$certs/client.pem" --key "$certs/client.key")
wait_until 10 "nginx" curl -s -o /dev/null "${tls[@]}" "$url/healthz"
say "nginx with mutual TLS on $url (logs: $dir/nginx/)"

# ---- the automatic flow: register -> wait -> approve ----
post() { # PATH JSON: POST as Azure AD B2C does; prints the body, then "HTTP <code>"
	curl -sS "${tls[@]}" -H 'Content-Type: application/json' -d "$2" \
		-w '\nHTTP %{http_code}\n' "$url$1"
}
mock() { # METHOD PATH: the mock's control API
	curl -sS --cacert "$certs/ca.pem" -X "$1" "$mock_url$2"
}

flow() {
	local email phone reg aid out uuid
	if [ -n "$mock_url" ]; then
		email=newcomer@example.com
		phone="+1 415 555 0123"
	else
		email=${DEMO_EMAIL:-}
		phone=${DEMO_PHONE:-}
		if [ -z "$email" ] || [ -z "$phone" ]; then
			say "set DEMO_EMAIL and DEMO_PHONE to run the flow against the real API"
			return 2
		fi
	fi
	say "1. register: POST /api/identity/register"
	reg=$(post /api/identity/register "{\"email\":\"$email\",\"phoneNumber\":\"$phone\"}")
	printf '%s\n' "$reg" | sed 's/^/     /'
	aid=$(printf '%s' "$reg" | sed -n 's/.*"authyId":"\([0-9]*\)".*/\1/p')
	[ -n "$aid" ] || return 1
	say "2. wait: POST /api/identity/waitforauthyapproval (in the background)"
	out=$dir/wait.out
	post /api/identity/waitforauthyapproval \
		"{\"authyId\":\"$aid\",\"signInName\":\"$email\",\"correlationId\":\"demo-$$-$aid\",\"ipAddress\":\"127.0.0.1\"}" >"$out" &
	local wait_pid=$!
	if [ -n "$mock_url" ]; then
		# shellcheck disable=SC2317 # called through wait_until
		approval() { mock GET "/_mock/approval_requests?authy_id=$aid" | grep -q uuid; }
		wait_until 10 "the approval request" approval
		uuid=$(mock GET "/_mock/approval_requests?authy_id=$aid" |
			sed -n 's/.*"uuid": *"\([0-9a-f-]*\)".*/\1/p' | head -n 1)
		sleep 1
		say "3. approve in the mock: POST /_mock/approval_requests/$uuid/approve"
		mock POST "/_mock/approval_requests/$uuid/approve" >/dev/null
	else
		say "3. approve the request in the Authy app on $phone (within 25 s)"
	fi
	wait "$wait_pid" || true
	say "4. the reply B2C gets:"
	sed 's/^/     /' "$out"
	grep -qx 'HTTP 200' "$out"
}

status=0
flow || status=$?
case $status in
0) say "flow succeeded: registered, waited, approved (HTTP 200)" ;;
2) status=0 ;;
*)
	say "flow FAILED (see $dir/responder.log)"
	status=1
	;;
esac

cat <<EOF

Try it yourself (another terminal):

  curl --cacert $certs/ca.pem --cert $certs/client.pem --key $certs/client.key \\
       -H 'Content-Type: application/json' \\
       -d '{"email":"alice@example.com","phoneNumber":"+44 7700 900123"}' \\
       $url/api/identity/register

  curl --cacert $certs/ca.pem --cert $certs/client.pem --key $certs/client.key \\
       -H 'Content-Type: application/json' \\
       -d '{"authyId":"<authyId from above>","signInName":"alice@example.com","correlationId":"try-1"}' \\
       $url/api/identity/waitforauthyapproval
EOF
if [ -n "$mock_url" ]; then
	cat <<EOF

  While the wait runs (up to 25 s), approve or deny it in the mock:
  curl --cacert $certs/ca.pem -X POST $mock_url/_mock/users/<authyId>/approve-pending
  curl --cacert $certs/ca.pem -X POST $mock_url/_mock/users/<authyId>/deny-pending
  (e-mails starting with autoapprove, autodeny, autoexpire or slowapprove decide by
  themselves; see tests/mock/README.md)
EOF
fi
cat <<EOF

  Without a client certificate nginx refuses the call; with client2.pem (same CA,
  not allow-listed) the responder answers 403. Health and metrics:
  curl http://127.0.0.1:$health_port/healthz
  curl http://127.0.0.1:$health_port/metrics

EOF

if [ "$oneshot" = 1 ]; then
	exit "$status"
fi
say "running; press Ctrl-C to stop"
# Until Ctrl-C (or until a component ends by itself).
wait -n "${pids[@]}" || true
exit 0
