#!/bin/sh
# The guest's libFuzzer targets: the xenbus reply decoder and the shell.
set -eu
cd "$(dirname "$0")/../.."
. scripts/fuzz-lib.sh
fuzz_build tests/guest/fuzz_guest_xb_rx tests/guest/fuzz_guest_shell
for t in xb_rx shell; do
	fuzz_run "guest/$t" "tests/guest/fuzz_guest_$t"
done
