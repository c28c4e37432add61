#!/usr/bin/env bash
# Two responders behind one nginx name (nginx/b2c-authy-instances.conf): the
# sign-ins spread, a retry re-attaches on the same instance, and when one
# instance dies the calls go to the other. Skips when nginx is missing.
set -u
exec /usr/bin/python3 "$(dirname "$0")/../e2e/instances.py"
