// SPDX-License-Identifier: MIT
/*
 * Loading a guest: multiboot v1 kernels (ELF32, or any format with the
 * header's address fields, as kvm-unit-tests builds its .flat files) and
 * raw flat binaries.  Both start in flat 32-bit protected mode, paging off,
 * as the multiboot specification describes:
 *   EAX = 0x2BADB002, EBX = the multiboot information block,
 *   CS = 32-bit code, base 0, limit 4 GiB; DS/ES/FS/GS/SS = data likewise.
 * A raw --flat binary is loaded at 1 MiB and entered there, EBX = 0.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/vmm.h"

#define MULTIBOOT_HEADER_MAGIC		0x1BADB002u
#define MULTIBOOT_BOOTLOADER_MAGIC	0x2BADB002u
#define MULTIBOOT_SEARCH		8192
#define MB_FLAG_AOUT_KLUDGE		(1u << 16)
#define MB_FLAG_VIDEO			(1u << 2)

#define MBI_MEMORY	(1u << 0)
#define MBI_CMDLINE	(1u << 2)
#define MBI_MODS	(1u << 3)
#define MBI_MMAP	(1u << 6)
#define MBI_LOADER_NAME	(1u << 9)

/* Where the VMM puts its own boot data, below the EBDA and above the IVT. */
#define BOOT_GDT	0x500
#define BOOT_MBI	0x9000
#define BOOT_DATA	0x9400		/* cmdline, module strings, mmap, module list */
#define BOOT_DATA_END	0x9fc00
#define FLAT_LOAD	0x100000

struct mb_header {
	uint32_t magic, flags, checksum;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline, mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr, config_table, boot_loader_name;
};

struct mb_module {
	uint32_t mod_start, mod_end, string, reserved;
};

struct mb_mmap_entry {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

static void *read_file(const char *path, size_t *size)
{
	struct stat st;
	void *buf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0)
		die("%s: %s", path, strerror(errno));
	buf = malloc(st.st_size ? st.st_size : 1);
	if (!buf)
		die("%s: out of memory", path);
	for (off_t off = 0; off < st.st_size;) {
		ssize_t n = read(fd, (char *)buf + off, st.st_size - off);

		if (n <= 0)
			die("%s: read failed", path);
		off += n;
	}
	close(fd);
	*size = st.st_size;
	return buf;
}

static void copy_to_guest(struct vmm *vmm, uint64_t gpa, const void *src, uint64_t len,
			  const char *what)
{
	void *dst = vmm__gpa_to_hva(vmm, gpa, len);

	if (!dst)
		die("%s: [%#llx, %#llx) is outside guest RAM (--mem %lluM)", what,
		    (unsigned long long)gpa, (unsigned long long)(gpa + len),
		    (unsigned long long)(vmm->ram_size >> 20));
	memcpy(dst, src, len);
}

static const struct mb_header *find_multiboot_header(const uint8_t *img, size_t size, size_t *off)
{
	for (size_t o = 0; o + 12 <= size && o < MULTIBOOT_SEARCH; o += 4) {
		const struct mb_header *h = (const void *)(img + o);

		if (h->magic == MULTIBOOT_HEADER_MAGIC &&
		    h->magic + h->flags + h->checksum == 0) {
			*off = o;
			return h;
		}
	}
	return NULL;
}

/* Load PT_LOAD segments at their physical addresses.  Return: entry point. */
static uint32_t load_elf32(struct vmm *vmm, const uint8_t *img, size_t size, const char *path,
			   uint64_t *end)
{
	const Elf32_Ehdr *eh = (const void *)img;

	if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG) ||
	    eh->e_ident[EI_CLASS] != ELFCLASS32 || eh->e_machine != EM_386)
		die("%s: not an ELF32 i386 file and no multiboot address fields", path);
	if (eh->e_phoff > size || eh->e_phnum > (size - eh->e_phoff) / sizeof(Elf32_Phdr))
		die("%s: bad program headers", path);
	for (int i = 0; i < eh->e_phnum; i++) {
		const Elf32_Phdr *ph = (const void *)(img + eh->e_phoff + i * sizeof(Elf32_Phdr));
		void *dst;

		if (ph->p_type != PT_LOAD || !ph->p_memsz)
			continue;
		if (ph->p_filesz > ph->p_memsz || ph->p_offset > size ||
		    ph->p_filesz > size - ph->p_offset)
			die("%s: bad segment %d", path, i);
		dst = vmm__gpa_to_hva(vmm, ph->p_paddr, ph->p_memsz);
		if (!dst)
			die("%s: segment at %#x outside guest RAM", path, ph->p_paddr);
		memcpy(dst, img + ph->p_offset, ph->p_filesz);
		memset((char *)dst + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
		if (ph->p_paddr + (uint64_t)ph->p_memsz > *end)
			*end = ph->p_paddr + (uint64_t)ph->p_memsz;
	}
	return eh->e_entry;
}

/* The multiboot a.out kludge: the header says where the image goes. */
static uint32_t load_aout_kludge(struct vmm *vmm, const uint8_t *img, size_t size,
				 const struct mb_header *h, size_t hoff, const char *path,
				 uint64_t *end)
{
	uint64_t file_off, load_end, bss_end, len;

	if (h->header_addr < h->load_addr || h->header_addr - h->load_addr > hoff)
		die("%s: inconsistent multiboot address fields", path);
	file_off = hoff - (h->header_addr - h->load_addr);
	load_end = h->load_end_addr ? h->load_end_addr : h->load_addr + (size - file_off);
	if (load_end < h->load_addr || load_end - h->load_addr > size - file_off)
		die("%s: multiboot load_end_addr past the file", path);
	len = load_end - h->load_addr;
	copy_to_guest(vmm, h->load_addr, img + file_off, len, path);
	bss_end = h->bss_end_addr > load_end ? h->bss_end_addr : load_end;
	if (bss_end > load_end) {
		void *bss = vmm__gpa_to_hva(vmm, load_end, bss_end - load_end);

		if (!bss)
			die("%s: bss outside guest RAM", path);
		memset(bss, 0, bss_end - load_end);
	}
	*end = bss_end;
	return h->entry_addr;
}

struct boot_data {
	uint32_t next;		/* bump allocator in [BOOT_DATA, BOOT_DATA_END) */
};

static uint32_t boot_alloc(struct vmm *vmm, struct boot_data *bd, const void *src, uint32_t len)
{
	uint32_t at = (bd->next + 15) & ~15u;

	if (at + len > BOOT_DATA_END)
		die("boot data (command line, module names) too large");
	copy_to_guest(vmm, at, src, len, "boot data");
	bd->next = at + len;
	return at;
}

/* Flat 32-bit protected mode, paging off. */
static void setup_flat_protected_mode(struct vmm *vmm, struct vcpu *vcpu, uint32_t entry,
				      uint32_t eax, uint32_t ebx)
{
	/* null, code 0x08, data 0x10: what the segment registers hold */
	static const uint64_t gdt[] = { 0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull };
	struct kvm_segment code = {
		.base = 0, .limit = 0xffffffff, .selector = 0x08, .type = 0xb, .present = 1,
		.dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	struct kvm_segment data = code;
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	copy_to_guest(vmm, BOOT_GDT, gdt, sizeof(gdt), "GDT");
	if (vmm__ioctl(vmm, vcpu->fd, KVM_GET_SREGS, (unsigned long)&sregs) < 0)
		die_perror("KVM_GET_SREGS");
	data.selector = 0x10;
	data.type = 0x3;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.gdt.base = BOOT_GDT;
	sregs.gdt.limit = sizeof(gdt) - 1;
	sregs.cr0 = (sregs.cr0 & ~0x80000000ull) | 1;	/* PE, no PG */
	if (vmm__ioctl(vmm, vcpu->fd, KVM_SET_SREGS, (unsigned long)&sregs) < 0)
		die_perror("KVM_SET_SREGS");

	memset(&regs, 0, sizeof(regs));
	regs.rip = entry;
	regs.rflags = 0x2;
	regs.rax = eax;
	regs.rbx = ebx;
	if (vmm__ioctl(vmm, vcpu->fd, KVM_SET_REGS, (unsigned long)&regs) < 0)
		die_perror("KVM_SET_REGS");
}

static void boot__multiboot(struct vmm *vmm, struct vcpu *bsp, const struct boot_options *opt)
{
	const struct mb_header *h;
	struct boot_data bd = { BOOT_DATA };
	struct mb_info mbi = { 0 };
	struct mb_mmap_entry mmap[3];
	uint64_t end = 0, ram_low;
	uint32_t entry;
	size_t size, hoff;
	uint8_t *img;
	int n = 0;

	img = read_file(opt->kernel, &size);
	h = find_multiboot_header(img, size, &hoff);
	if (!h)
		die("%s: no multiboot header in the first %d bytes", opt->kernel, MULTIBOOT_SEARCH);
	if (h->flags & MB_FLAG_AOUT_KLUDGE)
		entry = load_aout_kludge(vmm, img, size, h, hoff, opt->kernel, &end);
	else
		entry = load_elf32(vmm, img, size, opt->kernel, &end);
	free(img);

	/* Memory: 640 KiB low, the rest up to the 32-bit hole, then above 4 GiB. */
	ram_low = vmm->ram_size < 0xc0000000ull ? vmm->ram_size : 0xc0000000ull;
	mbi.flags = MBI_MEMORY | MBI_MMAP | MBI_LOADER_NAME;
	mbi.mem_lower = 640;
	mbi.mem_upper = (uint32_t)((ram_low - 0x100000) >> 10);
	mmap[n++] = (struct mb_mmap_entry){ 20, 0, 0x9fc00, 1 };
	mmap[n++] = (struct mb_mmap_entry){ 20, 0x100000, ram_low - 0x100000, 1 };
	if (vmm->ram_size > ram_low)
		mmap[n++] = (struct mb_mmap_entry){ 20, 0x100000000ull, vmm->ram_size - ram_low, 1 };
	mbi.mmap_addr = boot_alloc(vmm, &bd, mmap, n * sizeof(mmap[0]));
	mbi.mmap_length = n * sizeof(mmap[0]);
	mbi.boot_loader_name = boot_alloc(vmm, &bd, "userkvm", 8);
	/*
	 * The command line starts with the kernel's name, as GRUB and QEMU
	 * pass it (kvm-unit-tests take it as argv[0]).
	 */
	{
		size_t len = strlen(opt->kernel) + (opt->append ? strlen(opt->append) + 1 : 0) + 1;
		char *cmdline = malloc(len);

		if (!cmdline)
			die("out of memory");
		snprintf(cmdline, len, "%s%s%s", opt->kernel, opt->append ? " " : "",
			 opt->append ? opt->append : "");
		mbi.flags |= MBI_CMDLINE;
		mbi.cmdline = boot_alloc(vmm, &bd, cmdline, len);
		free(cmdline);
	}

	/* --initrd FILE[,FILE...]: multiboot modules, page-aligned after the kernel. */
	if (opt->initrd) {
		struct mb_module mods[16];
		char *list = strdup(opt->initrd), *save = NULL, *name;
		uint64_t at = (end + 0xfff) & ~0xfffull;
		int nmods = 0;

		for (name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
			uint8_t *mod;
			size_t msize;

			if (nmods == 16)
				die("--initrd: at most 16 modules");
			mod = read_file(name, &msize);
			copy_to_guest(vmm, at, mod, msize, name);
			free(mod);
			mods[nmods].mod_start = (uint32_t)at;
			mods[nmods].mod_end = (uint32_t)(at + msize);
			mods[nmods].string = boot_alloc(vmm, &bd, name, strlen(name) + 1);
			mods[nmods].reserved = 0;
			nmods++;
			at = (at + msize + 0xfff) & ~0xfffull;
		}
		free(list);
		mbi.flags |= MBI_MODS;
		mbi.mods_count = nmods;
		mbi.mods_addr = boot_alloc(vmm, &bd, mods, nmods * sizeof(mods[0]));
	}
	copy_to_guest(vmm, BOOT_MBI, &mbi, sizeof(mbi), "multiboot info");
	setup_flat_protected_mode(vmm, bsp, entry, MULTIBOOT_BOOTLOADER_MAGIC, BOOT_MBI);
}

void boot__load(struct vmm *vmm, struct vcpu *bsp, const struct boot_options *opt)
{
	if (opt->kernel) {
		boot__multiboot(vmm, bsp, opt);
	} else {
		size_t size;
		uint8_t *img = read_file(opt->flat, &size);

		copy_to_guest(vmm, FLAT_LOAD, img, size, opt->flat);
		free(img);
		setup_flat_protected_mode(vmm, bsp, FLAT_LOAD, 0, 0);
	}
}
