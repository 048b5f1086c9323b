//! Groups: `group DCORE0..DCORE3 { ... }` declares its body once per group name, each name
//! inside prefixed with the group's (`EDMA_0` in `DCORE1` is `DCORE1_EDMA_0`). This module
//! flattens a table block into the plain declarations the rest of the checker handles, with
//! each declaration's group context kept for C spelling and name lookups.

use std::collections::HashMap;

use super::names::{MAX_EXPANSION, expand};
use crate::ast::{EngineDecl, IdRange, Ident, NameRange, Number, QueueDecl, TableItem};
use crate::diagnostic::Diagnostic;
use crate::source::Span;

/// Where a flattened declaration sits.
#[derive(Clone, Debug, Default)]
pub struct GroupContext {
    /// The group names from the outermost in, e.g. `["DCORE1"]`.
    pub path: Vec<String>,
    /// The C enumerator template that applies, and where it was written.
    pub c_name: Option<(String, Span)>,
}

impl GroupContext {
    /// The prefix every name inside gets: `DCORE1_` (empty outside groups).
    pub fn prefix(&self) -> String {
        self.path.iter().map(|p| format!("{p}_")).collect()
    }

    /// The group path as the `{group}` placeholder spells it: `DCORE1`.
    pub fn joined(&self) -> String {
        self.path.join("_")
    }
}

/// One item of a flattened table block.
pub enum Flat<'a, D> {
    /// A declaration with its names prefixed.
    Decl(D, GroupContext),
    /// `reserved N..M` (only at the top level).
    Reserved(&'a IdRange),
}

/// What flattening needs to know of a declaration.
pub trait Grouped: Clone {
    /// The names as written.
    fn names_mut(&mut self) -> &mut NameRange;
    /// `only A, B`.
    fn only(&self) -> Option<&[Ident]>;
    /// `@ N`.
    fn explicit_id_mut(&mut self) -> &mut Option<Number>;
}

impl Grouped for EngineDecl {
    fn names_mut(&mut self) -> &mut NameRange {
        &mut self.names
    }
    fn only(&self) -> Option<&[Ident]> {
        self.only.as_deref()
    }
    fn explicit_id_mut(&mut self) -> &mut Option<Number> {
        &mut self.explicit_id
    }
}

impl Grouped for QueueDecl {
    fn names_mut(&mut self) -> &mut NameRange {
        &mut self.names
    }
    fn only(&self) -> Option<&[Ident]> {
        self.only.as_deref()
    }
    fn explicit_id_mut(&mut self) -> &mut Option<Number> {
        &mut self.explicit_id
    }
}

/// Flattens `items`, reporting misused groups, `only` and `@ N` once each.
pub fn flatten<'a, D: Grouped>(
    items: &'a [TableItem<D>],
    what: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<Flat<'a, D>> {
    let mut walker = Walker {
        what,
        budget: MAX_EXPANSION,
        budget_reported: false,
        spellings: HashMap::new(),
    };
    let mut out = Vec::new();
    walker.walk(
        items,
        &GroupContext::default(),
        None,
        true,
        &mut out,
        diagnostics,
    );
    out
}

struct Walker<'w> {
    what: &'w str,
    /// Names left before the table is too large.
    budget: u64,
    /// Whether running out of `budget` was reported (once, wherever it happened).
    budget_reported: bool,
    /// The `c_name` each group path was given: a group opened again later (`group DCORE0 { ... }`
    /// after `group DCORE0..DCORE3 c_name "..." { ... }`) keeps its spelling.
    spellings: HashMap<Vec<String>, (String, Span)>,
}

/// The innermost group being expanded: all its names, and where they were written.
struct Instances<'g> {
    names: &'g [String],
    span: Span,
}

impl Walker<'_> {
    fn walk<'a, D: Grouped>(
        &mut self,
        items: &'a [TableItem<D>],
        cx: &GroupContext,
        group: Option<&Instances<'_>>,
        first_pass: bool,
        out: &mut Vec<Flat<'a, D>>,
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        let what = self.what;
        for item in items {
            match item {
                TableItem::Reserved { ids, .. } => out.push(Flat::Reserved(ids)),
                TableItem::Group(g) => {
                    let names = match expand(&g.names) {
                        Ok(names) => names,
                        Err(d) => {
                            if first_pass {
                                diagnostics.push(d);
                            }
                            continue;
                        }
                    };
                    let count = names.len() as u64;
                    if count > self.budget {
                        if !std::mem::replace(&mut self.budget_reported, true) {
                            diagnostics.push(
                                Diagnostic::error(
                                    g.names.span,
                                    format!("groups repeat too many {what}s"),
                                )
                                .label(format!("{count} repetitions here"))
                                .help(format!(
                                    "a table may declare at most {MAX_EXPANSION} {what}s"
                                )),
                            );
                        }
                        continue;
                    }
                    self.budget = self.budget.saturating_sub(count);
                    if first_pass && g.items.is_empty() {
                        diagnostics.push(
                            Diagnostic::error(g.keyword, "empty group")
                                .label("declares nothing")
                                .help("put declarations inside the braces, or remove the group"),
                        );
                    }
                    if let (Some((template, span)), true) = (&g.c_name, first_pass) {
                        check_template(template, *span, what, diagnostics);
                    }
                    let instances = Instances {
                        names: &names,
                        span: g.names.span,
                    };
                    for (i, name) in names.iter().enumerate() {
                        let mut inner = cx.clone();
                        inner.path.push(name.clone());
                        if g.c_name.is_some() {
                            inner.c_name = g.c_name.clone();
                            if let Some(c_name) = &g.c_name {
                                self.spellings.insert(inner.path.clone(), c_name.clone());
                            }
                        } else if let Some(c_name) = self.spellings.get(&inner.path) {
                            inner.c_name = Some(c_name.clone());
                        }
                        self.walk(
                            &g.items,
                            &inner,
                            Some(&instances),
                            first_pass && i == 0,
                            out,
                            diagnostics,
                        );
                    }
                }
                TableItem::Decl(decl) => {
                    let mut decl = decl.clone();
                    if let Some(only) = decl.only() {
                        match group {
                            None => {
                                if let Some(first) = only.first() {
                                    diagnostics.push(
                                    Diagnostic::error(first.span, "`only` outside a group")
                                        .label("there is no group to choose from here")
                                        .help("remove `only ...`, or move the line into a `group`"),
                                );
                                }
                            }
                            Some(g) => {
                                if first_pass {
                                    for name in only {
                                        if !g.names.contains(&name.text) {
                                            diagnostics.push(crate::suggest::unknown(
                                                name.span,
                                                "group",
                                                &name.text,
                                                "not a name of the enclosing group",
                                                "group names",
                                                g.names.iter().map(String::as_str),
                                            ));
                                        }
                                    }
                                }
                                let here = cx.path.last().map(String::as_str).unwrap_or_default();
                                if !only.iter().any(|o| o.text == here) {
                                    continue;
                                }
                            }
                        }
                    }
                    if let (Some(g), Some(id)) = (group, decl.explicit_id_mut().as_ref())
                        && g.names.len() > 1
                    {
                        if first_pass {
                            diagnostics.push(
                            Diagnostic::error(id.span, format!("`@ N` inside a group of {}", g.names.len()))
                                .label("every repetition would start at this id")
                                .note(g.span, "the group repeats here")
                                .help("ids inside groups follow declaration order; pin the id of a line outside the group instead"),
                        );
                        }
                        *decl.explicit_id_mut() = None;
                    }
                    let prefix = cx.prefix();
                    if !prefix.is_empty() {
                        let names = decl.names_mut();
                        names.first.text.insert_str(0, &prefix);
                        if let Some(last) = &mut names.last {
                            last.text.insert_str(0, &prefix);
                        }
                    }
                    out.push(Flat::Decl(decl, cx.clone()));
                }
            }
        }
    }
}

/// The placeholders a `c_name` template may use.
pub const PLACEHOLDERS: &[&str] = &["prefix", "group", "name"];

/// Checks a template's shape: balanced braces, known placeholders, `{name}` present.
fn check_template(template: &str, span: Span, what: &str, diagnostics: &mut Vec<Diagnostic>) {
    match placeholders(template) {
        Err(why) => diagnostics.push(
            Diagnostic::error(span, "malformed `c_name` template")
                .label(why)
                .help("write placeholders as `{prefix}`, `{group}` and `{name}`, e.g. \"{prefix}_{group}_ENGINE_ID_{name}\""),
        ),
        Ok(found) => {
            for p in &found {
                if !PLACEHOLDERS.contains(&p.as_str()) {
                    diagnostics.push(
                        Diagnostic::error(span, format!("unknown placeholder `{{{p}}}` in `c_name`"))
                            .label("not a placeholder")
                            .maybe_help(crate::suggest::help(p, "placeholders", PLACEHOLDERS.iter().copied())),
                    );
                }
            }
            if !found.iter().any(|p| p == "name") {
                diagnostics.push(
                    Diagnostic::error(span, "`c_name` template without `{name}`")
                        .label(format!("every {what} of the group would get the same C name"))
                        .help("put `{name}` where the name inside the group goes"),
                );
            }
        }
    }
}

/// The placeholder names of a template, or why it is malformed.
pub fn placeholders(template: &str) -> Result<Vec<String>, String> {
    let mut found = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err("a `}` closes nothing".into());
        }
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or("a `{` is never closed")?;
        let name = &after[..close];
        if name.contains('{') {
            return Err("a `{` inside a placeholder".into());
        }
        found.push(name.to_string());
        rest = &after[close + 1..];
    }
    Ok(found)
}

/// Whether a template is well formed and uses only known placeholders.
pub fn template_ok(template: &str) -> bool {
    placeholders(template).is_ok_and(|found| {
        found.iter().all(|p| PLACEHOLDERS.contains(&p.as_str()))
            && found.iter().any(|p| p == "name")
    })
}

/// Fills a template already checked by [`placeholders`]; unknown placeholders stay as written.
pub fn fill(template: &str, prefix: &str, group: &str, name: &str) -> String {
    template
        .replace("{prefix}", prefix)
        .replace("{group}", group)
        .replace("{name}", name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_report_their_shape() {
        assert_eq!(
            placeholders("{prefix}_{group}_ENGINE_ID_{name}").unwrap(),
            ["prefix", "group", "name"]
        );
        assert!(placeholders("{name").is_err());
        assert!(placeholders("name}").is_err());
        assert!(placeholders("{a{b}").is_err());
        assert_eq!(
            fill(
                "{prefix}_{group}_ENGINE_ID_{name}",
                "GAUDI2",
                "DCORE0",
                "EDMA_0"
            ),
            "GAUDI2_DCORE0_ENGINE_ID_EDMA_0"
        );
    }
}
