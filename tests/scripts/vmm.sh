#!/bin/bash
# SPDX-License-Identifier: MIT
#
# userkvm run: the bundled demo guest, the debug-exit port, unclaimed ports,
# multiboot info (memory size, command line, modules), on each accelerator
# that can run guests.  The same VMM code runs on both, so where both run,
# their outputs must be equal.
B=${USERKVM_TEST_BUILD:-build}
U=$B/userkvm
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

# mov $5, %al; out %al, $0xf4  -> exit status (5 << 1) | 1 = 11
printf '\xb0\x05\xe6\xf4' > "$tmp/exit5.bin"
# in $0x80, %al; cmp $0xff, %al; sete %al; out %al, $0xf4 -> 3 if unclaimed reads are all ones
printf '\xe4\x80\x3c\xff\x0f\x94\xc0\xe6\xf4' > "$tmp/unclaimed.bin"
# ud2 with no IDT: #UD -> #GP -> #DF -> triple fault: shutdown, exit status 2
printf '\x0f\x0b' > "$tmp/ud2.bin"
# movl $0x12345678, 0xd0000000 (C7 /0: a store the processor's decode assist
# reports); mov 0xd0000000, %eax (A1: emulated); mov $5, %al; out %al, $0xf4
printf '\xc7\x05\x00\x00\x00\xd0\x78\x56\x34\x12\xa1\x00\x00\x00\xd0\xb0\x05\xe6\xf4' > "$tmp/mmio.bin"
echo "module data" > "$tmp/mod.txt"

check() {	# name, expected status, expected stdout (regex or ""), command...
	local name=$1 want=$2 pat=$3; shift 3
	"$@" > "$tmp/out" 2> "$tmp/err"
	local st=$?
	if [ "$st" != "$want" ]; then
		echo "FAIL $name: exit status $st, want $want; stderr: $(head -c 300 "$tmp/err")"
	elif [ -n "$pat" ] && ! grep -qE "$pat" "$tmp/out"; then
		echo "FAIL $name: output does not match /$pat/: $(head -c 300 "$tmp/out")"
	else
		echo "ok $name"
	fi
}

run_suite() {	# accelerator
	local a=$1
	check "run[$a]-demo" 0 'primes below 10000: 1229' $U run --accel $a --kernel $B/guests/demo.elf
	cp "$tmp/out" "$tmp/demo.$a"
	check "run[$a]-demo-mem-cmdline" 0 'memory: 64 MiB' \
		$U run --accel $a --mem 64M --kernel $B/guests/demo.elf --append "a b c"
	grep -q "^command line: $B/guests/demo.elf a b c\$" "$tmp/out" ||
		echo "FAIL run[$a]-cmdline: $(cat "$tmp/out")"
	cp "$tmp/out" "$tmp/cmdline.$a"
	check "run[$a]-debug-exit" 11 "" $U run --accel $a --flat "$tmp/exit5.bin"
	check "run[$a]-unclaimed-port-all-ones" 3 "" $U run --accel $a --flat "$tmp/unclaimed.bin"
	check "run[$a]-triple-fault" 2 "" $U run --accel $a --flat "$tmp/ud2.bin"
	check "run[$a]-initrd-module" 0 'primes' \
		$U run --accel $a --kernel $B/guests/demo.elf --initrd "$tmp/mod.txt"
	# --smp: the guest's BSP starts the APs with INIT-SIPI-SIPI; each prints
	check "run[$a]-smp4-init-sipi" 1 '^smp: 3 application processors started$' \
		$U run --accel $a --smp 4 --kernel $B/guests/smp.elf
	cp "$tmp/out" "$tmp/smp.$a"
	if [ "$(grep -c 'APIC ID [0-9]* is up$' "$tmp/smp.$a")" = 3 ]; then
		echo "ok run[$a]-smp4-aps-print"
	else
		echo "FAIL run[$a]-smp4-aps-print: $(cat "$tmp/smp.$a")"
	fi
}

run_suite soft
if exec 3<>/dev/kvm 2>/dev/null; then
	exec 3>&-
	run_suite kvm
	# One device model, two accelerators: the guest must print the same.
	for f in demo cmdline smp; do
		if cmp -s "$tmp/$f.soft" "$tmp/$f.kvm"; then
			echo "ok run-$f-soft-equals-kvm"
		else
			echo "FAIL run-$f-soft-equals-kvm: $(diff "$tmp/$f.kvm" "$tmp/$f.soft" | head -5)"
		fi
	done
else
	echo "skip run[kvm]: /dev/kvm is missing or not accessible here"
fi

# QEMU TCG, the oracle for whole guests: the same serial output, but for the
# memory line (QEMU's multiboot loader reports mem_upper below its firmware's
# reserved top of RAM).  The demo halts forever under QEMU: QEMU is stopped
# once the guest's last line ("bye") is out, or after 30 s (a loaded machine
# can take seconds to start QEMU).
if command -v qemu-system-x86_64 > /dev/null; then
	qemu-system-x86_64 -accel tcg -kernel $B/guests/demo.elf -append "a b c" -m 64 \
		-display none -serial file:"$tmp/qemu.raw" -monitor none -no-reboot 2>/dev/null &
	qpid=$!
	for _ in $(seq 300); do
		grep -q '^bye' "$tmp/qemu.raw" 2>/dev/null && break
		sleep 0.1
	done
	kill $qpid 2>/dev/null; wait $qpid 2>/dev/null
	tr -d '\r' < "$tmp/qemu.raw" > "$tmp/qemu"
	if diff <(grep -v '^memory:' "$tmp/qemu") <(grep -v '^memory:' "$tmp/cmdline.soft") > "$tmp/qdiff"; then
		echo "ok run-demo-soft-equals-qemu-tcg"
	else
		echo "FAIL run-demo-soft-equals-qemu-tcg: $(head -5 "$tmp/qdiff")"
	fi
	timeout 10 qemu-system-x86_64 -accel tcg -smp 4 -kernel $B/guests/smp.elf -m 64 \
		-device isa-debug-exit,iobase=0xf4,iosize=1 -display none -serial stdio \
		-monitor none -no-reboot 2>/dev/null | tr -d '\r' > "$tmp/qemu-smp"
	if cmp -s "$tmp/qemu-smp" "$tmp/smp.soft"; then
		echo "ok run-smp-soft-equals-qemu-tcg"
	else
		echo "FAIL run-smp-soft-equals-qemu-tcg: $(diff "$tmp/qemu-smp" "$tmp/smp.soft" | head -5)"
	fi
else
	echo "skip run-demo-soft-equals-qemu-tcg: qemu-system-x86_64 is not installed (make bench installs it)"
fi

# --stat: every VM exit counted by reason, the total equal to the sum.
$U run --stat --kernel $B/guests/demo.elf > /dev/null 2> "$tmp/stat"
total=$(sed -n 's/.*: \([0-9]*\) VM exits$/\1/p' "$tmp/stat")
sum=$(awk '$NF ~ /%$/ { s += $2 } END { print s + 0 }' "$tmp/stat")
io=$(awk '$1 == "IO_INSTRUCTION" { print $2 }' "$tmp/stat")
if [ -n "$total" ] && [ "$total" = "$sum" ] && [ "${io:-0}" -gt 100 ]; then
	echo "ok run-stat ($total exits, $io I/O)"
else
	echo "FAIL run-stat: total '$total' sum '$sum' io '$io': $(head -c 400 "$tmp/stat")"
fi

# Trace points with KVM's names.
USERKVM_TRACE=kvm_exit,kvm_pio,kvm_page_fault $U run --flat "$tmp/exit5.bin" > /dev/null 2> "$tmp/trace"
if grep -q 'kvm_exit: vcpu 0 reason IO_INSTRUCTION rip 0x100002' "$tmp/trace" &&
   grep -q 'kvm_pio: pio_write at 0xf4 size 1 count 1 val 0x5$' "$tmp/trace" &&
   grep -q 'kvm_page_fault: vcpu 0 rip 0x100000 address 0x100000' "$tmp/trace" &&
   ! grep -q 'ioctl(' "$tmp/trace"; then
	echo "ok run-trace-points"
else
	echo "FAIL run-trace-points: $(head -c 600 "$tmp/trace")"
fi

# kvm_mmio and kvm_emulate_insn (the MMIO read returns all ones: nobody claims it).
USERKVM_TRACE=kvm_mmio,kvm_emulate_insn $U run --flat "$tmp/mmio.bin" > /dev/null 2> "$tmp/trace"
if grep -q 'kvm_emulate_insn: 0x100000: c7 05 00 00 00 d0 78 56 34 12$' "$tmp/trace" &&
   grep -q 'kvm_mmio: mmio write len 4 gpa 0xd0000000 val 0x12345678$' "$tmp/trace" &&
   grep -q 'kvm_emulate_insn: 0x10000a: a1 00 00 00 d0$' "$tmp/trace" &&
   grep -q 'kvm_mmio: mmio unsatisfied-read len 4 gpa 0xd0000000 val 0x0$' "$tmp/trace" &&
   grep -q 'kvm_mmio: mmio read len 4 gpa 0xd0000000 val 0xffffffff$' "$tmp/trace"; then
	echo "ok run-trace-mmio-emulate"
else
	echo "FAIL run-trace-mmio-emulate: $(head -c 600 "$tmp/trace")"
fi
# kvm_mmio alone: the store then takes the decode assist's path, and is traced there too.
USERKVM_TRACE=kvm_mmio $U run --flat "$tmp/mmio.bin" > /dev/null 2> "$tmp/trace"
if [ "$(grep -c 'kvm_mmio: mmio write len 4 gpa 0xd0000000 val 0x12345678$' "$tmp/trace")" = 1 ] &&
   ! grep -q kvm_emulate_insn "$tmp/trace"; then
	echo "ok run-trace-mmio-assisted"
else
	echo "FAIL run-trace-mmio-assisted: $(head -c 600 "$tmp/trace")"
fi

# Bad options get a clear error and status 126.
check "run-bad-option" 126 "" $U run --bogus 1
check "run-smp-out-of-range" 126 "" $U run --smp 17 --kernel $B/guests/smp.elf
check "run-missing-kernel" 126 "" $U run --kernel /nonexistent
grep -q 'nonexistent' "$tmp/err" || echo "FAIL run-missing-kernel-message: $(cat "$tmp/err")"
check "run-not-multiboot" 126 "" $U run --kernel "$tmp/exit5.bin"
