// SPDX-License-Identifier: MIT
/*
 * userkvm run --stat: the exit statistics of each vCPU at the end of the
 * run, like `perf kvm stat report`, read from KVM_GET_STATS_FD.  userkvm's
 * vCPUs count every VM exit by reason (exit_<REASON>); the host's KVM
 * offers its generic counters (exits, io_exits, halt_exits, ...), which are
 * printed the same way.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/vmm.h"

struct stat_line {
	char name[64];
	uint64_t value;
};

static int line_cmp(const void *a, const void *b)
{
	const struct stat_line *x = a, *y = b;

	return x->value < y->value ? 1 : x->value > y->value ? -1 : strcmp(x->name, y->name);
}

int kvm_cpu__stat_open(struct vcpu *vcpu)
{
	return (int)vmm__ioctl(vcpu->vmm, vcpu->fd, KVM_GET_STATS_FD, 0);
}

void kvm_cpu__stat_report(struct vcpu *vcpu, int fd)
{
	struct kvm_stats_header h;
	struct stat_line *lines;
	size_t dsize;
	char *descs;
	uint64_t total = 0, exits = 0;
	int n = 0;

	if (fd < 0 || pread(fd, &h, sizeof(h), 0) != sizeof(h)) {
		fprintf(stderr, "userkvm: --stat: no statistics from this accelerator\n");
		return;
	}
	dsize = sizeof(struct kvm_stats_desc) + h.name_size;
	descs = malloc(dsize * h.num_desc);
	lines = calloc(h.num_desc, sizeof(*lines));
	if (!descs || !lines ||
	    pread(fd, descs, dsize * h.num_desc, h.desc_offset) != (ssize_t)(dsize * h.num_desc))
		goto out;
	for (uint32_t i = 0; i < h.num_desc; i++) {
		struct kvm_stats_desc *d = (void *)(descs + i * dsize);
		uint64_t v = 0;

		if ((d->flags & KVM_STATS_TYPE_MASK) != KVM_STATS_TYPE_CUMULATIVE || d->size != 1)
			continue;
		if (pread(fd, &v, sizeof(v), h.data_offset + d->offset) != sizeof(v) || !v)
			continue;
		if (!strcmp(d->name, "exits")) {
			exits = v;
			continue;
		}
		/* Per-reason counters when the accelerator has them, else the generic ones. */
		snprintf(lines[n].name, sizeof(lines[n].name), "%s", d->name);
		lines[n++].value = v;
	}
	qsort(lines, n, sizeof(*lines), line_cmp);
	for (int i = 0; i < n; i++)
		if (!strncmp(lines[i].name, "exit_", 5))
			total += lines[i].value;
	fprintf(stderr, "\nAnalyze events for vCPU %d (%s): %llu VM exits\n\n", vcpu->id,
		vcpu->vmm->accel->name, (unsigned long long)exits);
	fprintf(stderr, "%28s %12s %9s\n", "VM-EXIT / counter", "Samples", "Samples%");
	for (int i = 0; i < n; i++) {
		bool reason = !strncmp(lines[i].name, "exit_", 5);
		uint64_t base = reason ? total : exits;

		if (reason)
			fprintf(stderr, "%28s %12llu %8.2f%%\n", lines[i].name + 5,
				(unsigned long long)lines[i].value,
				base ? 100.0 * (double)lines[i].value / (double)base : 0.0);
		else	/* a generic counter, not one exit reason */
			fprintf(stderr, "%28s %12llu %9s\n", lines[i].name,
				(unsigned long long)lines[i].value, "-");
	}
out:
	free(descs);
	free(lines);
	close(fd);
}
