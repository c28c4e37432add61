#!/usr/bin/env bash
# b2c-authy behind a private lighttpd running the shipped lighttpd/b2c-authy.conf
# (mod_openssl with ssl.verifyclient.*, mod_fastcgi), the responder under
# spawn-fcgi, curl with the test certificates as Azure AD B2C. Skips when
# lighttpd is missing.
set -u
exec /usr/bin/python3 "$(dirname "$0")/../e2e/webservers.py" lighttpd
