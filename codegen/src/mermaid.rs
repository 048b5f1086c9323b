//! The CS lifecycle as a Mermaid `stateDiagram-v2`, which GitHub and GitLab render in a PR view.

use std::fmt::Write as _;

use asicgen_dsl::model::Lifecycle;

/// The diagram body (without the ```` ```mermaid ```` fence): `[*] --> Initial`, one edge per
/// transition labelled with its event, and `Terminal --> [*]` labelled with the fence outcome.
pub fn state_diagram(lifecycle: &Lifecycle) -> String {
    let mut out = String::from("stateDiagram-v2\n");
    // A state named like a Mermaid keyword (`end`, `note`, ...) gets an id of its own and keeps
    // its name as the label, so the diagram still parses.
    for state in &lifecycle.states {
        if is_keyword(&state.name) {
            let _ = writeln!(
                out,
                "    state \"{}\" as {}",
                state.name,
                state_id(&state.name)
            );
        }
    }
    // why: `write!` into a String cannot fail; the results are ignored on purpose.
    if let Some(initial) = lifecycle.states.get(lifecycle.initial) {
        let _ = writeln!(out, "    [*] --> {}", state_id(&initial.name));
    }
    for (from, event, to) in lifecycle.transitions() {
        if let (Some(from), Some(to)) = (lifecycle.states.get(from), lifecycle.states.get(to)) {
            let _ = writeln!(
                out,
                "    {} --> {}: {}",
                state_id(&from.name),
                state_id(&to.name),
                event.spec_name()
            );
        }
    }
    for state in &lifecycle.states {
        if let Some(outcome) = state.outcome {
            let _ = writeln!(
                out,
                "    {} --> [*]: {}",
                state_id(&state.name),
                outcome.spec_name()
            );
        }
    }
    out
}

/// Words the Mermaid state-diagram grammar gives a meaning of its own.
const KEYWORDS: &[&str] = &[
    "end",
    "state",
    "note",
    "direction",
    "class",
    "classdef",
    "style",
    "click",
    "as",
    "left",
    "right",
    "of",
    "scale",
    "accdescr",
    "acctitle",
];

fn is_keyword(name: &str) -> bool {
    KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(name))
}

/// A Mermaid state id: letters, digits and `_` only (the dsl allows nothing else anyway), and
/// never a keyword.
fn state_id(name: &str) -> String {
    if is_keyword(name) {
        return format!("{name}_state");
    }
    let id = crate::names::word_chars(name);
    if id.is_empty() { "_".to_owned() } else { id }
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
    fn keyword_state_names_get_their_own_ids() {
        let mut lc = fixture::model().lifecycle;
        lc.states[lc.initial].name = "end".into();
        let d = state_diagram(&lc);
        assert!(d.contains("    state \"end\" as end_state\n"), "{d}");
        assert!(d.contains("    [*] --> end_state\n"), "{d}");
        assert!(!d.contains(" end -->"), "{d}");
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
