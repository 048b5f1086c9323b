//! Driver code generated from `specs/` at build time, one module per ASIC generation.
//!
//! Each module is what `asicgen_macros::asic!` expands its spec to: `QueueId` and `EngineId`
//! enums, the `QUEUES`/`ENGINES`/`LIMITS`/`FEATURES` tables, the `CsState` lifecycle and a
//! zero-sized type (`goya::Goya`, ...) implementing `asicgen_tables::Asic`. Every output
//! is checked in once, readable, under `generated/review/`, and `tests/review.rs` keeps it current.
//!
//! Adding a generation is adding its spec: `build.rs` lists `specs/*.asic` and writes one
//! `generations!` entry per file (module named after the file), and the registry ([`NAMES`],
//! [`visit`]) lets a tool pick a generation by name at run time while the runtime stays
//! statically dispatched.
#![no_std]
#![warn(missing_docs)]

use asicgen_tables::Asic;

/// Code generic over a generation, run for one picked by name (see [`visit`]).
pub trait AsicVisitor {
    /// What the visit returns.
    type Output;
    /// Run for generation `A`.
    fn visit<A: Asic>(self) -> Self::Output;
}

macro_rules! generations {
    ($($(#[$doc:meta])* pub mod $module:ident { $($body:tt)* })*) => {
        $(
            $(#[$doc])*
            pub mod $module {
                $($body)*
            }
        )*

        /// Every generation's name, as [`visit`] takes it (the module name).
        pub const NAMES: &[&str] = &[$(stringify!($module)),*];

        /// Run `visitor` for the generation called `name` (case-insensitive); `None` if there is
        /// no such generation.
        pub fn visit<V: AsicVisitor>(name: &str, visitor: V) -> Option<V::Output> {
            $(
                if name.eq_ignore_ascii_case(stringify!($module)) {
                    return Some(visitor.visit::<$module::Generation>());
                }
            )*
            None
        }
    };
}

include!(concat!(env!("OUT_DIR"), "/generations.rs"));

#[cfg(test)]
extern crate std;

#[cfg(test)]
mod tests {
    use super::*;
    use std::format;
    use std::string::String;
    use std::vec::Vec;

    struct Name;

    impl AsicVisitor for Name {
        type Output = &'static str;
        fn visit<A: Asic>(self) -> &'static str {
            A::NAME
        }
    }

    /// The spec files in `specs/`, by file stem, sorted: what the registry must hold.
    fn spec_stems() -> Vec<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs");
        let mut stems: Vec<String> = std::fs::read_dir(dir)
            .expect("specs/ is readable")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "asic"))
            .filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
            .collect();
        stems.sort();
        stems
    }

    #[test]
    fn registry_holds_every_spec_file() {
        assert_eq!(NAMES, spec_stems());
        // Each module's type is the spec's own `asic` name, found case-insensitively.
        for name in NAMES {
            let found = visit(name, Name).expect("every listed generation visits");
            assert!(found.eq_ignore_ascii_case(name), "{name} -> {found}");
            assert_eq!(visit(&name.to_ascii_uppercase(), Name), Some(found));
        }
        assert_eq!(visit("no_such_generation", Name), None);
    }

    #[test]
    fn the_build_script_reruns_when_the_specs_folder_changes() {
        // Cargo records a build script's directives in `output` next to OUT_DIR; a
        // `rerun-if-changed` naming a folder makes cargo rerun the script when any file in it
        // is added, removed or touched, so a new spec is picked up by a plain `cargo build`.
        let output = std::path::Path::new(env!("OUT_DIR")).with_file_name("output");
        let text = std::fs::read_to_string(&output).expect("the build script's output");
        let specs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs");
        assert!(
            text.lines()
                .any(|l| l == format!("cargo:rerun-if-changed={}", specs.display())),
            "{text}"
        );
    }
}
