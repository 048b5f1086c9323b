//! Checks a `.asic` syntax tree and lowers it to the parts of the Model it describes: header,
//! limits, features, engines and queues. The lifecycle is checked separately (`lifecycle.rs`).

use std::collections::{BTreeMap, HashMap};

use super::names::{IdAllocator, MAX_EXPANSION, expand};
use super::reserved::{self, NameKind};
use super::settings::{Settings, list};
use crate::ast::*;
use crate::diagnostic::Diagnostic;
use crate::model::*;
use crate::source::Span;
use crate::suggest;

/// Everything a spec says except its lifecycle, which it only names.
#[derive(Debug)]
pub struct SpecParts {
    /// The name after `asic`.
    pub name: String,
    /// Doc comment lines of the `asic` block.
    pub doc: Vec<String>,
    /// C name prefix.
    pub uapi_prefix: String,
    /// PCI vendor id.
    pub pci_vendor: u16,
    /// PCI device ids.
    pub pci_devices: Vec<u16>,
    /// Device limits.
    pub limits: Limits,
    /// Feature flags.
    pub features: Features,
    /// Engines by id.
    pub engines: Vec<Engine>,
    /// Queues by id.
    pub queues: Vec<Queue>,
    /// `reserved` queue ids.
    pub reserved_queue_ids: Vec<u32>,
    /// `reserved` engine ids.
    pub reserved_engine_ids: Vec<u32>,
    /// The lifecycle path as written, and where.
    pub lifecycle: Option<(String, Span)>,
}

const ASIC_KEYS: &[&str] = &["uapi_prefix", "pci_vendor", "pci_devices", "lifecycle"];
const LIMIT_KEYS: &[&str] = &[
    "max_pending_cs",
    "max_jobs_per_cs",
    "queue_length",
    "cq_length",
    "cs_timeout",
    "completion",
];
const FEATURE_KEYS: &[&str] = &[
    "sync_stream",
    "staged_submission",
    "multi_cs_wait",
    "compute_reset",
    "context_switch",
];
const QUEUE_PROPERTIES: &[&str] = &[
    "engine",
    "cq",
    "cb_alloc",
    "pq_len",
    "collective",
    "driver_only",
    "binned",
    "sync_stream",
    "stream_master",
];

/// Checks a whole spec file. `file_start` is where "missing block" errors point.
pub fn check(ast: &SpecFile, file_start: Span, diagnostics: &mut Vec<Diagnostic>) -> SpecParts {
    let block = |kind: BlockKind, name: &str, d: &mut Vec<Diagnostic>| {
        let mut found = ast.settings_blocks.iter().filter(|b| b.kind == kind);
        let first = found.next();
        for again in found {
            d.push(duplicate_block(
                name,
                again.keyword,
                first.map(|f| f.keyword),
            ));
        }
        first
    };
    let asic = block(BlockKind::Asic, "asic", diagnostics);
    let limits_block = block(BlockKind::Limits, "limits", diagnostics);
    let features_block = block(BlockKind::Features, "features", diagnostics);
    if asic.is_none() {
        diagnostics.push(
            missing_block(file_start, "asic")
                .help("start the spec with `asic Name { uapi_prefix = \"NAME\", ... }`"),
        );
    }
    if limits_block.is_none() {
        diagnostics.push(missing_block(file_start, "limits").help(
            "add `limits { max_pending_cs = 64, max_jobs_per_cs = 512, queue_length = 4096, \
             cs_timeout = 30s, completion = per_job }`",
        ));
    }
    for (blocks, name) in [
        (
            ast.engines.iter().map(|b| b.keyword).collect::<Vec<_>>(),
            "engines",
        ),
        (ast.queues.iter().map(|b| b.keyword).collect(), "queues"),
    ] {
        match blocks.as_slice() {
            [] => diagnostics
                .push(missing_block(file_start, name).help(format!("add `{name} {{ ... }}`"))),
            [first, rest @ ..] => {
                for again in rest {
                    diagnostics.push(duplicate_block(name, *again, Some(*first)));
                }
            }
        }
    }

    let header = Settings::read(asic, "asic", file_start, ASIC_KEYS, diagnostics);
    let uapi_prefix = header
        .string("uapi_prefix", "\"GAUDI\"", diagnostics)
        .and_then(|(prefix, span)| check_prefix(prefix, span, diagnostics));
    let pci_vendor = header
        .number("pci_vendor", "0x1da3", diagnostics)
        .and_then(|(v, span)| pci_id(v, span, diagnostics));
    let pci_devices = header
        .number_list("pci_devices", "[0x1000]", diagnostics)
        .map(|ids| {
            ids.into_iter()
                .filter_map(|(v, span)| pci_id(v, span, diagnostics))
                .collect()
        })
        .unwrap_or_default();
    let lifecycle = header
        .string("lifecycle", "\"lifecycle/default.lifecycle\"", diagnostics)
        .map(|(path, span)| (path.to_string(), span));

    let limits = check_limits(
        &Settings::read(limits_block, "limits", file_start, LIMIT_KEYS, diagnostics),
        diagnostics,
    );
    let features = {
        let f = Settings::read(
            features_block,
            "features",
            file_start,
            FEATURE_KEYS,
            diagnostics,
        );
        Features {
            sync_stream: f.flag("sync_stream", diagnostics),
            staged_submission: f.flag("staged_submission", diagnostics),
            multi_cs_wait: f.flag("multi_cs_wait", diagnostics),
            compute_reset: f.flag("compute_reset", diagnostics),
            context_switch: f.flag("context_switch", diagnostics),
        }
    };

    let (engines, reserved_engine_ids, engine_spans) = match ast.engines.first() {
        Some(block) => check_engines(block, diagnostics),
        None => Default::default(),
    };
    if let Some(name) = asic.and_then(|a| a.name.as_ref()) {
        diagnostics.extend(reserved::check(&name.text, name.span, NameKind::Asic));
    }
    let (queues, reserved_queue_ids) = match ast.queues.first() {
        Some(block) => check_queues(block, &engines, &engine_spans, &limits, diagnostics),
        None => Default::default(),
    };

    SpecParts {
        name: asic
            .and_then(|a| a.name.as_ref())
            .map(|n| n.text.clone())
            .unwrap_or_default(),
        doc: asic.map(|a| a.doc.clone()).unwrap_or_default(),
        uapi_prefix: uapi_prefix.unwrap_or_default(),
        pci_vendor: pci_vendor.unwrap_or_default(),
        pci_devices,
        limits,
        features,
        engines,
        queues,
        reserved_queue_ids,
        reserved_engine_ids,
        lifecycle,
    }
}

fn missing_block(at: Span, name: &str) -> Diagnostic {
    Diagnostic::error(at, format!("the spec has no `{name}` block"))
        .label(format!("a spec needs one `{name}` block"))
}

fn duplicate_block(name: &str, again: Span, first: Option<Span>) -> Diagnostic {
    let d = Diagnostic::error(again, format!("a second `{name}` block"))
        .label("a spec has one of these")
        .help("merge the two blocks into one");
    match first {
        Some(first) => d.note(first, "the first one is here"),
        None => d,
    }
}

fn check_prefix(prefix: &str, span: Span, diagnostics: &mut Vec<Diagnostic>) -> Option<String> {
    let valid = prefix
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_uppercase())
        && prefix
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if valid {
        Some(prefix.to_string())
    } else {
        diagnostics.push(
            Diagnostic::error(span, "`uapi_prefix` must be an upper-case C identifier")
                .label("used to build names such as `<PREFIX>_QUEUE_ID_<NAME>`")
                .help("use upper-case letters, digits and `_`, starting with a letter, e.g. \"GAUDI\""),
        );
        None
    }
}

fn pci_id(value: u64, span: Span, diagnostics: &mut Vec<Diagnostic>) -> Option<u16> {
    let id = u16::try_from(value).ok();
    if id.is_none() {
        diagnostics.push(
            Diagnostic::error(span, "PCI ids are 16 bits")
                .label(format!("{value:#x} does not fit"))
                .help("PCI vendor and device ids are between 0x0000 and 0xffff"),
        );
    }
    id
}

fn check_limits(s: &Settings<'_>, diagnostics: &mut Vec<Diagnostic>) -> Limits {
    let pow2 =
        |key: &str, example: &str, min: u64, max: u64, why: &str, d: &mut Vec<Diagnostic>| {
            let (v, span) = s.number(key, example, d)?;
            if v < min || v > max || !v.is_power_of_two() {
                let nearest = v
                    .clamp(min, max)
                    .checked_next_power_of_two()
                    .unwrap_or(max)
                    .min(max);
                d.push(
                    Diagnostic::error(
                        span,
                        format!("`{key}` must be a power of two from {min} to {max}"),
                    )
                    .label(format!("{v} is not"))
                    .help(format!("{why}; try {nearest}")),
                );
                return None;
            }
            u32::try_from(v).ok()
        };
    let max_pending_cs = pow2(
        "max_pending_cs",
        "64",
        2,
        1 << 20,
        "the driver finds a CS's ring slot as `seq & (max_pending_cs - 1)` and needs at least two slots",
        diagnostics,
    );
    let queue_length = pow2(
        "queue_length",
        "4096",
        2,
        1 << 16,
        "queue pointers wrap with a mask (HL_QUEUE_LENGTH is 4096)",
        diagnostics,
    );
    let cq_length = if s.get("cq_length").is_some() {
        pow2(
            "cq_length",
            "4096",
            2,
            1 << 16,
            "completion-queue pointers wrap with a mask (HL_CQ_LENGTH is 4096)",
            diagnostics,
        )
    } else {
        queue_length
    };
    let max_jobs_per_cs = s
        .number("max_jobs_per_cs", "512", diagnostics)
        .and_then(|(v, span)| {
            if v == 0 {
                diagnostics.push(
                    Diagnostic::error(span, "`max_jobs_per_cs` must be at least 1")
                        .label("a CS carries at least one job")
                        .help("HL_MAX_JOBS_PER_CS is 512"),
                );
                return None;
            }
            if let Some(len) = queue_length.filter(|len| v > u64::from(*len)) {
                diagnostics.push(
                    Diagnostic::error(
                        span,
                        format!("`max_jobs_per_cs` ({v}) is larger than `queue_length` ({len})"),
                    )
                    .label("a CS this large could never fit its queue")
                    .note(
                        s.get("queue_length").map_or(span, |q| q.value.span()),
                        "queue length set here",
                    )
                    .help(format!(
                        "the driver requires HL_MAX_JOBS_PER_CS <= HL_QUEUE_LENGTH; use at most {len}"
                    )),
                );
                return None;
            }
            u32::try_from(v).ok()
        });
    let cs_timeout_ms = s.duration("cs_timeout", "30s", diagnostics);
    let completion = s.choice(
        "completion",
        &["per_job", "per_cs"],
        |v| match v {
            "per_job" => Some(CompletionMode::PerJob),
            "per_cs" => Some(CompletionMode::PerCs),
            _ => None,
        },
        diagnostics,
    );
    Limits {
        max_pending_cs: max_pending_cs.unwrap_or(2),
        max_jobs_per_cs: max_jobs_per_cs.unwrap_or(1),
        queue_length: queue_length.unwrap_or(2),
        cq_length: cq_length.unwrap_or(2),
        cs_timeout_ms: cs_timeout_ms.unwrap_or(0),
        completion: completion.unwrap_or(CompletionMode::PerJob),
    }
}

/// The engines, the reserved ids, and every engine name declared (also those of declarations
/// that failed, so queues naming them are not reported again), or `None` for the names when a
/// range could not even be expanded.
type EngineTable = (Vec<Engine>, Vec<u32>, Option<HashMap<String, Span>>);

fn check_engines(block: &TableBlock<EngineDecl>, diagnostics: &mut Vec<Diagnostic>) -> EngineTable {
    let mut ids = IdAllocator::new("engine");
    let mut engines = Vec::new();
    let mut reserved = Vec::new();
    let mut seen: HashMap<String, Span> = HashMap::new();
    let mut names_complete = true;
    let kinds: Vec<&str> = EngineKind::ALL.iter().map(|k| k.spec_name()).collect();
    for item in &block.items {
        match item {
            TableItem::Reserved { ids: range, .. } => {
                reserve(&mut ids, range, &mut reserved, diagnostics);
            }
            TableItem::Decl(decl) => {
                let kind = EngineKind::from_spec_name(&decl.kind.text);
                if kind.is_none() {
                    diagnostics.push(suggest::unknown(
                        decl.kind.span,
                        "engine kind",
                        &decl.kind.text,
                        "not an engine kind",
                        "engine kinds",
                        kinds.iter().copied(),
                    ));
                }
                let names = match expand(&decl.names) {
                    Ok(names) => names,
                    Err(d) => {
                        diagnostics.push(d);
                        names_complete = false;
                        continue;
                    }
                };
                let Some(first_id) = ids.place(
                    names.len() as u64,
                    decl.explicit_id.as_ref(),
                    decl.names.span,
                    false,
                    diagnostics,
                ) else {
                    continue;
                };
                for (i, name) in names.into_iter().enumerate() {
                    if let Some(first) = seen.get(&name) {
                        diagnostics.push(duplicate_name("engine", &name, decl.names.span, *first));
                        continue;
                    }
                    diagnostics.extend(reserved::check(
                        &name,
                        decl.names.span,
                        NameKind::Id("engine"),
                    ));
                    seen.insert(name.clone(), decl.names.span);
                    let id = first_id + i as u32;
                    if let Some(kind) = kind {
                        engines.push(Engine {
                            name,
                            id,
                            kind,
                            doc: decl.doc.clone(),
                        });
                    }
                }
            }
        }
    }
    (engines, reserved, names_complete.then_some(seen))
}

fn reserve(
    ids: &mut IdAllocator,
    range: &IdRange,
    reserved: &mut Vec<u32>,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let (Some(first), last) = (range.first.value, range.last.map(|l| l.value)) else {
        return;
    };
    let last = match last {
        None => first,
        Some(None) => return,
        Some(Some(last)) => last,
    };
    if last < first {
        diagnostics.push(
            Diagnostic::error(range.span, "reserved id range runs backwards")
                .label(format!("{first} is greater than {last}"))
                .help(format!("write `reserved {last}..{first}`")),
        );
        return;
    }
    if let Some(start) = ids.place(
        last - first + 1,
        Some(&range.first),
        range.span,
        true,
        diagnostics,
    ) {
        reserved.extend((0..=(last - first) as u32).map(|i| start + i));
    }
}

fn duplicate_name(what: &str, name: &str, at: Span, first: Span) -> Diagnostic {
    Diagnostic::error(at, format!("{what} `{name}` is declared twice"))
        .label("declared again here")
        .note(first, "first declared here")
        .help(format!("every {what} needs its own name"))
}

fn check_queues(
    block: &TableBlock<QueueDecl>,
    engines: &[Engine],
    engine_spans: &Option<HashMap<String, Span>>,
    limits: &Limits,
    diagnostics: &mut Vec<Diagnostic>,
) -> (Vec<Queue>, Vec<u32>) {
    let mut ids = IdAllocator::new("queue");
    let mut queues = Vec::new();
    let mut reserved = Vec::new();
    let mut seen: HashMap<String, Span> = HashMap::new();
    let mut cqs: BTreeMap<u32, Span> = BTreeMap::new();
    let types: Vec<&str> = QueueType::ALL.iter().map(|t| t.spec_name()).collect();
    for item in &block.items {
        let decl = match item {
            TableItem::Reserved { ids: range, .. } => {
                reserve(&mut ids, range, &mut reserved, diagnostics);
                continue;
            }
            TableItem::Decl(decl) => decl,
        };
        let queue_type = QueueType::from_spec_name(&decl.queue_type.text);
        if queue_type.is_none() {
            diagnostics.push(suggest::unknown(
                decl.queue_type.span,
                "queue type",
                &decl.queue_type.text,
                "not a queue type",
                "queue types",
                types.iter().copied(),
            ));
        }
        let families = match expand(&decl.names) {
            Ok(f) => f,
            Err(d) => {
                diagnostics.push(d);
                continue;
            }
        };
        let streams = match decl.streams {
            None => None,
            Some(Number { value: None, .. }) => continue,
            Some(Number {
                value: Some(n),
                span,
            }) => {
                if n == 0 || n > 64 {
                    diagnostics.push(
                        Diagnostic::error(span, "`streams` must be from 1 to 64")
                            .label(format!("{n} streams"))
                            .help("Goya and Gaudi QMANs have 4 streams (QMAN_STREAMS)"),
                    );
                    continue;
                }
                Some(n)
            }
        };
        let per_family = streams.unwrap_or(1);
        let count = families.len() as u64 * per_family;
        if count > MAX_EXPANSION {
            diagnostics.push(
                Diagnostic::error(decl.names.span, "too many queues in one declaration")
                    .label(format!("{count} queues"))
                    .help(format!(
                        "a declaration may name at most {MAX_EXPANSION} queues"
                    )),
            );
            continue;
        }
        let props = QueueProperties::read(decl, families.len(), engines, engine_spans, diagnostics);
        let Some(queue_type) = queue_type else {
            continue;
        };
        props.check_against_type(decl, queue_type, diagnostics);
        let Some(first_id) = ids.place(
            count,
            decl.explicit_id.as_ref(),
            decl.names.span,
            false,
            diagnostics,
        ) else {
            continue;
        };
        let pq_len = props.pq_len.unwrap_or(limits.queue_length);
        let mut index = 0u32;
        for (family_index, family) in families.iter().enumerate() {
            for stream in 0..per_family {
                let name = match streams {
                    Some(_) => format!("{family}_{stream}"),
                    None => family.clone(),
                };
                let cq = props.cq.map(|first| first + index);
                if let Some(cq) = cq {
                    if let Some(first) = cqs.get(&cq) {
                        diagnostics.push(
                            Diagnostic::error(
                                decl.names.span,
                                format!("completion queue {cq} is bound twice"),
                            )
                            .label(format!("`{name}` would use completion queue {cq}"))
                            .note(*first, "already bound here")
                            .help("each external queue reports through its own completion queue"),
                        );
                    } else {
                        cqs.insert(cq, decl.names.span);
                    }
                }
                diagnostics.extend(reserved::check(
                    &name,
                    decl.names.span,
                    NameKind::Id("queue"),
                ));
                if let Some(first) = seen.get(&name) {
                    diagnostics.push(duplicate_name("queue", &name, decl.names.span, *first));
                } else {
                    seen.insert(name.clone(), decl.names.span);
                }
                queues.push(Queue {
                    name,
                    id: first_id + index,
                    queue_type,
                    engine: props.engine_for(family_index),
                    cb_alloc: props.cb_alloc.unwrap_or(CbAlloc::Kernel),
                    driver_only: props.driver_only,
                    binned: props.binned,
                    supports_sync_stream: props.sync_stream,
                    stream_master: props.stream_master,
                    collective: props.collective,
                    pq_len,
                    cq,
                    doc: decl.doc.clone(),
                });
                index += 1;
            }
        }
    }
    (queues, reserved)
}

/// The properties of one queue declaration, read and individually validated.
#[derive(Default)]
struct QueueProperties {
    /// One engine id for every family, or one for all.
    engines: Vec<u32>,
    engine_span: Option<Span>,
    cq: Option<u32>,
    cq_span: Option<Span>,
    cb_alloc: Option<CbAlloc>,
    cb_alloc_missing: bool,
    /// Required properties whose key was misspelt (`cb_aloc`): the misspelling is reported with
    /// a did-you-mean, so the property is not reported missing as well.
    misspelt: Vec<&'static str>,
    pq_len: Option<u32>,
    collective: CollectiveMode,
    driver_only: bool,
    binned: bool,
    sync_stream: bool,
    stream_master: bool,
}

impl QueueProperties {
    fn read(
        decl: &QueueDecl,
        families: usize,
        engines: &[Engine],
        engine_spans: &Option<HashMap<String, Span>>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> QueueProperties {
        let mut props = QueueProperties::default();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for prop in &decl.properties {
            let key = prop.key.text.as_str();
            if !QUEUE_PROPERTIES.contains(&key) {
                if let Some(meant) = suggest::closest(key, QUEUE_PROPERTIES.iter().copied()) {
                    props.misspelt.push(meant);
                }
                diagnostics.push(suggest::unknown(
                    prop.key.span,
                    "queue property",
                    key,
                    "not a queue property",
                    "queue properties",
                    QUEUE_PROPERTIES.iter().copied(),
                ));
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
                "driver_only" | "binned" | "sync_stream" | "stream_master" => {
                    if let Some(value) = &prop.value {
                        diagnostics.push(
                            Diagnostic::error(
                                value.span(),
                                format!("`{key}` is a flag and takes no value"),
                            )
                            .label("remove this value")
                            .help(format!(
                                "write `{key}` alone to set it, leave it out to clear it"
                            )),
                        );
                        continue;
                    }
                    *match key {
                        "driver_only" => &mut props.driver_only,
                        "binned" => &mut props.binned,
                        "sync_stream" => &mut props.sync_stream,
                        _ => &mut props.stream_master,
                    } = true;
                }
                "cq" | "pq_len" => {
                    let Some(n) = number_value(prop, diagnostics) else {
                        continue;
                    };
                    if key == "cq" {
                        props.cq = u32::try_from(n).ok().filter(|n| *n < MAX_EXPANSION as u32);
                        props.cq_span = Some(prop.key.span);
                        if props.cq.is_none() {
                            diagnostics.push(
                                Diagnostic::error(
                                    prop.key.span.to(prop
                                        .value
                                        .as_ref()
                                        .map_or(prop.key.span, |v| v.span())),
                                    "completion queue index too large",
                                )
                                .label(format!("{n}"))
                                .help(format!(
                                    "completion queues are numbered from 0 to {}",
                                    MAX_EXPANSION - 1
                                )),
                            );
                        }
                    } else if !(2..=1 << 16).contains(&n) || !n.is_power_of_two() {
                        diagnostics.push(
                            Diagnostic::error(
                                prop.value.as_ref().map_or(prop.key.span, |v| v.span()),
                                "`pq_len` must be a power of two from 2 to 65536",
                            )
                            .label(format!("{n} is not"))
                            .help("queue pointers wrap with `pi & (len - 1)`"),
                        );
                    } else {
                        props.pq_len = u32::try_from(n).ok();
                    }
                }
                "engine" => {
                    let Some(range) = names_value(prop, diagnostics) else {
                        continue;
                    };
                    props.engine_span = Some(range.span);
                    let names = match expand(range) {
                        Ok(names) => names,
                        Err(d) => {
                            diagnostics.push(d);
                            continue;
                        }
                    };
                    if names.len() != 1 && names.len() != families {
                        diagnostics.push(
                            Diagnostic::error(
                                range.span,
                                format!("{} engines for {families} queue families", names.len()),
                            )
                            .label("the engines pair up with the families in order")
                            .help(
                                "name one engine for all the families, or exactly one per family",
                            ),
                        );
                        continue;
                    }
                    for name in &names {
                        match engines.iter().find(|e| &e.name == name) {
                            Some(engine) => props.engines.push(engine.id),
                            // Declared but rejected, or the table is incomplete: the engine's
                            // own diagnostic is the one that matters.
                            None if engine_spans.as_ref().is_none_or(|s| s.contains_key(name)) => {}
                            None => diagnostics.push(suggest::unknown(
                                range.span,
                                "engine",
                                name,
                                "no engine has this name",
                                "engines",
                                engines.iter().map(|e| e.name.as_str()),
                            )),
                        }
                    }
                    if props.engines.len() != names.len() {
                        props.engines.clear();
                    }
                }
                "cb_alloc" | "collective" => {
                    let Some(range) = names_value(prop, diagnostics) else {
                        continue;
                    };
                    let value = &range.first.text;
                    let (choices, ok): (&[&str], bool) = if key == "cb_alloc" {
                        let v = CbAlloc::from_spec_name(value);
                        props.cb_alloc = v;
                        (&["kernel", "user", "both"], v.is_some())
                    } else {
                        let v = CollectiveMode::from_spec_name(value);
                        props.collective = v.unwrap_or_default();
                        (&["none", "master", "slave"], v.is_some())
                    };
                    if !ok || range.last.is_some() {
                        diagnostics.push(
                            Diagnostic::error(
                                range.span,
                                format!("unknown `{key}` value `{}`", range.first.text),
                            )
                            .label(format!("expected one of {}", list(choices)))
                            .maybe_help(
                                suggest::closest(value, choices.iter().copied())
                                    .map(|b| format!("did you mean `{b}`?")),
                            ),
                        );
                    }
                }
                _ => {}
            }
        }
        props.cb_alloc_missing =
            !seen.contains_key("cb_alloc") && !props.misspelt.contains(&"cb_alloc");
        props
    }

    fn check_against_type(
        &self,
        decl: &QueueDecl,
        queue_type: QueueType,
        diagnostics: &mut Vec<Diagnostic>,
    ) {
        let at = decl.names.span;
        match (queue_type, self.cq_span) {
            (QueueType::External, None) if !self.misspelt.contains(&"cq") => diagnostics.push(
                Diagnostic::error(at, "external queue without a completion queue")
                    .label("external queues complete through a completion queue")
                    .help("add `cq = N`: the first completion queue; further queues of this line take the next ones"),
            ),
            (QueueType::Internal | QueueType::Cpu | QueueType::Hw, Some(span)) => diagnostics.push(
                Diagnostic::error(span, format!("{} queue has no completion queue", article(queue_type)))
                    .label("only external queues take `cq`")
                    .help("remove `cq`, or make the queue `external`"),
            ),
            _ => {}
        }
        if queue_type != QueueType::Cpu
            && self.engine_span.is_none()
            && !self.misspelt.contains(&"engine")
        {
            diagnostics.push(
                Diagnostic::error(at, "queue bound to no engine")
                    .label(format!("{} queue feeds an engine", article(queue_type)))
                    .help("add `engine = NAME`, naming an engine of the `engines` block"),
            );
        }
        if self.cb_alloc_missing {
            diagnostics.push(
                Diagnostic::error(at, "queue without `cb_alloc`")
                    .label("who allocates this queue's command buffers?")
                    .help("add `cb_alloc = kernel`, `cb_alloc = user` or `cb_alloc = both`"),
            );
        }
    }

    fn engine_for(&self, family: usize) -> Option<u32> {
        match self.engines.as_slice() {
            [] => None,
            [one] => Some(*one),
            many => many.get(family).copied(),
        }
    }
}

fn number_value(prop: &Property, diagnostics: &mut Vec<Diagnostic>) -> Option<u64> {
    match &prop.value {
        Some(PropertyValue::Number(n)) => n.value,
        Some(PropertyValue::Names(r)) => {
            diagnostics.push(
                Diagnostic::error(r.span, format!("`{}` takes a number", prop.key.text))
                    .label("found a name"),
            );
            None
        }
        None => {
            diagnostics.push(
                Diagnostic::error(prop.key.span, format!("`{}` needs a value", prop.key.text))
                    .label("missing `= N`")
                    .help(format!("write `{} = N`", prop.key.text)),
            );
            None
        }
    }
}

fn names_value<'a>(prop: &'a Property, diagnostics: &mut Vec<Diagnostic>) -> Option<&'a NameRange> {
    match &prop.value {
        Some(PropertyValue::Names(r)) => Some(r),
        Some(PropertyValue::Number(n)) => {
            diagnostics.push(
                Diagnostic::error(n.span, format!("`{}` takes a name", prop.key.text))
                    .label("found a number"),
            );
            None
        }
        None => {
            diagnostics.push(
                Diagnostic::error(prop.key.span, format!("`{}` needs a value", prop.key.text))
                    .label("missing `= ...`")
                    .help(format!("write `{} = NAME`", prop.key.text)),
            );
            None
        }
    }
}

/// "an external", "a cpu": for messages about a queue type.
fn article(queue_type: QueueType) -> String {
    let name = queue_type.spec_name();
    let an = name.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} {name}", if an { "an" } else { "a" })
}
