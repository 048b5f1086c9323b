//! What the review tests share: the specs and every output generated from each.

use std::fs;
use std::path::PathBuf;

pub fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `specs/*.asic`, by stem, sorted.
pub fn spec_stems() -> Vec<String> {
    let dir = manifest_dir().join("../specs");
    let mut stems: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "asic"))
        .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_owned))
        .collect();
    stems.sort();
    stems
}

/// The spec path exactly as `src/lib.rs` passes it to `asic!`.
pub fn macro_literal(stem: &str) -> String {
    format!("../specs/{stem}.asic")
}

/// The spec's Model, named the way the macro names it, so provenance lines match the expansion.
pub fn model(stem: &str) -> asicgen_dsl::Model {
    let literal = macro_literal(stem);
    let display = asicgen_codegen::spec_display_path(&manifest_dir(), &literal);
    match asicgen_dsl::load(&manifest_dir().join(&literal), &display).result {
        Ok(model) => model,
        Err(report) => panic!("specs/{stem}.asic does not check:\n{report}"),
    }
}

/// One generated output of a spec: its review-copy extension and its text.
pub struct Output {
    pub ext: &'static str,
    pub text: String,
}

/// Every output of a spec: the expansion (prettyplease), the C uapi header, the kernel-side C
/// tables and the Markdown page.
pub fn outputs(stem: &str) -> [Output; 4] {
    let model = model(stem);
    [
        Output {
            ext: "rs",
            text: asicgen_codegen::rust_module_pretty(&model),
        },
        Output {
            ext: "h",
            text: asicgen_codegen::c_header(&model),
        },
        Output {
            ext: "kernel.h",
            text: asicgen_codegen::kernel_header(&model),
        },
        Output {
            ext: "md",
            text: asicgen_codegen::markdown(&model),
        },
    ]
}
