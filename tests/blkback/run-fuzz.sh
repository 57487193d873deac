#!/bin/sh
# blkback's libFuzzer target: the request decoder and validator.
set -eu
cd "$(dirname "$0")/../.."
. scripts/fuzz-lib.sh
fuzz_build tests/blkback/fuzz_blkreq
fuzz_run "blkback/blkreq" "tests/blkback/fuzz_blkreq"
