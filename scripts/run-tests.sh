#!/bin/sh
# Sets up (dependencies, build) and runs every pvstack test.
#   scripts/run-tests.sh            normal build in build/
#   scripts/run-tests.sh --asan     ASan+UBSan build in build-asan/
set -eu
cd "$(dirname "$0")/.."

variant=normal
[ "${1:-}" = "--asan" ] && variant=asan

[ "${PVSTACK_SKIP_DEPS:-0}" = 1 ] || sh scripts/install-deps.sh

if [ "$variant" = asan ]; then
	dir=build-asan
	opts="-Db_sanitize=address,undefined -Db_lundef=false -Dguest_static=false"
	export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
else
	dir=build
	opts=""
fi

# shellcheck disable=SC2086
[ -f "$dir/build.ninja" ] || meson setup "$dir" $opts
ninja -C "$dir"

rc=0
meson test -C "$dir" --print-errorlogs --num-processes 2 --no-suite scale || rc=$?

# Each Criterion binary prints its synthesis line into the log; show them, then
# one plain total line.
log="$dir/meson-logs/testlog.txt"
grep -h "Synthesis:" "$log" 2>/dev/null | sed 's/\x1b\[[0-9;]*m//g' || true
# meson shows only a failed test's last 100 lines; Criterion's own account of
# each failure may be further up, so it is printed whole here.
if [ "$rc" -ne 0 ]; then
	echo "=== failed assertions ($dir)"
	sed 's/\x1b\[[0-9;]*m//g' "$log" 2>/dev/null | grep -E '^\[(----|FAIL)\]' || true
fi
passed=$(grep -cE '^ *[0-9]+/[0-9]+ .* OK ' "$dir/meson-logs/testlog.txt" 2>/dev/null || true)
python3 - "$dir/meson-logs/testlog.json" <<'PY' || true
import json, sys
ok = fail = skip = 0
for line in open(sys.argv[1]):
    r = json.loads(line).get("result")
    if r in ("OK", "EXPECTEDFAIL"): ok += 1
    elif r == "SKIP": skip += 1
    else: fail += 1
print(f"{ok} passed, {fail} failed, {skip} skipped")
PY
exit $rc
