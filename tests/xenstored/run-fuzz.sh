#!/bin/sh
# xenstored's libFuzzer targets: one message through the request path, and
# a guest's ring pages. Seeds here; the kept corpus in tests/fuzz-corpus.
set -eu
cd "$(dirname "$0")/../.."
. scripts/fuzz-lib.sh
fuzz_build xenstored/fuzz-xenstored-msg xenstored/fuzz-xenstored-ring
SEEDS=$(mktemp -d)
WORK=$(mktemp -d)
trap 'rm -rf "$SEEDS" "$WORK"' EXIT INT TERM
export PVSTACK_RUNDIR=$WORK
seed() { printf "$1" >"$SEEDS/$2"; }
seed '\001\002\000\000\000\001\000\000\000\000\000\000\000\002\000\000\000/\000' read-root
seed '\000\013\000\000\000\001\000\000\000\000\000\000\000\006\000\000\000a/b\000xy' write-rel
seed '\001\006\000\000\000\001\000\000\000\000\000\000\000\001\000\000\000\000' tx-start
seed '\000\004\000\000\000\001\000\000\000\000\000\000\000\005\000\000\000/\000tk\000' watch
FUZZ_ARGS="-max_len=8192 -rss_limit_mb=1024" \
    fuzz_run xenstored/msg xenstored/fuzz-xenstored-msg "$SEEDS"/*
FUZZ_ARGS="-max_len=4200 -rss_limit_mb=1024" \
    fuzz_run xenstored/ring xenstored/fuzz-xenstored-ring tests/xenstored/fuzz-seeds/ring-*
