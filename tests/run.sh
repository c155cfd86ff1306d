#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Runs every test program under $1 (the build directory) and the checks that
# are not programs, then prints the closing line "N passed, N failed".
# Each program prints "ok NAME" / "FAIL NAME: ..." / "skip NAME: ..." lines;
# a program that crashes or exits non-zero without a FAIL line counts as one
# failure.
set -u
O=${1:-build}
cd "$(dirname "$0")/.."
pass=0 fail=0 skip=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Under ASan the runtime must come first in the library list of a preloaded
# process, so the shim tests preload it explicitly.
PRELOAD="$PWD/$O/libuserkvm-preload.so"
case "${MODE:-rel}" in
asan) PRELOAD="$(${CC:-cc} -print-file-name=libasan.so):$(${CC:-cc} -print-file-name=libubsan.so):$PRELOAD" ;;
ubsan) PRELOAD="$(${CC:-cc} -print-file-name=libubsan.so):$PRELOAD" ;;
esac
export USERKVM_TEST_PRELOAD="$PRELOAD"
export USERKVM_TEST_BUILD="$PWD/$O"
# handle_abort: an abort() (a USERKVM_DEBUG check) prints its stack, as a sanitizer report
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:handle_abort=1}

run_one() {	# name, command...
	local name=$1; shift
	local t0=$SECONDS
	timeout 300 "$@" >"$log" 2>&1
	local rc=$?
	local p f s
	p=$(grep -c '^ok ' "$log"); f=$(grep -c '^FAIL ' "$log"); s=$(grep -c '^skip ' "$log")
	grep -E '^(FAIL|     also|skip|      )' "$log"
	if [ $rc -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $name: exited with status $rc"
		tail -20 "$log" | sed 's/^/    | /'
		f=1
	elif [ $rc -ne 0 ] && [ $rc -ne 1 ]; then
		# FAIL lines, and then a crash or a timeout: what it said last (a sanitizer's report)
		echo "     also: $name exited with status $rc"
		grep -vE '^(ok|FAIL|skip) ' "$log" | tail -20 | sed 's/^/    | /'
	fi
	pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
	printf '%-40s %4d ok %3d failed %3d skipped  (%ds)\n' "$name" "$p" "$f" "$s" $((SECONDS - t0))
}

for t in $(find "$O/tests" -type f -name "*_test" -perm -u+x 2>/dev/null | sort); do
	run_one "${t#"$O"/tests/}" "$t"
done
for t in tests/scripts/*.sh; do
	[ -e "$t" ] || continue
	run_one "$(basename "$t")" bash "$t"
done

echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
