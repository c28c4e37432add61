#!/usr/bin/env bash
# b2c-authy behind a private nginx running the shipped nginx/b2c-authy.conf,
# the responder under spawn-fcgi (and systemd-style socket activation), curl
# with the test certificates as Azure AD B2C. Skips when nginx is missing.
set -u
exec /usr/bin/python3 "$(dirname "$0")/../e2e/webservers.py" nginx
