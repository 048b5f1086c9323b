//! The uapi reader against the real generator: for every shipped spec, reading the generated
//! header back gives one enumerator per queue and engine (plus the `_SIZE` sentinels) with the
//! Model's ids, so the lints see everything the header publishes.

use std::path::{Path, PathBuf};

use asicgen_diff::{SpecDiff, uapi};

fn shipped_specs() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../specs");
    let mut specs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("specs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "asic"))
        .collect();
    specs.sort();
    assert!(!specs.is_empty(), "no specs found in {}", dir.display());
    specs
}

#[test]
fn every_published_enumerator_is_read_back_with_its_model_id() {
    for spec in shipped_specs() {
        let display = spec.display().to_string();
        let model = asicgen_dsl::load(&spec, &display)
            .result
            .unwrap_or_else(|r| panic!("{r}"));
        let header = asicgen_codegen::c_header(&model);
        let read = uapi::read(&header).unwrap_or_else(|e| panic!("{display}: {e}"));
        let [queues, engines] = read.enums.as_slice() else {
            panic!(
                "{display}: expected the queue and engine enums, got {:?}",
                read.enums
            );
        };
        for (e, ids, size) in [
            (
                queues,
                model.queues.iter().map(|q| q.props.id).collect::<Vec<_>>(),
                model.queue_id_size(),
            ),
            (
                engines,
                model.engines.iter().map(|e| e.props.id).collect::<Vec<_>>(),
                model.engine_id_size(),
            ),
        ] {
            let (sentinel, rest) = e.enumerators.split_last().expect("non-empty enum");
            assert!(sentinel.is_size_sentinel(), "{display}: {}", sentinel.name);
            assert_eq!(sentinel.value, i64::from(size), "{display}: {}", e.tag);
            let mut read_ids: Vec<i64> = rest.iter().map(|x| x.value).collect();
            let mut want: Vec<i64> = ids.into_iter().map(i64::from).collect();
            read_ids.sort_unstable();
            want.sort_unstable();
            assert_eq!(read_ids, want, "{display}: {}", e.tag);
        }
    }
}

#[test]
fn a_spec_diffed_with_itself_has_no_change_and_no_finding() {
    for spec in shipped_specs() {
        let display = spec.display().to_string();
        let model = asicgen_dsl::load(&spec, &display)
            .result
            .unwrap_or_else(|r| panic!("{r}"));
        let diff = SpecDiff::between((&display, &model), (&display, &model)).expect("reads");
        assert!(
            diff.changes.is_empty() && diff.findings.is_empty(),
            "{display}: {diff:?}"
        );
    }
}

#[test]
fn the_lint_reference_lists_every_lint_with_its_level() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/uapi-lints.md"),
    )
    .expect("docs/uapi-lints.md");
    for lint in asicgen_diff::lints::ALL {
        let row = format!("| `{}` | {} |", lint.id, lint.level.name());
        assert!(
            doc.contains(&row),
            "docs/uapi-lints.md lacks the row `{row}`"
        );
    }
}
