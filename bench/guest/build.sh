#!/bin/bash
# SPDX-License-Identifier: MIT
#
# Builds the benchmark guest image: bench/guest/*.S assembled with the C
# compiler, linked at 1 MiB by image.ld, flattened with objcopy.
# Usage: bench/guest/build.sh OUTDIR  -> OUTDIR/image.bin (and image.elf)
set -u
out=${1:?usage: build.sh OUTDIR}
src=$(dirname "$0")
CC=${CC:-cc}
mkdir -p "$out"
objs=()
for s in boot driver workloads exits; do
	$CC -c -o "$out/$s.o" "$src/$s.S" || { echo "build.sh: cannot assemble $src/$s.S" >&2; exit 1; }
	objs+=("$out/$s.o")
done
ld -m elf_x86_64 -nostdlib --build-id=none --no-warn-rwx-segments -T "$src/image.ld" \
	-o "$out/image.elf" "${objs[@]}" || { echo "build.sh: cannot link the image" >&2; exit 1; }
objcopy -O binary "$out/image.elf" "$out/image.bin" || exit 1
