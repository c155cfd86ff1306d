#!/bin/bash
# SPDX-License-Identifier: MIT
#
# bench/tables.awk, the tables of `make bench`, on runner lines made up here:
# with several rounds each cell is the best round (the lowest ns, the highest
# MIPS), a runner that failed in one round keeps the figure of another, one
# that never ran says why, the ratios come from the best figures, and the
# "each round" lines list every round in order (of a figure seen more than once).
cd "$(dirname "$0")/../.."
r=$(mktemp)
trap 'rm -f "$r"' EXIT
T=$'\t'
{
	for x in "soft${T}out${T}50.0" "tcg${T}out${T}44.0" "soft${T}out${T}40.0" "tcg${T}out${T}48.0" \
		 "soft${T}out${T}45.0" "tcg${T}out${T}46.0" "soft${T}cpuid${T}20.0" "tcg${T}cpuid${T}-${T}failed (x)" \
		 "tcg${T}cpuid${T}10.0" "kvm${T}out${T}-${T}skipped (no /dev/kvm)"; do
		echo "R${T}exit${T}$x"
	done
	echo "R${T}mips${T}soft${T}alu${T}500.0"
	echo "R${T}mips${T}soft${T}alu${T}600.0"
	echo "R${T}mips${T}tcg${T}alu${T}3000.0"
	echo "R${T}mips${T}soft${T}alu${T}550.0"
} >"$r"
out=$(awk -F'\t' -f bench/tables.awk "$r")
fail=0
check() {	# name, extended regex a line of the output must match
	if grep -qE "$2" <<<"$out"; then echo "ok bench-tables-$1"; else echo "FAIL bench-tables-$1: no line matches '$2'"; fail=1; fi
}
check best-exit '^out +\| 40\.0 +\| - +\| 44\.0 +\| skipped \(no /dev/k +\| 1\.1 +\| - *$'
check failed-round-kept '^cpuid +\| 20\.0 +\| - +\| 10\.0 +\|'
check best-mips '^alu +\| 600\.0 +\| - +\| 3000\.0 +\| - +\| 0\.2 +\|'
check rounds-soft '^each round, userkvm : +out 50\.0 40\.0 45\.0$'
check rounds-tcg '^each round, QEMU TCG: +out 44\.0 48\.0 46\.0$'
[ $fail = 0 ] || { echo "the tables were:"; echo "$out"; }
