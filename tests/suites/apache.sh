#!/usr/bin/env bash
# b2c-authy behind a private Apache running the shipped apache/b2c-authy.conf
# (mod_ssl, mod_proxy_fcgi), the responder under spawn-fcgi, curl with the test
# certificates as Azure AD B2C. Skips when apache2 is missing.
set -u
exec /usr/bin/python3 "$(dirname "$0")/../e2e/webservers.py" apache
