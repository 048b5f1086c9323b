//! Checks a lifecycle (a file and the chain of files it extends) and lowers it to a complete
//! [`Lifecycle`] table.
//!
//! Overriding: a state declared in an extending file replaces the base state of the same name
//! in place; new states are appended. The merged machine is then checked as a whole.

use std::collections::{HashMap, VecDeque};

use crate::ast::{LifecycleFile, StateDecl, StateItem, StateKind};
use crate::diagnostic::Diagnostic;
use crate::model::{Action, Event, FenceOutcome, Lifecycle, State};
use crate::source::Span;
use crate::suggest;

/// Checks `chain` (most derived first, then what it extends) and returns the merged lifecycle.
pub fn check(chain: &[LifecycleFile], diagnostics: &mut Vec<Diagnostic>) -> Option<Lifecycle> {
    let top = chain.first()?;
    for file in chain {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for state in &file.states {
            if let Some(first) = seen.insert(&state.name.text, state.name.span) {
                diagnostics.push(
                    Diagnostic::error(state.name.span, format!("state `{}` is declared twice", state.name.text))
                        .label("declared again here")
                        .note(first, "first declared here")
                        .help("merge the two declarations; to override a state of the lifecycle this one extends, declare it once"),
                );
            }
        }
    }

    // Base first, so overrides replace in place and additions come last.
    let mut merged: Vec<&StateDecl> = Vec::new();
    for file in chain.iter().rev() {
        for state in &file.states {
            match merged.iter_mut().find(|s| s.name.text == state.name.text) {
                Some(slot) => *slot = state,
                None => merged.push(state),
            }
        }
    }

    for state in &merged {
        diagnostics.extend(super::reserved::check(
            &state.name.text,
            state.name.span,
            super::reserved::NameKind::State,
        ));
    }
    let index: HashMap<&str, usize> = merged
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.text.as_str(), i))
        .collect();
    let names: Vec<&str> = merged.iter().map(|s| s.name.text.as_str()).collect();

    let initial = initial_state(top, &merged, diagnostics);
    let mut states = Vec::new();
    let mut table = Vec::new();
    let mut complete = true;
    for decl in &merged {
        let outcome = outcome_of(decl, diagnostics);
        let (row, row_complete) = transitions_of(decl, &index, &names, diagnostics);
        complete &= row_complete;
        states.push(State {
            name: decl.name.text.clone(),
            doc: decl.doc.clone(),
            outcome: outcome.flatten(),
        });
        table.push(row);
    }
    if !merged.iter().any(|s| s.kind == StateKind::Terminal) {
        diagnostics.push(
            Diagnostic::error(
                top.name.span,
                format!("lifecycle `{}` has no terminal state", top.name.text),
            )
            .label("no CS could ever finish")
            .help("add e.g. `terminal state Completed signals ok`"),
        );
        return None;
    }
    let initial = initial?;
    if complete {
        check_reachability(&merged, &table, initial, diagnostics);
    }
    Some(Lifecycle {
        name: top.name.text.clone(),
        doc: top.doc.clone(),
        states,
        initial,
        table,
    })
}

fn initial_state(
    top: &LifecycleFile,
    merged: &[&StateDecl],
    diagnostics: &mut Vec<Diagnostic>,
) -> Option<usize> {
    let initials: Vec<usize> = (0..merged.len())
        .filter(|&i| merged[i].kind == StateKind::Initial)
        .collect();
    match initials.as_slice() {
        [] => {
            diagnostics.push(
                Diagnostic::error(
                    top.name.span,
                    format!("lifecycle `{}` has no initial state", top.name.text),
                )
                .label("where does a new CS start?")
                .help("mark the state a CS is allocated in as `initial state`"),
            );
            None
        }
        [one] => Some(*one),
        [first, rest @ ..] => {
            for &again in rest {
                let decl = merged[again];
                diagnostics.push(
                    Diagnostic::error(
                        decl.kind_span.unwrap_or(decl.name.span),
                        "a second initial state",
                    )
                    .label(format!("`{}` is marked initial", decl.name.text))
                    .note(merged[*first].name.span, "the first initial state")
                    .help("a lifecycle has exactly one initial state; drop one `initial`"),
                );
            }
            None
        }
    }
}

/// `Some(Some(outcome))` for a good terminal state, `Some(None)` for a non-terminal one,
/// `None` after reporting.
fn outcome_of(decl: &StateDecl, diagnostics: &mut Vec<Diagnostic>) -> Option<Option<FenceOutcome>> {
    let outcomes: Vec<&str> = FenceOutcome::ALL.iter().map(|o| o.spec_name()).collect();
    match (decl.kind, &decl.signals) {
        (StateKind::Terminal, None) => {
            diagnostics.push(
                Diagnostic::error(
                    decl.name.span,
                    format!("terminal state `{}` has no fence outcome", decl.name.text),
                )
                .label("a CS ending here must signal its fence with an outcome")
                .help(format!(
                    "write `terminal state {} signals <outcome>`, with one of {}",
                    decl.name.text,
                    super::settings::list(&outcomes)
                )),
            );
            None
        }
        (StateKind::Terminal, Some(outcome)) => match FenceOutcome::from_spec_name(&outcome.text) {
            Some(o) => Some(Some(o)),
            None => {
                diagnostics.push(suggest::unknown(
                    outcome.span,
                    "fence outcome",
                    &outcome.text,
                    "not an outcome the runtime can signal",
                    "outcomes",
                    outcomes.iter().copied(),
                ));
                None
            }
        },
        (_, Some(outcome)) => {
            diagnostics.push(
                Diagnostic::error(
                    outcome.span,
                    format!("state `{}` signals but is not terminal", decl.name.text),
                )
                .label("only terminal states signal the fence")
                .help(format!(
                    "write `terminal state {}`, or drop `signals {}`",
                    decl.name.text, outcome.text
                )),
            );
            None
        }
        (_, None) => Some(None),
    }
}

/// The row of the table for one state, and whether every target resolved.
fn transitions_of(
    decl: &StateDecl,
    index: &HashMap<&str, usize>,
    names: &[&str],
    diagnostics: &mut Vec<Diagnostic>,
) -> ([Action; Event::COUNT], bool) {
    let mut row = [Action::Ignore; Event::COUNT];
    let mut handled: [Option<Span>; Event::COUNT] = [None; Event::COUNT];
    let mut complete = true;
    let terminal = decl.kind == StateKind::Terminal;
    let events: Vec<&str> = Event::ALL.iter().map(|e| e.spec_name()).collect();
    let vocabulary = format!("the runtime fires only {}", super::settings::list(&events));
    let event_of = |ident: &crate::ast::Ident, diagnostics: &mut Vec<Diagnostic>| {
        let event = Event::from_spec_name(&ident.text);
        if event.is_none() {
            diagnostics.push(
                Diagnostic::error(ident.span, format!("unknown event `{}`", ident.text))
                    .label("the runtime never fires this event")
                    .help(
                        match suggest::closest(&ident.text, events.iter().copied()) {
                            Some(best) => format!("did you mean `{best}`? {vocabulary}"),
                            None => vocabulary.clone(),
                        },
                    ),
            );
        }
        event
    };
    for item in decl.body.iter().flatten() {
        match item {
            StateItem::Transition { event, target } => {
                if terminal {
                    diagnostics.push(
                        Diagnostic::error(event.span.to(target.span), format!("transition out of terminal state `{}`", decl.name.text))
                            .label("a finished CS cannot move on")
                            .help(format!(
                                "its fence is already signalled; remove the transition, or make `{}` a plain `state`",
                                decl.name.text
                            )),
                    );
                    continue;
                }
                let ev = event_of(event, diagnostics);
                let to = index.get(target.text.as_str()).copied();
                if to.is_none() {
                    complete = false;
                    diagnostics.push(suggest::unknown(
                        target.span,
                        "state",
                        &target.text,
                        "no state has this name",
                        "states",
                        names.iter().copied(),
                    ));
                }
                if let Some(ev) = ev {
                    if let Some(first) = handled[ev as usize] {
                        diagnostics.push(conflict(decl, ev, event.span, first));
                        continue;
                    }
                    handled[ev as usize] = Some(event.span);
                    if let Some(to) = to {
                        row[ev as usize] = Action::Goto(to);
                    }
                }
            }
            StateItem::Ignore(idents) => {
                for ident in idents {
                    if let Some(ev) = event_of(ident, diagnostics) {
                        if let Some(first) = handled[ev as usize] {
                            diagnostics.push(conflict(decl, ev, ident.span, first));
                            continue;
                        }
                        handled[ev as usize] = Some(ident.span);
                    }
                }
            }
        }
    }
    if !terminal {
        let missing: Vec<&str> = Event::ALL
            .iter()
            .filter(|e| handled[**e as usize].is_none())
            .map(|e| e.spec_name())
            .collect();
        if !missing.is_empty() {
            let quoted = super::settings::list(&missing).replace(" or ", " and ");
            diagnostics.push(
                Diagnostic::error(decl.name.span, format!("state `{}` does not handle {quoted}", decl.name.text))
                    .label(if missing.len() == 1 { "this event is neither handled nor ignored" } else { "these events are neither handled nor ignored" })
                    .help(format!(
                        "add a transition such as `{} -> State`, or `ignore {}` if the state deliberately drops {}",
                        missing[0],
                        missing.join(", "),
                        if missing.len() == 1 { "it" } else { "them" }
                    )),
            );
        }
    }
    (row, complete)
}

fn conflict(decl: &StateDecl, event: Event, at: Span, first: Span) -> Diagnostic {
    Diagnostic::error(
        at,
        format!("state `{}` handles `{event}` twice", decl.name.text),
    )
    .label("second handler")
    .note(first, "first handled here")
    .help("each (state, event) pair has exactly one transition or `ignore`; keep one")
}

fn check_reachability(
    merged: &[&StateDecl],
    table: &[[Action; Event::COUNT]],
    initial: usize,
    diagnostics: &mut Vec<Diagnostic>,
) {
    let n = merged.len();
    let successors = |s: usize| {
        table[s].iter().filter_map(|a| match a {
            Action::Goto(t) => Some(*t),
            Action::Ignore => None,
        })
    };
    let mut reachable = vec![false; n];
    let mut queue = VecDeque::from([initial]);
    reachable[initial] = true;
    while let Some(s) = queue.pop_front() {
        for t in successors(s) {
            if !reachable[t] {
                reachable[t] = true;
                queue.push_back(t);
            }
        }
    }
    // Backwards from every terminal state: which states can still finish?
    let mut finishes: Vec<bool> = merged
        .iter()
        .map(|s| s.kind == StateKind::Terminal)
        .collect();
    let mut changed = true;
    while changed {
        changed = false;
        for s in 0..n {
            if !finishes[s] && successors(s).any(|t| finishes[t]) {
                finishes[s] = true;
                changed = true;
            }
        }
    }
    let initial_name = &merged[initial].name.text;
    for (s, decl) in merged.iter().enumerate() {
        if !reachable[s] {
            diagnostics.push(
                Diagnostic::error(
                    decl.name.span,
                    format!("state `{}` is unreachable", decl.name.text),
                )
                .label(format!(
                    "no path leads here from the initial state `{initial_name}`"
                ))
                .help("add a transition into it, or remove it"),
            );
        } else if !finishes[s] {
            diagnostics.push(
                Diagnostic::error(
                    decl.name.span,
                    format!("no terminal state is reachable from `{}`", decl.name.text),
                )
                .label("a CS that gets here never signals its fence")
                .help("add a transition from here (or from where it leads) to a terminal state"),
            );
        }
    }
}
