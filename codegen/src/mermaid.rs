//! The CS lifecycle as a Mermaid `stateDiagram-v2`, which GitHub and GitLab render in a PR view.

use std::fmt::Write as _;

use asicgen_dsl::model::Lifecycle;

/// The diagram body (without the ```` ```mermaid ```` fence): `[*] --> Initial`, one edge per
/// transition labelled with its event, and `Terminal --> [*]` labelled with the fence outcome.
pub fn state_diagram(lifecycle: &Lifecycle) -> String {
    let mut out = String::from("stateDiagram-v2\n");
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

/// A Mermaid state id: letters, digits and `_` only (the dsl allows nothing else anyway).
fn state_id(name: &str) -> String {
    let id: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
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
    fn out_of_range_indices_are_skipped_not_panics() {
        let mut lc = fixture::model().lifecycle;
        lc.initial = 77;
        lc.table[0][0] = asicgen_dsl::model::Action::Goto(99);
        let d = state_diagram(&lc);
        assert!(!d.contains("[*] -->"), "{d}");
    }
}
