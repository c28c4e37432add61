#!/usr/bin/env bash
# Long-run stability under mixed traffic: two identical rounds of a few
# thousand mixed requests (waits of every outcome, client aborts, re-attaching
# retries woken by callbacks, 503 at max_waits, upstream faults, bad input,
# one-time codes, /metrics, /healthz); afterwards threads, descriptors and the
# /metrics gauges are back at rest and the second round does not grow the RSS.
set -u
exec /usr/bin/python3 "$(dirname "$0")/../e2e/churn.py"
