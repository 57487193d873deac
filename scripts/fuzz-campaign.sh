#!/bin/bash
# A fuzz campaign outside CI: every libFuzzer target (or those named) for
# SECONDS each (default 3600), JOBS at a time (default 1; -j 2 gives each of two
# targets a core of its own), at the lowest CPU priority, its findings merged
# into the corpus kept in tests/fuzz-corpus/ (commit it: CI starts from it).
# Output: one line per target with its executions, seconds and coverage; a
# crash prints its log and input, and the campaign ends failed once the others
# are done.
# Usage: scripts/fuzz-campaign.sh [-j JOBS] [SECONDS] [TARGET...]
#   e.g. scripts/fuzz-campaign.sh -j 2 3600 xenstored/ring blkback/blkreq
set -eu
cd "$(dirname "$0")/.."
jobs=1
if [ "${1:-}" = -j ]; then jobs=${2:?-j needs a number}; shift 2; fi
export PVSTACK_FUZZ_SECONDS=${1:-3600} PVSTACK_FUZZ_KEEP=1
[ $# -gt 0 ] && shift
# listing builds every target first, one ninja at a time
all=$(for f in tests/*/run-fuzz.sh; do PVSTACK_FUZZ_LIST=1 sh "$f"; done)
targets=${*:-$all}
for t in $targets; do
	echo "$all" | grep -qx "$t" || { echo "fuzz-campaign: no target $t (have: $(echo $all))"; exit 2; }
done
export PVSTACK_FUZZ_BUILT=1
failed=0
for t in $targets; do
	while [ "$(jobs -pr | wc -l)" -ge "$jobs" ]; do wait -n || failed=1; done
	echo "=== $t ($(date -u +%H:%M:%S))"
	PVSTACK_FUZZ_ONLY=$t nice -n 19 sh "tests/${t%%/*}/run-fuzz.sh" &
done
while [ "$(jobs -pr | wc -l)" -gt 0 ]; do wait -n || failed=1; done
exit "$failed"
