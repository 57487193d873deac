#!/bin/sh
# The xl.cfg parser's libFuzzer target, seeded with the golden and example configs.
set -eu
cd "$(dirname "$0")/../.."
. scripts/fuzz-lib.sh
fuzz_build tests/toolstack/fuzz_xl_cfg
fuzz_run toolstack/cfg tests/toolstack/fuzz_xl_cfg tests/toolstack/cfg/*.cfg examples/*.cfg
