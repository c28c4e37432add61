#!/usr/bin/env bash
# End-to-end: the real responder via cgi-fcgi against the mock Authy API over TLS.
set -u
exec /usr/bin/python3 "$(dirname "$0")/../e2e/e2e.py"
