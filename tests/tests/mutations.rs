//! Property test: mutate the real specs and lifecycles (delete, duplicate and swap lines,
//! truncate, flip bytes, inject non-UTF-8, replace numbers with huge ones, splice in pieces of
//! the language's groups, C spellings, sync-manager and binning forms) and check that the
//! checker returns a Model or diagnostics whose positions are inside the files, and that code
//! generation turns every Model it returns into all three outputs: never a panic in either.
//!
//! `PROPTEST_CASES` sets the number of cases (10,000 by default, as CI runs it).

use std::collections::HashMap;
use std::path::Path;

use asicgen_dsl::format::{FileKind, format};
use asicgen_dsl::{FileRef, check_with};
use proptest::prelude::*;

/// Every shipped spec, then every shipped lifecycle, as `specs/`-relative paths: a new
/// generation is mutated too, with no list to edit.
fn files() -> (Vec<String>, usize) {
    let specs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs");
    let list = |dir: &Path, ext: &str, prefix: &str| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("specs/")
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == ext))
            .filter_map(|p| {
                p.file_name()
                    .map(|n| format!("{prefix}{}", n.to_string_lossy()))
            })
            .collect();
        names.sort();
        names
    };
    let asics = list(&specs, "asic", "");
    let count = asics.len();
    let mut all = asics;
    all.extend(list(&specs.join("lifecycle"), "lifecycle", "lifecycle/"));
    (all, count)
}

fn originals(files: &[String]) -> HashMap<String, Vec<u8>> {
    let specs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs");
    files
        .iter()
        .map(|f| {
            let bytes = std::fs::read(specs.join(f)).expect("shipped spec");
            (format!("specs/{f}"), bytes)
        })
        .collect()
}

/// Every shipped file's path, how many of them are specs (they come first), and the bytes.
type Shipped = (Vec<String>, usize, HashMap<String, Vec<u8>>);

/// Pieces of the newer forms, spliced in anywhere: half-written groups, templates, selectors and
/// sync-manager terms.
const SNIPPETS: &[&str] = &[
    "group ",
    "group A0..A3 {",
    "group B c_name \"{prefix}_{group}_ENGINE_ID_{name}\" {",
    "c_name \"{name\"",
    "c_name \"{prefix}\"",
    " only DCORE0",
    " only X, Y",
    " in DCORE0..DCORE3",
    "[tpc, DCORE0_TPC_6]",
    "[A..B in C0..C1",
    "reserve r { sobs = 1 per pending_cs }",
    " per dec + 4294967295 per pending_cs",
    "completion_queues { CS_COMPLETION = 0 }",
    "binning { t { units = [tpc], max_faulty = 64, substitutes = [] } }",
    "cq = CS_COMPLETION",
    "NIC0_0..NIC99999_99999",
    "A0_0_0..A9_9_9",
    "}",
    "{",
    "@ 0",
];

#[derive(Clone, Debug)]
enum Mutation {
    DeleteLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Truncate(usize),
    FlipByte(usize, u8),
    InjectBytes(usize, Vec<u8>),
    HugeNumber(usize, String),
    DeleteRange(usize, usize),
    InjectText(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let idx = any::<prop::sample::Index>().prop_map(|i| i.index(usize::MAX >> 1));
    prop_oneof![
        idx.clone().prop_map(Mutation::DeleteLine),
        idx.clone().prop_map(Mutation::DuplicateLine),
        (idx.clone(), idx.clone()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        idx.clone().prop_map(Mutation::Truncate),
        (idx.clone(), any::<u8>()).prop_map(|(a, b)| Mutation::FlipByte(a, b)),
        (
            idx.clone(),
            prop::collection::vec(
                prop_oneof![Just(0xffu8), Just(0xc3), Just(0x80), Just(0), any::<u8>()],
                1..4
            )
        )
            .prop_map(|(a, b)| Mutation::InjectBytes(a, b)),
        (
            idx.clone(),
            prop_oneof![
                Just("18446744073709551616".to_string()),
                Just("99999999999999999999999999".to_string()),
                Just("0xffffffffffffffffff".to_string()),
                Just("4294967296".to_string()),
                Just("65536".to_string()),
                Just("0".to_string()),
                "[0-9]{1,25}",
            ]
        )
            .prop_map(|(a, n)| Mutation::HugeNumber(a, n)),
        (idx.clone(), 1usize..64).prop_map(|(a, n)| Mutation::DeleteRange(a, n)),
        (idx.clone(), 0..SNIPPETS.len()).prop_map(|(a, s)| Mutation::InjectText(a, s)),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let mut lines: Vec<Vec<u8>> = bytes.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
    let n = lines.len().max(1);
    match m {
        Mutation::DeleteLine(i) => {
            if !lines.is_empty() {
                lines.remove(i % n);
            }
        }
        Mutation::DuplicateLine(i) => {
            if !lines.is_empty() {
                let l = lines[i % n].clone();
                lines.insert(i % n, l);
            }
        }
        Mutation::SwapLines(a, b) => {
            if !lines.is_empty() {
                lines.swap(a % n, b % n);
            }
        }
        Mutation::Truncate(i) => {
            bytes.truncate(i % (bytes.len() + 1));
            return;
        }
        Mutation::FlipByte(i, x) => {
            if !bytes.is_empty() {
                let at = i % bytes.len();
                bytes[at] ^= x | 1;
            }
            return;
        }
        Mutation::InjectBytes(i, inject) => {
            let at = i % (bytes.len() + 1);
            bytes.splice(at..at, inject.iter().copied());
            return;
        }
        Mutation::HugeNumber(i, number) => {
            // Replace the i-th run of digits.
            let runs: Vec<(usize, usize)> = {
                let mut runs = Vec::new();
                let mut start = None;
                for (p, b) in bytes.iter().enumerate() {
                    match (b.is_ascii_digit(), start) {
                        (true, None) => start = Some(p),
                        (false, Some(s)) => {
                            runs.push((s, p));
                            start = None;
                        }
                        _ => {}
                    }
                }
                if let Some(s) = start {
                    runs.push((s, bytes.len()));
                }
                runs
            };
            if !runs.is_empty() {
                let (s, e) = runs[i % runs.len()];
                bytes.splice(s..e, number.bytes());
            }
            return;
        }
        Mutation::InjectText(i, snippet) => {
            let at = i % (bytes.len() + 1);
            bytes.splice(at..at, SNIPPETS[*snippet].bytes());
            return;
        }
        Mutation::DeleteRange(i, len) => {
            let at = i % (bytes.len() + 1);
            let end = (at + len).min(bytes.len());
            bytes.drain(at..end);
            return;
        }
    }
    *bytes = lines.join(&b'\n');
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_specs_give_a_model_or_positioned_diagnostics(
        spec in any::<prop::sample::Index>(),
        target in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
    ) {
        static SHIPPED: std::sync::OnceLock<Shipped> = std::sync::OnceLock::new();
        let (names, asics, shipped) = SHIPPED.get_or_init(|| {
            let (names, asics) = files();
            let originals = originals(&names);
            (names, asics, originals)
        });
        let (names, asics) = (names, *asics);
        let mut files = shipped.clone();
        let spec = spec.index(asics);
        let victim = format!("specs/{}", names[target.index(names.len())]);
        let bytes = files.get_mut(&victim).expect("known file");
        for m in &mutations {
            apply(bytes, m);
        }
        let spec = FileRef::new(format!("specs/{}", names[spec]));
        let loaded = check_with(spec.clone(), &mut |f: &FileRef| {
            files
                .get(&f.display)
                .cloned()
                .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
        });
        if let Ok(model) = &loaded.result {
            prop_assert!(!asicgen_codegen::rust_module(model).is_empty());
            prop_assert!(asicgen_codegen::c_header(model).contains("enum"));
            prop_assert!(asicgen_codegen::kernel_header(model).contains("static const"));
            prop_assert!(!asicgen_codegen::markdown(model).is_empty());
        }
        // `asicgen fmt` on the mutated file, where it parses: idempotent, and the spec's Model
        // is the same before and after (the content hash aside).
        let kind = if victim.ends_with(".lifecycle") { FileKind::Lifecycle } else { FileKind::Spec };
        if let Ok(text) = String::from_utf8(files[&victim].clone())
            && let Ok(formatted) = format(&text, kind, &victim)
        {
            let again = format(&formatted, kind, &victim).ok();
            prop_assert_eq!(again.as_deref(), Some(formatted.as_str()), "{} not idempotent", victim);
            if let Ok(model) = &loaded.result {
                let mut tidy = files.clone();
                tidy.insert(victim.clone(), formatted.into_bytes());
                let reformatted = check_with(spec, &mut |f: &FileRef| {
                    tidy.get(&f.display)
                        .cloned()
                        .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
                });
                let mut after = reformatted.result.map_err(|r| r.to_string());
                if let Ok(m) = &mut after {
                    m.provenance.content_hash.clone_from(&model.provenance.content_hash);
                }
                prop_assert_eq!(after.as_ref(), Ok(model), "{} changed meaning", victim);
            }
        }
        if let Err(report) = loaded.result {
            prop_assert!(!report.diagnostics().is_empty());
            for d in report.diagnostics() {
                let file = report.sources().get(d.span.file);
                prop_assert!(d.span.start <= d.span.end, "{d:?}");
                // Every diagnostic has a stable code: the table in dsl/src/codes.rs covers it.
                prop_assert_ne!(d.code(), asicgen_dsl::codes::INTERNAL, "{:?}", d);
                prop_assert!(d.span.end as usize <= file.text.len(), "{d:?} past the end of {}", file.display_path);
                for (span, _) in &d.notes {
                    let file = report.sources().get(span.file);
                    prop_assert!(span.end as usize <= file.text.len());
                }
            }
            // Rendering must not panic either.
            let rendered = report.to_string();
            prop_assert!(rendered.contains("error:"));
        }
    }
}
