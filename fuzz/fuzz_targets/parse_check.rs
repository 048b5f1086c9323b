//! Parse + check arbitrary bytes as a spec. The first byte picks how the bytes are used: as the
//! spec itself (with the shipped default lifecycle available), or as a lifecycle file named by
//! the shipped Goya spec (the shipped lifecycles are served too, so a seed from Gaudi2's spec
//! checks clean). A spec that checks is also run through every code generator. Any panic
//! is a finding.
#![no_main]

use asicgen_dsl::{FileRef, check_with};
use libfuzzer_sys::fuzz_target;

const GOYA: &[u8] = include_bytes!("../../specs/goya.asic");
const DEFAULT_LIFECYCLE: &[u8] = include_bytes!("../../specs/lifecycle/default.lifecycle");
const PER_CS_LIFECYCLE: &[u8] = include_bytes!("../../specs/lifecycle/per_cs.lifecycle");

fuzz_target!(|data: &[u8]| {
    let Some((&mode, input)) = data.split_first() else {
        return;
    };
    let as_lifecycle = mode & 1 == 1;
    let loaded = check_with(FileRef::new("specs/goya.asic"), &mut |file: &FileRef| {
        match file.display.as_str() {
            "specs/goya.asic" if !as_lifecycle => Ok(input.to_vec()),
            "specs/goya.asic" => Ok(GOYA.to_vec()),
            "specs/lifecycle/default.lifecycle" if as_lifecycle => Ok(input.to_vec()),
            "specs/lifecycle/default.lifecycle" => Ok(DEFAULT_LIFECYCLE.to_vec()),
            // Gaudi2 and the example name it.
            "specs/lifecycle/per_cs.lifecycle" => Ok(PER_CS_LIFECYCLE.to_vec()),
            _ => Err(std::io::Error::from(std::io::ErrorKind::NotFound)),
        }
    });
    match loaded.result {
        Ok(model) => {
            let _ = asicgen_codegen::rust_module(&model);
            let _ = asicgen_codegen::c_header(&model);
            let _ = asicgen_codegen::kernel_header(&model);
            let _ = asicgen_codegen::kernel_rows(&model);
            let _ = asicgen_codegen::markdown(&model);
        }
        Err(report) => {
            assert!(!report.diagnostics().is_empty());
            let _ = report.to_string();
        }
    }
});
