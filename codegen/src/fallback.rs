//! What `asic!` expands to next to its `compile_error!` when a spec does not check: the same item
//! names with empty tables, so that code using the module type-checks and the user sees one
//! error (the spec's diagnostic), not a cascade of "cannot find type `QueueId`".

use std::time::Duration;

use asicgen_dsl::model::{
    Action, CompletionMode, Event, Features, KernelSpec, Lifecycle, Limits, Model, Provenance,
    State,
};
use proc_macro2::TokenStream;

use crate::rust::rust_module;

/// Placeholder items for the spec at `spec_path` (as written in the macro call): a zero-sized
/// type named after the file stem (`gaudi.asic` gives `Gaudi`) implementing `Asic`, no queues,
/// no engines and a one-state lifecycle.
pub fn fallback_module(spec_path: &str) -> TokenStream {
    rust_module(&placeholder_model(spec_path))
}

fn placeholder_model(spec_path: &str) -> Model {
    Model {
        provenance: Provenance {
            spec_path: spec_path.to_owned(),
            lifecycle_paths: Vec::new(),
            content_hash: "spec-has-errors".to_owned(),
        },
        name: type_name_from_path(spec_path),
        doc: vec![" Placeholder: the spec has errors (see the compile error).".to_owned()],
        uapi_prefix: "INVALID".to_owned(),
        pci_vendor: 0,
        pci_devices: Vec::new(),
        limits: Limits {
            max_pending_cs: 2,
            max_jobs_per_cs: 1,
            queue_length: 1,
            cq_length: 1,
            cs_timeout: Duration::ZERO,
            completion: CompletionMode::PerJob,
        },
        features: Features::default(),
        engines: Vec::new(),
        queues: Vec::new(),
        reserved_queue_ids: Vec::new(),
        reserved_engine_ids: Vec::new(),
        kernel: KernelSpec::default(),
        reserved_cqs: Vec::new(),
        sync_manager: None,
        binning: Vec::new(),
        lifecycle: Lifecycle {
            name: "placeholder".to_owned(),
            doc: Vec::new(),
            states: vec![State {
                name: "Invalid".to_owned(),
                doc: Vec::new(),
                outcome: None,
            }],
            initial: 0,
            table: vec![[Action::Ignore; Event::COUNT]],
        },
    }
}

/// `specs/gaudi2_b.asic` → `Gaudi2B`: the file stem in UpperCamelCase.
fn type_name_from_path(spec_path: &str) -> String {
    let file = spec_path.rsplit(['/', '\\']).next().unwrap_or(spec_path);
    let stem = file.split('.').next().unwrap_or(file);
    let name: String = stem
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect();
    if name.is_empty() {
        "Invalid".to_owned()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_name_is_the_camel_case_stem() {
        assert_eq!(type_name_from_path("../specs/gaudi.asic"), "Gaudi");
        assert_eq!(type_name_from_path("specs\\gaudi2_b.asic"), "Gaudi2B");
        assert_eq!(type_name_from_path(""), "Invalid");
        assert_eq!(type_name_from_path("__.asic"), "Invalid");
    }

    #[test]
    fn fallback_parses_and_names_the_zst() {
        let file: syn::File = syn::parse2(fallback_module("specs/goya.asic")).expect("parses");
        let text = quote::quote!(#file).to_string();
        assert!(text.contains("pub struct Goya ;"), "{text}");
        assert!(!text.contains("compile_error"), "{text}");
    }
}
