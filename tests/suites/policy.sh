#!/usr/bin/env bash
# tests/suites/policy.sh - static checks of the B2C custom policy in policy/:
# XSD validation, cross-file references against the starter pack, the REST
# claim names against src/b2c/b2c.h, the approval path check for every relying
# party, journey runs with given responder answers, scripts/policy.sh (also the
# layered build), the documented .pfx recipes, and self-tests of the checker.
# Needs the starter pack (B2C_STARTERPACK, default ../shared/b2c-starterpack
# next to the repository or the worktree); skips without it.
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=${B2C_AUTHY_ROOT:-$(cd "$here/../.." && pwd)}
exec /usr/bin/python3 "$root/tests/policy/check_policy.py" --root "$root"
