// SPDX-License-Identifier: MIT
/*
 * virt/kvm/binary_stats.c: KVM_GET_STATS_FD.  The fd is a memfd laid out as
 * KVM's binary statistics format (Documentation/virt/kvm/api.rst 4.133):
 * header, id string, descriptors, data.  KVM fills the data at read time;
 * here the counters themselves live in the memfd's data block (the first
 * KVM_GET_STATS_FD moves them there), so read()/pread() see current values
 * with no hook on the read path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm/kvm_host.h"

#define KVM_STATS_NAME_SIZE 48

struct stat_def {
	const char *name;
	size_t offset;		/* in the counters struct */
	u32 size;		/* in u64s */
	u32 flags;
};

const char *const vmx_exit_reason_names[KVM_STAT_EXIT_REASONS] = {
	[0] = "EXCEPTION_NMI", [1] = "EXTERNAL_INTERRUPT", [2] = "TRIPLE_FAULT",
	[3] = "INIT_SIGNAL", [4] = "SIPI_SIGNAL", [7] = "INTERRUPT_WINDOW",
	[8] = "NMI_WINDOW", [9] = "TASK_SWITCH", [10] = "CPUID", [12] = "HLT",
	[13] = "INVD", [14] = "INVLPG", [15] = "RDPMC", [16] = "RDTSC", [18] = "VMCALL",
	[19] = "VMCLEAR", [20] = "VMLAUNCH", [21] = "VMPTRLD", [22] = "VMPTRST",
	[23] = "VMREAD", [24] = "VMRESUME", [25] = "VMWRITE", [26] = "VMOFF", [27] = "VMON",
	[28] = "CR_ACCESS", [29] = "DR_ACCESS", [30] = "IO_INSTRUCTION", [31] = "MSR_READ",
	[32] = "MSR_WRITE", [33] = "INVALID_STATE", [34] = "MSR_LOAD_FAIL",
	[36] = "MWAIT_INSTRUCTION", [37] = "MONITOR_TRAP_FLAG", [39] = "MONITOR_INSTRUCTION",
	[40] = "PAUSE_INSTRUCTION", [41] = "MCE_DURING_VMENTRY", [43] = "TPR_BELOW_THRESHOLD",
	[44] = "APIC_ACCESS", [45] = "EOI_INDUCED", [46] = "GDTR_IDTR", [47] = "LDTR_TR",
	[48] = "EPT_VIOLATION", [49] = "EPT_MISCONFIG", [50] = "INVEPT", [51] = "RDTSCP",
	[52] = "PREEMPTION_TIMER", [53] = "INVVPID", [54] = "WBINVD", [55] = "XSETBV",
	[56] = "APIC_WRITE", [57] = "RDRAND", [58] = "INVPCID", [59] = "VMFUNC",
	[60] = "ENCLS", [61] = "RDSEED", [62] = "PML_FULL", [63] = "XSAVES", [64] = "XRSTORS",
	[67] = "UMWAIT", [68] = "TPAUSE", [74] = "BUS_LOCK", [75] = "NOTIFY",
};

#define VCPU_STAT(n) { #n, offsetof(struct kvm_vcpu_stat, n), 1, KVM_STATS_TYPE_CUMULATIVE }
static const struct stat_def vcpu_stats[] = {
	VCPU_STAT(exits), VCPU_STAT(io_exits), VCPU_STAT(mmio_exits), VCPU_STAT(halt_exits),
	VCPU_STAT(irq_exits), VCPU_STAT(irq_window_exits), VCPU_STAT(nmi_window_exits),
	VCPU_STAT(signal_exits), VCPU_STAT(insn_emulation), VCPU_STAT(hypercalls),
	VCPU_STAT(irq_injections), VCPU_STAT(nmi_injections), VCPU_STAT(fastpath_exits),
	VCPU_STAT(halt_successful_poll), VCPU_STAT(halt_wakeup),
};
#define VM_STAT(n) { #n, offsetof(struct kvm_vm_stat, n), 1, KVM_STATS_TYPE_CUMULATIVE }
static const struct stat_def vm_stats[] = { VM_STAT(remote_tlb_flush), VM_STAT(mmu_pte_write) };

/*
 * Build the memfd: header | id | descriptors | data (the counters struct
 * @size bytes).  Return: the fd, with *@data mapped onto the data block.
 */
static int stats_fd_create(const char *id, const struct stat_def *defs, int ndefs,
			   bool exit_reasons, size_t offset_reasons, size_t size, void **data,
			   void **map_out, size_t *map_size)
{
	size_t desc_size = sizeof(struct kvm_stats_desc) + KVM_STATS_NAME_SIZE;
	int nreason = 0, n, fd;
	struct kvm_stats_header *h;
	size_t data_off, total;
	u8 *map, *d;

	/* Every counter of the data block has a descriptor: the block is dense. */
	if (exit_reasons)
		nreason = KVM_STAT_EXIT_REASONS;
	n = ndefs + nreason;
	data_off = ALIGN_UP(sizeof(*h) + KVM_STATS_NAME_SIZE + n * desc_size, 64ul);
	total = ALIGN_UP(data_off + size, PAGE_SIZE);
	fd = memfd_create("kvm-stats", MFD_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, total) < 0)
		goto fail;
	map = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED)
		goto fail;
	h = (void *)map;
	h->flags = 0;
	h->name_size = KVM_STATS_NAME_SIZE;
	h->num_desc = n;
	h->id_offset = sizeof(*h);
	h->desc_offset = sizeof(*h) + KVM_STATS_NAME_SIZE;
	h->data_offset = data_off;
	snprintf((char *)map + h->id_offset, KVM_STATS_NAME_SIZE, "%s", id);
	d = map + h->desc_offset;
	for (int i = 0; i < ndefs; i++, d += desc_size) {
		struct kvm_stats_desc *sd = (void *)d;

		sd->flags = defs[i].flags | KVM_STATS_UNIT_NONE | KVM_STATS_BASE_POW10;
		sd->size = defs[i].size;
		sd->offset = defs[i].offset;
		snprintf(sd->name, KVM_STATS_NAME_SIZE, "%s", defs[i].name);
	}
	for (int i = 0; exit_reasons && i < KVM_STAT_EXIT_REASONS; i++) {
		struct kvm_stats_desc *sd = (void *)d;

		sd->flags = KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_NONE | KVM_STATS_BASE_POW10;
		sd->size = 1;
		sd->offset = offset_reasons + i * sizeof(u64);
		if (vmx_exit_reason_names[i])
			snprintf(sd->name, KVM_STATS_NAME_SIZE, "exit_%s", vmx_exit_reason_names[i]);
		else
			snprintf(sd->name, KVM_STATS_NAME_SIZE, "exit_reason_%d", i);
		d += desc_size;
	}
	*data = map + data_off;
	*map_out = map;
	*map_size = total;
	return fd;
fail:
	close(fd);
	return -errno;
}

/* A new open file (its own read position) for the same memfd. */
static int stats_fd_reopen(int fd)
{
	char path[64];
	int nfd;

	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	nfd = open(path, O_RDONLY | O_CLOEXEC);
	return nfd >= 0 ? nfd : -errno;
}

int kvm_vcpu_ioctl_get_stats_fd(struct kvm_vcpu *vcpu)
{
	char id[KVM_STATS_NAME_SIZE];
	void *data;
	int fd;

	if (vcpu->stats_fd >= 0)
		return stats_fd_reopen(vcpu->stats_fd);
	snprintf(id, sizeof(id), "kvm-%d/vcpu-%d", (int)getpid(), vcpu->vcpu_id);
	fd = stats_fd_create(id, vcpu_stats, ARRAY_SIZE(vcpu_stats), true,
			     offsetof(struct kvm_vcpu_stat, exit_reason),
			     sizeof(struct kvm_vcpu_stat), &data, &vcpu->stats_map, &vcpu->stats_size);
	if (fd < 0)
		return fd;
	/* Move the counters into the fd (vCPU ioctls are serialized by vcpu->mutex). */
	memcpy(data, vcpu->stat, sizeof(struct kvm_vcpu_stat));
	__atomic_store_n(&vcpu->stat, (struct kvm_vcpu_stat *)data, __ATOMIC_RELEASE);
	vcpu->stats_fd = fd;
	return stats_fd_reopen(fd);
}

int kvm_vm_ioctl_get_stats_fd(struct kvm *kvm)
{
	char id[KVM_STATS_NAME_SIZE];
	void *data;
	int fd, r;

	pthread_mutex_lock(&kvm->lock);
	if (kvm->stats_fd < 0) {
		snprintf(id, sizeof(id), "kvm-%d", (int)getpid());
		fd = stats_fd_create(id, vm_stats, ARRAY_SIZE(vm_stats), false, 0,
				     sizeof(struct kvm_vm_stat), &data, &kvm->stats_map, &kvm->stats_size);
		if (fd < 0) {
			pthread_mutex_unlock(&kvm->lock);
			return fd;
		}
		memcpy(data, kvm->stat, sizeof(struct kvm_vm_stat));
		__atomic_store_n(&kvm->stat, (struct kvm_vm_stat *)data, __ATOMIC_RELEASE);
		kvm->stats_fd = fd;
	}
	r = stats_fd_reopen(kvm->stats_fd);
	pthread_mutex_unlock(&kvm->lock);
	return r;
}

void kvm_stats_release(int fd, void *map, size_t size)
{
	if (fd < 0)
		return;
	munmap(map, size);
	close(fd);
}
