//! asicgen proc-macros: `asic!("specs/gaudi.asic")` expands a spec into Rust items.
//!
//! A one-screen shim by design: it resolves the path, calls `asicgen_dsl::load` and
//! `asicgen_codegen`, and adds what only a macro can (rebuild tracking, the compile error). It
//! writes no files and runs no programs.

use std::path::Path;

use proc_macro::TokenStream;
use quote::{quote, quote_spanned};
use syn::LitStr;

/// Expands the spec at the given path, relative to the calling crate's `Cargo.toml` directory,
/// into its id enums, tables, lifecycle and a zero-sized type implementing
/// `asicgen_runtime::asic::Asic`.
///
/// Cargo rebuilds the caller when the spec or any lifecycle file it uses changes. A spec with
/// errors fails the build with one rustc error per spec error (headline and code, then the
/// rustc-style snippet of the `.asic` line), plus placeholder items so that code using the
/// module reports nothing else.
#[proc_macro]
pub fn asic(input: TokenStream) -> TokenStream {
    let lit = syn::parse_macro_input!(input as LitStr);
    let Ok(manifest_dir) = std::env::var("CARGO_MANIFEST_DIR") else {
        let msg = "asic!: CARGO_MANIFEST_DIR is not set (is this built by cargo?)";
        return quote_spanned!(lit.span()=> ::core::compile_error!(#msg);).into();
    };
    let manifest_dir = Path::new(&manifest_dir);
    // why: diagnostics and provenance name the spec from the workspace root, as users do.
    let display = asicgen_codegen::spec_display_path(manifest_dir, &lit.value());
    let loaded = asicgen_dsl::load(&manifest_dir.join(lit.value()), &display);
    // why: `include_bytes!` is how a stable proc-macro tells cargo which files it depends on.
    // A file that could not be read is skipped: the diagnostic already says so, and a second
    // "couldn't read" error would only repeat it.
    let tracked = loaded
        .files_read
        .iter()
        .filter(|p| p.is_file())
        .filter_map(|p| p.to_str())
        .map(|p| {
            quote!(
                const _: &[u8] = include_bytes!(#p);
            )
        });
    let items = match loaded.result {
        Ok(model) => asicgen_codegen::rust_module(&model),
        Err(report) => {
            // why: one rustc error per spec error, so rustc's count is right and each reads on
            // its own; a stable proc-macro cannot point into the `.asic` file, so each sits on
            // the path literal and names its `file:line:col` on its second line.
            let errors = report
                .for_rustc()
                .into_iter()
                .map(|msg| quote_spanned!(lit.span()=> ::core::compile_error!(#msg);));
            let fallback = asicgen_codegen::fallback_module(&display);
            quote!(#fallback #(#errors)*)
        }
    };
    quote!(#(#tracked)* #items).into()
}
