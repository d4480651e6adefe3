//! Mapping templates (docs/templates.md): parse a fuzzed template and render it over a fuzzed
//! body within a small budget. Rendering must never panic, must stop within its step budget
//! and never produce more than its output limit. Input: `template \0 body`.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use switchboard_core::template::{
    InputParams, RenderBudget, RenderError, Template, TemplateContext,
};

/// Small enough that one input stays fast, large enough for loops, JSON walks and regexes.
const BUDGET: RenderBudget = RenderBudget {
    max_steps: 20_000,
    max_output_bytes: 64 * 1024,
    // No clock: the outcome depends on the input alone, so a finding reproduces.
    max_time: None,
};

struct Fixture {
    context: serde_json::Value,
    stage_variables: BTreeMap<String, String>,
    params: InputParams,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| Fixture {
        context: serde_json::json!({
            "connectionId": "abcdefghijklmno=",
            "routeKey": "send",
            "stage": "dev",
            "requestTimeEpoch": 1700000000000_i64,
            "authorizer": {"principalId": "me", "n": 3, "ok": true, "nested": {"a": [1, 2]}},
            "identity": {"sourceIp": "127.0.0.1"},
        }),
        stage_variables: BTreeMap::from([
            ("env".to_owned(), "dev".to_owned()),
            ("url".to_owned(), "http://example.com/a?b=c".to_owned()),
        ]),
        params: InputParams {
            path: BTreeMap::new(),
            querystring: BTreeMap::from([("q".to_owned(), "1".to_owned())]),
            header: BTreeMap::from([("Host".to_owned(), "example.com".to_owned())]),
        },
    })
}

fuzz_target!(|data: &[u8]| {
    let [source, body] = <[String; 2]>::try_from(common::fields(data, 2)).unwrap_or_default();
    let Ok(template) = Template::parse(&source) else {
        return;
    };
    let f = fixture();
    let ctx = TemplateContext::new(&body, &f.context, &f.stage_variables).with_params(&f.params);
    match template.render_within(&ctx, &BUDGET) {
        Ok(out) => assert!(
            out.len() <= BUDGET.max_output_bytes,
            "rendered {} bytes past the {}-byte limit",
            out.len(),
            BUDGET.max_output_bytes
        ),
        Err(RenderError::Failed(e) | RenderError::Exhausted(e)) => {
            // Errors point into the template (1-based line and column).
            assert!(e.line >= 1 && e.column >= 1, "error position {e:?}");
        }
    }
});
