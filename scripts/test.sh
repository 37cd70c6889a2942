#!/bin/sh
# Installs what is missing, builds (plain and -fsanitize=address,undefined) and
# runs every test with ctest in both builds; then fuzzes the event parser and
# call state machine for FUZZ_SECONDS (default 60) with clang's libFuzzer.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh --test
jobs=$(nproc)
status=0
failed=0
total=0
for variant in plain sanitize; do
	dir=build-test-$variant
	opts="-DCMAKE_BUILD_TYPE=RelWithDebInfo"
	[ "$variant" = sanitize ] && opts="-DCMAKE_BUILD_TYPE=Debug -DCALLOGD_SANITIZE=ON"
	echo "==== $variant build ===="
	cmake -S . -B "$dir" $opts >/dev/null
	cmake --build "$dir" -j"$jobs" >/dev/null
	echo "==== $variant tests ===="
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir "$dir" --output-on-failure -j"$jobs" | tee "$dir/ctest.log" || status=1
	# tee hides ctest's status: read its verdict line instead.
	grep -q "^100% tests passed" "$dir/ctest.log" || status=1
	n=$(sed -n 's/.* tests passed, \([0-9]*\) tests failed out of \([0-9]*\)$/\1 \2/p' "$dir/ctest.log")
	if [ -n "$n" ]; then
		failed=$((failed + ${n% *})); total=$((total + ${n#* }))
	else
		status=1
	fi
done
echo "==== fuzz (clang libFuzzer, ${FUZZ_SECONDS:-60}s) ===="
dir=build-test-fuzz
cmake -S . -B "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DCALLOGD_FUZZ=ON >/dev/null
cmake --build "$dir" -j"$jobs" --target fuzz_event >/dev/null
# Fuzz a copy of the corpus: new inputs stay out of the tree. A crash leaves
# $dir/fuzz-artifacts/crash-*; add it to tests/fuzz/corpus as a regression test.
rm -rf "$dir/fuzz-corpus" && cp -r tests/fuzz/corpus "$dir/fuzz-corpus" && mkdir -p "$dir/fuzz-artifacts"
"$dir/tests/fuzz/fuzz_event" -max_total_time="${FUZZ_SECONDS:-60}" -max_len=4096 -print_final_stats=1 \
	-artifact_prefix="$dir/fuzz-artifacts/" "$dir/fuzz-corpus" 2>"$dir/fuzz.log" || {
	tail -60 "$dir/fuzz.log"
	status=1
}
grep -E "^(Done|stat::number_of_executed_units)" "$dir/fuzz.log" || true
echo "all builds: $((total - failed)) passed, $failed failed"
exit $status
