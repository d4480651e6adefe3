//! The mapping-template corpus rendered by Switchboard's engine: every case renders, and where
//! a case records API Gateway's output (`expected`), the engine produces exactly that. The
//! same corpus is rendered by Apache Velocity 1.7 in `tests/vtl/compare.mjs` (differential test).

mod support;

use support::vtl_case;

/// The issue asks for at least 60 templates.
const MIN_CASES: usize = 60;

#[test]
fn every_corpus_case_renders_and_matches_its_expected_output() {
    let cases = vtl_case::load(&vtl_case::corpus_dir()).expect("corpus loads");
    assert!(cases.len() >= MIN_CASES, "corpus has {} cases", cases.len());
    let mut failures = Vec::new();
    for (name, case) in &cases {
        match (case.render(), &case.expected) {
            (Err(e), _) => failures.push(format!("{name}: {e}")),
            (Ok(got), Some(want)) if got != *want => {
                failures.push(format!("{name}:\n  got  {got:?}\n  want {want:?}"))
            }
            _ => {}
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
