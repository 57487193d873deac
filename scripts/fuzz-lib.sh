# Shared by tests/*/run-fuzz.sh: one clang tree ($PVSTACK_FUZZ_BUILD) and one way
# to run a libFuzzer target for $PVSTACK_FUZZ_SECONDS on a fresh corpus.
# Sourced from the top of the tree.

fuzz_dir=${PVSTACK_FUZZ_BUILD:-build-fuzz}
fuzz_secs=${PVSTACK_FUZZ_SECONDS:-30}

# fuzz_build TARGET...: configures the clang tree once, builds the targets.
fuzz_build() {
	[ -f "$fuzz_dir/build.ninja" ] || CC=clang meson setup "$fuzz_dir" -Dfuzz=true \
		-Dguest_static=false -Db_lundef=false >/dev/null
	# quiet when it builds; the compiler's words when it does not
	out=$(ninja -C "$fuzz_dir" "$@" 2>&1) || { echo "$out" | tail -30; echo "fuzz: build failed"; return 1; }
}

# fuzz_run NAME BINARY [SEED...]: runs one target; a crash prints its log, leaves
# the input behind and fails.
fuzz_run() {
	name=$1 bin=$2
	shift 2
	work=$(mktemp -d)
	mkdir -p "$work/corpus"
	[ $# -gt 0 ] && cp "$@" "$work/corpus/"
	if ! "$fuzz_dir/$bin" -max_total_time="$fuzz_secs" -artifact_prefix="$work/" \
	    "$work/corpus" >"$work/log" 2>&1; then
		tail -40 "$work/log"
		echo "fuzz $name: FAILED (see $work)"
		return 1
	fi
	echo "fuzz $name: $(grep -o 'Done [0-9]* runs' "$work/log"), no crash"
	rm -rf "$work"
}
