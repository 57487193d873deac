#!/bin/sh
# hvd's libFuzzer targets: arbitrary messages on a guest channel, the ELF check.
set -eu
cd "$(dirname "$0")/../.."
. scripts/fuzz-lib.sh
fuzz_build tests/hv/fuzz_hvd_guest tests/hv/fuzz_hvd_elf
for t in guest elf; do
	fuzz_run "hv/$t" "tests/hv/fuzz_hvd_$t"
done
