#!/bin/bash
# SPDX-License-Identifier: MIT
#
# make bench: guest MIPS on fixed workloads and ns per exit, side by side on
# userkvm (--accel soft), the processor alone (silicon_bench), QEMU TCG and
# the host's real KVM (--accel kvm), with the host CPU's native speed on the
# same code (native_bench) for reference.  Usage: bench/run.sh BUILD_DIR
#
# 1. builds the guest image (bench/guest/*.S -> BUILD_DIR/bench/guest/image.bin);
# 2. installs qemu-system-x86 with apt-get if QEMU is missing (skips TCG if
#    it cannot);
# 3. runs each runner; each prints "R<TAB>mips|exit<TAB>accel<TAB>name<TAB>value<TAB>note"
#    lines and "# ..." details;
# 4. prints the two tables and the details.
set -u
O=${1:-build}
cd "$(dirname "$0")/.."
G=$O/bench/guest
mkdir -p "$G"
results=$(mktemp)
trap 'rm -f "$results"' EXIT

# --- 1. the guest image -------------------------------------------------------
bench/guest/build.sh "$G" || exit 1
IMAGE=$G/image.bin

# --- 2. QEMU ------------------------------------------------------------------
QEMU=${QEMU:-qemu-system-x86_64}
qemu_skip=""
if ! command -v $QEMU >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
		echo "bench: installing qemu-system-x86 (apt-get update; apt-get install) ..."
		if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends qemu-system-x86; } >"$O/bench/apt.log" 2>&1; then
			qemu_skip="qemu-system-x86 could not be installed (see $O/bench/apt.log)"
		fi
	else
		qemu_skip="qemu-system-x86_64 is not installed and apt-get cannot run here (not root?)"
	fi
	command -v $QEMU >/dev/null 2>&1 || qemu_skip=${qemu_skip:-"qemu-system-x86_64 not found after installing"}
fi

# --- 3. the runners -------------------------------------------------------------
# Other processes slow every runner down: say how busy the machine was.
echo "# host: $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) before the runs" >>"$results"
skip_all() {	# accel, why
	for w in alu crc32 sieve; do printf 'R\tmips\t%s\t%s\t-\tskipped (%s)\n' "$1" $w "$2"; done
	for w in loop out in mmio cpuid hlt; do printf 'R\texit\t%s\t%s\t-\tskipped (%s)\n' "$1" $w "$2"; done
}
run() {		# accel, command...
	local accel=$1; shift
	echo "bench: running $accel ..." >&2
	if ! timeout 300 "$@" >>"$results" 2>&1; then
		skip_all "$accel" "runner failed: $*" >>"$results"
	fi
}
# userkvm and QEMU TCG, the pair the exit target compares, run in turn
# for BENCH_ROUNDS rounds (default 3): the machine's speed drifts by tens
# of percent within minutes on a shared host, and alternating puts both
# through the same drift.  The tables take each one's best round (fastest
# exit, highest MIPS); every round's exit figures are printed under them.
ROUNDS=${BENCH_ROUNDS:-3}
case $ROUNDS in '' | *[!0-9]* | 0) echo "bench: BENCH_ROUNDS must be a positive number" >&2; exit 2 ;; esac
[ -n "$qemu_skip" ] && { echo "# tcg: $qemu_skip" >>"$results"; skip_all tcg "no QEMU" >>"$results"; }
for round in $(seq "$ROUNDS"); do
	run soft "$O/bench/kvm_bench" --accel soft --image "$IMAGE"
	[ -z "$qemu_skip" ] && run tcg "$O/bench/tcg_bench" --image "$IMAGE" --qemu $QEMU
done
echo "# userkvm --accel soft and QEMU TCG: $ROUNDS rounds in turn (BENCH_ROUNDS), the best of each in the tables" >>"$results"
run silicon "$O/bench/silicon_bench" --image "$IMAGE"
run native "$O/bench/native_bench" --image "$IMAGE"
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	run kvm "$O/bench/kvm_bench" --accel kvm --image "$IMAGE"
else
	echo "# kvm: no usable /dev/kvm here" >>"$results"
	skip_all kvm "no /dev/kvm" >>"$results"
fi

# Interrupt latencies: one guest (guests/irqbench, 2 vCPUs) under `userkvm run`
# on each accelerator and under QEMU TCG.
IRQ_GUEST=$O/guests/irqbench.elf
run soft-irq "$O/bench/irq_bench" --accel soft --userkvm "$O/userkvm" --guest "$IRQ_GUEST"
if [ -r /dev/kvm ] && [ -w /dev/kvm ]; then
	run kvm-irq "$O/bench/irq_bench" --accel kvm --userkvm "$O/userkvm" --guest "$IRQ_GUEST"
else
	printf 'R\tirq\tkvm\t%s\t-\tno /dev/kvm\n' timer ipi >>"$results"
fi
if [ -z "$qemu_skip" ]; then
	run tcg-irq "$O/bench/irq_bench" --accel tcg --qemu $QEMU --guest "$IRQ_GUEST"
else
	printf 'R\tirq\ttcg\t%s\t-\tno QEMU\n' timer ipi >>"$results"
fi

# Host instructions per exit on userkvm (callgrind): the one exit figure the
# machine's load does not move.  Two runs of each exit loop (n = 2000 and
# 12000) under callgrind, instrumentation on for the loop only
# (bench/exit_insns.c); the difference over 10000 iterations, less the
# empty loop's.
insns() {	# workload n -> total instructions
	valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/dev/null \
		"$O/bench/exit_insns" --image "$IMAGE" --workload "$1" --n "$2" 2>&1 |
		sed -n 's/.*I *refs: *//p' | tr -d ,
}
if ! command -v valgrind >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
	echo "bench: installing valgrind (apt-get install) ..." >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind \
		>>"$O/bench/apt.log" 2>&1
fi
if command -v valgrind >/dev/null 2>&1; then
	echo "bench: counting host instructions per exit (callgrind) ..." >&2
	per_iter() {	# workload -> instructions per iteration
		local a b
		a=$(insns "$1" 2000); b=$(insns "$1" 12000)
		[ -n "$a" ] && [ -n "$b" ] && echo $(( (b - a) / 10000 ))
	}
	empty=$(per_iter loop)
	for w in out in mmio cpuid hlt; do
		x=$(per_iter $w)
		if [ -n "$x" ] && [ -n "$empty" ]; then
			printf 'R\tinsns\tsoft\t%s\t%s\t\n' $w $((x - empty)) >>"$results"
		else
			printf 'R\tinsns\tsoft\t%s\t-\tcallgrind run failed\n' $w >>"$results"
		fi
	done
	echo "# host instructions per iteration of the empty loop (subtracted): ${empty:-?}" >>"$results"
else
	echo "# host instructions per exit: valgrind is not installed" >>"$results"
fi

echo "# host: load average $(cut -d' ' -f1-3 /proc/loadavg) after the runs" >>"$results"

# --- 4. the tables --------------------------------------------------------------
tables=$(awk -F'\t' -f bench/tables.awk "$results")
echo "$tables"

cat <<'EOF'

  out = OUT to port 0x80 and back (KVM: KVM_EXIT_IO to user space; TCG: QEMU's ioport80 device),
  in = IN from port 0x80 (reads 0xff), mmio = 32-bit write to a GPA with no memory (KVM_EXIT_MMIO;
  TCG: unassigned memory), cpuid = CPUID leaf 0, hlt = HLT and resume (KVM_EXIT_HLT; under
  TCG a HLT sleeps until an interrupt, which this guest never enables: n/a),
  loop = one iteration of the same loop with NOP: subtracted from the others (so a figure
  near 0, even slightly negative, means the instruction costs about as much as a NOP).
  Each figure is the fastest of 3 runs of at least 0.1 s; results are checked (WRONG if not).
  userkvm --accel soft and QEMU TCG run in turn, BENCH_ROUNDS times (3): their best round is shown.
  host native = the same workload code run natively by the host CPU (user mode), for reference.
  timer = LAPIC timer armed one-shot for 1 bus cycle -> its handler runs (the TMICT write and
  its exit included); ipi = vCPU 0 sends a fixed IPI to vCPU 1 (halted), whose handler sends
  one back -> vCPU 0's handler runs.  Guest guests/irqbench under `userkvm run --smp 2`
  (soft, kvm) and qemu-system-x86_64 -accel tcg -smp 2; irq rows: the minimum is in details.
EOF
if grep -q '(s)' <<<"$tables"; then
	echo '  "(s)": ratio from the processor alone because userkvm --accel soft has no figure yet.'
fi
if grep -q 'PVM' "$results"; then
	echo "  KVM here is the PVM backend: it emulates guest CPL0 code (about 2-3 MIPS), so its CPL0"
	echo "  MIPS are not hardware speed, and its exits include that emulation."
fi
echo
echo "details:"
grep '^#' "$results" | sed 's/^# */  /'
