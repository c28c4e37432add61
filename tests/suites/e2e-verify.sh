#!/usr/bin/env bash
# End-to-end with provider = verify: the same flows against the mock's Twilio
# Verify v2 Push endpoints, plus the Verify-only flows (identity, factor, webhook).
set -u
PROVIDER=verify exec /usr/bin/python3 "$(dirname "$0")/../e2e/e2e.py"
