/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Stand-in for the declarations of drivers/accel/habanalabs/common/habanalabs.h that the
 * generated kernel header uses, with the kernel's names, values and field types. Only for
 * compiling the generated headers outside a kernel tree.
 */
#ifndef ASICGEN_STUB_HABANALABS_H_
#define ASICGEN_STUB_HABANALABS_H_

#include <linux/types.h>

enum hl_queue_type {
	QUEUE_TYPE_NA,
	QUEUE_TYPE_EXT,
	QUEUE_TYPE_INT,
	QUEUE_TYPE_CPU,
	QUEUE_TYPE_HW
};

enum queue_cb_alloc_flags {
	CB_ALLOC_KERNEL = 0x1,
	CB_ALLOC_USER   = 0x2
};

enum hl_collective_mode {
	HL_COLLECTIVE_NOT_SUPPORTED = 0x0,
	HL_COLLECTIVE_MASTER = 0x1,
	HL_COLLECTIVE_SLAVE = 0x2
};

#define HL_COMPLETION_MODE_JOB	0
#define HL_COMPLETION_MODE_CS	1

struct hw_queue_properties {
	enum hl_queue_type		type;
	enum queue_cb_alloc_flags	cb_alloc_flags;
	enum hl_collective_mode		collective_mode;
	u64				q_dram_bd_address;
	u8				driver_only;
	u8				binned;
	u8				supports_sync_stream;
	u8				dram_bd;
};

#endif /* ASICGEN_STUB_HABANALABS_H_ */
