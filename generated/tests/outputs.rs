//! Every output of every spec under `specs/` is an insta snapshot (`tests/snapshots/`): the
//! expansion of `asic!` as prettyplease prints it, the C uapi header and the Markdown page.
//!
//! A new spec is picked up by the glob, so adding a generation needs no edit here. After an
//! intended change, `cargo insta test --accept` (or `cargo test` then `cargo insta review`)
//! updates the snapshots; with `CI` set, drift fails with a diff.

mod support;

#[test]
fn every_output_of_every_spec() {
    insta::glob!("../../specs", "*.asic", |path| {
        // Named like the review copies: `outputs__rs@goya.asic.snap` holds `review/goya.rs`.
        for output in support::outputs(&support::stem(path)) {
            insta::assert_snapshot!(output.ext, output.text);
        }
    });
}
