#!/usr/bin/env bash
# Command line, configuration refusal and socket handling of the real binary.
set -u
exec /usr/bin/python3 "$(dirname "$0")/../e2e/cli.py"
