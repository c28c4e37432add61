#!/usr/bin/env bash
# README and example configuration agree with the code.
set -u
exec /usr/bin/python3 "$(dirname "$0")/../docs_check.py"
