#!/usr/bin/env bash
# Stalled and hostile FastCGI clients against the real responder: crowds of
# idle and stalled connections, the request deadline, overflowing and
# oversized params, the connection cap, keep-alive, client abort,
# FCGI_ABORT_REQUEST and management records while a wait runs, SIGTERM
# drain, the open file limit and access-line forging.
set -u
exec /usr/bin/python3 "$(dirname "$0")/../e2e/robust.py"
