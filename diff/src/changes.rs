//! The semantic change list: what changed between two checked specs, said in the spec's terms.
//!
//! Engines and queues are matched by name. One that is gone while a new name of the same kind
//! sits at its id was renamed; everything else is added, removed, renumbered or changed property
//! by property (C spellings are left to the uapi lints, which see them as user space does).
//! Properties are compared as `(name, value)` lists built in one place per item
//! kind, so a new property in the Model needs one line here to show up in diffs.

use serde::Serialize;

use asicgen_dsl::model::{Action, Engine, Event, Model, Queue, QueueValue};

/// Which part of the spec a change is in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// The `asic` block: name, prefix, PCI ids, lifecycle file.
    Header,
    /// The `limits` block.
    Limits,
    /// The `features` block.
    Features,
    /// Engines and reserved engine ids.
    Engines,
    /// Queues and reserved queue ids.
    Queues,
    /// Completion queues the driver reserves.
    CompletionQueues,
    /// The sync manager's counts and reserved ranges.
    SyncManager,
    /// Per-device binning rules.
    Binning,
    /// The CS lifecycle.
    Lifecycle,
}

impl Section {
    /// The heading used in reports.
    pub const fn title(self) -> &'static str {
        match self {
            Section::Header => "header",
            Section::Limits => "limits",
            Section::Features => "features",
            Section::Engines => "engines",
            Section::Queues => "queues",
            Section::CompletionQueues => "completion_queues",
            Section::SyncManager => "sync_manager",
            Section::Binning => "binning",
            Section::Lifecycle => "lifecycle",
        }
    }
}

/// What kind of change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Something new.
    Added,
    /// Something gone.
    Removed,
    /// Same thing, another id.
    Renumbered,
    /// Same id and kind, another name.
    Renamed,
    /// A value changed.
    Changed,
}

impl Kind {
    /// The one-character marker used in text reports.
    pub const fn marker(self) -> char {
        match self {
            Kind::Added => '+',
            Kind::Removed => '-',
            Kind::Renumbered | Kind::Renamed | Kind::Changed => '~',
        }
    }
}

/// One change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Where.
    pub section: Section,
    /// What kind.
    pub kind: Kind,
    /// The item (engine, queue, setting, state) as named in the old spec (new if added).
    pub subject: String,
    /// What happened to it, one line.
    pub detail: String,
    /// For a renumbered item: new id minus old id (reports group equal shifts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shift: Option<i64>,
}

fn change(section: Section, kind: Kind, subject: &str, detail: String) -> Change {
    Change {
        section,
        kind,
        subject: subject.to_string(),
        detail,
        shift: None,
    }
}

/// Every change from `old` to `new`, grouped by section in spec order.
pub fn changes(old: &Model, new: &Model) -> Vec<Change> {
    let mut out = Vec::new();
    settings(Section::Header, &header(old), &header(new), &mut out);
    settings(Section::Limits, &limits(old), &limits(new), &mut out);
    settings(Section::Features, &features(old), &features(new), &mut out);
    let engines = |m: &Model| -> Vec<Item> { m.engines.iter().map(engine_item).collect() };
    items(Section::Engines, &engines(old), &engines(new), &mut out);
    reserved(
        Section::Engines,
        &old.reserved_engine_ids,
        &new.reserved_engine_ids,
        &mut out,
    );
    let queues = |m: &Model| -> Vec<Item> { m.queues.iter().map(|q| queue_item(m, q)).collect() };
    items(Section::Queues, &queues(old), &queues(new), &mut out);
    reserved(
        Section::Queues,
        &old.reserved_queue_ids,
        &new.reserved_queue_ids,
        &mut out,
    );
    settings(
        Section::CompletionQueues,
        &completion_queues(old),
        &completion_queues(new),
        &mut out,
    );
    settings(
        Section::SyncManager,
        &sync_manager(old),
        &sync_manager(new),
        &mut out,
    );
    settings(Section::Binning, &binning(old), &binning(new), &mut out);
    lifecycle(old, new, &mut out);
    out
}

fn completion_queues(m: &Model) -> Props {
    let mut props: Props = m
        .reserved_cqs
        .iter()
        .map(|cq| (cq.name.clone(), cq.id.to_string()))
        .collect();
    props.push(("first user CQ".to_string(), m.first_user_cq().to_string()));
    props
}

fn sync_manager(m: &Model) -> Props {
    let Some(sm) = &m.sync_manager else {
        return Vec::new();
    };
    let mut props: Props = vec![
        ("sobs".to_string(), sm.sobs.to_string()),
        ("monitors".to_string(), sm.monitors.to_string()),
        (
            "uapi_name".to_string(),
            sm.uapi_name.clone().unwrap_or_else(|| "none".into()),
        ),
    ];
    for r in &sm.ranges {
        props.push((
            format!("reserve {}", r.name),
            format!(
                "SOBs {}..{}, monitors {}..{}",
                r.first_sob,
                r.first_sob + r.sobs,
                r.first_monitor,
                r.first_monitor + r.monitors
            ),
        ));
    }
    props.push((
        "first user SOB".to_string(),
        sm.first_user_sob().to_string(),
    ));
    props.push((
        "first user monitor".to_string(),
        sm.first_user_monitor().to_string(),
    ));
    props
}

fn binning(m: &Model) -> Props {
    let engine = |id: u32| {
        m.engine(id)
            .map_or_else(|| format!("#{id}"), |e| e.props.name.clone())
    };
    m.binning
        .iter()
        .map(|rule| {
            let units: Vec<String> = rule.units.iter().map(|&u| engine(u)).collect();
            let spares: Vec<String> = rule.substitutes.iter().map(|s| engine(s.engine)).collect();
            (
                rule.name.clone(),
                format!(
                    "units [{}], max_faulty {}, substitutes [{}]",
                    units.join(", "),
                    rule.max_faulty,
                    spares.join(", ")
                ),
            )
        })
        .collect()
}

/// `(name, value)` pairs compared by name.
type Props = Vec<(String, String)>;

fn header(m: &Model) -> Props {
    let devices: Vec<String> = m.pci_devices.iter().map(|d| format!("{d:#06x}")).collect();
    vec![
        ("name".to_string(), m.name.clone()),
        ("uapi_prefix".to_string(), m.uapi_prefix.clone()),
        ("pci_vendor".to_string(), format!("{:#06x}", m.pci_vendor)),
        (
            "pci_devices".to_string(),
            format!("[{}]", devices.join(", ")),
        ),
        ("lifecycle".to_string(), m.lifecycle.name.clone()),
    ]
}

fn limits(m: &Model) -> Props {
    let l = &m.limits;
    vec![
        ("max_pending_cs".to_string(), l.max_pending_cs.to_string()),
        ("max_jobs_per_cs".to_string(), l.max_jobs_per_cs.to_string()),
        ("queue_length".to_string(), l.queue_length.to_string()),
        ("cq_length".to_string(), l.cq_length.to_string()),
        (
            "cs_timeout".to_string(),
            format!("{}ms", l.cs_timeout.as_millis()),
        ),
        (
            "completion".to_string(),
            l.completion.spec_name().to_string(),
        ),
    ]
}

fn features(m: &Model) -> Props {
    m.features
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn settings(section: Section, old: &Props, new: &Props, out: &mut Vec<Change>) {
    for (key, old_value) in old {
        match new.iter().find(|(k, _)| k == key) {
            Some((_, new_value)) if new_value != old_value => out.push(change(
                section,
                Kind::Changed,
                key,
                format!("{old_value} → {new_value}"),
            )),
            Some(_) => {}
            None => out.push(change(
                section,
                Kind::Removed,
                key,
                format!("was {old_value}"),
            )),
        }
    }
    for (key, new_value) in new {
        if !old.iter().any(|(k, _)| k == key) {
            out.push(change(section, Kind::Added, key, format!("= {new_value}")));
        }
    }
}

/// An engine or queue reduced to what the diff compares.
struct Item {
    name: String,
    id: u32,
    /// Engine kind or queue type: a rename keeps it.
    kind: String,
    props: Props,
}

fn engine_item(e: &Engine) -> Item {
    Item {
        name: e.props.name.clone(),
        id: e.props.id,
        kind: e.props.kind.spec_name().to_string(),
        props: vec![("kind".to_string(), e.props.kind.spec_name().to_string())],
    }
}

fn queue_item(m: &Model, q: &Queue) -> Item {
    let engine = |engine: Option<u32>| match engine {
        Some(id) => m
            .engine(id)
            .map_or_else(|| format!("#{id}"), |e| e.props.name.clone()),
        None => "none".to_string(),
    };
    let number = |n: Option<u32>| n.map_or_else(|| "none".to_string(), |n| n.to_string());
    Item {
        name: q.props.name.clone(),
        id: q.props.id,
        kind: q.props.queue_type.spec_name().to_string(),
        // why: every property, from the tables crate's one list; a new one shows up here alone.
        props: q
            .props
            .properties()
            .iter()
            .map(|p| {
                let value = match p.value {
                    QueueValue::Choice(name, _) => name.to_string(),
                    QueueValue::Engine(id) => engine(id),
                    QueueValue::Flag(on) => on.to_string(),
                    QueueValue::Length(n) => n.to_string(),
                    QueueValue::Cq(cq) => number(cq),
                };
                (p.spec_name.to_string(), value)
            })
            .collect(),
    }
}

fn items(section: Section, old: &[Item], new: &[Item], out: &mut Vec<Change>) {
    let by_name = |list: &'_ [Item], name: &str| list.iter().position(|i| i.name == name);
    let mut renamed_to: Vec<usize> = Vec::new();
    let mut removed = Vec::new();
    let mut renumbered = Vec::new();
    let mut changed = Vec::new();
    for o in old {
        let Some(j) = by_name(new, &o.name) else {
            let successor = new
                .iter()
                .position(|n| n.id == o.id && n.kind == o.kind && by_name(old, &n.name).is_none());
            match successor {
                Some(j) => {
                    renamed_to.push(j);
                    out.push(change(
                        section,
                        Kind::Renamed,
                        &o.name,
                        format!("is now `{}` (id {})", new[j].name, o.id),
                    ));
                    property_changes(section, &o.name, &o.props, &new[j].props, &mut changed);
                }
                None => removed.push(change(
                    section,
                    Kind::Removed,
                    &o.name,
                    format!("was id {} ({})", o.id, o.kind),
                )),
            }
            continue;
        };
        let n = &new[j];
        if n.id != o.id {
            let mut c = change(
                section,
                Kind::Renumbered,
                &o.name,
                format!("id {} → {}", o.id, n.id),
            );
            c.shift = Some(i64::from(n.id) - i64::from(o.id));
            renumbered.push(c);
        }
        property_changes(section, &o.name, &o.props, &n.props, &mut changed);
    }
    for (j, n) in new.iter().enumerate() {
        if by_name(old, &n.name).is_none() && !renamed_to.contains(&j) {
            out.push(change(
                section,
                Kind::Added,
                &n.name,
                format!("id {} ({})", n.id, n.kind),
            ));
        }
    }
    out.extend(removed);
    out.extend(renumbered);
    out.extend(changed);
}

fn property_changes(section: Section, name: &str, old: &Props, new: &Props, out: &mut Vec<Change>) {
    for ((key, o), (_, n)) in old.iter().zip(new) {
        if o != n {
            out.push(change(
                section,
                Kind::Changed,
                name,
                format!("{key}: {o} → {n}"),
            ));
        }
    }
}

fn reserved(section: Section, old: &[u32], new: &[u32], out: &mut Vec<Change>) {
    for id in old.iter().filter(|id| !new.contains(id)) {
        out.push(change(
            section,
            Kind::Removed,
            &format!("reserved {id}"),
            "no longer reserved".to_string(),
        ));
    }
    for id in new.iter().filter(|id| !old.contains(id)) {
        out.push(change(
            section,
            Kind::Added,
            &format!("reserved {id}"),
            "newly reserved".to_string(),
        ));
    }
}

fn lifecycle(old: &Model, new: &Model, out: &mut Vec<Change>) {
    let (ol, nl) = (&old.lifecycle, &new.lifecycle);
    let section = Section::Lifecycle;
    let index = |l: &asicgen_dsl::model::Lifecycle, name: &str| {
        l.states.iter().position(|s| s.name == name)
    };
    let initial = (&ol.states[ol.initial].name, &nl.states[nl.initial].name);
    if initial.0 != initial.1 {
        out.push(change(
            section,
            Kind::Changed,
            "initial state",
            format!("{} → {}", initial.0, initial.1),
        ));
    }
    let outcome = |s: &asicgen_dsl::model::State| {
        s.outcome.map_or_else(
            || "not terminal".to_string(),
            |o| format!("terminal, signals {o}"),
        )
    };
    for s in &ol.states {
        match index(nl, &s.name) {
            None => out.push(change(
                section,
                Kind::Removed,
                &s.name,
                "state removed".into(),
            )),
            Some(j) if outcome(&nl.states[j]) != outcome(s) => out.push(change(
                section,
                Kind::Changed,
                &s.name,
                format!("{} → {}", outcome(s), outcome(&nl.states[j])),
            )),
            Some(_) => {}
        }
    }
    for s in &nl.states {
        if index(ol, &s.name).is_none() {
            out.push(change(
                section,
                Kind::Added,
                &s.name,
                format!("state, {}", outcome(s)),
            ));
        }
    }
    let target = |l: &asicgen_dsl::model::Lifecycle, action: Action| match action {
        Action::Goto(to) => l.states[to].name.clone(),
        Action::Ignore => "ignored".to_string(),
    };
    for (i, s) in ol.states.iter().enumerate() {
        let Some(j) = index(nl, &s.name) else {
            continue;
        };
        for event in Event::ALL {
            let (o, n) = (
                target(ol, ol.action(i, event)),
                target(nl, nl.action(j, event)),
            );
            if o != n {
                out.push(change(
                    section,
                    Kind::Changed,
                    &format!("{} on {event}", s.name),
                    format!("{o} → {n}"),
                ));
            }
        }
    }
}
