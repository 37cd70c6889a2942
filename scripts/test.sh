#!/bin/sh
# Installs what is missing, builds (plain and -fsanitize=address,undefined) and
# runs every test with ctest in both builds.
set -eu
cd "$(dirname "$0")/.."
sh scripts/deps.sh --test
jobs=$(nproc)
status=0
for variant in plain sanitize; do
	dir=build-test-$variant
	opts="-DCMAKE_BUILD_TYPE=RelWithDebInfo"
	[ "$variant" = sanitize ] && opts="-DCMAKE_BUILD_TYPE=Debug -DCALLOGD_SANITIZE=ON"
	echo "==== $variant build ===="
	cmake -S . -B "$dir" $opts >/dev/null
	cmake --build "$dir" -j"$jobs" >/dev/null
	echo "==== $variant tests ===="
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --test-dir "$dir" --output-on-failure -j"$jobs" || status=1
done
exit $status
