//! Checks a `.asic` syntax tree and lowers it to the parts of the Model it describes: header,
//! limits, features, engines and queues. The lifecycle is checked separately (`lifecycle.rs`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use super::groups::{self, Flat, GroupContext};
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
    /// Reserved completion queues.
    pub reserved_cqs: Vec<ReservedCq>,
    /// The sync manager's layout.
    pub sync_manager: Option<SyncManager>,
    /// Binning rules.
    pub binning: Vec<BinningRule>,
    /// The lifecycle path as written, and where.
    pub lifecycle: Option<(String, Span)>,
    /// The `kernel` block (defaults when the spec has none).
    pub kernel: KernelSpec,
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
/// The queue properties that take a value; the flags are the tables crate's `QUEUE_FLAGS`.
const QUEUE_VALUED: &[&str] = &["engine", "cq", "cb_alloc", "pq_len", "collective"];

/// Every queue property key, in the order "did you mean" lists them.
fn queue_properties() -> impl Iterator<Item = &'static str> + Clone {
    QUEUE_VALUED.iter().copied().chain(QUEUE_FLAGS)
}

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
        // why: the tables crate's `Features` is the one list of features and their names.
        let keys: Vec<&'static str> = Features::default().iter().map(|(name, _)| name).collect();
        let f = Settings::read(features_block, "features", file_start, &keys, diagnostics);
        let mut features = Features::default();
        for name in keys {
            let on = f.flag(name, diagnostics);
            if let Some(field) = features.flag_mut(name) {
                *field = on;
            }
        }
        features
    };

    for (spans, name) in [
        (
            ast.completion_queues
                .iter()
                .map(|b| b.keyword)
                .collect::<Vec<_>>(),
            "completion_queues",
        ),
        (
            ast.sync_managers.iter().map(|b| b.keyword).collect(),
            "sync_manager",
        ),
        (ast.binning.iter().map(|b| b.keyword).collect(), "binning"),
    ] {
        if let [first, rest @ ..] = spans.as_slice() {
            for again in rest {
                diagnostics.push(duplicate_block(name, *again, Some(*first)));
            }
        }
    }
    let reserved_cqs = check_completion_queues(ast.completion_queues.first(), diagnostics);
    let prefix = uapi_prefix.clone().unwrap_or_default();
    let (engines, reserved_engine_ids, engine_spans) = match ast.engines.first() {
        Some(block) => check_engines(block, &prefix, diagnostics),
        None => Default::default(),
    };
    if let Some(name) = asic.and_then(|a| a.name.as_ref()) {
        diagnostics.extend(reserved::check(&name.text, name.span, NameKind::Asic));
    }
    let (queues, reserved_queue_ids) = match ast.queues.first() {
        Some(block) => check_queues(
            block,
            &QueueContext {
                engines: &engines,
                engine_spans: &engine_spans,
                limits: &limits,
                limits_block,
                features: &features,
                reserved_cqs: &reserved_cqs,
                prefix: &prefix,
            },
            diagnostics,
        ),
        None => Default::default(),
    };
    let kernel = super::kernel::check(
        &ast.kernel,
        &engines,
        &engine_spans,
        &queues,
        &reserved_queue_ids,
        diagnostics,
    );
    let tables_complete = engine_spans.is_some();
    let sync_manager = ast
        .sync_managers
        .first()
        .and_then(|block| super::sync::check(block, &limits, &engines, &queues, diagnostics));
    let binning = match ast.binning.first() {
        Some(block) if tables_complete => {
            super::binning::check(block, &engines, &queues, diagnostics)
        }
        _ => Vec::new(),
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
        reserved_cqs,
        sync_manager,
        binning,
        lifecycle,
        kernel,
    }
}

/// `completion_queues { CS_COMPLETION = 0, KDMA_COMPLETION = 1 }`: names and distinct ids.
fn check_completion_queues(
    block: Option<&SettingsBlock>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<ReservedCq> {
    let mut out: Vec<ReservedCq> = Vec::new();
    let mut by_id: HashMap<u32, Span> = HashMap::new();
    let mut by_name: HashMap<&str, Span> = HashMap::new();
    for setting in block.iter().flat_map(|b| &b.settings) {
        let name = setting.key.text.as_str();
        if let Some(first) = by_name.insert(name, setting.key.span) {
            diagnostics.push(
                Diagnostic::error(
                    setting.key.span,
                    format!("completion queue `{name}` is declared twice"),
                )
                .label("declared again here")
                .note(first, "first declared here")
                .help("every reserved completion queue needs its own name"),
            );
            continue;
        }
        let Value::Number(Number { value, span }) = &setting.value else {
            diagnostics.push(
                Diagnostic::error(
                    setting.value.span(),
                    format!(
                        "`{name}` takes a completion queue index, found {}",
                        setting.value.describe()
                    ),
                )
                .label("expected a number")
                .help(format!("write `{name} = 0`")),
            );
            continue;
        };
        let Some(value) = value else { continue };
        let Some(id) = u32::try_from(*value)
            .ok()
            .filter(|v| u64::from(*v) < MAX_EXPANSION)
        else {
            diagnostics.push(
                Diagnostic::error(*span, "completion queue index too large")
                    .label(format!("{value}"))
                    .help(format!(
                        "completion queues are numbered from 0 to {}",
                        MAX_EXPANSION - 1
                    )),
            );
            continue;
        };
        if let Some(first) = by_id.insert(id, *span) {
            diagnostics.push(
                Diagnostic::error(*span, format!("completion queue {id} is reserved twice"))
                    .label("reserved again here")
                    .note(first, "first reserved here")
                    .help("give each reserved completion queue its own index"),
            );
            continue;
        }
        out.push(ReservedCq {
            name: name.to_string(),
            id,
            doc: setting.doc.clone(),
        });
    }
    out.sort_by_key(|c| c.id);
    out
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
            if v > u64::from(u16::MAX) {
                diagnostics.push(
                    Diagnostic::error(span, format!("`max_jobs_per_cs` ({v}) is more than 65535"))
                        .label("the runtime counts a queue's jobs in 16 bits")
                        .help("HL_MAX_JOBS_PER_CS is 512; use at most 65535"),
                );
                return None;
            }
            u32::try_from(v).ok()
        });
    let cs_timeout_ms = s.duration("cs_timeout", "30s", diagnostics);
    let completion = s.choice(
        "completion",
        &CompletionMode::ALL.map(CompletionMode::spec_name),
        CompletionMode::from_spec_name,
        diagnostics,
    );
    Limits {
        max_pending_cs: max_pending_cs.unwrap_or(2),
        max_jobs_per_cs: max_jobs_per_cs.unwrap_or(1),
        queue_length: queue_length.unwrap_or(2),
        cq_length: cq_length.unwrap_or(2),
        cs_timeout: Duration::from_millis(cs_timeout_ms.unwrap_or(0)),
        completion: completion.unwrap_or(CompletionMode::PerJob),
    }
}

/// The engines, the reserved ids, and every engine name declared (also those of declarations
/// that failed, so queues naming them are not reported again), or `None` for the names when a
/// range could not even be expanded.
type EngineTable = (Vec<Engine>, Vec<u32>, Option<HashMap<String, Span>>);

fn check_engines(
    block: &TableBlock<EngineDecl>,
    prefix: &str,
    diagnostics: &mut Vec<Diagnostic>,
) -> EngineTable {
    let mut ids = IdAllocator::new("engine");
    let mut engines = Vec::new();
    let mut reserved = Vec::new();
    let mut seen: HashMap<String, Span> = HashMap::new();
    let mut c_names = CNames::new(prefix, "engine");
    let mut names_complete = true;
    let kinds: Vec<&str> = EngineKind::ALL.iter().map(|k| k.spec_name()).collect();
    let mut reported = Reported::new(diagnostics.len());
    for item in groups::flatten(&block.items, "engine", diagnostics) {
        let (decl, cx) = match item {
            Flat::Reserved(range) => {
                reserve(&mut ids, range, &mut reserved, diagnostics);
                continue;
            }
            Flat::Decl(decl, cx) => (decl, cx),
        };
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
            let c_name = c_names.name(&name, &cx, decl.names.span, diagnostics);
            if let Some(kind) = kind {
                engines.push(Engine {
                    props: EngineProps { id, name, kind },
                    c_name,
                    doc: decl.doc.clone(),
                });
            }
        }
        reported.dedup(diagnostics);
    }
    (engines, reserved, names_complete.then_some(seen))
}

/// Drops diagnostics repeated word for word: a line inside a group is checked once per
/// repetition, and its mistakes should be reported once.
struct Reported {
    from: usize,
    seen: HashSet<(Span, String)>,
}

impl Reported {
    fn new(from: usize) -> Reported {
        Reported {
            from,
            seen: HashSet::new(),
        }
    }

    fn dedup(&mut self, diagnostics: &mut Vec<Diagnostic>) {
        let fresh = diagnostics.split_off(self.from.min(diagnostics.len()));
        for d in fresh {
            if self.seen.insert((d.span, d.message.clone())) {
                diagnostics.push(d);
            }
        }
        self.from = diagnostics.len();
    }
}

/// The C enumerators of one enum: spelled from the group's template or the default, checked
/// to be C identifiers and distinct (the `_SIZE` sentinel included).
struct CNames {
    prefix: String,
    kind: &'static str,
    taken: HashMap<String, Span>,
}

impl CNames {
    fn new(prefix: &str, kind: &'static str) -> CNames {
        let mut names = CNames {
            prefix: prefix.to_string(),
            kind,
            taken: HashMap::new(),
        };
        let sentinel = names.default_name("SIZE");
        names.taken.insert(sentinel, Span::default());
        names
    }

    fn default_name(&self, name: &str) -> String {
        format!(
            "{}_{}_ID_{name}",
            self.prefix,
            self.kind.to_ascii_uppercase()
        )
    }

    /// The C enumerator for `name` declared at `span` in `cx`.
    fn name(
        &mut self,
        name: &str,
        cx: &GroupContext,
        span: Span,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> String {
        let c_name = match &cx.c_name {
            Some((template, _)) => {
                let inner = name.strip_prefix(&cx.prefix()).unwrap_or(name);
                groups::fill(template, &self.prefix, &cx.joined(), inner)
            }
            None => self.default_name(name),
        };
        let at = cx.c_name.as_ref().map_or(span, |(_, s)| *s);
        if cx.c_name.is_none() && name == "SIZE" {
            // `reserved::check` already refuses the name itself.
            return c_name;
        }
        if let Some((template, _)) = &cx.c_name
            && !groups::template_ok(template)
        {
            // The template's own diagnostic says what is wrong with it.
            return c_name;
        }
        let valid = c_name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && c_name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !valid {
            diagnostics.push(
                Diagnostic::error(at, format!("`{c_name}` is not a C identifier"))
                    .label(format!("the C name of {} `{name}`", self.kind))
                    .help(
                        "C enumerators use letters, digits and `_`, and do not start with a digit",
                    ),
            );
        } else if let Some(first) = self.taken.get(&c_name) {
            let d = Diagnostic::error(
                at,
                format!("two {}s are both spelled `{c_name}` in C", self.kind),
            )
            .label(format!("the C name of {} `{name}`", self.kind))
            .help("give the group's `c_name` a `{group}` and a `{name}`, or rename one of them");
            diagnostics.push(if *first == Span::default() {
                d.help(format!("`{c_name}` is the enum's `_SIZE` sentinel"))
            } else {
                d.note(*first, "the other one is declared here")
            });
        } else {
            self.taken.insert(c_name.clone(), span);
        }
        c_name
    }
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
    if last - first >= MAX_EXPANSION {
        diagnostics.push(
            Diagnostic::error(range.span, "reserved id range is too large")
                .label(format!("{} ids", u128::from(last - first) + 1))
                .help(format!("a table may use ids up to {}", MAX_EXPANSION - 1)),
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

/// What the queue checks need from the rest of the spec.
struct QueueContext<'a> {
    engines: &'a [Engine],
    engine_spans: &'a Option<HashMap<String, Span>>,
    limits: &'a Limits,
    limits_block: Option<&'a SettingsBlock>,
    features: &'a Features,
    reserved_cqs: &'a [ReservedCq],
    prefix: &'a str,
}

fn check_queues(
    block: &TableBlock<QueueDecl>,
    qc: &QueueContext<'_>,
    diagnostics: &mut Vec<Diagnostic>,
) -> (Vec<Queue>, Vec<u32>) {
    let mut ids = IdAllocator::new("queue");
    let mut queues = Vec::new();
    let mut reserved = Vec::new();
    let mut seen: HashMap<String, Span> = HashMap::new();
    let mut cqs: BTreeMap<u32, Span> = BTreeMap::new();
    let mut c_names = CNames::new(qc.prefix, "queue");
    let types: Vec<&str> = QueueType::ALL.iter().map(|t| t.spec_name()).collect();
    let mut reported = Reported::new(diagnostics.len());
    for item in groups::flatten(&block.items, "queue", diagnostics) {
        let (decl, cx) = match item {
            Flat::Reserved(range) => {
                reserve(&mut ids, range, &mut reserved, diagnostics);
                continue;
            }
            Flat::Decl(decl, cx) => (decl, cx),
        };
        let decl = &decl;
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
                if queue_type == Some(QueueType::Cpu) {
                    diagnostics.push(
                        Diagnostic::error(span, "a cpu queue with streams")
                            .label("the driver has one queue to the device CPU")
                            .help("remove `streams N`: CPU_PQ is a single queue"),
                    );
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
        let props = QueueProperties::read(decl, families.len(), &cx, qc, diagnostics);
        let Some(queue_type) = queue_type else {
            reported.dedup(diagnostics);
            continue;
        };
        let shared_cq = props.check_against_type(decl, queue_type, qc, diagnostics);
        let Some(first_id) = ids.place(
            count,
            decl.explicit_id.as_ref(),
            decl.names.span,
            false,
            diagnostics,
        ) else {
            reported.dedup(diagnostics);
            continue;
        };
        let pq_len = props.pq_len.unwrap_or(qc.limits.queue_length);
        let mut index = 0u32;
        for (family_index, family) in families.iter().enumerate() {
            for stream in 0..per_family {
                let name = match streams {
                    Some(_) => format!("{family}_{stream}"),
                    None => family.clone(),
                };
                let own_cq = match queue_type {
                    QueueType::External => props.cq_number.map(|(first, _)| first + index),
                    _ => None,
                };
                if let Some(cq) = own_cq {
                    if let Some(r) = qc.reserved_cqs.iter().find(|r| r.id == cq) {
                        diagnostics.push(
                            Diagnostic::error(
                                decl.names.span,
                                format!("completion queue {cq} is reserved as `{}`", r.name),
                            )
                            .label(format!("`{name}` would use completion queue {cq}"))
                            .help(format!(
                                "external queues take completion queues from {} on",
                                qc.reserved_cqs.iter().map(|r| r.id + 1).max().unwrap_or(0)
                            )),
                        );
                    } else if let Some(first) = cqs.get(&cq) {
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
                let c_name = if let Some(first) = seen.get(&name) {
                    diagnostics.push(duplicate_name("queue", &name, decl.names.span, *first));
                    String::new()
                } else {
                    seen.insert(name.clone(), decl.names.span);
                    c_names.name(&name, &cx, decl.names.span, diagnostics)
                };
                let mut queue = QueueProps {
                    engine: props.engine_for(family_index),
                    cb_alloc: props.cb_alloc.unwrap_or(CbAlloc::Kernel),
                    collective: props.collective,
                    cq: own_cq.or(shared_cq),
                    ..QueueProps::new(first_id + index, name, queue_type, pq_len)
                };
                for flag in &props.flags {
                    if let Some(field) = queue.flag_mut(flag) {
                        *field = true;
                    }
                }
                queues.push(Queue {
                    props: queue,
                    c_name,
                    doc: decl.doc.clone(),
                });
                index += 1;
            }
        }
        reported.dedup(diagnostics);
    }
    (queues, reserved)
}

/// The properties of one queue declaration, read and individually validated.
#[derive(Default)]
struct QueueProperties {
    /// One engine id for every family, or one for all.
    engines: Vec<u32>,
    engine_span: Option<Span>,
    /// `cq = N`, with where the property stands.
    cq_number: Option<(u32, Span)>,
    /// `cq = NAME`.
    cq_name: Option<Ident>,
    cq_span: Option<Span>,
    sync_stream_span: Option<Span>,
    cb_alloc: Option<CbAlloc>,
    cb_alloc_missing: bool,
    /// Required properties whose key was misspelt (`cb_aloc`): the misspelling is reported with
    /// a did-you-mean, so the property is not reported missing as well.
    misspelt: Vec<&'static str>,
    pq_len: Option<u32>,
    collective: CollectiveMode,
    /// The flags the declaration sets, as `QUEUE_FLAGS` spells them.
    flags: Vec<&'static str>,
}

impl QueueProperties {
    fn read(
        decl: &QueueDecl,
        families: usize,
        cx: &GroupContext,
        qc: &QueueContext<'_>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> QueueProperties {
        let (engines, engine_spans) = (qc.engines, qc.engine_spans);
        let mut props = QueueProperties::default();
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for prop in &decl.properties {
            let key = prop.key.text.as_str();
            if !queue_properties().any(|known| known == key) {
                if let Some(meant) = suggest::closest(key, queue_properties()) {
                    props.misspelt.push(meant);
                }
                diagnostics.push(suggest::unknown(
                    prop.key.span,
                    "queue property",
                    key,
                    "not a queue property",
                    "queue properties",
                    queue_properties(),
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
                _ if QUEUE_FLAGS.contains(&key) => {
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
                    if key == "sync_stream" {
                        props.sync_stream_span = Some(prop.key.span);
                    }
                    props
                        .flags
                        .extend(QUEUE_FLAGS.iter().find(|flag| **flag == key));
                }
                "cq" => {
                    props.cq_span = Some(prop.key.span);
                    match &prop.value {
                        Some(PropertyValue::Names(r)) if r.last.is_none() => {
                            props.cq_name = Some(r.first.clone());
                        }
                        _ => {
                            let Some(n) = number_value(prop, diagnostics) else {
                                continue;
                            };
                            let at = prop
                                .key
                                .span
                                .to(prop.value.as_ref().map_or(prop.key.span, |v| v.span()));
                            match u32::try_from(n).ok().filter(|n| *n < MAX_EXPANSION as u32) {
                                Some(n) => props.cq_number = Some((n, at)),
                                None => diagnostics.push(
                                    Diagnostic::error(at, "completion queue index too large")
                                        .label(format!("{n}"))
                                        .help(format!(
                                            "completion queues are numbered from 0 to {}",
                                            MAX_EXPANSION - 1
                                        )),
                                ),
                            }
                        }
                    }
                }
                "pq_len" => {
                    let Some(n) = number_value(prop, diagnostics) else {
                        continue;
                    };
                    if !(2..=1 << 16).contains(&n) || !n.is_power_of_two() {
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
                    // Set even when the value is refused: its own diagnostic says what is wrong.
                    props.engine_span = Some(prop.key.span);
                    let Some(range) = names_value(prop, diagnostics) else {
                        continue;
                    };
                    props.engine_span = Some(range.span);
                    let range = &relative_engine(range, cx, engines, engine_spans);
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
                        match engines.iter().find(|e| &e.props.name == name) {
                            Some(engine) => props.engines.push(engine.props.id),
                            // Declared but rejected, or the table is incomplete: the engine's
                            // own diagnostic is the one that matters.
                            None if engine_spans.as_ref().is_none_or(|s| s.contains_key(name)) => {}
                            None => diagnostics.push(suggest::unknown(
                                range.span,
                                "engine",
                                name,
                                "no engine has this name",
                                "engines",
                                engines.iter().map(|e| e.props.name.as_str()),
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
                    let (choices, ok): (Vec<&str>, bool) = if key == "cb_alloc" {
                        let v = CbAlloc::from_spec_name(value);
                        props.cb_alloc = v;
                        (CbAlloc::ALL.map(CbAlloc::spec_name).into(), v.is_some())
                    } else {
                        let v = CollectiveMode::from_spec_name(value);
                        props.collective = v.unwrap_or_default();
                        let all = CollectiveMode::ALL.map(CollectiveMode::spec_name);
                        (all.into(), v.is_some())
                    };
                    if !ok || range.last.is_some() {
                        diagnostics.push(
                            Diagnostic::error(
                                range.span,
                                format!("unknown `{key}` value `{}`", range.first.text),
                            )
                            .label(format!("expected one of {}", list(&choices)))
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

    /// Checks the properties against the queue type; returns the reserved completion queue a
    /// hw queue completes through, if it names one.
    fn check_against_type(
        &self,
        decl: &QueueDecl,
        queue_type: QueueType,
        qc: &QueueContext<'_>,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<u32> {
        let at = decl.names.span;
        let mut shared = None;
        match (queue_type, self.cq_span) {
            (QueueType::External, None) if !self.misspelt.contains(&"cq") => diagnostics.push(
                Diagnostic::error(at, "external queue without a completion queue")
                    .label("external queues complete through a completion queue")
                    .help("add `cq = N`: the first completion queue; further queues of this line take the next ones"),
            ),
            (QueueType::External, Some(span)) => {
                if let Some(name) = &self.cq_name {
                    diagnostics.push(
                        Diagnostic::error(name.span, "an external queue owns its completion queues")
                            .label("expected a number")
                            .help("write `cq = N`: the first completion queue; reserved completion queues are for hw queues")
                            .note(span, "`cq` is set here"),
                    );
                }
                if qc.limits.completion == CompletionMode::PerCs {
                    let d = Diagnostic::error(at, "an external queue with `completion = per_cs`")
                        .label("external queues report every job through their own completion queue")
                        .help("make the queue `hw` (its completion is sent per CS through a reserved completion queue), or set `completion = per_job`");
                    let setting = qc
                        .limits_block
                        .and_then(|b| b.settings.iter().find(|s| s.key.text == "completion"));
                    diagnostics.push(match setting {
                        Some(s) => d.note(s.value.span(), "per-CS completion is set here"),
                        None => d,
                    });
                }
            }
            (QueueType::Hw, Some(span)) => {
                let found = match (&self.cq_name, self.cq_number) {
                    (Some(name), _) => qc.reserved_cqs.iter().find(|r| r.name == name.text),
                    (None, Some((n, _))) => qc.reserved_cqs.iter().find(|r| r.id == n),
                    (None, None) => return None,
                };
                match found {
                    Some(r) => shared = Some(r.id),
                    None => {
                        let what = match (&self.cq_name, self.cq_number) {
                            (Some(name), _) => format!("`{}`", name.text),
                            (None, Some((n, _))) => n.to_string(),
                            (None, None) => String::new(),
                        };
                        let help = if qc.reserved_cqs.is_empty() {
                            "a hw queue completes through a completion queue the driver reserves: declare it in `completion_queues { CS_COMPLETION = 0 }` and write `cq = CS_COMPLETION`".to_string()
                        } else {
                            format!(
                                "the reserved completion queues are {}",
                                qc.reserved_cqs
                                    .iter()
                                    .map(|r| format!("`{}` ({})", r.name, r.id))
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            )
                        };
                        diagnostics.push(
                            Diagnostic::error(span, format!("completion queue {what} is not reserved"))
                                .label("a hw queue shares a completion queue the driver reserves")
                                .help(help),
                        );
                    }
                }
            }
            (QueueType::Internal | QueueType::Cpu, Some(span)) => diagnostics.push(
                Diagnostic::error(span, format!("{} queue does not complete through a completion queue", article(queue_type)))
                    .label("`cq` is for external and hw queues")
                    .help("remove `cq`; an external queue owns completion queues (`cq = N`), a hw queue names a reserved one (`cq = CS_COMPLETION`)"),
            ),
            _ => {}
        }
        if queue_type == QueueType::Cpu && !self.flags.contains(&"driver_only") {
            diagnostics.push(
                Diagnostic::error(at, "a cpu queue that is not `driver_only`")
                    .label("only the driver submits to the device CPU")
                    .help("add `driver_only`: user CSs naming the CPU queue are refused, and nothing would drain jobs put there"),
            );
        }
        if let (Some(span), false) = (self.sync_stream_span, qc.features.sync_stream) {
            diagnostics.push(
                Diagnostic::error(span, "a `sync_stream` queue while the feature is off")
                    .label("this generation has no sync stream")
                    .help("set `sync_stream = true` in `features`, or remove the flag"),
            );
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
        shared
    }

    fn engine_for(&self, family: usize) -> Option<u32> {
        match self.engines.as_slice() {
            [] => None,
            [one] => Some(*one),
            many => many.get(family).copied(),
        }
    }
}

/// Inside a group, `engine = EDMA_0` means the group's own `DCORE1_EDMA_0` when there is one
/// (innermost group first); otherwise the name as written.
fn relative_engine(
    range: &NameRange,
    cx: &GroupContext,
    engines: &[Engine],
    engine_spans: &Option<HashMap<String, Span>>,
) -> NameRange {
    let known = |name: &str| {
        engines.iter().any(|e| e.props.name == name)
            || engine_spans.as_ref().is_some_and(|s| s.contains_key(name))
    };
    for depth in (1..=cx.path.len()).rev() {
        let prefix: String = cx.path[..depth].iter().map(|p| format!("{p}_")).collect();
        let first = format!("{prefix}{}", range.first.text);
        let last = range.last.as_ref().map(|l| format!("{prefix}{}", l.text));
        if known(&first) && last.as_deref().is_none_or(known) {
            let mut out = range.clone();
            out.first.text = first;
            if let (Some(l), Some(text)) = (&mut out.last, last) {
                l.text = text;
            }
            return out;
        }
    }
    range.clone()
}

fn number_value(prop: &Property, diagnostics: &mut Vec<Diagnostic>) -> Option<u64> {
    match &prop.value {
        Some(PropertyValue::Number(n)) => n.value,
        Some(PropertyValue::List { span, .. }) => {
            diagnostics.push(
                Diagnostic::error(*span, format!("`{}` takes a number", prop.key.text))
                    .label("found a list"),
            );
            None
        }
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
        Some(PropertyValue::List { span, .. }) => {
            diagnostics.push(
                Diagnostic::error(
                    *span,
                    format!("`{}` takes a name or a name range", prop.key.text),
                )
                .label("found a list")
                .help("lists are for binning rules; write `engine = TPC_0..TPC_7`"),
            );
            None
        }
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
