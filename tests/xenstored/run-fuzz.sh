#!/bin/sh
# Builds the xenstored message fuzzer with clang and runs it for a bounded
# time: the message parser, then the ring transport, each for [seconds].
# Usage: tests/xenstored/run-fuzz.sh [seconds] (default $PVSTACK_FUZZ_SECONDS or 30)
# The build dir is $PVSTACK_FUZZ_BUILD (relative to the top), as for the other
# components' fuzz scripts, so CI builds one clang tree for all of them.
set -eu
SECS=${1:-${PVSTACK_FUZZ_SECONDS:-30}}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
B=$ROOT/${PVSTACK_FUZZ_BUILD:-build-fuzz}
if [ ! -f "$B/build.ninja" ]; then
	CC=clang meson setup "$B" "$ROOT" -Dfuzz=true -Dguest_static=false \
	    -Db_lundef=false -Dbuildtype=debugoptimized >/dev/null
fi
ninja -C "$B" -j2 xenstored/fuzz-xenstored-msg xenstored/fuzz-xenstored-ring
CORPUS=$(mktemp -d)
WORK=$(mktemp -d)
trap 'rm -rf "$CORPUS" "$WORK"' EXIT INT TERM
# CONTROL logfile/dump write files: keep them in a scratch directory
export PVSTACK_RUNDIR=$WORK
cd "$WORK"
# seeds: a few well-formed requests (type, req_id, tx_id, len, payload), guest and dom0
seed() { printf "$1" >"$CORPUS/$2"; }
seed '\001\002\000\000\000\001\000\000\000\000\000\000\000\002\000\000\000/\000' read-root
seed '\000\013\000\000\000\001\000\000\000\000\000\000\000\006\000\000\000a/b\000xy' write-rel
seed '\001\006\000\000\000\001\000\000\000\000\000\000\000\001\000\000\000\000' tx-start
seed '\000\004\000\000\000\001\000\000\000\000\000\000\000\005\000\000\000/\000tk\000' watch
"$B/xenstored/fuzz-xenstored-msg" -max_total_time="$SECS" -max_len=8192 \
    -rss_limit_mb=1024 "$CORPUS"
mkdir "$CORPUS/ring"
# a page holding one READ /tool request: from an empty page libFuzzer would
# have to guess req_prod at byte 2052 before reaching any ring code
cp "$ROOT/tests/xenstored/fuzz-seeds/"ring-* "$CORPUS/ring/"
"$B/xenstored/fuzz-xenstored-ring" -max_total_time="$SECS" -max_len=4200 \
    -rss_limit_mb=1024 "$CORPUS/ring"
