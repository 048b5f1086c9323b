//! The kernel tables of a Model as plain data: what the C header prints and what the fidelity
//! test reduces to `(table, index, value)` rows. Names are the kernel's (`GAUDI_QUEUE_ID_DMA_0_0`,
//! `QUEUE_TYPE_EXT`, `HL_COLLECTIVE_MASTER`); the C text is in `render.rs`.

use asicgen_dsl::model::{CompletionMode, Model, QueueEngineMap, QueueType};

use super::sync_layout::{self, SyncLayout};
use crate::names;

/// Everything the kernel header declares, in the order it prints it.
pub struct Tables {
    /// `<PREFIX>` in upper case (`GAUDI`), for constants.
    pub upper: String,
    /// Enums the header declares (the driver's DMA channels).
    pub enums: Vec<Enum>,
    /// `#define`s, in groups.
    pub defines: Vec<Define>,
    /// The `static const` arrays.
    pub arrays: Vec<Array>,
}

/// An enum declared the way the kernel writes its private enums: implicit values from 0 and a
/// count as the last enumerator.
pub struct Enum {
    /// Comment above it.
    pub comment: String,
    /// `gaudi_dma_channels`.
    pub tag: String,
    /// Enumerators, each with an optional comment and an explicit value.
    pub enumerators: Vec<(String, Option<String>, Option<u32>)>,
    /// The count (`GAUDI_DMA_MAX`).
    pub count: String,
    /// The count's explicit value, if it is not one past the last enumerator.
    pub count_value: Option<u32>,
    /// The rows `(table, index)` the count's value stands for.
    pub rows: Vec<(&'static str, String)>,
}

/// `#define NAME value`.
pub struct Define {
    /// Comment above it (a group starts at a define with a comment).
    pub comment: Option<String>,
    /// The macro name.
    pub name: String,
    /// What the C text says (a number or a kernel name).
    pub c_value: String,
    /// The rows `(table, index)` this value stands for in kernel_tables.tsv terms.
    pub rows: Vec<(&'static str, String)>,
}

/// A `static const` array.
pub struct Array {
    /// Comment above it.
    pub comment: String,
    /// The C element type (`u32`, `enum hl_queue_type`, ...).
    pub c_type: String,
    /// The array's name (`gaudi_queue_type`).
    pub name: String,
    /// The length between the brackets; empty for `[]`.
    pub size: String,
    /// The length as a number, and the tables it is the value of (`max_queues`).
    pub size_rows: Vec<(&'static str, u32)>,
    /// The table name of its rows (`queue_type`; `props` gives `props.<field>`).
    pub table: &'static str,
    /// How the initialiser is written.
    pub style: Style,
    /// The elements, by index.
    pub entries: Vec<Entry>,
}

/// How an array initialiser is written.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// `VALUE, /* INDEX */` one per line (the kernel's `gaudi_queue_type[]`).
    PositionalCommented,
    /// `VALUE,` one per line (`gaudi_stream_master[]`).
    Positional,
    /// `[INDEX] = VALUE,` one per line (`gaudi_cq_assignment[]`).
    Designated,
    /// `[FIRST...LAST] = VALUE,` over runs of equal values (`gaudi_queue_id_to_engine_id[]`).
    DesignatedRanges,
}

/// One element.
pub struct Entry {
    /// Its index as a number (runs are found on it).
    pub index: u32,
    /// Its index as C writes it.
    pub index_name: String,
    /// Its value.
    pub value: Value,
}

/// An element's value.
#[derive(Clone, PartialEq, Eq)]
pub enum Value {
    /// A scalar, as C writes it.
    One(String),
    /// A struct initialiser: `(field, value)` in declaration order.
    Fields(Vec<(&'static str, String)>),
}

/// The kernel tables of `model`.
pub fn tables(model: &Model) -> Tables {
    let upper = names::c_prefix(&model.uapi_prefix);
    let lower = upper.to_ascii_lowercase();
    let engine_name = |id: u32| {
        model
            .engine(id)
            .map_or_else(|| id.to_string(), |e| names::word_chars(&e.c_name))
    };
    let layout = sync_layout::derive(model);
    let count = |t: QueueType| {
        model
            .queues
            .iter()
            .filter(|q| q.props.queue_type == t)
            .count()
    };
    let queue_bits = |max: u32| if max < 256 { "u8" } else { "u16" };

    let mut enums = Vec::new();
    let mut defines = Vec::new();
    let mut arrays = Vec::new();

    // ---- constants
    let define = |comment: Option<&str>,
                  name: String,
                  value: String,
                  rows: Vec<(&'static str, String)>| Define {
        comment: comment.map(str::to_owned),
        name,
        c_value: value,
        rows,
    };
    let kernel_define = |name: &str| ("kernel_define", name.to_string());
    let n = |v: usize| v.to_string();
    defines.push(define(
        Some(
            "Hardware queues by type (NUMBER_OF_HW_QUEUES counts them all), and completion queues",
        ),
        "NUMBER_OF_EXT_HW_QUEUES".into(),
        n(count(QueueType::External)),
        vec![kernel_define("NUMBER_OF_EXT_HW_QUEUES")],
    ));
    defines.push(define(
        None,
        "NUMBER_OF_CPU_HW_QUEUES".into(),
        n(count(QueueType::Cpu)),
        vec![kernel_define("NUMBER_OF_CPU_HW_QUEUES")],
    ));
    defines.push(define(
        None,
        "NUMBER_OF_INT_HW_QUEUES".into(),
        n(count(QueueType::Internal)),
        vec![kernel_define("NUMBER_OF_INT_HW_QUEUES")],
    ));
    defines.push(define(
        None,
        "NUMBER_OF_HW_QUEUES".into(),
        n(model.queues.len()),
        vec![kernel_define("NUMBER_OF_HW_QUEUES")],
    ));
    defines.push(define(
        None,
        "NUMBER_OF_CMPLT_QUEUES".into(),
        model.completion_queue_count().to_string(),
        vec![
            kernel_define("NUMBER_OF_CMPLT_QUEUES"),
            ("completion_queues_count", "-".into()),
        ],
    ));
    let max_pending = format!("{upper}_MAX_PENDING_CS");
    defines.push(define(
        Some("Pending CSs per context (a power of two) and how completions are reported"),
        max_pending.clone(),
        model.limits.max_pending_cs.to_string(),
        vec![kernel_define(&max_pending), ("max_pending_cs", "-".into())],
    ));
    defines.push(define(
        None,
        format!("{upper}_COMPLETION_MODE"),
        match model.limits.completion {
            CompletionMode::PerJob => "HL_COMPLETION_MODE_JOB",
            CompletionMode::PerCs => "HL_COMPLETION_MODE_CS",
        }
        .into(),
        vec![("completion_mode", "-".into())],
    ));
    let masters: Vec<&asicgen_dsl::model::Queue> = model
        .queues
        .iter()
        .filter(|q| q.props.stream_master)
        .collect();
    let master_size = format!("{upper}_STREAM_MASTER_ARR_SIZE");
    if !masters.is_empty() {
        defines.push(define(
            Some("Stream masters of multi-CS waits"),
            master_size.clone(),
            n(masters.len()),
            vec![kernel_define(&master_size)],
        ));
    }
    sync_defines(&upper, &layout, &mut defines);

    // ---- the DMA channels
    let dma_max = format!("{upper}_DMA_MAX");
    if !model.kernel.dma_channels.is_empty() {
        enums.push(Enum {
            comment: "The driver's DMA channels, indexing the DMA assignment".into(),
            tag: format!("{lower}_dma_channels"),
            enumerators: model
                .kernel
                .dma_channels
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    // why: a line's doc is copied onto each of its channels; say it once.
                    let repeated = i > 0 && model.kernel.dma_channels[i - 1].doc == c.doc;
                    let doc = names::doc_one_line(&c.doc);
                    (
                        format!("{upper}_{}", names::word_chars(&c.name)),
                        (!doc.is_empty() && !repeated).then_some(doc),
                        None,
                    )
                })
                .collect(),
            count: dma_max.clone(),
            count_value: None,
            rows: Vec::new(),
        });
    }

    if !model.reserved_cqs.is_empty() {
        let mut cqs = model.reserved_cqs.clone();
        cqs.sort_by_key(|c| c.id);
        enums.push(Enum {
            comment: "Completion queues the driver keeps for itself".into(),
            tag: format!("{lower}_reserved_cq_id"),
            enumerators: cqs
                .iter()
                .map(|c| {
                    let doc = names::doc_one_line(&c.doc);
                    (
                        format!("{upper}_RESERVED_CQ_{}", names::word_chars(&c.name)),
                        (!doc.is_empty()).then_some(doc),
                        Some(c.id),
                    )
                })
                .collect(),
            count: format!("{upper}_RESERVED_CQ_NUMBER"),
            count_value: Some(model.first_user_cq()),
            rows: vec![("first_available_cq", "0".into())],
        });
    }
    for (what, tag, first, count, number) in [
        (
            "sync objects",
            "SOB",
            (|r: &asicgen_dsl::model::SyncRange| r.first_sob) as fn(&_) -> u32,
            (|r: &asicgen_dsl::model::SyncRange| r.sobs) as fn(&_) -> u32,
            layout.sync_stream_first_sob,
        ),
        (
            "monitors",
            "MON",
            |r| r.first_monitor,
            |r| r.monitors,
            layout.sync_stream_first_mon,
        ),
    ] {
        if layout.reserved.is_empty() {
            continue;
        }
        let mut enumerators = Vec::new();
        for range in &layout.reserved {
            let name = format!(
                "{upper}_RESERVED_{tag}_{}",
                names::word_chars(&range.name).to_ascii_uppercase()
            );
            match count(range) {
                0 => {}
                1 => enumerators.push((name, None, Some(first(range)))),
                n => {
                    enumerators.push((format!("{name}_FIRST"), None, Some(first(range))));
                    let last = first(range).saturating_add(n - 1);
                    enumerators.push((format!("{name}_LAST"), None, Some(last)));
                }
            }
        }
        enums.push(Enum {
            comment: format!(
                "Reserved {what}, in the sync manager's order; the sync-stream range follows"
            ),
            tag: format!("{lower}_reserved_{}_id", tag.to_ascii_lowercase()),
            enumerators,
            count: format!("{upper}_RESERVED_{tag}_NUMBER"),
            count_value: Some(number),
            rows: Vec::new(),
        });
    }

    // ---- the arrays
    let size_name = names::c_enumerator(&model.uapi_prefix, "queue", "SIZE");
    let queue_id_size = model.queue_id_size();
    let mut by_id: Vec<(u32, Option<&asicgen_dsl::model::Queue>)> = model
        .queues
        .iter()
        .map(|q| (q.props.id, Some(q)))
        .chain(model.reserved_queue_ids.iter().map(|id| (*id, None)))
        .collect();
    by_id.sort_by_key(|(id, _)| *id);
    let index_name = |id: u32, q: Option<&asicgen_dsl::model::Queue>| {
        q.map_or_else(|| id.to_string(), |q| names::word_chars(&q.c_name))
    };

    arrays.push(Array {
        comment: "Queue types, by queue id (QUEUE_TYPE_NA for a reserved id)".into(),
        c_type: "enum hl_queue_type".into(),
        name: format!("{lower}_queue_type"),
        size: size_name.clone(),
        size_rows: vec![("max_queues", queue_id_size)],
        table: "queue_type",
        style: Style::PositionalCommented,
        entries: by_id
            .iter()
            .map(|(id, q)| Entry {
                index: *id,
                index_name: index_name(*id, *q),
                value: Value::One(
                    q.map_or("QUEUE_TYPE_NA", |q| q.props.queue_type.kernel_name())
                        .to_string(),
                ),
            })
            .collect(),
    });

    if model.kernel.queue_to_engine != QueueEngineMap::None {
        let sentinel = names::c_enumerator(&model.uapi_prefix, "engine", "SIZE");
        let omit = model.kernel.queue_to_engine == QueueEngineMap::Omit;
        arrays.push(Array {
            comment: if omit {
                "The engine behind each queue; queues without one have no entry".into()
            } else {
                format!("The engine behind each queue; {sentinel} for a queue without one")
            },
            c_type: "u32".into(),
            name: format!("{lower}_queue_id_to_engine_id"),
            size: String::new(),
            size_rows: Vec::new(),
            table: "queue_id_to_engine_id",
            style: Style::DesignatedRanges,
            entries: by_id
                .iter()
                .filter_map(|(id, q)| {
                    let value = match q.and_then(|q| q.props.engine) {
                        Some(e) => engine_name(e),
                        None if omit => return None,
                        None => sentinel.clone(),
                    };
                    Some(Entry {
                        index: *id,
                        index_name: index_name(*id, *q),
                        value: Value::One(value),
                    })
                })
                .collect(),
        });
    }

    let any_binned = model.queues.iter().any(|q| q.props.binned);
    arrays.push(Array {
        comment: format!(
            "What {lower}_set_fixed_properties() writes into prop->hw_queues_props[], by queue id"
        ),
        c_type: "struct hw_queue_properties".into(),
        name: format!("{lower}_hw_queues_props"),
        size: size_name,
        size_rows: Vec::new(),
        table: "props",
        style: Style::DesignatedRanges,
        entries: model
            .queues
            .iter()
            .map(|q| {
                let mut fields = vec![
                    ("type", q.props.queue_type.kernel_name().to_string()),
                    ("cb_alloc_flags", q.props.cb_alloc.kernel_name().to_string()),
                    (
                        "collective_mode",
                        q.props.collective.kernel_name().to_string(),
                    ),
                    ("driver_only", u8::from(q.props.driver_only).to_string()),
                ];
                // why: older kernels have no `binned` field; name it only when a queue needs it.
                if any_binned {
                    fields.push(("binned", u8::from(q.props.binned).to_string()));
                }
                fields.push((
                    "supports_sync_stream",
                    u8::from(q.props.supports_sync_stream).to_string(),
                ));
                Entry {
                    index: q.props.id,
                    index_name: names::word_chars(&q.c_name),
                    value: Value::Fields(fields),
                }
            })
            .collect(),
    });

    if !masters.is_empty() {
        arrays.push(Array {
            comment: "Stream masters of multi-CS waits, in queue id order".into(),
            c_type: "u32".into(),
            name: format!("{lower}_stream_master"),
            size: master_size,
            size_rows: Vec::new(),
            table: "stream_master",
            style: Style::Positional,
            entries: masters
                .iter()
                .enumerate()
                .map(|(i, q)| Entry {
                    index: i as u32,
                    index_name: i.to_string(),
                    value: Value::One(names::word_chars(&q.c_name)),
                })
                .collect(),
        });
    }

    // why: only external queues own their CQ; hw queues share a reserved one (Gaudi2).
    let mut cqs: Vec<(u32, &asicgen_dsl::model::Queue)> = model
        .queues
        .iter()
        .filter(|q| q.props.queue_type == QueueType::External)
        .filter_map(|q| q.props.cq.map(|cq| (cq, q)))
        .collect();
    cqs.sort_by_key(|(cq, _)| *cq);
    if !cqs.is_empty() {
        arrays.push(Array {
            comment: "The queue each completion queue serves".into(),
            c_type: queue_bits(queue_id_size).into(),
            name: format!("{lower}_cq_assignment"),
            size: "NUMBER_OF_CMPLT_QUEUES".into(),
            size_rows: Vec::new(),
            table: "cq_assignment",
            style: Style::Designated,
            entries: cqs
                .iter()
                .map(|(cq, q)| Entry {
                    index: *cq,
                    index_name: cq.to_string(),
                    value: Value::One(names::word_chars(&q.c_name)),
                })
                .collect(),
        });
    }

    if !model.kernel.dma_channels.is_empty() {
        arrays.push(Array {
            comment: "The DMA engine serving each of the driver's DMA channels".into(),
            c_type: queue_bits(model.engine_id_size()).into(),
            name: format!("{lower}_dma_assignment"),
            size: dma_max,
            size_rows: Vec::new(),
            table: "dma_assignment",
            style: Style::Designated,
            entries: model
                .kernel
                .dma_channels
                .iter()
                .enumerate()
                .map(|(i, c)| Entry {
                    index: i as u32,
                    index_name: format!("{upper}_{}", names::word_chars(&c.name)),
                    value: Value::One(engine_name(c.engine)),
                })
                .collect(),
        });
    }

    Tables {
        upper,
        enums,
        defines,
        arrays,
    }
}

/// The reserved sync-object layout as constants (all 0 when the generation has no sync stream:
/// the driver never assigns them).
fn sync_defines(upper: &str, layout: &SyncLayout, defines: &mut Vec<Define>) {
    if let Some(c) = layout.collective {
        let mut plain = |comment: Option<&str>, name: &str, value: u32| {
            defines.push(Define {
                comment: comment.map(str::to_owned),
                name: name.to_string(),
                c_value: value.to_string(),
                rows: vec![("kernel_define", name.to_string())],
            });
        };
        plain(
            Some("Collective operations: slave engines, their streams, SOBs per group"),
            "NUMBER_OF_COLLECTIVE_QUEUES",
            c.queues,
        );
        plain(None, "QMAN_STREAMS", c.streams);
        plain(None, "NUMBER_OF_SOBS_IN_GRP", c.sobs_in_group);
    }
    let mut push =
        |comment: Option<&str>, name: &str, value: u32, rows: Vec<(&'static str, String)>| {
            defines.push(Define {
                comment: comment.map(str::to_owned),
                name: format!("{upper}_{name}"),
                c_value: value.to_string(),
                rows,
            });
        };
    push(
        Some(if layout == &SyncLayout::default() {
            "No sync stream: the driver never assigns the sync-object layout, it stays 0"
        } else {
            "The sync manager's layout: where the collective and sync-stream ranges start, the \
             queues that support sync stream, and the first SOB and monitor left to users"
        }),
        "COLLECTIVE_FIRST_SOB",
        layout.collective_first_sob,
        vec![("collective_first_sob", "-".into())],
    );
    push(
        None,
        "COLLECTIVE_FIRST_MON",
        layout.collective_first_mon,
        vec![("collective_first_mon", "-".into())],
    );
    push(
        None,
        "SYNC_STREAM_FIRST_SOB",
        layout.sync_stream_first_sob,
        vec![("sync_stream_first_sob", "-".into())],
    );
    push(
        None,
        "SYNC_STREAM_FIRST_MON",
        layout.sync_stream_first_mon,
        vec![("sync_stream_first_mon", "-".into())],
    );
    push(
        None,
        "NUM_SYNC_STREAM_QUEUES",
        layout.sync_stream_queues,
        vec![("num_sync_stream_queues", "-".into())],
    );
    push(
        None,
        "FIRST_AVAILABLE_USER_SOB",
        layout.first_available_user_sob,
        vec![("first_available_user_sob", "0".into())],
    );
    push(
        None,
        "FIRST_AVAILABLE_USER_MON",
        layout.first_available_user_mon,
        vec![("first_available_user_mon", "0".into())],
    );
}
