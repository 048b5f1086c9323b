//! Every static check has a case under `tests/cases/`; its rendered diagnostics are pinned as an
//! insta snapshot. Specs named `ok_*` must check clean. Lifecycle cases (`cases/lifecycles/`) are
//! checked through a minimal spec that names them.

use asicgen_dsl::{FileRef, check_with, load};

fn render(loaded: asicgen_dsl::Loaded) -> (bool, String) {
    match loaded.result {
        Ok(model) => (
            true,
            format!(
                "ok: {} ({} engines, {} queues, lifecycle `{}`)",
                model.name,
                model.engines.len(),
                model.queues.len(),
                model.lifecycle.name
            ),
        ),
        Err(report) => (false, report.to_string()),
    }
}

fn expect_clean(name: &str) -> bool {
    name.starts_with("ok_") || name.starts_with("override_ok")
}

#[test]
fn spec_cases() {
    insta::glob!("cases/*.asic", |path| {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let display = format!("cases/{name}.asic");
        let (clean, rendered) = render(load(path, &display));
        assert_eq!(clean, expect_clean(name), "{display}:\n{rendered}");
        insta::assert_snapshot!(rendered);
    });
}

const WRAPPER: &str = r#"asic T {
    uapi_prefix = "T"
    pci_vendor  = 0x1da3
    pci_devices = [0x1]
    lifecycle   = "lifecycles/CASE.lifecycle"
}
limits { max_pending_cs = 64, max_jobs_per_cs = 16, queue_length = 64, cs_timeout = 1s, completion = per_job }
engines { dma DMA_0 }
queues { external DMA_0 { engine = DMA_0, cq = 0, cb_alloc = kernel } }
"#;

#[test]
fn lifecycle_cases() {
    insta::glob!("cases/lifecycles/*.lifecycle", |path| {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        if name.starts_with("cycle_") {
            // Reached through cases/lifecycle_cycle.asic.
            return;
        }
        let dir = path
            .parent()
            .and_then(Path::parent)
            .unwrap_or(Path::new("."));
        let spec = FileRef {
            display: "cases/wrapper.asic".into(),
            real: dir.join("wrapper.asic"),
        };
        let loaded = check_with(spec.clone(), &mut |file: &FileRef| {
            if *file == spec {
                Ok(WRAPPER.replace("CASE", name).into_bytes())
            } else {
                std::fs::read(&file.real)
            }
        });
        let (clean, rendered) = render(loaded);
        assert_eq!(clean, expect_clean(name), "{name}:\n{rendered}");
        insta::assert_snapshot!(rendered);
    });
}

#[test]
fn non_utf8_bytes_point_at_the_first_bad_byte() {
    let spec = FileRef::new("bytes.asic");
    let loaded = check_with(spec, &mut |_| Ok(b"asic X {\n  \xff\xfe }".to_vec()));
    let (clean, rendered) = render(loaded);
    assert!(!clean);
    insta::assert_snapshot!(rendered);
}
