//! Checks the optional `kernel` block: what the driver's hand-written C tables need that the
//! queues and engines do not already say.
//!
//! ```text
//! kernel {
//!     queue_to_engine = sentinel
//!     dma_channel PCI_DMA_1..PCI_DMA_2 -> DMA_0..DMA_1
//! }
//! ```
//!
//! `queue_to_engine` says how `<prefix>_queue_id_to_engine_id[]` treats a queue without an engine
//! (`none`: the driver has no such table; `sentinel`: it maps to `<PREFIX>_ENGINE_ID_SIZE`;
//! `omit`: it has no entry, which C can only express for queues after every engine-bound one).
//! `dma_channel` lines name the driver's `enum <prefix>_dma_channels` and pair each channel with a
//! DMA engine in order, as `<prefix>_dma_assignment[]` does.

use std::collections::HashMap;

use super::names::expand;
use super::settings::{Settings, list};
use crate::ast::{DmaChannelDecl, KernelBlock};
use crate::diagnostic::Diagnostic;
use crate::model::{DmaChannel, Engine, EngineKind, KernelSpec, Queue, QueueEngineMap};
use crate::source::Span;
use crate::suggest;

const KERNEL_KEYS: &[&str] = &["queue_to_engine"];

/// Checks the `kernel` blocks of a spec (at most one) against its engines and queues.
///
/// `engine_spans` names every engine that was declared, also those whose declaration failed
/// (`None` when the engine table could not even be expanded), so a line naming one of them is
/// not reported a second time.
pub fn check(
    blocks: &[KernelBlock],
    engines: &[Engine],
    engine_spans: &Option<HashMap<String, Span>>,
    queues: &[Queue],
    reserved_queue_ids: &[u32],
    diagnostics: &mut Vec<Diagnostic>,
) -> KernelSpec {
    let Some((block, again)) = blocks.split_first() else {
        return KernelSpec::default();
    };
    for extra in again {
        diagnostics.push(
            Diagnostic::error(extra.settings.keyword, "a second `kernel` block")
                .label("a spec has one of these")
                .note(block.settings.keyword, "the first one is here")
                .help("merge the two blocks into one"),
        );
    }
    let settings = Settings::read(
        Some(&block.settings),
        "kernel",
        block.settings.keyword,
        KERNEL_KEYS,
        diagnostics,
    );
    let queue_to_engine = match settings.get("queue_to_engine") {
        None => QueueEngineMap::default(),
        Some(setting) => {
            let choices: Vec<&str> = QueueEngineMap::ALL.iter().map(|m| m.spec_name()).collect();
            let map = settings
                .choice(
                    "queue_to_engine",
                    &choices,
                    QueueEngineMap::from_spec_name,
                    diagnostics,
                )
                .unwrap_or_default();
            if map == QueueEngineMap::Omit {
                check_omit(
                    setting.value.span(),
                    queues,
                    reserved_queue_ids,
                    diagnostics,
                );
            }
            map
        }
    };
    let mut dma_channels = Vec::new();
    let mut channel_at: HashMap<String, Span> = HashMap::new();
    let mut engine_at: HashMap<u32, Span> = HashMap::new();
    for decl in &block.dma_channels {
        for channel in dma_line(decl, engines, engine_spans, diagnostics) {
            if let Some(first) = channel_at.get(&channel.name) {
                diagnostics.push(
                    Diagnostic::error(
                        decl.channels.span,
                        format!("DMA channel `{}` is declared twice", channel.name),
                    )
                    .label("declared again here")
                    .note(*first, "first declared here")
                    .help("every DMA channel needs its own name"),
                );
                continue;
            }
            if let Some(first) = engine_at.get(&channel.engine) {
                let name = engines
                    .iter()
                    .find(|e| e.props.id == channel.engine)
                    .map_or("?", |e| e.props.name.as_str());
                diagnostics.push(
                    Diagnostic::error(
                        decl.engines.span,
                        format!("engine `{name}` is assigned to two DMA channels"),
                    )
                    .label(format!("`{}` would be served by it too", channel.name))
                    .note(*first, "first assigned here")
                    .help("the driver assigns each DMA engine one channel"),
                );
                continue;
            }
            channel_at.insert(channel.name.clone(), decl.channels.span);
            engine_at.insert(channel.engine, decl.engines.span);
            dma_channels.push(channel);
        }
    }
    KernelSpec {
        queue_to_engine,
        dma_channels,
    }
}

/// `omit` leaves holes C fills with 0 (an engine id) unless every queue without an engine, and
/// every reserved id, comes after the last queue that has one.
fn check_omit(at: Span, queues: &[Queue], reserved: &[u32], diagnostics: &mut Vec<Diagnostic>) {
    let Some(last_bound) = queues
        .iter()
        .filter(|q| q.props.engine.is_some())
        .map(|q| q.props.id)
        .max()
    else {
        return;
    };
    let hole = queues
        .iter()
        .filter(|q| q.props.engine.is_none() && q.props.id < last_bound)
        .map(|q| (q.props.id, format!("`{}`", q.props.name)))
        .chain(
            reserved
                .iter()
                .filter(|id| **id < last_bound)
                .map(|id| (*id, "reserved id".to_string())),
        )
        .min_by_key(|(id, _)| *id);
    if let Some((id, what)) = hole {
        diagnostics.push(
            Diagnostic::error(at, "`omit` would leave a hole in the queue → engine table")
                .label(format!(
                    "{what} (id {id}) has no engine, but queues after it do"
                ))
                .help(
                    "C fills a hole with 0, which reads as engine 0; use `sentinel`, or number \
                     the queues without an engine after every queue that has one",
                ),
        );
    }
}

/// The channels of one `dma_channel` line, after its own checks; empty if the line is broken.
fn dma_line(
    decl: &DmaChannelDecl,
    engines: &[Engine],
    engine_spans: &Option<HashMap<String, Span>>,
    diagnostics: &mut Vec<Diagnostic>,
) -> Vec<DmaChannel> {
    let (channels, engine_names) = match (expand(&decl.channels), expand(&decl.engines)) {
        (Ok(c), Ok(e)) => (c, e),
        (c, e) => {
            diagnostics.extend(c.err());
            diagnostics.extend(e.err());
            return Vec::new();
        }
    };
    if channels.len() != engine_names.len() {
        diagnostics.push(
            Diagnostic::error(
                decl.engines.span,
                format!(
                    "{} engines for {} DMA channels",
                    engine_names.len(),
                    channels.len()
                ),
            )
            .label("the engines pair up with the channels in order")
            .note(decl.channels.span, "the channels")
            .help("name exactly one DMA engine per channel"),
        );
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut broken = false;
    for (channel, engine_name) in channels.into_iter().zip(engine_names) {
        let Some(engine) = engines.iter().find(|e| e.props.name == engine_name) else {
            broken = true;
            // Declared but rejected, or the table is incomplete: that diagnostic is the one.
            if engine_spans
                .as_ref()
                .is_none_or(|s| s.contains_key(&engine_name))
            {
                continue;
            }
            diagnostics.push(suggest::unknown(
                decl.engines.span,
                "engine",
                &engine_name,
                "no engine has this name",
                "engines",
                engines.iter().map(|e| e.props.name.as_str()),
            ));
            continue;
        };
        if engine.props.kind != EngineKind::Dma {
            broken = true;
            let dma: Vec<&str> = engines
                .iter()
                .filter(|e| e.props.kind == EngineKind::Dma)
                .map(|e| e.props.name.as_str())
                .collect();
            diagnostics.push(
                Diagnostic::error(
                    decl.engines.span,
                    format!(
                        "`{}` is {} engine, not a DMA engine",
                        engine.props.name,
                        article(engine.props.kind.spec_name())
                    ),
                )
                .label(format!("DMA channel `{channel}` would be served by it"))
                .help(if dma.is_empty() {
                    "declare `dma` engines in the `engines` block".to_string()
                } else {
                    format!("a DMA channel is served by one of {}", list(&dma))
                }),
            );
            continue;
        }
        out.push(DmaChannel {
            name: channel,
            engine: engine.props.id,
            doc: decl.doc.clone(),
        });
    }
    if broken { Vec::new() } else { out }
}

fn article(word: &str) -> String {
    let an = word.starts_with(['a', 'e', 'i', 'o', 'u']);
    format!("{} `{word}`", if an { "an" } else { "a" })
}
