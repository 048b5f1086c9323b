/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stand-in for the kernel's <linux/types.h>: the fixed-width types the generated kernel header
 * uses. Only for compiling the generated headers outside a kernel tree.
 */
#ifndef ASICGEN_STUB_LINUX_TYPES_H_
#define ASICGEN_STUB_LINUX_TYPES_H_

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;

#endif /* ASICGEN_STUB_LINUX_TYPES_H_ */
