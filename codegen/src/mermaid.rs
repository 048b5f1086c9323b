//! The CS lifecycle as a Mermaid `stateDiagram-v2`, which GitHub and GitLab render in a PR view.
//!
//! A state is written by its name where Mermaid reads that name as a plain state id. Where it
//! would not, the state gets an alias id and keeps its name as its label
//! (`state "Default" as _s3`). What Mermaid does not read as an id comes from its state-diagram
//! lexer (`stateDiagram.jison`, mermaid 11), whose rules are case-insensitive and tried in order
//! before the id rule:
//!
//! - `click\b`, `href\b`, `default\b`: tokens wherever they stand;
//! - `state\s+`, `note\s+`, `class\s+`, `classDef\s+`, `style\s+`, `scale\s+`,
//!   `stateDiagram\s+`, `accTitle\s*:`, `accDescr\s*:` / `\{`, `hide empty description`: at the
//!   start of a token, which is where a state name stands;
//! - `.*direction\s+(TB|BT|RL|LR)[^\n]*`: a whole line containing `direction` followed (across
//!   the line break) by one of those words, so any name *containing* `direction` can swallow
//!   the next line;
//! - and the parser turns `[*]` into the states `root_start` and `root_end`, which a state of
//!   that name would silently merge with.
//!
//! Words of other Mermaid diagrams (`end`, `as`, `left`, `right`, `of`, `direction`) are aliased
//! too: they cost nothing and keep the diagram safe if pasted into a composite state or note.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use asicgen_dsl::model::Lifecycle;

/// The diagram body (without the ```` ```mermaid ```` fence): `[*] --> Initial`, one edge per
/// transition labelled with its event, and `Terminal --> [*]` labelled with the fence outcome.
pub fn state_diagram(lifecycle: &Lifecycle) -> String {
    let ids = state_ids(lifecycle);
    let mut out = String::from("stateDiagram-v2\n");
    // why: `write!` into a String cannot fail; the results are ignored on purpose.
    for (state, id) in lifecycle.states.iter().zip(&ids) {
        if *id != state.name {
            let _ = writeln!(out, "    state \"{}\" as {id}", label(&state.name));
        }
    }
    let id = |index: usize| ids.get(index).map(String::as_str);
    if let Some(initial) = id(lifecycle.initial) {
        let _ = writeln!(out, "    [*] --> {initial}");
    }
    for (from, event, to) in lifecycle.transitions() {
        if let (Some(from), Some(to)) = (id(from), id(to)) {
            let _ = writeln!(out, "    {from} --> {to}: {}", event.spec_name());
        }
    }
    for (index, state) in lifecycle.states.iter().enumerate() {
        if let (Some(outcome), Some(id)) = (state.outcome, id(index)) {
            let _ = writeln!(out, "    {id} --> [*]: {}", outcome.spec_name());
        }
    }
    out
}

/// Words Mermaid's state-diagram lexer (or another diagram's) reads as something else than a
/// state id, compared case-insensitively.
const RESERVED: &[&str] = &[
    "click",
    "href",
    "default",
    "state",
    "note",
    "class",
    "classdef",
    "style",
    "scale",
    "statediagram",
    "acctitle",
    "accdescr",
    "hide",
    "direction",
    "end",
    "as",
    "left",
    "right",
    "of",
    "root_start",
    "root_end",
];

/// Whether Mermaid reads `name` as exactly one plain state id of that name.
pub(crate) fn is_plain_id(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    !name.is_empty()
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !RESERVED.contains(&lower.as_str())
        && !lower.contains("direction")
}

/// The label of an aliased state: its name, minus anything that could end the quoted string.
fn label(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '"' | '\n' | '\r'))
        .collect()
}

/// One id per state, in state order: the name itself where it is a plain id, else `_s<index>`
/// (with more leading `_` until it is taken by no other state).
fn state_ids(lifecycle: &Lifecycle) -> Vec<String> {
    let mut taken: BTreeSet<String> = lifecycle
        .states
        .iter()
        .filter(|s| is_plain_id(&s.name))
        .map(|s| s.name.clone())
        .collect();
    let mut seen = BTreeSet::new();
    lifecycle
        .states
        .iter()
        .enumerate()
        .map(|(index, state)| {
            // why: the dsl rejects duplicate names, but codegen is total: a second state of the
            // same name gets an alias rather than merging into the first.
            if is_plain_id(&state.name) && seen.insert(state.name.clone()) {
                return state.name.clone();
            }
            let mut id = format!("_s{index}");
            while taken.contains(&id) {
                id.insert(0, '_');
            }
            taken.insert(id.clone());
            id
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn initial_transitions_and_terminals() {
        let d = state_diagram(&fixture::model().lifecycle);
        assert_eq!(
            d,
            "stateDiagram-v2\n    [*] --> Allocated\n    Allocated --> InFlight: submit\n    \
             Allocated --> NotSubmitted: schedule_failure\n    InFlight --> Completed: jobs_done\n    \
             InFlight --> TimedOut: timeout_detected\n    InFlight --> Aborted: reset\n    \
             Completed --> [*]: ok\n    TimedOut --> [*]: timed_out\n    Aborted --> [*]: aborted\n    \
             NotSubmitted --> [*]: not_submitted\n"
        );
    }

    #[test]
    fn reserved_state_names_get_an_alias_and_keep_their_label() {
        let mut lc = fixture::model().lifecycle;
        lc.states[lc.initial].name = "Default".into();
        let d = state_diagram(&lc);
        let alias = format!("_s{}", lc.initial);
        assert!(
            d.contains(&format!("    state \"Default\" as {alias}\n")),
            "{d}"
        );
        assert!(d.contains(&format!("    [*] --> {alias}\n")), "{d}");
        assert!(
            !d.contains(" Default -->") && !d.contains("--> Default"),
            "{d}"
        );
    }

    #[test]
    fn what_the_mermaid_lexer_takes_is_not_a_plain_id() {
        for name in [
            "Default",
            "HREF",
            "click",
            "end",
            "note",
            "State",
            "classDef",
            "accTitle",
            "root_start",
            "direction",
            "MyDirection",
            "directionTB",
        ] {
            assert!(!is_plain_id(name), "{name}");
        }
        for name in [
            "InFlight", "Defaults", "href_ok", "Ending", "start1", "Notes", "_x",
        ] {
            assert!(is_plain_id(name), "{name}");
        }
    }

    #[test]
    fn an_alias_never_takes_another_states_name() {
        let mut lc = fixture::model().lifecycle;
        lc.states[0].name = "Href".into();
        lc.states[1].name = "_s0".into();
        let d = state_diagram(&lc);
        assert!(d.contains("    state \"Href\" as __s0\n"), "{d}");
        assert!(d.contains("_s0 --> ") || d.contains("--> _s0"), "{d}");
    }

    #[test]
    fn out_of_range_indices_are_skipped_not_panics() {
        let mut lc = fixture::model().lifecycle;
        lc.initial = 77;
        lc.table[0][0] = asicgen_dsl::model::Action::Goto(99);
        let d = state_diagram(&lc);
        assert!(!d.contains("[*] -->"), "{d}");
    }
}
