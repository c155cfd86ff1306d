# SPDX-License-Identifier: MIT
#
# bench/run.sh's tables from its runners' "R<TAB>kind<TAB>accel<TAB>name<TAB>value<TAB>note"
# lines (awk -F'\t' -f bench/tables.awk RESULTS); tests/scripts/bench_tables.sh checks it.

# A figure seen in several rounds: the best (the highest MIPS, the lowest
# ns), each round kept for the rounds lines; a runner that failed in one
# round but not another keeps its figure.
$1 == "R" {
	key = $2 SUBSEP $3 SUBSEP $4
	if (isnum($5)) {
		rounds[key] = rounds[key] " " $5
		nround[key]++
		if (!(key in val) || !isnum(val[key]) ||
		    ($2 == "mips" ? $5 + 0 > val[key] + 0 : $5 + 0 < val[key] + 0)) {
			val[key] = $5; note[key] = $6
		}
	} else if (!(key in val)) {
		val[key] = $5; note[key] = $6
	}
}
function isnum(s) { return s ~ /^-?[0-9.]+$/ }
# "each round" lines under the exit table: accel, label
function round_line(accel, label,    i, n, w, out) {
	out = ""
	n = split("out in mmio cpuid hlt", w, " ")
	for (i = 1; i <= n; i++)
		if (nround["exit" SUBSEP accel SUBSEP w[i]] > 1)
			out = out sprintf("  %s%s", w[i], rounds["exit" SUBSEP accel SUBSEP w[i]])
	if (out != "") printf "each round, %-8s:%s\n", label, out
}
function cell(kind, accel, name,    k) {
	k = kind SUBSEP accel SUBSEP name
	if (!(k in val)) return "-"
	if (isnum(val[k])) return val[k]
	return note[k]
}
# userkvm figure for the ratios: --accel soft, else the processor alone (marked s)
function mine(kind, name) {
	if (isnum(cell(kind, "soft", name))) { tag = ""; return cell(kind, "soft", name) }
	if (isnum(cell(kind, "silicon", name))) { tag = " (s)"; return cell(kind, "silicon", name) }
	tag = ""; return ""
}
function ratio(kind, name, other, inverse,    a, b) {
	a = mine(kind, name); b = cell(kind, other, name)
	if (a == "" || !isnum(b) || b + 0 <= 0 || a + 0 <= 0) return "-"
	return sprintf("%.3g%s", inverse ? b / a : a / b, tag)
}
function row(kind, name, inverse) {
	printf "%-8s | %-26.26s | %-22.22s | %-18.18s | %-18.18s | %-11s | %-11s", name,
		cell(kind, "soft", name), cell(kind, "silicon", name), cell(kind, "tcg", name),
		cell(kind, "kvm", name), ratio(kind, name, "tcg", inverse), ratio(kind, name, "kvm", inverse)
	if (kind == "mips") printf " | %-11.11s", cell(kind, "native", name)
	printf "\n"
}
END {
	printf "\nGuest MIPS at CPL0 in long mode (higher is better)\n"
	printf "%-8s | %-26s | %-22s | %-18s | %-18s | %-11s | %-11s | %s\n", "workload", "userkvm --accel soft",
		"silicon alone", "QEMU TCG", "KVM (/dev/kvm)", "userkvm/TCG", "userkvm/KVM", "host native"
	n = split("alu crc32 sieve", w, " ")
	for (i = 1; i <= n; i++) row("mips", w[i], 0)
	printf "\nns per exit (lower is better; ratios are speedups: TCG/userkvm, KVM/userkvm)\n"
	printf "%-8s | %-26s | %-22s | %-18s | %-18s | %-11s | %-11s\n", "exit", "userkvm --accel soft",
		"silicon alone", "QEMU TCG", "KVM (/dev/kvm)", "TCG/userkvm", "KVM/userkvm"
	n = split("out in mmio cpuid hlt loop", w, " ")
	for (i = 1; i <= n; i++) row("exit", w[i], 1)
	round_line("soft", "userkvm")
	round_line("tcg", "QEMU TCG")
	printf "\nns per interrupt (lower is better; median of 1024 in guest TSC; ratios are speedups)\n"
	printf "%-8s | %-26s | %-22s | %-18s | %-18s | %-11s | %-11s\n", "event", "userkvm --accel soft",
		"silicon alone", "QEMU TCG", "KVM (/dev/kvm)", "TCG/userkvm", "KVM/userkvm"
	n = split("timer ipi", w, " ")
	for (i = 1; i <= n; i++) row("irq", w[i], 1)
	printf "\nhost instructions per exit on userkvm --accel soft (callgrind; independent of the load)\n"
	n = split("out in mmio cpuid hlt", w, " ")
	for (i = 1; i <= n; i++) printf "%-8s | %s\n", w[i], cell("insns", "soft", w[i])
}
