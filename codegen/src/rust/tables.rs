//! The const tables: `QUEUES`, `ENGINES`, `LIMITS`, `FEATURES`, in the runtime's plain types.

use std::fmt::Debug;

use asicgen_dsl::model::{EngineProps, Features, Limits, Model, Queue, QueueProps};
use proc_macro2::{Ident, Literal, Span, TokenStream};
use quote::quote;

use super::rt;

/// The four table consts of `model`.
pub(super) fn tables(model: &Model) -> TokenStream {
    let rt = rt();
    let queue_rows = model.queues.iter().map(queue_row);
    let queue_count = Literal::usize_unsuffixed(model.queues.len());
    let engine_rows = model.engines.iter().map(|e| {
        // why: no `..`, so a property added to the tables crate fails to compile until emitted.
        let EngineProps { id, name, kind } = &e.props;
        let (id, kind) = (Literal::u32_unsuffixed(*id), variant(kind));
        quote! { EngineProps { id: #id, name: #name, kind: EngineKind::#kind } }
    });
    let engine_count = Literal::usize_unsuffixed(model.engines.len());
    // why: destructured with no `..`, so a limit added to the tables crate fails to compile
    // here until it is emitted.
    let Limits {
        max_pending_cs,
        max_jobs_per_cs,
        queue_length,
        cq_length,
        cs_timeout,
        completion,
    } = model.limits;
    let (max_pending_cs, max_jobs_per_cs, queue_length, cq_length) = (
        Literal::u32_unsuffixed(max_pending_cs),
        Literal::u32_unsuffixed(max_jobs_per_cs),
        Literal::u32_unsuffixed(queue_length),
        Literal::u32_unsuffixed(cq_length),
    );
    let cs_timeout_ms = Literal::u128_unsuffixed(cs_timeout.as_millis());
    let completion = variant(completion);
    // why: destructured with no `..`, so a feature added to the tables crate fails to compile
    // here until it is emitted.
    let Features {
        sync_stream,
        staged_submission,
        multi_cs_wait,
        compute_reset,
        context_switch,
    } = model.features;
    let queues_doc = format!(" Properties of every queue of {}, in id order.", model.name);
    let engines_doc = format!(
        " Properties of every engine of {}, in id order.",
        model.name
    );
    let limits_doc = format!(" Device limits and modes of {}.", model.name);
    let features_doc = format!(" Feature flags of {}.", model.name);
    quote! {
        #[doc = #queues_doc]
        pub const QUEUES: [#rt::QueueProps; #queue_count] = {
            #[allow(unused_imports)]
            use #rt::{CbAlloc, CollectiveMode, QueueProps, QueueType};
            #[allow(unused_imports)]
            use ::core::option::Option::{None, Some};
            [ #( #queue_rows ),* ]
        };

        #[doc = #engines_doc]
        pub const ENGINES: [#rt::EngineProps; #engine_count] = {
            #[allow(unused_imports)]
            use #rt::{EngineKind, EngineProps};
            [ #( #engine_rows ),* ]
        };

        #[doc = #limits_doc]
        pub const LIMITS: #rt::Limits = #rt::Limits {
            max_pending_cs: #max_pending_cs,
            max_jobs_per_cs: #max_jobs_per_cs,
            queue_length: #queue_length,
            cq_length: #cq_length,
            cs_timeout: ::core::time::Duration::from_millis(#cs_timeout_ms),
            completion: #rt::CompletionMode::#completion,
        };

        #[doc = #features_doc]
        pub const FEATURES: #rt::Features = #rt::Features {
            sync_stream: #sync_stream,
            staged_submission: #staged_submission,
            multi_cs_wait: #multi_cs_wait,
            compute_reset: #compute_reset,
            context_switch: #context_switch,
        };
    }
}

/// One `QueueProps` row. Destructured with no `..`, so a property added to the tables crate
/// fails to compile here until it is emitted.
fn queue_row(q: &Queue) -> TokenStream {
    let QueueProps {
        id,
        name,
        queue_type,
        engine,
        cb_alloc,
        driver_only,
        binned,
        supports_sync_stream,
        stream_master,
        collective,
        pq_len,
        cq,
    } = &q.props;
    let id = Literal::u32_unsuffixed(*id);
    let (queue_type, cb_alloc, collective) =
        (variant(queue_type), variant(cb_alloc), variant(collective));
    let (engine, pq_len, cq) = (
        option_u32(*engine),
        Literal::u32_unsuffixed(*pq_len),
        option_u32(*cq),
    );
    quote! {
        QueueProps {
            id: #id,
            name: #name,
            queue_type: QueueType::#queue_type,
            engine: #engine,
            cb_alloc: CbAlloc::#cb_alloc,
            driver_only: #driver_only,
            binned: #binned,
            supports_sync_stream: #supports_sync_stream,
            stream_master: #stream_master,
            collective: CollectiveMode::#collective,
            pq_len: #pq_len,
            cq: #cq,
        }
    }
}

fn option_u32(value: Option<u32>) -> TokenStream {
    match value {
        Some(v) => {
            let v = Literal::u32_unsuffixed(v);
            quote!(Some(#v))
        }
        None => quote!(None),
    }
}

/// The variant of one of the tables crate's enums, as a path segment (`External`).
///
/// why: the Model holds the tables crate's own enums, and they are fieldless, so the derived
/// `Debug` is exactly the variant's name; a variant added to the tables is emitted with no edit
/// here (and the generated crate, which compiles every emitted path, would catch a mismatch).
fn variant(value: impl Debug) -> Ident {
    Ident::new(&format!("{value:?}"), Span::call_site())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn rows_carry_every_property() {
        let text = tables(&fixture::model()).to_string();
        assert!(
            text.contains("pub const QUEUES : [:: asicgen_tables :: QueueProps ; 5]"),
            "{text}"
        );
        assert!(text.contains("binned : true"), "{text}");
        assert!(text.contains("cq : Some (1)"), "{text}");
        assert!(text.contains("Duration :: from_millis (2500)"), "{text}");
        assert!(text.contains("CollectiveMode :: Slave"), "{text}");
    }
}
