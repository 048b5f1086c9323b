//! The CS lifecycle as Rust: a `CsState` enum and a transition function that is one exhaustive
//! `match (state, event)` without a wildcard arm, so rustc itself proves every pair handled.

use asicgen_dsl::model::{Action, Event, FenceOutcome, Model};
use proc_macro2::{Ident, Literal, TokenStream};
use quote::quote;

use super::{doc_attrs, invariant_error, rt};
use crate::names;

/// `CsState`, its `impl` (names, index, transition, outcome) and `Display`.
pub(super) fn lifecycle(model: &Model) -> TokenStream {
    let rt = rt();
    let lc = &model.lifecycle;
    let states: Vec<Ident> = lc
        .states
        .iter()
        .map(|s| names::rust_ident(&s.name))
        .collect();
    let names = lc.states.iter().map(|s| s.name.as_str());
    let docs = lc.states.iter().enumerate().map(|(i, s)| {
        let doc = doc_attrs(&s.doc);
        // why: every variant gets a line of its own, so `missing_docs` holds for any spec.
        let summary = match (s.outcome, i == lc.initial) {
            (Some(o), _) => format!(" Terminal: signals the fence `{}`.", o.spec_name()),
            (None, true) => " The initial state.".to_owned(),
            (None, false) => " A live state: the CS is not finished.".to_owned(),
        };
        let gap = if s.doc.is_empty() {
            quote!()
        } else {
            quote!(#[doc = ""])
        };
        quote! { #doc #gap #[doc = #summary] }
    });
    let indexes = (0..lc.states.len()).map(Literal::usize_unsuffixed);
    let count = Literal::usize_unsuffixed(lc.states.len());
    let initial = match states.get(lc.initial) {
        Some(s) => quote!(CsState::#s),
        None => invariant_error("the initial state index is out of range"),
    };
    let enum_doc = {
        let mut doc = doc_attrs(&lc.doc);
        let line = format!(" The states of the `{}` CS lifecycle.", lc.name);
        if lc.doc.is_empty() {
            doc = quote! { #[doc = #line] };
        }
        doc
    };
    let arms = transition_arms(model, &states);
    let outcomes = lc.states.iter().zip(&states).map(|(s, ident)| {
        let outcome = match s.outcome {
            Some(o) => {
                let o = fence_outcome(o);
                quote!(Some(FenceOutcome::#o))
            }
            None => quote!(None),
        };
        quote! { CsState::#ident => #outcome, }
    });
    quote! {
        #enum_doc
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum CsState {
            #( #docs #states, )*
        }

        impl CsState {
            /// Every state, in declaration order (the order `index` numbers them).
            pub const ALL: [CsState; #count] = [ #( CsState::#states ),* ];
            /// The state a freshly allocated CS starts in.
            pub const INITIAL: CsState = #initial;
            /// Every state's name, indexed by `index`.
            pub const NAMES: [&'static str; #count] = [ #( #names ),* ];

            /// Dense index in `0..ALL.len()`.
            pub const fn index(self) -> usize {
                match self { #( CsState::#states => #indexes, )* }
            }

            /// The state's name as the lifecycle spells it.
            pub const fn name(self) -> &'static str {
                CsState::NAMES[self.index()]
            }

            /// What `event` does in this state: one arm per `(state, event)` pair, no wildcard.
            pub const fn transition(
                self,
                event: #rt::CsEvent,
            ) -> #rt::Transition<CsState> {
                #[allow(unused_imports)]
                use #rt::{CsEvent, Transition};
                match (self, event) {
                    #arms
                }
            }

            /// The fence outcome of a terminal state; `None` while the CS is still live.
            pub const fn outcome(self) -> ::core::option::Option<#rt::FenceOutcome> {
                #[allow(unused_imports)]
                use ::core::option::Option::{None, Some};
                #[allow(unused_imports)]
                use #rt::FenceOutcome;
                match self { #( #outcomes )* }
            }
        }

        impl ::core::fmt::Display for CsState {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.name())
            }
        }
    }
}

/// One arm per `(state, event)`, in state then event order.
fn transition_arms(model: &Model, states: &[Ident]) -> TokenStream {
    let lc = &model.lifecycle;
    let mut arms = TokenStream::new();
    for (index, from) in states.iter().enumerate() {
        for event in Event::ALL {
            let ev = cs_event(event);
            let action = lc.table.get(index).map(|row| row[event as usize]);
            let result = match action {
                Some(Action::Goto(to)) => match states.get(to) {
                    Some(to) => quote!(Transition::Goto(CsState::#to)),
                    None => invariant_error("a transition targets a state index out of range"),
                },
                Some(Action::Ignore) => quote!(Transition::Ignore),
                None => invariant_error("the transition table has fewer rows than states"),
            };
            arms.extend(quote! { (CsState::#from, CsEvent::#ev) => #result, });
        }
    }
    arms
}

/// The runtime's event variant. Exhaustive: an event added to the dsl vocabulary fails to
/// compile here until the runtime fires it too.
fn cs_event(event: Event) -> TokenStream {
    match event {
        Event::Submit => quote!(Submit),
        Event::ScheduleFailure => quote!(ScheduleFailure),
        Event::JobsDone => quote!(JobsDone),
        Event::TimeoutDetected => quote!(TimeoutDetected),
        Event::Reset => quote!(Reset),
    }
}

/// The runtime's fence outcome variant.
fn fence_outcome(outcome: FenceOutcome) -> TokenStream {
    match outcome {
        FenceOutcome::Ok => quote!(Ok),
        FenceOutcome::TimedOut => quote!(TimedOut),
        FenceOutcome::Aborted => quote!(Aborted),
        FenceOutcome::NotSubmitted => quote!(NotSubmitted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn one_arm_per_pair_and_no_wildcard() {
        let model = fixture::model();
        let text = lifecycle(&model).to_string();
        let arms = text.matches("=> Transition ::").count();
        assert_eq!(arms, model.lifecycle.states.len() * Event::COUNT);
        assert!(!text.contains("_ =>"), "{text}");
        assert!(text.contains(
            "(CsState :: InFlight , CsEvent :: TimeoutDetected) => Transition :: Goto (CsState :: TimedOut)"
        ), "{text}");
    }

    #[test]
    fn terminal_states_name_their_outcome() {
        let text = lifecycle(&fixture::model()).to_string();
        assert!(
            text.contains("CsState :: NotSubmitted => Some (FenceOutcome :: NotSubmitted)"),
            "{text}"
        );
        assert!(
            text.contains("Terminal: signals the fence `timed_out`."),
            "{text}"
        );
    }

    #[test]
    fn a_broken_model_gives_a_compile_error_not_a_panic() {
        let mut model = fixture::model();
        model.lifecycle.initial = 99;
        model.lifecycle.table[0][0] = Action::Goto(42);
        model.lifecycle.table.pop();
        let text = lifecycle(&model).to_string();
        assert_eq!(
            text.matches("compile_error").count(),
            2 + Event::COUNT,
            "{text}"
        );
    }
}
