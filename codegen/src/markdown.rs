//! Model → Markdown reference: header, limits, features, engine and queue tables, and the
//! lifecycle as a Mermaid state diagram plus a transition table and the event vocabulary.

use asicgen_dsl::model::{Action, Event, Model, QueueProps, QueueType, QueueValue};
use askama::Template;

use crate::mermaid::state_diagram;
use crate::names;
use crate::provenance::{provenance, seal};

#[derive(Template)]
#[template(path = "reference.md", escape = "none")]
struct Reference {
    provenance: String,
    name: String,
    doc_block: String,
    prefix: String,
    pci_vendor: String,
    pci_devices: String,
    lifecycle_name: String,
    limits: Vec<(&'static str, String)>,
    features: Vec<(&'static str, &'static str)>,
    engine_summary: String,
    engines: Vec<EngineRow>,
    queue_summary: String,
    /// Title and alignment of each property column.
    queue_columns: Vec<(&'static str, &'static str)>,
    queues: Vec<QueueRow>,
    /// Reserved completion queues, the sync manager and binning, as Markdown (or nothing).
    reservations: String,
    lifecycle_doc_block: String,
    diagram: String,
    states: Vec<StateRow>,
    events: Vec<(&'static str, &'static str)>,
    transitions: Vec<(String, Vec<String>)>,
}

struct EngineRow {
    id: u32,
    name: String,
    kind: &'static str,
    mask: String,
    notes: String,
}

struct QueueRow {
    id: u32,
    name: String,
    /// One cell per property column, in `QueueProps::properties` order.
    cells: Vec<String>,
    notes: String,
}

struct StateRow {
    name: String,
    kind: &'static str,
    outcome: String,
    notes: String,
}

/// The Markdown reference page for `model`.
pub fn markdown(model: &Model) -> String {
    let prefix = names::c_prefix(&model.uapi_prefix);
    let reference = Reference {
        provenance: cell(&provenance(model)),
        name: cell(&model.name),
        doc_block: doc_block(&model.doc),
        pci_vendor: format!("0x{:04x}", model.pci_vendor),
        pci_devices: model
            .pci_devices
            .iter()
            .map(|d| format!("`0x{d:04x}`"))
            .collect::<Vec<_>>()
            .join(", "),
        lifecycle_name: cell(&model.lifecycle.name),
        limits: limits(model),
        features: model
            .features
            .iter()
            .map(|(name, on)| (name, yes_no(on)))
            .collect(),
        engine_summary: format!(
            "{} engines; `{}` = {}. An engine's id is its bit in the busy-engines mask \
             (`busy_engines_mask_ext[id / 64]`, bit `id % 64`).",
            model.engines.len(),
            names::c_enumerator(&prefix, "engine", "SIZE"),
            model.engine_id_size()
        ),
        engines: engine_rows(model),
        queue_summary: format!(
            "{} queues; `{}` = {}; {} completion queues.",
            model.queues.len(),
            names::c_enumerator(&prefix, "queue", "SIZE"),
            model.queue_id_size(),
            model.completion_queue_count()
        ),
        queue_columns: property_columns(),
        queues: queue_rows(model),
        reservations: reservations(model),
        lifecycle_doc_block: doc_block(&model.lifecycle.doc),
        diagram: state_diagram(&model.lifecycle),
        states: state_rows(model),
        events: Event::ALL
            .into_iter()
            .map(|e| (e.spec_name(), e.description()))
            .collect(),
        transitions: transition_rows(model),
        prefix,
    };
    // why: rendering into a String fails only if a Display impl fails; ours are Strings and ints.
    match reference.render() {
        Ok(text) => seal(&crate::c_header::with_final_newline(text)),
        Err(err) => format!("asicgen internal error: {err}\n"),
    }
}

fn limits(model: &Model) -> Vec<(&'static str, String)> {
    let l = &model.limits;
    let timeout_ms = l.cs_timeout.as_millis();
    let timeout = if timeout_ms == 0 {
        "0 (TDR disabled)".to_owned()
    } else if timeout_ms.is_multiple_of(1000) {
        format!("{} s", timeout_ms / 1000)
    } else {
        format!("{timeout_ms} ms")
    };
    vec![
        ("max_pending_cs", l.max_pending_cs.to_string()),
        ("max_jobs_per_cs", l.max_jobs_per_cs.to_string()),
        ("queue_length", l.queue_length.to_string()),
        ("cq_length", l.cq_length.to_string()),
        ("cs_timeout", timeout),
        ("completion", format!("`{}`", l.completion.spec_name())),
    ]
}

fn engine_rows(model: &Model) -> Vec<EngineRow> {
    let mut rows: Vec<EngineRow> = model
        .engines
        .iter()
        .map(|e| EngineRow {
            id: e.props.id,
            name: format!("`{}`", names::word_chars(&e.c_name)),
            kind: e.props.kind.spec_name(),
            mask: format!("ext[{}] bit {}", e.props.id / 64, e.props.id % 64),
            notes: cell(&names::doc_one_line(&e.doc)),
        })
        .collect();
    rows.extend(model.reserved_engine_ids.iter().map(|&id| EngineRow {
        id,
        name: "*reserved*".to_owned(),
        kind: "",
        mask: String::new(),
        notes: String::new(),
    }));
    rows.sort_by_key(|r| r.id);
    rows
}

fn queue_rows(model: &Model) -> Vec<QueueRow> {
    let mut last_doc: Option<&[String]> = None;
    let mut rows: Vec<QueueRow> = Vec::new();
    for q in &model.queues {
        // why: a family's doc is copied onto each stream; a table says it on the first row only.
        let notes = if last_doc == Some(q.doc.as_slice()) {
            String::new()
        } else {
            cell(&names::doc_one_line(&q.doc))
        };
        last_doc = Some(q.doc.as_slice());
        rows.push(QueueRow {
            id: q.props.id,
            name: format!("`{}`", names::word_chars(&q.c_name)),
            cells: q
                .props
                .properties()
                .iter()
                .map(|p| property_cell(model, p.value))
                .collect(),
            notes,
        });
    }
    rows.extend(model.reserved_queue_ids.iter().map(|&id| QueueRow {
        id,
        name: "*reserved*".to_owned(),
        cells: vec![String::new(); property_columns().len()],
        notes: String::new(),
    }));
    rows.sort_by_key(|r| r.id);
    rows
}

/// The queue table's property columns: title and Markdown alignment, numbers to the right.
fn property_columns() -> Vec<(&'static str, &'static str)> {
    // why: the titles do not depend on the queue, so any queue lists them.
    let any = QueueProps::new(0, "", QueueType::Internal, 0);
    any.properties()
        .iter()
        .map(|p| {
            let align = match p.value {
                QueueValue::Length(_) | QueueValue::Cq(_) => "---:",
                _ => "---",
            };
            (p.title, align)
        })
        .collect()
}

/// How the reference shows a property's value: flags as `yes` or blank, defaults blank.
fn property_cell(model: &Model, value: QueueValue) -> String {
    match value {
        QueueValue::Choice(_, true) => String::new(),
        QueueValue::Choice(name, false) => name.to_owned(),
        QueueValue::Engine(engine) => engine
            .map(|id| match model.engine(id) {
                Some(e) => format!("`{}`", cell(&e.props.name)),
                None => format!("{id} (missing)"),
            })
            .unwrap_or_default(),
        QueueValue::Flag(on) => yes_blank(on).to_owned(),
        QueueValue::Length(n) => n.to_string(),
        QueueValue::Cq(cq) => cq.map(|c| c.to_string()).unwrap_or_default(),
    }
}

fn state_rows(model: &Model) -> Vec<StateRow> {
    let lc = &model.lifecycle;
    lc.states
        .iter()
        .enumerate()
        .map(|(i, s)| StateRow {
            name: cell(&s.name),
            kind: match (i == lc.initial, s.is_terminal()) {
                (true, _) => "initial",
                (false, true) => "terminal",
                (false, false) => "",
            },
            outcome: s.outcome.map(|o| format!("`{o}`")).unwrap_or_default(),
            notes: cell(&names::doc_one_line(&s.doc)),
        })
        .collect()
}

fn transition_rows(model: &Model) -> Vec<(String, Vec<String>)> {
    let lc = &model.lifecycle;
    lc.states
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let cells = Event::ALL
                .into_iter()
                .map(
                    |event| match lc.table.get(i).map(|row| row[event as usize]) {
                        Some(Action::Goto(to)) => match lc.states.get(to) {
                            Some(to) => format!("→ `{}`", cell(&to.name)),
                            None => "?".to_owned(),
                        },
                        Some(Action::Ignore) if s.is_terminal() => "—".to_owned(),
                        Some(Action::Ignore) => "ignore".to_owned(),
                        None => "?".to_owned(),
                    },
                )
                .collect();
            (cell(&s.name), cells)
        })
        .collect()
}

/// Spec doc lines as Markdown paragraphs, surrounded by blank lines; empty when there is none.
fn doc_block(lines: &[String]) -> String {
    if lines.is_empty() {
        return String::new();
    }
    let text: Vec<String> = names::doc_text(lines).into_iter().map(html_safe).collect();
    format!("\n{}\n", text.join("\n"))
}

/// Text that stays inside one table cell: no pipes, no line breaks, no raw HTML.
fn cell(text: &str) -> String {
    html_safe(text)
        .replace('|', "\\|")
        .replace(['\n', '\r'], " ")
}

fn html_safe(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn yes_no(on: bool) -> &'static str {
    if on { "yes" } else { "no" }
}

fn yes_blank(on: bool) -> &'static str {
    if on { "yes" } else { "" }
}

/// The sections on what the driver reserves and bins: each only when the spec states it.
fn reservations(model: &Model) -> String {
    let mut out = String::new();
    if !model.reserved_cqs.is_empty() {
        out.push_str(&format!(
            "\n## Reserved completion queues\n\nThe driver keeps these; user completion queues start at {}.\n\n\
             | CQ | name | notes |\n|---:|---|---|\n",
            model.first_user_cq()
        ));
        for c in &model.reserved_cqs {
            out.push_str(&format!(
                "| {} | `{}` | {} |\n",
                c.id,
                cell(&c.name),
                cell(&names::doc_one_line(&c.doc))
            ));
        }
    }
    if let Some(sm) = &model.sync_manager {
        out.push_str(&format!(
            "\n## Sync manager\n\n{} sync objects (SOBs) and {} monitors. The driver reserves the \
             ranges below, in order; the first user SOB is **{}** and the first user monitor **{}**.\n\n\
             | range | SOBs | monitors | notes |\n|---|---|---|---|\n",
            sm.sobs,
            sm.monitors,
            sm.first_user_sob(),
            sm.first_user_monitor()
        ));
        let span = |first: u32, count: u32| match count {
            0 => "none".to_string(),
            1 => first.to_string(),
            n => format!("{first}..{} ({n})", first + n - 1),
        };
        for r in &sm.ranges {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                cell(&r.name),
                span(r.first_sob, r.sobs),
                span(r.first_monitor, r.monitors),
                cell(&names::doc_one_line(&r.doc))
            ));
        }
    }
    if !model.binning.is_empty() {
        out.push_str(
            "\n## Binning\n\nPer device, from its fuse masks: bit `i` of a rule's mask marks its \
             `i`-th unit faulty; with `n` faulty units the first `n` substitutes stand in and their \
             queues are binned; more than the most faulty is an error at device creation.\n\n\
             | rule | units (mask bit order) | most faulty | substitutes, in order | notes |\n\
             |---|---|---:|---|---|\n",
        );
        let engine = |id: u32| {
            model
                .engine(id)
                .map_or_else(|| id.to_string(), |e| format!("`{}`", cell(&e.props.name)))
        };
        for r in &model.binning {
            let units: Vec<String> = r.units.iter().map(|u| engine(*u)).collect();
            let subs: Vec<String> = r
                .substitutes
                .iter()
                .map(|s| format!("{} ({} queues)", engine(s.engine), s.queues.len()))
                .collect();
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} |\n",
                cell(&r.name),
                units.join(", "),
                r.max_faulty,
                subs.join(", "),
                cell(&names::doc_one_line(&r.doc))
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn tables_and_diagram() {
        let md = markdown(&fixture::model());
        assert!(md.starts_with("<!-- @generated by asicgen "), "{md}");
        assert!(
            md.contains("# Tiny\n\nA tiny made-up generation.\n\nSecond paragraph.\n\n| | |"),
            "{md}"
        );
        assert!(md.contains("| `cs_timeout` | 2500 ms |"), "{md}");
        assert!(md.contains("| `multi_cs_wait` | yes |"), "{md}");
        assert!(md.contains("| 2 | *reserved* |  |  |  |\n"), "{md}");
        assert!(
            md.contains("| 4 | *reserved* |  |  |  |  |  |  |  |  |  |  |  |\n"),
            "{md}"
        );
        assert!(
            md.contains("| 3 | `TINY_ENGINE_ID_TPC_0` | tpc | ext[0] bit 3 |"),
            "{md}"
        );
        assert!(md.contains(
            "| 5 | `TINY_QUEUE_ID_HW_0` | hw | `DMA_1` | both |  | yes |  |  |  | 64 |  | Fused off |"
        ), "{md}");
        assert!(
            md.contains("```mermaid\nstateDiagram-v2\n    [*] --> Allocated\n"),
            "{md}"
        );
        assert!(
            md.contains("    NotSubmitted --> [*]: not_submitted\n```\n"),
            "{md}"
        );
        assert!(
            md.contains(
                "| `InFlight` | ignore | ignore | → `Completed` | → `TimedOut` | → `Aborted` |"
            ),
            "{md}"
        );
        assert!(
            md.contains("| `reset` | a device reset rolled back every in-flight CS |"),
            "{md}"
        );
        assert!(md.ends_with("|\n"), "{md}");
    }

    #[test]
    fn doc_text_cannot_break_a_table() {
        let md = markdown(&fixture::model());
        assert!(md.contains("Host DMA \\| with a pipe"), "{md}");
    }
}
