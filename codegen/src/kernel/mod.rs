//! Model → the driver's hand-written per-ASIC C tables (`asicgen emit kernel`): queue types, the
//! queue → engine map, the per-queue properties `*_set_fixed_properties` fills in, stream
//! masters, CQ and DMA assignment, queue counts, the pending-CS limit, the completion mode and
//! the reserved sync-object layout.
//!
//! [`kernel_rows`] reduces the same tables to `(table, index, value)` rows in the vocabulary of
//! the kernel's facts (`queue_type`, `props.cb_alloc_flags`, ...), which is what the fidelity
//! test compares with the kernel's own arrays.

mod render;
mod sync_layout;
mod tables;

use asicgen_dsl::model::{Model, QueueEngineMap};

use crate::c_header::{preamble, with_final_newline};
use tables::Value;

/// One fact of a generated table, spelled as the kernel spells it: the table (`queue_type`,
/// `props.driver_only`, `kernel_define`, ...), the index (`GAUDI_QUEUE_ID_DMA_0_0`, `0`, `-` for
/// a scalar, the macro name for a define) and the value (`QUEUE_TYPE_EXT`, `1`, ...).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KernelRow {
    /// The table.
    pub table: String,
    /// The index within it.
    pub index: String,
    /// The value there.
    pub value: String,
}

/// The kernel-side C header for `model`: SPDX line, provenance, `static const` tables. It
/// compiles with `gcc -std=gnu11 -Wall -Wextra -Werror` after the kernel's declarations and the
/// uapi header ([`crate::c_header`]).
pub fn kernel_header(model: &Model) -> String {
    crate::provenance::seal(&with_final_newline(render::render(
        &tables::tables(model),
        &preamble(model),
    )))
}

/// Every fact the kernel header states, as rows (see [`KernelRow`]), in header order.
pub fn kernel_rows(model: &Model) -> Vec<KernelRow> {
    let t = tables::tables(model);
    let row = |table: &str, index: &str, value: &str| KernelRow {
        table: table.to_string(),
        index: index.to_string(),
        value: value.to_string(),
    };
    let mut rows = Vec::new();
    for e in &t.enums {
        if let Some(v) = e.count_value {
            for (table, index) in &e.rows {
                rows.push(row(table, index, &v.to_string()));
            }
        }
    }
    for define in &t.defines {
        for (table, index) in &define.rows {
            rows.push(row(table, index, &define.c_value));
        }
    }
    if model.kernel.queue_to_engine == QueueEngineMap::None {
        rows.push(row("queue_id_to_engine_id", "-", "(no table)"));
    }
    for array in &t.arrays {
        for (table, size) in &array.size_rows {
            rows.push(row(table, "-", &size.to_string()));
        }
        for entry in &array.entries {
            match &entry.value {
                Value::One(v) => rows.push(row(array.table, &entry.index_name, v)),
                Value::Fields(fields) => {
                    for (field, v) in fields {
                        rows.push(row(
                            &format!("{}.{field}", array.table),
                            &entry.index_name,
                            v,
                        ));
                    }
                }
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::c_text::{MAX_COLUMNS, columns};
    use crate::fixture;

    #[test]
    fn kernel_style_spdx_guard_and_line_length() {
        let h = kernel_header(&fixture::model());
        assert!(
            h.starts_with("/* SPDX-License-Identifier: GPL-2.0 */\n/*\n"),
            "{h}"
        );
        assert!(h.contains("#ifndef ASICGEN_TINY_KERNEL_H_\n#define ASICGEN_TINY_KERNEL_H_\n"));
        assert!(h.ends_with("#endif /* ASICGEN_TINY_KERNEL_H_ */\n"), "{h}");
        for line in h.lines() {
            assert!(columns(line) <= MAX_COLUMNS, "{line}");
            assert!(!line.starts_with("    "), "spaces for indentation: {line}");
        }
    }

    #[test]
    fn reserved_ids_are_not_a_queue_type_and_get_the_engine_sentinel() {
        // The fixture reserves queue id 4 and has a CPU queue (id 2) without an engine.
        let h = kernel_header(&fixture::model());
        assert!(h.contains("\tQUEUE_TYPE_NA, /* 4 */\n"), "{h}");
        assert!(
            h.contains("\t[TINY_QUEUE_ID_CPU_PQ] = TINY_ENGINE_ID_SIZE,\n"),
            "{h}"
        );
        assert!(h.contains("\t[4] = TINY_ENGINE_ID_SIZE,\n"), "{h}");
        let rows = kernel_rows(&fixture::model());
        assert!(rows.contains(&KernelRow {
            table: "queue_type".into(),
            index: "4".into(),
            value: "QUEUE_TYPE_NA".into(),
        }));
    }

    #[test]
    fn binned_is_written_only_when_a_queue_is_binned() {
        let mut model = fixture::model();
        let h = kernel_header(&model);
        assert!(h.contains("\t\t.binned = 1,\n"), "{h}");
        for q in &mut model.queues {
            q.props.binned = false;
        }
        assert!(!kernel_header(&model).contains(".binned"));
    }
}
