//! The kernel tables as C in the kernel's style: tabs, `static const`, the driver's own names
//! and shapes (range designators where it writes them), no line over 100 columns.

use std::fmt::Write as _;

use super::tables::{Array, Define, Entry, Style, Tables, Value};
use crate::c_text::{self, MAX_COLUMNS, columns};

/// The header text for `tables`, under `preamble` (the provenance comment lines).
pub fn render(tables: &Tables, preamble: &[String]) -> String {
    let guard = format!("ASICGEN_{}_KERNEL_H_", tables.upper);
    let mut out = String::from("/* SPDX-License-Identifier: GPL-2.0 */\n");
    for line in preamble {
        out.push_str(line);
        out.push('\n');
    }
    let _ = write!(out, "\n#ifndef {guard}\n#define {guard}\n\n");
    for line in c_text::comment(
        &[
            "The driver's per-ASIC tables. Include after ../common/habanalabs.h (enum \
             hl_queue_type, struct hw_queue_properties, enum hl_collective_mode, CB_ALLOC_*, \
             HL_COMPLETION_MODE_*) and the uapi header (the queue and engine ids)."
                .to_string(),
        ],
        "",
    ) {
        out.push_str(&line);
        out.push('\n');
    }
    out.push_str("#include <linux/types.h>\n");

    for e in &tables.enums {
        out.push('\n');
        comment(&mut out, &e.comment, "");
        let _ = writeln!(out, "enum {} {{", e.tag);
        for (name, doc, value) in &e.enumerators {
            if let Some(doc) = doc {
                comment(&mut out, doc, "\t");
            }
            match value {
                Some(v) => {
                    let _ = writeln!(out, "\t{name} = {v},");
                }
                None => {
                    let _ = writeln!(out, "\t{name},");
                }
            }
        }
        match e.count_value {
            Some(v) => {
                let _ = writeln!(out, "\t{} = {v}\n}};", e.count);
            }
            None => {
                let _ = writeln!(out, "\t{}\n}};", e.count);
            }
        }
    }

    for define in &tables.defines {
        if define.comment.is_some() {
            out.push('\n');
        }
        write_define(&mut out, define);
    }

    for array in &tables.arrays {
        out.push('\n');
        write_array(&mut out, array);
    }
    let _ = write!(out, "\n#endif /* {guard} */\n");
    out
}

fn comment(out: &mut String, text: &str, indent: &str) {
    for line in c_text::comment(&[text.to_string()], indent) {
        let _ = writeln!(out, "{indent}{line}");
    }
}

fn write_define(out: &mut String, define: &Define) {
    if let Some(c) = &define.comment {
        comment(out, c, "");
    }
    // why: the kernel aligns define values with tabs; pad the name to the next tab stop past 40.
    let head = format!("#define {}", define.name);
    let mut line = head.clone();
    while columns(&line) < 40 {
        line.push('\t');
    }
    if line == head {
        line.push(' ');
    }
    let _ = writeln!(out, "{line}{}", define.c_value);
}

fn write_array(out: &mut String, array: &Array) {
    comment(out, &array.comment, "");
    let _ = writeln!(
        out,
        "static const {} {}[{}] = {{",
        array.c_type, array.name, array.size
    );
    match array.style {
        Style::PositionalCommented | Style::Positional => {
            for entry in &array.entries {
                let value = scalar(&entry.value);
                if array.style == Style::PositionalCommented {
                    line(out, &format!("\t{value}, /* {} */", entry.index_name));
                } else {
                    line(out, &format!("\t{value},"));
                }
            }
        }
        Style::Designated => {
            for entry in &array.entries {
                element(out, &format!("[{}]", entry.index_name), &entry.value);
            }
        }
        Style::DesignatedRanges => {
            for run in runs(&array.entries) {
                let designator = match run {
                    [one] => format!("[{}]", one.index_name),
                    [first, .., last] => format!("[{}...{}]", first.index_name, last.index_name),
                    [] => continue,
                };
                element(out, &designator, &run[0].value);
            }
        }
    }
    out.push_str("};\n");
}

/// Runs of consecutive indices with equal values.
fn runs(entries: &[Entry]) -> Vec<&[Entry]> {
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=entries.len() {
        let breaks = i == entries.len()
            || entries[i - 1].index.checked_add(1) != Some(entries[i].index)
            || entries[i].value != entries[i - 1].value;
        if breaks {
            out.push(&entries[start..i]);
            start = i;
        }
    }
    out
}

fn scalar(value: &Value) -> String {
    match value {
        Value::One(v) => v.clone(),
        Value::Fields(fields) => {
            let inner: Vec<String> = fields.iter().map(|(f, v)| format!(".{f} = {v}")).collect();
            format!("{{ {} }}", inner.join(", "))
        }
    }
}

/// `\t[designator] = value,`, wrapped after `=` when too long; structs one field per line.
fn element(out: &mut String, designator: &str, value: &Value) {
    match value {
        Value::One(v) => {
            let one = format!("\t{designator} = {v},");
            if columns(&one) <= MAX_COLUMNS {
                let _ = writeln!(out, "{one}");
            } else {
                let _ = writeln!(out, "\t{designator} =\n\t\t{v},");
            }
        }
        Value::Fields(fields) => {
            let _ = writeln!(out, "\t{designator} = {{");
            for (f, v) in fields {
                let _ = writeln!(out, "\t\t.{f} = {v},");
            }
            out.push_str("\t},\n");
        }
    }
}

fn line(out: &mut String, text: &str) {
    out.push_str(text);
    out.push('\n');
}
