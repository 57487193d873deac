#!/bin/sh
# A fuzz campaign outside CI: every libFuzzer target for SECONDS each (default
# 3600), at the lowest CPU priority, its findings merged into the corpus kept in
# tests/fuzz-corpus/ (commit it: CI starts from it). Output: one line per target
# with its executions and coverage; a crash stops the campaign with its input.
# Usage: sh scripts/fuzz-campaign.sh [SECONDS]
set -eu
cd "$(dirname "$0")/.."
export PVSTACK_FUZZ_SECONDS=${1:-3600} PVSTACK_FUZZ_KEEP=1
for f in tests/*/run-fuzz.sh; do
	echo "=== $f ($(date -u +%H:%M:%S))"
	nice -n 19 sh "$f"
done
