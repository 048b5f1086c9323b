//! The `sync_manager` block: SOB and monitor totals, and the ranges the driver reserves at the
//! start of the block, laid out one after another. The first user SOB and monitor follow.

use std::collections::HashMap;

use super::settings::Settings;
use crate::ast::{BlockKind, SettingsBlock, SyncManagerBlock, SyncTerm};
use crate::diagnostic::Diagnostic;
use crate::model::{CollectiveMode, Engine, EngineKind, Limits, Queue, SyncManager, SyncRange};
use crate::source::Span;
use crate::suggest;

const KEYS: &[&str] = &["sobs", "monitors", "uapi_name"];
const COUNTS: &[&str] = &["sobs", "monitors"];
/// Units a count may be taken `per`, besides the engine kinds.
const UNITS: &[&str] = &[
    "pending_cs",
    "queue",
    "sync_stream_queue",
    "collective_master_queue",
    "collective_slave_queue",
];

/// Checks the block and lays the ranges out; `None` when a total is missing or wrong.
pub fn check(
    block: &SyncManagerBlock,
    limits: &Limits,
    engines: &[Engine],
    queues: &[Queue],
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<SyncManager> {
    let as_settings = SettingsBlock {
        kind: BlockKind::Limits,
        doc: Vec::new(),
        keyword: block.keyword,
        name: None,
        settings: block.settings.clone(),
    };
    let s = Settings::read(
        Some(&as_settings),
        "sync_manager",
        block.keyword,
        KEYS,
        diagnostics,
    );
    let total = |key: &str, d: &mut Vec<Diagnostic>| {
        let (v, span) = s.number(key, "2048", d)?;
        match u32::try_from(v) {
            Ok(v) => Some(v),
            Err(_) => {
                d.push(
                    Diagnostic::error(span, format!("`{key}` is too large"))
                        .label(format!("{v} does not fit in 32 bits"))
                        .help("a sync manager block has a few thousand objects"),
                );
                None
            }
        }
    };
    let sobs = total("sobs", diagnostics);
    let monitors = total("monitors", diagnostics);
    let uapi_name = s
        .get("uapi_name")
        .and_then(|_| s.string("uapi_name", "\"W_S\"", diagnostics))
        .and_then(|(name, span)| {
            let ok = !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if !ok {
                diagnostics.push(
                    Diagnostic::error(
                        span,
                        "`uapi_name` must be upper-case letters, digits and `_`",
                    )
                    .label("it goes into `<PREFIX>_FIRST_AVAILABLE_<uapi_name>_SYNC_OBJECT`")
                    .help("Gaudi's is \"W_S\" (the west-south sync manager)"),
                );
            }
            ok.then(|| name.to_string())
        });

    let per_unit = |unit: &str| -> Option<u64> {
        let queues_where = |f: &dyn Fn(&Queue) -> bool| queues.iter().filter(|q| f(q)).count();
        Some(match unit {
            "pending_cs" => u64::from(limits.max_pending_cs),
            "queue" => queues.len() as u64,
            "sync_stream_queue" => queues_where(&|q| q.props.supports_sync_stream) as u64,
            "collective_master_queue" => {
                queues_where(&|q| q.props.collective == CollectiveMode::Master) as u64
            }
            "collective_slave_queue" => {
                queues_where(&|q| q.props.collective == CollectiveMode::Slave) as u64
            }
            kind => {
                let kind = EngineKind::from_spec_name(kind)?;
                engines.iter().filter(|e| e.props.kind == kind).count() as u64
            }
        })
    };
    let units: Vec<&str> = UNITS
        .iter()
        .copied()
        .chain(EngineKind::ALL.iter().map(|k| k.spec_name()))
        .collect();

    let mut ranges = Vec::new();
    let mut names: HashMap<&str, Span> = HashMap::new();
    let (mut next_sob, mut next_mon) = (0u64, 0u64);
    let mut complete = true;
    // Which of SOBs and monitors already ran past: reported at the first range that crosses.
    let mut past = [false, false];
    for reserve in &block.reserves {
        if let Some(first) = names.insert(reserve.name.text.as_str(), reserve.name.span) {
            diagnostics.push(
                Diagnostic::error(
                    reserve.name.span,
                    format!("range `{}` is reserved twice", reserve.name.text),
                )
                .label("reserved again here")
                .note(first, "first reserved here")
                .help("give every reserved range its own name"),
            );
        }
        let mut amounts: HashMap<&str, (u64, Span)> = HashMap::new();
        let mut range_ok = true;
        for count in &reserve.counts {
            let key = count.key.text.as_str();
            if !COUNTS.contains(&key) {
                diagnostics.push(suggest::unknown(
                    count.key.span,
                    "count",
                    key,
                    "a range reserves `sobs` and `monitors`",
                    "counts",
                    COUNTS.iter().copied(),
                ));
                range_ok = false;
                continue;
            }
            let Some(value) = sum(&count.terms, &per_unit, &units, diagnostics) else {
                range_ok = false;
                continue;
            };
            if let Some((_, first)) = amounts.insert(key, (value, count.key.span)) {
                diagnostics.push(
                    Diagnostic::error(count.key.span, format!("`{key}` is set twice"))
                        .label("second setting")
                        .note(first, "first set here")
                        .help("keep one of them"),
                );
            }
        }
        let sob = amounts.get("sobs").map_or(0, |a| a.0);
        let mon = amounts.get("monitors").map_or(0, |a| a.0);
        complete &= range_ok;
        if amounts.is_empty() && range_ok {
            diagnostics.push(
                Diagnostic::error(
                    reserve.name.span,
                    format!("range `{}` reserves nothing", reserve.name.text),
                )
                .label("no `sobs` and no `monitors`")
                .help("write `reserve name { sobs = N, monitors = N }`"),
            );
        }
        let (first_sob, first_mon) = (next_sob, next_mon);
        next_sob = next_sob.saturating_add(sob);
        next_mon = next_mon.saturating_add(mon);
        for (i, (what, next, total)) in [("SOBs", next_sob, sobs), ("monitors", next_mon, monitors)]
            .into_iter()
            .enumerate()
        {
            if let Some(total) = total.filter(|t| next > u64::from(*t)) {
                complete = false;
                if std::mem::replace(&mut past[i], true) {
                    continue;
                }
                diagnostics.push(
                    Diagnostic::error(
                        reserve.name.span,
                        format!("reserved {what} run past the sync manager"),
                    )
                    .label(format!(
                        "{what} up to {} are reserved by here",
                        next.saturating_sub(1)
                    ))
                    .help(format!(
                        "the sync manager has {total} {what}, numbered from 0"
                    )),
                );
                complete = false;
            }
        }
        if let (Ok(first_sob), Ok(sob), Ok(first_monitor), Ok(mon)) = (
            u32::try_from(first_sob),
            u32::try_from(sob),
            u32::try_from(first_mon),
            u32::try_from(mon),
        ) {
            ranges.push(SyncRange {
                name: reserve.name.text.clone(),
                first_sob,
                sobs: sob,
                first_monitor,
                monitors: mon,
                doc: reserve.doc.clone(),
            });
        }
    }
    if !complete {
        return None;
    }
    Some(SyncManager {
        sobs: sobs?,
        monitors: monitors?,
        uapi_name,
        ranges,
        doc: block.doc.clone(),
    })
}

/// `2 per sync_stream_queue + 16`, evaluated; `None` after reporting.
fn sum(
    terms: &[SyncTerm],
    per_unit: &dyn Fn(&str) -> Option<u64>,
    units: &[&str],
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<u64> {
    let mut total = 0u64;
    let mut ok = true;
    for term in terms {
        let Some(n) = term.count.value else {
            ok = false;
            continue;
        };
        let factor = match &term.per {
            None => 1,
            Some(unit) => match per_unit(&unit.text) {
                Some(f) => f,
                None => {
                    diagnostics.push(suggest::unknown(
                        unit.span,
                        "unit",
                        &unit.text,
                        "nothing to count here",
                        "units",
                        units.iter().copied(),
                    ));
                    ok = false;
                    continue;
                }
            },
        };
        match n.checked_mul(factor).and_then(|v| total.checked_add(v)) {
            Some(t) if t <= u64::from(u32::MAX) => total = t,
            _ => {
                diagnostics.push(
                    Diagnostic::error(term.count.span, "count too large")
                        .label("does not fit in 32 bits")
                        .help("a sync manager block has a few thousand objects"),
                );
                ok = false;
            }
        }
    }
    ok.then_some(total)
}
