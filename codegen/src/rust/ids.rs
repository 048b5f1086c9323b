//! The `QueueId` and `EngineId` enums: one variant per id, explicit discriminants equal to the
//! uapi values, `TryFrom<u32>` with a typed error, `Display` printing the C uapi name.

use asicgen_dsl::model::{Model, Queue};
use proc_macro2::{Ident, Literal, TokenStream};
use quote::{format_ident, quote};

use super::{doc_attrs, rt};
use crate::names;

/// One id enum to generate.
struct IdEnum<'a> {
    /// `queue` or `engine`: the C enum kind and the word in docs.
    kind: &'static str,
    /// Rust type name (`QueueId`).
    ty: Ident,
    /// Name of the props table const this enum indexes (`QUEUES`).
    table: Ident,
    /// Runtime props type (`QueueProps`).
    props: Ident,
    /// Runtime error type of `TryFrom<u32>` (`InvalidQueueId`).
    error: Ident,
    /// The `_SIZE` sentinel.
    size: u32,
    /// `(name, id, doc, summary, C name)` in id order; the summary documents every variant,
    /// even one the spec left without a doc comment.
    entries: Vec<(&'a str, u32, &'a [String], String, &'a str)>,
}

/// Both id enums of `model`.
pub(super) fn id_enums(model: &Model) -> TokenStream {
    let queues = IdEnum {
        kind: "queue",
        ty: format_ident!("QueueId"),
        table: format_ident!("QUEUES"),
        props: format_ident!("QueueProps"),
        error: format_ident!("InvalidQueueId"),
        size: model.queue_id_size(),
        entries: model
            .queues
            .iter()
            .map(|q| {
                (
                    q.props.name.as_str(),
                    q.props.id,
                    q.doc.as_slice(),
                    queue_summary(model, q),
                    q.c_name.as_str(),
                )
            })
            .collect(),
    };
    let engines = IdEnum {
        kind: "engine",
        ty: format_ident!("EngineId"),
        table: format_ident!("ENGINES"),
        props: format_ident!("EngineProps"),
        error: format_ident!("InvalidEngineId"),
        size: model.engine_id_size(),
        entries: model
            .engines
            .iter()
            .map(|e| {
                let summary = format!(
                    "`{}` = {}: {} engine, busy-mask bit {}.",
                    names::word_chars(&e.c_name),
                    e.props.id,
                    e.props.kind.spec_name(),
                    e.props.id
                );
                (
                    e.props.name.as_str(),
                    e.props.id,
                    e.doc.as_slice(),
                    summary,
                    e.c_name.as_str(),
                )
            })
            .collect(),
    };
    let queues = id_enum(model, &queues);
    let engines = id_enum(model, &engines);
    quote! { #queues #engines }
}

/// One line on a queue: C name, value, type, engine, completion queue and restrictions.
fn queue_summary(model: &Model, q: &Queue) -> String {
    let mut line = format!(
        "`{}` = {}: {} queue",
        names::word_chars(&q.c_name),
        q.props.id,
        q.props.queue_type.spec_name()
    );
    if let Some(engine) = q.props.engine {
        match model.engine(engine) {
            Some(e) => line.push_str(&format!(" on engine `{}`", e.props.name)),
            None => line.push_str(&format!(" on engine {engine}")),
        }
    }
    if let Some(cq) = q.props.cq {
        line.push_str(&format!(", completes through CQ {cq}"));
    }
    for (on, what) in [
        (q.props.driver_only, "driver only"),
        (q.props.binned, "binned"),
    ] {
        if on {
            line.push_str(", ");
            line.push_str(what);
        }
    }
    line.push('.');
    line
}

fn id_enum(model: &Model, e: &IdEnum<'_>) -> TokenStream {
    let rt = rt();
    let IdEnum {
        kind,
        ty,
        table,
        props,
        error,
        ..
    } = e;
    let size = Literal::u32_unsuffixed(e.size);
    let variants: Vec<Ident> = e
        .entries
        .iter()
        .map(|(name, ..)| names::rust_ident(name))
        .collect();
    let ids: Vec<Literal> = e
        .entries
        .iter()
        .map(|(_, id, ..)| Literal::u32_unsuffixed(*id))
        .collect();
    let indexes = (0..e.entries.len()).map(Literal::usize_unsuffixed);
    let docs = e.entries.iter().map(|(_, _, doc, summary, _)| {
        let spec_doc = doc_attrs(doc);
        let gap = if doc.is_empty() {
            quote!()
        } else {
            quote!(#[doc = ""])
        };
        let summary = format!(" {summary}");
        quote! { #spec_doc #gap #[doc = #summary] }
    });
    let short_names = e.entries.iter().map(|(name, ..)| *name);
    let uapi_names: Vec<String> = e
        .entries
        .iter()
        .map(|(.., c_name)| names::word_chars(c_name))
        .collect();
    let count = Literal::usize_unsuffixed(e.entries.len());
    let tag = names::c_enum_tag(&model.uapi_prefix, kind);
    let sentinel = names::c_enumerator(&model.uapi_prefix, kind, "SIZE");
    let enum_doc = format!(
        " Every {kind} of {}, numbered as the uapi `enum {tag}`.",
        model.name
    );
    let size_doc = format!(" `{sentinel}`: one past the highest id, reserved ids included.");
    let all_doc = format!(" Every {kind} id, in id order (the order of [`{table}`]).");
    // why: rustc rejects `#[repr(u32)]` on an enum without variants (a spec with no engines).
    let repr = if e.entries.is_empty() {
        quote!()
    } else {
        quote!(#[repr(u32)])
    };
    quote! {
        #[doc = #enum_doc]
        #[allow(non_camel_case_types)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #repr
        pub enum #ty {
            #( #docs #variants = #ids, )*
        }

        impl #ty {
            #[doc = #all_doc]
            pub const ALL: [#ty; #count] = [ #( #ty::#variants ),* ];
            #[doc = #size_doc]
            pub const SIZE: u32 = #size;

            /// The uapi value (also the discriminant).
            pub const fn id(self) -> u32 {
                match self { #( #ty::#variants => #ids, )* }
            }

            /// Position in `ALL` and in the properties table.
            pub const fn index(self) -> usize {
                match self { #( #ty::#variants => #indexes, )* }
            }

            /// The name without the uapi prefix, as the spec spells it.
            pub const fn name(self) -> &'static str {
                match self { #( #ty::#variants => #short_names, )* }
            }

            /// The C uapi enumerator name.
            pub const fn uapi_name(self) -> &'static str {
                match self { #( #ty::#variants => #uapi_names, )* }
            }

            /// This id's row of the properties table.
            pub const fn props(self) -> &'static #rt::#props {
                let table: &'static [#rt::#props; #count] = &#table;
                &table[self.index()]
            }

            /// The id with this uapi value, if there is one.
            pub const fn from_u32(value: u32) -> ::core::option::Option<#ty> {
                use ::core::option::Option::{None, Some};
                match value {
                    #( #ids => Some(#ty::#variants), )*
                    _ => None,
                }
            }
        }

        impl ::core::convert::From<#ty> for u32 {
            fn from(id: #ty) -> u32 {
                id.id()
            }
        }

        impl ::core::convert::TryFrom<u32> for #ty {
            type Error = #rt::#error;

            fn try_from(value: u32) -> ::core::result::Result<#ty, #rt::#error> {
                match #ty::from_u32(value) {
                    ::core::option::Option::Some(id) => ::core::result::Result::Ok(id),
                    ::core::option::Option::None => ::core::result::Result::Err(#rt::#error(value)),
                }
            }
        }

        impl ::core::fmt::Display for #ty {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.write_str(self.uapi_name())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixture;

    #[test]
    fn discriminants_are_the_uapi_ids_with_gaps() {
        let text = id_enums(&fixture::model()).to_string();
        assert!(text.contains("HW_0 = 5"), "{text}");
        assert!(text.contains("TPC_0 = 3"), "{text}");
        assert!(text.contains("\"TINY_QUEUE_ID_CPU_PQ\""), "{text}");
        assert!(text.contains("pub const SIZE : u32 = 6 ;"), "{text}");
    }

    #[test]
    fn an_enum_without_variants_has_no_repr() {
        let mut model = fixture::model();
        model.engines.clear();
        model.reserved_engine_ids.clear();
        let text = id_enums(&model).to_string();
        assert_eq!(text.matches("repr").count(), 1, "{text}");
    }
}
