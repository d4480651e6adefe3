//! Route selection (docs/behaviour.md §2): a fuzzed selection expression over a fuzzed message,
//! and the fixed APIs' own expressions over the same message, then the route lookup a message
//! makes. Input: `expression \0 message`.
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use switchboard_core::selection::SelectionExpression;

fuzz_target!(|data: &[u8]| {
    let [expression, message] =
        <[String; 2]>::try_from(common::fields(data, 2)).unwrap_or_default();
    if let Ok(parsed) = SelectionExpression::parse(&expression) {
        // What was parsed is what is kept, and it parses again to the same expression.
        assert_eq!(parsed.source(), expression);
        let again = SelectionExpression::parse(parsed.source());
        assert!(again.is_ok(), "a parsed expression must parse again");
        let selected = parsed.select_route(&message);
        if let (Some(value), Some(key)) = (parsed.static_value(), &selected) {
            assert_eq!(value, key.as_ref(), "a static expression selects its value");
        }
        let _ = parsed.evaluate(|variable| {
            variable
                .body_path()
                .and_then(|path| switchboard_core::selection::body_value(&message, path))
        });
    }
    // The message as the gateway dispatches it: select, then look the key up.
    let stages = common::two_apis().apis.values().flat_map(|api| api.stages.values());
    for definition in stages.map(|stage| &stage.definition) {
        let key = definition.route_selection.select_route(&message);
        if let Some(route) = definition.route_for(key.as_deref()) {
            // A message never reaches a lifecycle route (issue 17, finding 4).
            assert!(
                route.key != "$connect" && route.key != "$disconnect",
                "message {message:?} selected {}",
                route.key
            );
        }
    }
});
