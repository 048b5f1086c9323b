//! Every generated C header compiles with `gcc -std=c11 -Wall -Wextra -Werror -pedantic`, and
//! for every ASIC in `tests/reference/` its enumerators are exactly the kernel's: same names,
//! same values, nothing missing and nothing extra. gcc itself checks the values through
//! `_Static_assert`, so the header is tested as a C compiler reads it.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn header(stem: &str) -> String {
    let display = format!("../specs/{stem}.asic");
    match asicgen_dsl::load(&manifest_dir().join(&display), &display).result {
        Ok(model) => asicgen_codegen::c_header(&model),
        Err(report) => panic!("specs/{stem}.asic does not check:\n{report}"),
    }
}

/// `(enumerator, value)` rows of one asic from a reference tsv (`asic enum name value`).
fn reference(file: &str, asic: &str) -> BTreeMap<String, u32> {
    let path = manifest_dir().join("../tests/reference").join(file);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            match cols.as_slice() {
                [a, _, name, value] if *a == asic => {
                    Some((name.to_string(), value.trim().parse().ok()?))
                }
                _ => None,
            }
        })
        .collect()
}

/// `(enumerator, value)` pairs as the header spells them (`\tNAME = 12,`).
fn enumerators(header: &str) -> BTreeMap<String, u32> {
    header
        .lines()
        .filter_map(|line| {
            let (name, value) = line.trim().trim_end_matches(',').split_once(" = ")?;
            Some((name.to_string(), value.parse().ok()?))
        })
        .collect()
}

fn gcc_available() -> bool {
    Command::new("gcc")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Compiles `main.c` next to `<stem>.h`; `asserts` become `_Static_assert`s.
fn compile(stem: &str, header: &str, asserts: &BTreeMap<String, u32>) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("c_header_{stem}"));
    fs::create_dir_all(&dir).expect("create tmp dir");
    fs::write(dir.join(format!("{stem}.h")), header).expect("write header");
    let mut main = format!("#include \"{stem}.h\"\n#include \"{stem}.h\"\n\n");
    for (name, value) in asserts {
        main.push_str(&format!("_Static_assert({name} == {value}, \"{name}\");\n"));
    }
    main.push_str("\nint main(void) { return 0; }\n");
    fs::write(dir.join("main.c"), main).expect("write main.c");
    let out = Command::new("gcc")
        .args([
            "-std=c11",
            "-Wall",
            "-Wextra",
            "-Werror",
            "-pedantic",
            "-fsyntax-only",
        ])
        .arg(dir.join("main.c"))
        .output()
        .expect("run gcc");
    assert!(
        out.status.success(),
        "gcc rejected {stem}.h:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn check(stem: &str, asic_in_reference: Option<&str>) {
    let header = header(stem);
    let found = enumerators(&header);
    let mut expected = BTreeMap::new();
    if let Some(asic) = asic_in_reference {
        expected.extend(reference("queue_ids.tsv", asic));
        expected.extend(reference("engine_ids.tsv", asic));
        assert!(!expected.is_empty(), "no reference rows for {asic}");
        let missing: Vec<_> = expected
            .keys()
            .filter(|k| !found.contains_key(*k))
            .collect();
        let extra: Vec<_> = found
            .keys()
            .filter(|k| !expected.contains_key(*k))
            .collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{stem}.h differs from the kernel: missing {missing:?}, extra {extra:?}"
        );
    }
    if !gcc_available() {
        eprintln!("gcc not found: skipping the compile of {stem}.h");
        return;
    }
    // The header's own values are asserted too, so a parse slip in `enumerators` cannot hide a
    // wrong value: gcc checks the text the kernel reference gives against what it compiled.
    let asserts = if expected.is_empty() { found } else { expected };
    compile(stem, &header, &asserts);
}

/// Every spec's header compiles; the ones of an ASIC `tests/reference/` has rows for are the
/// kernel's exactly. The list of specs is the `specs/` folder, so a new generation is covered
/// without an edit here.
#[test]
fn every_header_compiles_and_reference_asics_are_the_kernels() {
    let dir = manifest_dir().join("../specs");
    let mut stems: Vec<String> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|ext| ext == "asic"))
        .filter_map(|p| p.file_stem().and_then(|s| s.to_str()).map(str::to_owned))
        .collect();
    stems.sort();
    let mut compared = Vec::new();
    for stem in &stems {
        let in_reference = !reference("queue_ids.tsv", stem).is_empty();
        check(stem, in_reference.then_some(stem.as_str()));
        if in_reference {
            compared.push(stem.as_str());
        }
    }
    // The three real generations are compared, whatever else `specs/` holds.
    for asic in ["goya", "gaudi", "gaudi2"] {
        assert!(
            compared.contains(&asic),
            "{asic} was not compared: {compared:?}"
        );
    }
}
