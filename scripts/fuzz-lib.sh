# Shared by tests/*/run-fuzz.sh: one clang tree ($PVSTACK_FUZZ_BUILD) and one way
# to run a libFuzzer target for $PVSTACK_FUZZ_SECONDS, starting from the corpus
# kept in the repository (tests/fuzz-corpus/<target>/). A campaign run
# (PVSTACK_FUZZ_KEEP=1, scripts/fuzz-campaign.sh) merges what it found back
# into that corpus, minimised, so every later run (CI's too) starts from it.
# Sourced from the top of the tree.

fuzz_dir=$(pwd)/${PVSTACK_FUZZ_BUILD:-build-fuzz}
fuzz_secs=${PVSTACK_FUZZ_SECONDS:-30}

# fuzz_build TARGET...: configures the clang tree once, builds the targets
# (not when a parallel campaign has built them already: PVSTACK_FUZZ_BUILT=1).
fuzz_build() {
	[ "${PVSTACK_FUZZ_BUILT:-0}" = 1 ] && return 0
	[ -f "$fuzz_dir/build.ninja" ] || CC=clang meson setup "$fuzz_dir" -Dfuzz=true \
		-Dguest_static=false -Db_lundef=false >/dev/null
	# quiet when it builds; the compiler's words when it does not
	out=$(ninja -C "$fuzz_dir" "$@" 2>&1) || { echo "$out" | tail -30; echo "fuzz: build failed"; return 1; }
}

# fuzz_run NAME BINARY [SEED...]: runs one target (libFuzzer options in
# $FUZZ_ARGS) on a copy of its kept corpus and the seeds; a crash prints its
# log, leaves the input behind and fails.
# PVSTACK_FUZZ_LIST=1 prints the names instead; PVSTACK_FUZZ_ONLY="NAME..."
# runs only those.
fuzz_run() {
	name=$1 bin=$2
	shift 2
	[ "${PVSTACK_FUZZ_LIST:-0}" = 1 ] && { echo "$name"; return 0; }
	case " ${PVSTACK_FUZZ_ONLY:-$name} " in *" $name "*) ;; *) return 0 ;; esac
	keep=$(pwd)/tests/fuzz-corpus/$(echo "$name" | tr / -)
	work=$(mktemp -d)
	mkdir -p "$work/corpus"
	[ $# -gt 0 ] && cp "$@" "$work/corpus/"
	[ -d "$keep" ] && find "$keep" -type f -exec cp -t "$work/corpus/" {} +
	# shellcheck disable=SC2086
	if ! "$fuzz_dir/$bin" -max_total_time="$fuzz_secs" -artifact_prefix="$work/" \
	    ${FUZZ_ARGS:-} "$work/corpus" >"$work/log" 2>&1; then
		tail -40 "$work/log"
		echo "fuzz $name: FAILED (see $work)"
		return 1
	fi
	echo "fuzz $name: $(grep -o 'Done [0-9]* runs in [0-9]* second' "$work/log")s, no crash," \
	    "$(grep -o 'cov: [0-9]*' "$work/log" | tail -1)"
	if [ "${PVSTACK_FUZZ_KEEP:-0}" = 1 ]; then
		mkdir -p "$keep"
		# shellcheck disable=SC2086
		"$fuzz_dir/$bin" -merge=1 ${FUZZ_ARGS:-} "$keep" "$work/corpus" >/dev/null 2>&1 ||
		    echo "fuzz $name: corpus merge failed"
		echo "fuzz $name: kept corpus $(find "$keep" -type f | wc -l) inputs"
	fi
	rm -rf "$work"
}
