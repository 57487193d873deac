#!/bin/sh
# netback's libFuzzer target: the TX request decoder and validator, and the header parser.
set -eu
cd "$(dirname "$0")/../.."
. scripts/fuzz-lib.sh
fuzz_build tests/netback/fuzz_txreq
fuzz_run "netback/txreq" "tests/netback/fuzz_txreq"
