//! Lists `specs/*.asic` and writes the `generations!` invocation `src/lib.rs` includes: one
//! module per spec file, named after the file. Adding a spec is the whole of adding a
//! generation; `rerun-if-changed` on the folder makes cargo rerun this when a file appears.

use std::fmt::Write as _;
use std::path::Path;
use std::{env, fs};

fn main() {
    let manifest = env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into());
    let specs = Path::new(&manifest).join("../specs");
    println!("cargo:rerun-if-changed={}", specs.display());
    let mut stems: Vec<String> = match fs::read_dir(&specs) {
        Ok(dir) => dir
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "asic"))
            .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .collect(),
        Err(err) => {
            println!("cargo:warning=cannot list {}: {err}", specs.display());
            Vec::new()
        }
    };
    stems.sort();
    let mut out = String::from("generations! {\n");
    for stem in &stems {
        let module = module_name(stem);
        let spec = specs.join(format!("{stem}.asic"));
        let title = fs::read_to_string(&spec)
            .ok()
            .and_then(|text| first_doc_line(&text))
            .unwrap_or_else(|| format!("The `{stem}` generation."));
        let _ = writeln!(
            out,
            "    #[doc = {:?}]\n    #[doc = \"\"]\n    #[doc = {:?}]\n    pub mod {module} {{ asicgen_macros::asic!({:?}); }}",
            format!(" {title}"),
            format!(" Generated from `specs/{stem}.asic`."),
            format!("../specs/{stem}.asic"),
        );
    }
    out.push_str("}\n");
    let out_dir = env::var("OUT_DIR").unwrap_or_else(|_| ".".into());
    if let Err(err) = fs::write(Path::new(&out_dir).join("generations.rs"), out) {
        println!("cargo:warning=cannot write the generation list: {err}");
    }
}

/// The module for `specs/<stem>.asic`: the stem in lower case, other characters as `_`.
fn module_name(stem: &str) -> String {
    let mut name: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        name.insert_str(0, "spec_");
    }
    name
}

/// The spec's first `///` line, for the module's doc.
fn first_doc_line(text: &str) -> Option<String> {
    text.lines()
        .map(str::trim_start)
        .find_map(|l| l.strip_prefix("///"))
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
}
