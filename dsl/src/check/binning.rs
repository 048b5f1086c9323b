//! The `binning` block: per-device binning rules. Each names the units a fuse mask covers
//! (bit `i` is the `i`-th unit), how many may be faulty, and the spares that stand in for them in
//! order; the queues of a spare in use are binned on that device.

use std::collections::HashMap;

use super::names::expand;
use crate::ast::{BinningBlock, NameRange, Property, PropertyValue, Selector};
use crate::diagnostic::Diagnostic;
use crate::model::{BinningRule, Engine, EngineKind, Queue, Substitute};
use crate::source::Span;
use crate::suggest;

const PROPERTIES: &[&str] = &["units", "max_faulty", "substitutes"];

/// Most units one rule covers: its fuse mask is 64 bits.
pub const MAX_UNITS: usize = 64;

/// Checks every rule; rules with errors are left out.
pub fn check(
    block: &BinningBlock,
    engines: &[Engine],
    queues: &[Queue],
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<BinningRule> {
    let mut out = Vec::new();
    let mut names: HashMap<&str, Span> = HashMap::new();
    for rule in &block.rules {
        if let Some(first) = names.insert(rule.name.text.as_str(), rule.name.span) {
            diagnostics.push(
                Diagnostic::error(
                    rule.name.span,
                    format!("binning rule `{}` is declared twice", rule.name.text),
                )
                .label("declared again here")
                .note(first, "first declared here")
                .help("every binning rule needs its own name"),
            );
        }
        let mut seen: HashMap<&str, Span> = HashMap::new();
        let (mut units, mut max_faulty, mut substitutes) = (None, None, None);
        let mut ok = true;
        for prop in &rule.properties {
            let key = prop.key.text.as_str();
            if !PROPERTIES.contains(&key) {
                diagnostics.push(suggest::unknown(
                    prop.key.span,
                    "binning property",
                    key,
                    "not a binning property",
                    "binning properties",
                    PROPERTIES.iter().copied(),
                ));
                ok = false;
                continue;
            }
            if let Some(first) = seen.insert(key, prop.key.span) {
                diagnostics.push(
                    Diagnostic::error(prop.key.span, format!("`{key}` is set twice"))
                        .label("second setting")
                        .note(first, "first set here")
                        .help("keep one of them"),
                );
                continue;
            }
            match key {
                "max_faulty" => match &prop.value {
                    Some(PropertyValue::Number(n)) => match n.value {
                        Some(v) if v >= 1 && v <= MAX_UNITS as u64 => {
                            max_faulty = Some((v as u32, n.span))
                        }
                        Some(v) => {
                            diagnostics.push(
                                Diagnostic::error(n.span, "`max_faulty` must be from 1 to 64")
                                    .label(format!("{v}"))
                                    .help("Gaudi2 tolerates 2 faulty TPCs (MAX_FAULTY_TPCS) and 1 faulty EDMA"),
                            );
                            ok = false;
                        }
                        None => ok = false,
                    },
                    other => {
                        diagnostics.push(takes(
                            prop,
                            other.as_ref().map(|v| v.span()),
                            "a number",
                            "max_faulty = 2",
                        ));
                        ok = false;
                    }
                },
                _ => {
                    let selectors = selectors(prop);
                    let Some(selectors) = selectors else {
                        diagnostics.push(takes(
                            prop,
                            prop.value.as_ref().map(|v| v.span()),
                            "a list of engines",
                            "units = [TPC_0..TPC_5 in DCORE0..DCORE3]",
                        ));
                        ok = false;
                        continue;
                    };
                    match resolve(&selectors, key == "units", engines, diagnostics) {
                        Some(ids) if key == "units" => units = Some((ids, prop.key.span)),
                        Some(ids) => substitutes = Some((ids, prop.key.span)),
                        None => ok = false,
                    }
                }
            }
        }
        for (key, missing) in [
            ("units", units.is_none()),
            ("max_faulty", max_faulty.is_none()),
            ("substitutes", substitutes.is_none()),
        ] {
            if missing && ok && !seen.contains_key(key) {
                diagnostics.push(
                    Diagnostic::error(rule.name.span, format!("binning rule `{}` has no `{key}`", rule.name.text))
                        .label(format!("`{key}` must be set here"))
                        .help("a rule reads `name { units = [...], max_faulty = N, substitutes = [...] }`"),
                );
                ok = false;
            }
        }
        let (Some((units, units_span)), Some((max_faulty, max_span)), Some((subs, subs_span))) =
            (units, max_faulty, substitutes)
        else {
            continue;
        };
        if !ok {
            continue;
        }
        if units.len() > MAX_UNITS {
            diagnostics.push(
                Diagnostic::error(units_span, format!("{} units in one rule", units.len()))
                    .label("a fuse mask has 64 bits")
                    .help("split the units over two rules"),
            );
            continue;
        }
        if max_faulty as usize > units.len() {
            diagnostics.push(
                Diagnostic::error(
                    max_span,
                    format!(
                        "`max_faulty` is {max_faulty}, but the rule has {} units",
                        units.len()
                    ),
                )
                .label("more faulty units than units")
                .help(format!("use at most {}", units.len())),
            );
            continue;
        }
        if (max_faulty as usize) > subs.len() {
            diagnostics.push(
                Diagnostic::error(
                    subs_span,
                    format!(
                        "{} substitutes for up to {max_faulty} faulty units",
                        subs.len()
                    ),
                )
                .label("every faulty unit needs a spare to stand in for it")
                .note(max_span, "the most faulty units is set here")
                .help(format!(
                    "name {max_faulty} substitutes, in the order the driver uses them"
                )),
            );
            continue;
        }
        let mut substitutes = Vec::new();
        let mut bad = false;
        for engine in subs {
            let served: Vec<u32> = queues
                .iter()
                .filter(|q| q.props.engine == Some(engine))
                .map(|q| q.props.id)
                .collect();
            if served.is_empty() {
                let name = engines
                    .iter()
                    .find(|e| e.props.id == engine)
                    .map_or("", |e| e.props.name.as_str());
                diagnostics.push(
                    Diagnostic::error(subs_span, format!("substitute `{name}` serves no queue"))
                        .label("binning it would change nothing")
                        .help("a substitute's queues are the ones binned when it stands in; bind a queue to it with `engine = ...`"),
                );
                bad = true;
            }
            substitutes.push(Substitute {
                engine,
                queues: served,
            });
        }
        if bad {
            continue;
        }
        out.push(BinningRule {
            name: rule.name.text.clone(),
            units,
            max_faulty,
            substitutes,
            doc: rule.doc.clone(),
        });
    }
    out
}

fn takes(prop: &Property, at: Option<Span>, what: &str, example: &str) -> Diagnostic {
    Diagnostic::error(
        at.unwrap_or(prop.key.span),
        format!("`{}` takes {what}", prop.key.text),
    )
    .label(format!("expected {what}"))
    .help(format!("write `{example}`"))
}

fn selectors(prop: &Property) -> Option<Vec<Selector>> {
    match &prop.value {
        Some(PropertyValue::List { items, .. }) => Some(items.clone()),
        Some(PropertyValue::Names(r)) => Some(vec![Selector {
            names: r.clone(),
            groups: None,
            span: r.span,
        }]),
        _ => None,
    }
}

/// The engine ids a list of selectors names, in order; a bare engine kind (`tpc`) names every
/// engine of that kind (only in `units`). Every name is checked and reported once.
fn resolve(
    selectors: &[Selector],
    kinds_allowed: bool,
    engines: &[Engine],
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<Vec<u32>> {
    let mut ids: Vec<u32> = Vec::new();
    let mut ok = true;
    for sel in selectors {
        let kind = (kinds_allowed && sel.names.last.is_none() && sel.groups.is_none())
            .then(|| EngineKind::from_spec_name(&sel.names.first.text))
            .flatten();
        let names = match kind {
            Some(kind) => engines
                .iter()
                .filter(|e| e.props.kind == kind)
                .map(|e| e.props.name.clone())
                .collect(),
            None => match names_in(&sel.names, sel.groups.as_ref()) {
                Ok(names) => names,
                Err(d) => {
                    diagnostics.push(d);
                    ok = false;
                    continue;
                }
            },
        };
        for name in names {
            match engines.iter().find(|e| e.props.name == name) {
                Some(e) if ids.contains(&e.props.id) => {
                    diagnostics.push(
                        Diagnostic::error(sel.span, format!("engine `{name}` is named twice"))
                            .label("named again here")
                            .help("each engine has one place in a binning rule"),
                    );
                    ok = false;
                }
                Some(e) => ids.push(e.props.id),
                None => {
                    diagnostics.push(suggest::unknown(
                        sel.span,
                        "engine",
                        &name,
                        "no engine has this name",
                        "engines",
                        engines.iter().map(|e| e.props.name.as_str()),
                    ));
                    ok = false;
                }
            }
        }
    }
    ok.then_some(ids)
}

/// `TPC_0..TPC_1 in DCORE0..DCORE1` gives DCORE0_TPC_0, DCORE0_TPC_1, DCORE1_TPC_0, ...
fn names_in(names: &NameRange, groups: Option<&NameRange>) -> Result<Vec<String>, Diagnostic> {
    let inner = expand(names)?;
    let Some(groups) = groups else {
        return Ok(inner);
    };
    let groups = expand(groups)?;
    if groups.len().saturating_mul(inner.len()) > 1 << 16 {
        return Err(Diagnostic::error(names.span, "too many names")
            .label("this selects more engines than a table can hold")
            .help("a binning rule covers at most 64 units"));
    }
    Ok(groups
        .iter()
        .flat_map(|g| inner.iter().map(move |n| format!("{g}_{n}")))
        .collect())
}
