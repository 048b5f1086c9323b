//! Model → C uapi header: `enum <prefix>_queue_id` and `enum <prefix>_engine_id` with the
//! kernel's exact enumerator names and values, include guards and a provenance comment.
//!
//! Kernel style: the uapi SPDX line first, tabs, comments wrapped within 100 columns, and the
//! habanalabs guard spelling (`NAME_H_`, closed by `#endif /* NAME_H_ */`).
//!
//! Values are always explicit (reserved ids leave gaps the kernel numbering has to keep), and the
//! `_SIZE` sentinel is one past the highest id, reserved ones included.

use asicgen_dsl::model::Model;
use askama::Template;

use crate::c_text;
use crate::names;
use crate::provenance::{provenance, seal};

#[derive(Template)]
#[template(path = "uapi.h", escape = "none")]
struct Header {
    /// The provenance and doc comment lines, ready to print.
    preamble: Vec<String>,
    guard: String,
    enums: Vec<CEnum>,
    /// `(comment lines, name, value)` of each `#define` after the enums.
    defines: Vec<(Vec<String>, String, u32)>,
}

struct CEnum {
    title: String,
    tag: String,
    entries: Vec<Entry>,
    size_name: String,
    size: u32,
}

/// One enumerator, or (with `name` of `None`) a reserved id that only leaves a comment.
struct Entry {
    /// Comment lines, ready to print after a tab.
    comments: Vec<String>,
    name: Option<String>,
    value: u32,
}

/// The C uapi header for `model`; compiles with `gcc -std=c11 -Wall -Wextra -Werror`.
pub fn c_header(model: &Model) -> String {
    let prefix = names::c_prefix(&model.uapi_prefix);
    let queues = c_enum(
        model,
        "queue",
        format!("{} hardware queue ids", model.name),
        model
            .queues
            .iter()
            .map(|q| (q.c_name.as_str(), q.props.id, q.doc.as_slice())),
        &model.reserved_queue_ids,
        model.queue_id_size(),
    );
    let engines = c_enum(
        model,
        "engine",
        format!(
            "{} engine ids; engine id N is bit N of the busy-engines mask",
            model.name
        ),
        model
            .engines
            .iter()
            .map(|e| (e.c_name.as_str(), e.props.id, e.doc.as_slice())),
        &model.reserved_engine_ids,
        model.engine_id_size(),
    );
    let header = Header {
        preamble: preamble(model),
        guard: format!("ASICGEN_{prefix}_UAPI_H_"),
        enums: vec![queues, engines],
        defines: sync_defines(model, &prefix),
    };
    // why: rendering into a String fails only if a Display impl fails; ours are Strings and ints.
    match header.render() {
        Ok(text) => seal(&with_final_newline(text)),
        Err(err) => format!("#error \"asicgen internal error: {err}\"\n"),
    }
}

fn c_enum<'a>(
    model: &Model,
    kind: &str,
    title: String,
    items: impl Iterator<Item = (&'a str, u32, &'a [String])>,
    reserved: &[u32],
    size: u32,
) -> CEnum {
    let mut entries: Vec<Entry> = Vec::new();
    let mut last_doc: Option<&[String]> = None;
    for (c_name, id, doc) in items {
        // why: a family's doc comment is copied onto each of its streams; say it once.
        let comments = if doc.is_empty() || last_doc == Some(doc) {
            Vec::new()
        } else {
            c_text::comment(&[names::doc_one_line(doc)], "\t")
        };
        last_doc = Some(doc);
        entries.push(Entry {
            comments,
            name: Some(names::word_chars(c_name)),
            value: id,
        });
    }
    for &id in reserved {
        entries.push(Entry {
            comments: c_text::comment(&[format!("{id} is reserved")], "\t"),
            name: None,
            value: id,
        });
    }
    // why: stable sort keeps the declaration order of equal ids (the checker rejects those).
    entries.sort_by_key(|e| e.value);
    CEnum {
        title: c_text::comment_safe(&title),
        tag: names::c_enum_tag(&model.uapi_prefix, kind),
        entries,
        size_name: names::c_enumerator(&model.uapi_prefix, kind, "SIZE"),
        size,
    }
}

/// The first SOB and monitor left to users, when the spec names their uapi defines
/// (`sync_manager { uapi_name = "W_S" }` gives `GAUDI_FIRST_AVAILABLE_W_S_SYNC_OBJECT`).
fn sync_defines(model: &Model, prefix: &str) -> Vec<(Vec<String>, String, u32)> {
    let Some(sm) = &model.sync_manager else {
        return Vec::new();
    };
    let Some(middle) = &sm.uapi_name else {
        return Vec::new();
    };
    let middle = names::word_chars(middle);
    let layout = |what: &str, count: fn(&asicgen_dsl::model::SyncRange) -> u32| {
        let parts: Vec<String> = sm
            .ranges
            .iter()
            .map(|r| format!("{} {}", count(r), names::word_chars(&r.name)))
            .collect();
        c_text::comment(
            &[format!("first {what} left to users: {}", parts.join(" + "))],
            "",
        )
    };
    vec![
        (
            layout("SOB", |r| r.sobs),
            format!("{prefix}_FIRST_AVAILABLE_{middle}_SYNC_OBJECT"),
            sm.first_user_sob(),
        ),
        (
            layout("monitor", |r| r.monitors),
            format!("{prefix}_FIRST_AVAILABLE_{middle}_MONITOR"),
            sm.first_user_monitor(),
        ),
    ]
}

/// `text` ending in exactly one newline (askama drops the template's final newline).
pub(crate) fn with_final_newline(mut text: String) -> String {
    while text.ends_with('\n') {
        text.pop();
    }
    text.push('\n');
    text
}

/// The comment under the SPDX line of a C output: provenance, then the spec's doc comment.
pub(crate) fn preamble(model: &Model) -> Vec<String> {
    let mut paragraphs = vec![format!(
        "@generated by {}. Do not edit by hand.",
        provenance(model)
    )];
    // why: the output hash must stay on one line for `provenance::verify` to find it, so the
    // wrap may not break inside "(output sha256 <hash>)"; glue it into one word while wrapping.
    const GLUE: char = '\u{1}';
    paragraphs[0] = paragraphs[0].replace("(output sha256 ", &format!("(output{GLUE}sha256{GLUE}"));
    let doc = names::doc_text(&model.doc);
    if !doc.is_empty() {
        paragraphs.push(String::new());
        paragraphs.extend(doc.into_iter().map(str::to_owned));
    }
    c_text::comment(&paragraphs, "")
        .into_iter()
        .map(|line| line.replace(GLUE, " "))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn enumerators_have_kernel_names_and_explicit_values() {
        let h = c_header(&fixture::model());
        assert!(h.contains("enum tiny_queue_id {\n\t/* Host DMA"), "{h}");
        assert!(h.contains("\tTINY_QUEUE_ID_CPU_PQ = 2,\n"), "{h}");
        assert!(
            h.contains("\t/* 4 is reserved */\n\t/* Fused off */\n\tTINY_QUEUE_ID_HW_0 = 5,\n"),
            "{h}"
        );
        assert!(h.contains("\tTINY_QUEUE_ID_SIZE = 6\n};"), "{h}");
        assert!(h.contains("\tTINY_ENGINE_ID_SIZE = 4\n};"), "{h}");
    }

    #[test]
    fn guards_provenance_and_no_comment_breakers() {
        let h = c_header(&fixture::model());
        assert!(
            h.starts_with(
                "/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */\n\
                 /*\n * @generated by asicgen "
            ),
            "{h}"
        );
        assert!(
            h.contains("#ifndef ASICGEN_TINY_UAPI_H_\n#define ASICGEN_TINY_UAPI_H_\n"),
            "{h}"
        );
        assert!(h.ends_with("#endif /* ASICGEN_TINY_UAPI_H_ */\n"), "{h}");
        for line in h.lines() {
            assert!(c_text::columns(line) <= c_text::MAX_COLUMNS, "{line}");
        }
        assert!(h.contains("a * / comment end"), "{h}");
        // A family doc is said once, not once per stream.
        assert_eq!(h.matches("Host DMA").count(), 1, "{h}");
    }
}
