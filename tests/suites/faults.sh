#!/usr/bin/env bash
# Fault injection end to end: unreachable, stalling, mistrusted and faulty
# Authy; B2C replies within the budget, no leaked threads or descriptors,
# metrics by cause, and a clean drain on SIGTERM.
set -u
exec /usr/bin/python3 "$(dirname "$0")/../e2e/faults.py"
