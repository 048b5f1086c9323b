//! Rendering diffs: text for a terminal, Markdown for a pull-request comment, JSON for tools.
//!
//! Text and Markdown fold a run of items renumbered by the same amount into one line
//! (inserting one queue shifts every queue after it; a reviewer needs the one fact, not a
//! hundred lines of it). JSON keeps every item.

use std::fmt::Write as _;

use serde_json::json;

use crate::SpecDiff;
use crate::allow::Entry;
use crate::changes::{Change, Kind};
use crate::lints::{
    ENUMERATOR_ADDED, ENUMERATOR_REMOVED, ENUMERATOR_RENAMED, ENUMERATOR_RENUMBERED, Finding, Level,
};

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Plain text.
    Text,
    /// GitHub-flavoured Markdown.
    Markdown,
    /// One JSON document.
    Json,
}

/// Counts over every finding of a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    /// Error-level findings not waived: breaking changes.
    pub errors: usize,
    /// Warn-level findings not waived.
    pub warnings: usize,
    /// Additive findings.
    pub infos: usize,
    /// Findings an allow-list entry waived.
    pub allowed: usize,
    /// Semantic changes.
    pub changes: usize,
}

impl Summary {
    /// Counts `diffs`.
    pub fn of(diffs: &[SpecDiff]) -> Summary {
        let mut s = Summary::default();
        for diff in diffs {
            s.changes += diff.changes.len();
            for f in &diff.findings {
                match (f.allowed.is_some(), f.lint.level) {
                    (true, _) => s.allowed += 1,
                    (false, Level::Error) => s.errors += 1,
                    (false, Level::Warn) => s.warnings += 1,
                    (false, Level::Info) => s.infos += 1,
                }
            }
        }
        s
    }
}

/// Renders `diffs` in `format`; `unused` are allow-list entries that waived nothing.
pub fn render(format: Format, diffs: &[SpecDiff], unused: &[&Entry]) -> String {
    match format {
        Format::Text => text(diffs, unused),
        Format::Markdown => markdown(diffs, unused),
        Format::Json => json(diffs, unused),
    }
}

fn side(label: &Option<String>) -> &str {
    label.as_deref().unwrap_or("(none)")
}

/// One line of a report: a change, or a run of renumbered ones folded together.
struct Line {
    marker: String,
    subject: String,
    detail: String,
}

fn change_lines(changes: &[Change]) -> Vec<(crate::changes::Section, Line)> {
    let grouped = same_change_together(changes);
    let changes = grouped.as_slice();
    let mut lines = Vec::new();
    let mut i = 0;
    while i < changes.len() {
        let c = &changes[i];
        let run = run_length(changes, i, |a, b| {
            a.section == b.section
                && a.kind == b.kind
                && a.subject != b.subject
                && match a.kind {
                    Kind::Renumbered => a.shift == b.shift,
                    Kind::Changed => a.detail == b.detail,
                    Kind::Added | Kind::Removed | Kind::Renamed => true,
                }
        });
        let line = if run > 1 {
            let last = &changes[i + run - 1];
            Line {
                marker: c.kind.marker().to_string(),
                subject: format!(
                    "{} .. {} ({run} {})",
                    c.subject,
                    last.subject,
                    c.section.title()
                ),
                detail: match c.kind {
                    Kind::Renumbered => format!("renumbered by {}", signed(c.shift.unwrap_or(0))),
                    Kind::Changed => c.detail.clone(),
                    Kind::Added => format!("added; first: {}", c.detail),
                    Kind::Removed => format!("removed; first: {}", c.detail),
                    Kind::Renamed => format!("renamed; first: {}", c.detail),
                },
            }
        } else {
            Line {
                marker: c.kind.marker().to_string(),
                subject: c.subject.clone(),
                detail: c.detail.clone(),
            }
        };
        lines.push((c.section, line));
        i += run;
    }
    lines
}

fn finding_lines(findings: &[Finding]) -> Vec<Line> {
    let mut lines = Vec::new();
    let mut i = 0;
    while i < findings.len() {
        let f = &findings[i];
        let run = run_length(findings, i, |a, b| {
            a.lint == b.lint
                && a.allowed == b.allowed
                && a.shift == b.shift
                && (a.lint == &ENUMERATOR_RENUMBERED
                    || a.lint == &ENUMERATOR_RENAMED
                    || a.lint == &ENUMERATOR_REMOVED
                    || a.lint == &ENUMERATOR_ADDED)
        });
        let marker = match &f.allowed {
            Some(_) => format!("allowed[{}]", f.lint.id),
            None => format!("{}[{}]", f.lint.level.name(), f.lint.id),
        };
        let why = f
            .allowed
            .as_ref()
            .map(|r| format!(" (allowed: {r})"))
            .unwrap_or_default();
        let line = if run > 1 {
            let last = &findings[i + run - 1];
            Line {
                marker,
                subject: format!("{} .. {} ({run} enumerators)", f.item, last.item),
                detail: if f.lint == &ENUMERATOR_RENUMBERED {
                    format!("renumbered by {}{why}", signed(f.shift.unwrap_or(0)))
                } else if f.lint == &ENUMERATOR_RENAMED {
                    format!("renamed; first: {}{why}", f.message)
                } else if f.lint == &ENUMERATOR_REMOVED {
                    format!("removed{why}")
                } else {
                    format!("added{why}")
                },
            }
        } else {
            Line {
                marker,
                subject: f.item.clone(),
                detail: format!("{}{why}", f.message),
            }
        };
        lines.push(line);
        i += run;
    }
    lines
}

/// The changes with, inside each stretch of property changes of one section, the same change
/// of several items brought together (first seen first, items in spec order), so that a range
/// of queues changing several properties reads as one line per property, not one per queue
/// and property.
fn same_change_together(changes: &[Change]) -> Vec<Change> {
    let mut out = Vec::with_capacity(changes.len());
    let mut i = 0;
    while i < changes.len() {
        let c = &changes[i];
        let stretch = if c.kind == Kind::Changed {
            run_length(changes, i, |a, b| {
                a.section == b.section && b.kind == Kind::Changed
            })
        } else {
            1
        };
        let mut block: Vec<&Change> = changes[i..i + stretch].iter().collect();
        let first_seen = |detail: &str| block_position(&changes[i..i + stretch], detail);
        block.sort_by_key(|c| first_seen(&c.detail)); // stable: spec order within a change
        out.extend(block.into_iter().cloned());
        i += stretch;
    }
    out
}

fn block_position(block: &[Change], detail: &str) -> usize {
    block.iter().position(|c| c.detail == detail).unwrap_or(0)
}

fn run_length<T>(items: &[T], start: usize, same: impl Fn(&T, &T) -> bool) -> usize {
    let mut n = 1;
    while start + n < items.len() && same(&items[start], &items[start + n]) {
        n += 1;
    }
    n
}

fn signed(n: i64) -> String {
    if n > 0 {
        format!("+{n}")
    } else {
        n.to_string()
    }
}

fn verdict(s: &Summary) -> String {
    let mut line = format!(
        "{} breaking (error), {} warning{}, {} additive, {} allowed; {} changed item{}",
        s.errors,
        s.warnings,
        plural(s.warnings),
        s.infos,
        s.allowed,
        s.changes,
        plural(s.changes)
    );
    line.push_str(if s.errors > 0 {
        "\nresult: the uapi breaks"
    } else {
        "\nresult: no breaking uapi change"
    });
    line
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

fn text(diffs: &[SpecDiff], unused: &[&Entry]) -> String {
    let mut out = String::new();
    for diff in diffs {
        let _ = writeln!(out, "{} → {}", side(&diff.old), side(&diff.new));
        if diff.changes.is_empty() && diff.findings.is_empty() {
            let _ = writeln!(out, "  no changes");
        }
        let mut section = None;
        for (s, line) in change_lines(&diff.changes) {
            if section != Some(s) {
                let _ = writeln!(out, "  {}", s.title());
                section = Some(s);
            }
            let _ = writeln!(out, "    {} {}: {}", line.marker, line.subject, line.detail);
        }
        if !diff.findings.is_empty() {
            let _ = writeln!(out, "  uapi");
            for line in finding_lines(&diff.findings) {
                let _ = writeln!(out, "    {} {}: {}", line.marker, line.subject, line.detail);
            }
        }
        out.push('\n');
    }
    for entry in unused {
        let _ = writeln!(
            out,
            "warning: allow entry `{}` on `{}` waived nothing; remove it if the change it covered is gone",
            entry.lint, entry.item
        );
    }
    out.push_str(&verdict(&Summary::of(diffs)));
    out.push('\n');
    out
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn markdown(diffs: &[SpecDiff], unused: &[&Entry]) -> String {
    let summary = Summary::of(diffs);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### asicgen diff: {}\n",
        if summary.errors > 0 {
            "⚠️ breaking uapi change"
        } else {
            "no breaking uapi change"
        }
    );
    for diff in diffs {
        let _ = writeln!(out, "#### `{}` → `{}`\n", side(&diff.old), side(&diff.new));
        if diff.changes.is_empty() && diff.findings.is_empty() {
            out.push_str("No changes.\n\n");
            continue;
        }
        if !diff.findings.is_empty() {
            out.push_str("| uapi | item | what |\n|---|---|---|\n");
            for line in finding_lines(&diff.findings) {
                let _ = writeln!(
                    out,
                    "| `{}` | `{}` | {} |",
                    line.marker,
                    cell(&line.subject),
                    cell(&line.detail)
                );
            }
            out.push('\n');
        }
        if !diff.changes.is_empty() {
            let lines = change_lines(&diff.changes);
            let _ = writeln!(
                out,
                "<details><summary>Spec changes ({} item{})</summary>\n\n| section | | item | change |\n|---|---|---|---|",
                diff.changes.len(),
                plural(diff.changes.len())
            );
            for (section, line) in lines {
                let _ = writeln!(
                    out,
                    "| {} | {} | `{}` | {} |",
                    section.title(),
                    line.marker,
                    cell(&line.subject),
                    cell(&line.detail)
                );
            }
            out.push_str("\n</details>\n\n");
        }
    }
    for entry in unused {
        let _ = writeln!(
            out,
            "- allow entry `{}` on `{}` waived nothing",
            entry.lint, entry.item
        );
    }
    let _ = writeln!(out, "{}", verdict(&summary).replace('\n', "  \n"));
    out
}

fn json(diffs: &[SpecDiff], unused: &[&Entry]) -> String {
    let summary = Summary::of(diffs);
    let diffs: Vec<_> = diffs
        .iter()
        .map(|d| {
            let findings: Vec<_> = d
                .findings
                .iter()
                .map(|f| {
                    json!({
                        "lint": f.lint.id,
                        "level": f.lint.level,
                        "item": f.item,
                        "message": f.message,
                        "allowed": f.allowed,
                        "breaking": f.is_breaking(),
                    })
                })
                .collect();
            json!({
                "old": d.old,
                "new": d.new,
                "breaking": d.is_breaking(),
                "changes": d.changes,
                "findings": findings,
            })
        })
        .collect();
    let unused: Vec<_> = unused
        .iter()
        .map(|e| json!({ "lint": e.lint, "item": e.item, "reason": e.reason }))
        .collect();
    let doc = json!({
        "breaking": summary.errors > 0,
        "summary": {
            "errors": summary.errors,
            "warnings": summary.warnings,
            "infos": summary.infos,
            "allowed": summary.allowed,
            "changes": summary.changes,
        },
        "diffs": diffs,
        "unused_allow_entries": unused,
    });
    let mut text = serde_json::to_string_pretty(&doc).unwrap_or_else(|e| {
        // why: serialising owned strings and numbers cannot fail; say so if it ever does.
        format!("{{\"error\": \"asicgen internal error: {e}\"}}")
    });
    text.push('\n');
    text
}
