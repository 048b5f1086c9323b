//! The driver's reservations and per-device rules: `RESERVED_CQS`, `FIRST_USER_CQ`,
//! `SYNC_MANAGER` and `BINNING`, in the runtime's plain types.

use asicgen_dsl::model::Model;
use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::{doc_attrs, rt};

/// The four consts of `model`.
pub(super) fn layout(model: &Model) -> TokenStream {
    let rt = rt();
    let cqs = model.reserved_cqs.iter().map(|c| {
        let (name, id) = (&c.name, Literal::u32_unsuffixed(c.id));
        quote! { #rt::ReservedCq { name: #name, id: #id } }
    });
    let cq_count = Literal::usize_unsuffixed(model.reserved_cqs.len());
    let first_user_cq = Literal::u32_unsuffixed(model.first_user_cq());
    let cqs_doc = format!(
        " Completion queues {} reserves for the driver, by id.",
        model.name
    );
    let sync_manager = match &model.sync_manager {
        None => quote!(::core::option::Option::None),
        Some(sm) => {
            let ranges = sm.ranges.iter().map(|r| {
                let name = &r.name;
                let (first_sob, sobs, first_monitor, monitors) = (
                    Literal::u32_unsuffixed(r.first_sob),
                    Literal::u32_unsuffixed(r.sobs),
                    Literal::u32_unsuffixed(r.first_monitor),
                    Literal::u32_unsuffixed(r.monitors),
                );
                let doc = doc_attrs(&r.doc);
                quote! {
                    #doc
                    #rt::SyncRange {
                        name: #name,
                        first_sob: #first_sob,
                        sobs: #sobs,
                        first_monitor: #first_monitor,
                        monitors: #monitors,
                    }
                }
            });
            let (sobs, monitors, first_sob, first_mon) = (
                Literal::u32_unsuffixed(sm.sobs),
                Literal::u32_unsuffixed(sm.monitors),
                Literal::u32_unsuffixed(sm.first_user_sob()),
                Literal::u32_unsuffixed(sm.first_user_monitor()),
            );
            quote! {
                ::core::option::Option::Some(#rt::SyncManagerLayout {
                    sobs: #sobs,
                    monitors: #monitors,
                    ranges: &[ #( #ranges ),* ],
                    first_user_sob: #first_sob,
                    first_user_monitor: #first_mon,
                })
            }
        }
    };
    let sync_doc = match &model.sync_manager {
        Some(sm) => format!(
            " The sync manager of {}: first user SOB {}, first user monitor {}.",
            model.name,
            sm.first_user_sob(),
            sm.first_user_monitor()
        ),
        None => format!(" {} states no sync-manager layout.", model.name),
    };
    let rules = model.binning.iter().map(|r| {
        let name = &r.name;
        let units = r.units.iter().map(|u| Literal::u32_unsuffixed(*u));
        let max = Literal::u32_unsuffixed(r.max_faulty);
        let subs = r.substitutes.iter().map(|s| {
            let engine = Literal::u32_unsuffixed(s.engine);
            let queues = s.queues.iter().map(|q| Literal::u32_unsuffixed(*q));
            quote! { ::asicgen_runtime::binning::Substitute { engine: #engine, queues: &[ #( #queues ),* ] } }
        });
        let doc = doc_attrs(&r.doc);
        quote! {
            #doc
            ::asicgen_runtime::binning::BinningRule {
                name: #name,
                units: &[ #( #units ),* ],
                max_faulty: #max,
                substitutes: &[ #( #subs ),* ],
            }
        }
    });
    let rule_count = Literal::usize_unsuffixed(model.binning.len());
    let binning_doc = format!(
        " Per-device binning rules of {}: bit `i` of rule `r`'s fuse mask is `units[i]`.",
        model.name
    );
    quote! {
        #[doc = #cqs_doc]
        pub const RESERVED_CQS: [#rt::ReservedCq; #cq_count] = [ #( #cqs ),* ];

        /// The first completion queue left to users: one past the reserved ones.
        pub const FIRST_USER_CQ: u32 = #first_user_cq;

        #[doc = #sync_doc]
        pub const SYNC_MANAGER: ::core::option::Option<#rt::SyncManagerLayout> = #sync_manager;

        #[doc = #binning_doc]
        pub const BINNING: [::asicgen_runtime::binning::BinningRule; #rule_count] = [ #( #rules ),* ];
    }
}
