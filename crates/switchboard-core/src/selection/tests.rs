use std::borrow::Cow;

use proptest::prelude::*;

use super::*;

fn expr(source: &str) -> SelectionExpression {
    match SelectionExpression::parse(source) {
        Ok(e) => e,
        Err(e) => panic!("{source:?} should parse: {e}"),
    }
}

fn route(source: &str, body: &str) -> Option<String> {
    expr(source).select_route(body).map(Cow::into_owned)
}

fn parse_error(source: &str) -> SelectionError {
    match SelectionExpression::parse(source) {
        Ok(e) => panic!("{source:?} should not parse, got {e:?}"),
        Err(e) => e,
    }
}

fn path(text: &str) -> BodyPath {
    match BodyPath::parse(text) {
        Ok(p) => p,
        Err(e) => panic!("{text:?} should parse: {e}"),
    }
}

// === docs/behaviour.md §2.2 evaluation table ===

#[test]
fn documented_evaluation_table() {
    let body = r#"{"service":"chat","action":"join","data":{"room":"room1234"}}"#;
    let table = [
        ("$request.body.action", "join"),
        ("${request.body.action}", "join"),
        (
            "${request.body.service}/${request.body.action}",
            "chat/join",
        ),
        (
            "${request.body.action}-${request.body.invalidPath}",
            "join-",
        ),
        ("action", "action"),
        ("\\$default", "$default"),
    ];
    for (source, expected) in table {
        assert_eq!(route(source, body).as_deref(), Some(expected), "{source}");
    }
}

#[test]
fn common_route_key_is_borrowed_from_the_message() {
    let body = r#"{"action":"sendmessage","data":{"x":[1,2,{"y":"z"}]}}"#;
    let selected = expr("$request.body.action").select_route(body);
    let Some(Cow::Borrowed(key)) = selected else {
        panic!("expected a borrowed key, got {selected:?}");
    };
    assert_eq!(key, "sendmessage");
    let range = body.as_ptr() as usize..body.as_ptr() as usize + body.len();
    assert!(range.contains(&(key.as_ptr() as usize)));
}

#[test]
fn numbers_and_booleans_borrow_too() {
    let e = expr("$request.body.n");
    assert!(matches!(
        e.select_route(r#"{"n": 1.50}"#),
        Some(Cow::Borrowed("1.50"))
    ));
    assert!(matches!(
        e.select_route(r#"{"n":true}"#),
        Some(Cow::Borrowed("true"))
    ));
}

// === docs/behaviour.md §2.3 selection semantics ===

#[test]
fn non_json_messages_select_nothing() {
    for body in [
        "",
        "   ",
        "hello",
        "{\"action\":\"join\"",
        "{\"action\":\"join\"} x",
        "{\"action\":\"join\"}{}",
        "{\"action\":\"join\",}",
        "{'action':'join'}",
    ] {
        assert_eq!(route("$request.body.action", body), None, "{body:?}");
        assert_eq!(
            route("${request.body.a}/${request.body.b}", body),
            None,
            "{body:?}"
        );
        assert_eq!(route("\\$default", body), None, "static, {body:?}");
    }
}

#[test]
fn surrounding_whitespace_is_fine() {
    assert_eq!(
        route("$request.body.action", " \n{\"action\" : \"join\"}\r\n ").as_deref(),
        Some("join")
    );
}

#[test]
fn missing_null_and_non_objects_are_empty() {
    for body in [
        r#"{}"#,
        r#"{"action":null}"#,
        r#"{"action":""}"#,
        r#"{"other":{"action":"x"}}"#,
        r#"["action"]"#,
        r#""action""#,
        "42",
        "true",
        "null",
    ] {
        assert_eq!(
            route("$request.body.action", body).as_deref(),
            Some(""),
            "{body}"
        );
    }
}

#[test]
fn escaped_strings_are_unescaped() {
    let e = expr("$request.body.action");
    let selected = e.select_route(r#"{"action":"a\"b\\c\u00e9\n\ud83d\ude00"}"#);
    assert_eq!(selected.as_deref(), Some("a\"b\\c\u{e9}\n\u{1f600}"));
    // Escaped keys still match.
    assert_eq!(
        e.select_route(r#"{"\u0061ction":"join"}"#).as_deref(),
        Some("join")
    );
    // A lone surrogate is valid JSON to skip; its value is made printable.
    let lone = e
        .select_route(r#"{"action":"x\ud800y"}"#)
        .map(Cow::into_owned);
    assert!(
        lone.as_ref()
            .is_some_and(|v| v.starts_with('x') && v.ends_with('y') && v.contains('\u{fffd}')),
        "{lone:?}"
    );
    assert_eq!(
        e.select_route(r#"{"\ud800":1,"action":"ok"}"#).as_deref(),
        Some("ok")
    );
}

#[test]
fn numbers_keep_their_text() {
    for n in [
        "0",
        "-1",
        "1.0",
        "1e3",
        "-2.5E-7",
        "12345678901234567890123",
    ] {
        let body = format!(r#"{{"action":{n}}}"#);
        assert_eq!(route("$request.body.action", &body).as_deref(), Some(n));
    }
    assert_eq!(
        route("$request.body.action", r#"{"action":false}"#).as_deref(),
        Some("false")
    );
}

#[test]
fn arrays_and_objects_are_stringified_java_style() {
    let cases = [
        (r#"["item1","item2"]"#, "[item1, item2]"),
        (r#"[]"#, "[]"),
        (
            r#"[1, 2.0, true, null, "x,y", ["n"]]"#,
            "[1, 2.0, true, null, x,y, [n]]",
        ),
        (r#"{"room":"room1234","n":1}"#, "{room=room1234, n=1}"),
        (r#"{}"#, "{}"),
        (r#"{"a":[{"b":null}],"c":"\u0041"}"#, "{a=[{b=null}], c=A}"),
        (r#"{"k":1,"j":2,"k":3}"#, "{k=3, j=2}"),
    ];
    for (value, expected) in cases {
        let body = format!(r#"{{"action":{value}}}"#);
        assert_eq!(
            route("$request.body.action", &body).as_deref(),
            Some(expected),
            "{value}"
        );
    }
}

#[test]
fn nested_paths_brackets_and_indices() {
    let body = r#"{"service":{"do":"it"},"a b":{"c'd":["x","y"]},"list":[{"k":"v0"},{"k":"v1"}]}"#;
    assert_eq!(
        route("$request.body.service.do", body).as_deref(),
        Some("it")
    );
    assert_eq!(
        route("$request.body['a b'][\"c'd\"][1]", body).as_deref(),
        Some("y")
    );
    assert_eq!(
        route("${request.body['a b']['c\\'d'][0]}", body).as_deref(),
        Some("x")
    );
    assert_eq!(
        route("$request.body.list[1].k", body).as_deref(),
        Some("v1")
    );
    assert_eq!(route("$request.body.list[2].k", body).as_deref(), Some(""));
    assert_eq!(route("$request.body.list.k", body).as_deref(), Some(""));
    assert_eq!(route("$request.body.service[0]", body).as_deref(), Some(""));
    assert_eq!(
        route("$request.body[0]", r#"["first"]"#).as_deref(),
        Some("first")
    );
    assert_eq!(
        route("${request.body['}']}", r#"{"}":"brace"}"#).as_deref(),
        Some("brace")
    );
}

#[test]
fn whole_body_path() {
    assert_eq!(
        route("$request.body", r#""just text""#).as_deref(),
        Some("just text")
    );
    assert_eq!(
        route("$request.body", r#" {"a":1} "#).as_deref(),
        Some("{a=1}")
    );
}

#[test]
fn repeated_key_last_value_wins() {
    assert_eq!(
        route("$request.body.action", r#"{"action":"a","action":"b"}"#).as_deref(),
        Some("b")
    );
}

#[test]
fn deep_nesting_does_not_overflow_the_stack() {
    // serde_json skips unneeded values iteratively, so deep documents are valid JSON.
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    assert_eq!(route("$request.body.action", &deep).as_deref(), Some(""));
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
    assert_eq!(
        route("$request.body.a.b", &deep_object).as_deref(),
        Some("")
    );
    // A deep value at the path is rendered to a bounded depth, then as its JSON text.
    let body = format!(
        r#"{{"action":{}{}}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let Some(key) = route("$request.body.action", &body) else {
        panic!("valid JSON");
    };
    assert_eq!(
        key,
        format!("{}{}", "[".repeat(100_000), "]".repeat(100_000))
    );
    // Unclosed nesting is still invalid.
    assert_eq!(route("$request.body.action", &"[".repeat(100_000)), None);
}

#[test]
fn mixed_text_and_non_body_variables_in_route_selection() {
    let e = expr("v1-${request.body.action}-${request.header.x}-$context.connectionId");
    assert_eq!(
        e.select_route(r#"{"action":"go"}"#).as_deref(),
        Some("v1-go--")
    );
    assert_eq!(e.select_route("nope"), None);
    let header_only = expr("${request.header.x}/static");
    assert_eq!(header_only.select_route("{}").as_deref(), Some("/static"));
    assert_eq!(header_only.select_route("nope"), None);
}

// === static expressions and escapes ===

#[test]
fn static_values() {
    for (source, value) in [
        ("\\$default", "$default"),
        ("$default", "$default"),
        ("action", "action"),
        ("", ""),
        ("price: \\$5 \\n", "price: $5 \\n"),
        ("\\\\$default", "\\$default"),
    ] {
        let e = expr(source);
        assert_eq!(e.static_value(), Some(value), "{source}");
        assert_eq!(e.variables().count(), 0);
        assert_eq!(e.evaluate(|_| None), value);
        assert_eq!(e.select_route("{}").as_deref(), Some(value));
        assert_eq!(e.source(), source);
    }
    assert_eq!(expr("$request.body.action").static_value(), None);
}

#[test]
fn default_only_alone_is_the_catch_all() {
    let err = parse_error("$default-x");
    assert_eq!(err.position, 1);
    assert!(err.message.contains("unknown variable"), "{err}");
}

// === variables and general evaluation (docs/behaviour.md §2.4) ===

#[test]
fn variables_expose_root_name_and_path() {
    let e = expr(
        "$request.body.a.b ${request.header.x-api-key} $request.querystring.token \
         $context.authorizer.usageIdentifierKey ${stageVariables.backend} \
         $integration.response.statuscode ${integration.response.header.Content-Type} \
         ${integration.response.multivalueheader.Set-Cookie} $integration.response.body.errorMessage",
    );
    let vars: Vec<&Variable> = e.variables().collect();
    assert_eq!(
        vars,
        [
            &Variable::RequestBody(path(".a.b")),
            &Variable::RequestHeader("x-api-key".into()),
            &Variable::RequestQueryString("token".into()),
            &Variable::Context("authorizer.usageIdentifierKey".into()),
            &Variable::StageVariable("backend".into()),
            &Variable::IntegrationStatusCode,
            &Variable::IntegrationHeader("Content-Type".into()),
            &Variable::IntegrationMultiValueHeader("Set-Cookie".into()),
            &Variable::IntegrationBody(path(".errorMessage")),
        ]
    );
    let roots: Vec<&str> = vars.iter().map(|v| v.root()).collect();
    assert_eq!(
        roots,
        [
            "request.body",
            "request.header",
            "request.querystring",
            "context",
            "stageVariables",
            "integration.response.statuscode",
            "integration.response.header",
            "integration.response.multivalueheader",
            "integration.response.body",
        ]
    );
    assert_eq!(vars[1].name(), Some("x-api-key"));
    assert_eq!(vars[0].name(), None);
    assert_eq!(
        vars[0].body_path().map(BodyPath::segments),
        Some(&[PathSegment::Key("a".into()), PathSegment::Key("b".into())][..])
    );
    assert_eq!(vars[5].body_path(), None);
}

#[test]
fn evaluate_with_caller_values() {
    let e = expr("${integration.response.statuscode}:${integration.response.body.errorMessage}!");
    let response = r#"{"errorMessage":"Boom"}"#;
    let status = String::from("500");
    let value = e.evaluate(|variable| match variable {
        Variable::IntegrationStatusCode => Some(Cow::Borrowed(status.as_str())),
        Variable::IntegrationBody(path) => body_value(response, path),
        _ => None,
    });
    assert_eq!(value, "500:Boom!");
    assert_eq!(e.evaluate(|_| None), ":!");
    // No recursion (docs/behaviour.md §2.2): a value that looks like a variable stays text.
    let once = expr("$stageVariables.a").evaluate(|_| Some(Cow::Borrowed("${stageVariables.a}")));
    assert_eq!(once, "${stageVariables.a}");
}

#[test]
fn display_round_trips() {
    for source in [
        "request.body.a.b",
        "request.body['a b'][0]['it\\'s']",
        "request.header.x-api-key",
        "context.authorizer.usageIdentifierKey",
        "integration.response.statuscode",
    ] {
        let braced = format!("${{{source}}}");
        let e = expr(&braced);
        let shown = e.variables().map(ToString::to_string).collect::<Vec<_>>();
        assert_eq!(shown, [source]);
        assert_eq!(e.to_string(), braced);
    }
    let quoted = expr("${request.body[\"a.b\"]}");
    let shown: Vec<String> = quoted.variables().map(ToString::to_string).collect();
    assert_eq!(shown, ["request.body['a.b']"]);
}

#[test]
fn body_path_helpers() {
    let p = path("['data'].room");
    assert_eq!(
        p.lookup(r#"{"data":{"room": 12 }}"#)
            .ok()
            .flatten()
            .map(|raw| raw.get()),
        Some("12")
    );
    assert!(p.lookup("{").is_err());
    assert!(matches!(p.lookup("{}"), Ok(None)));
    assert_eq!(
        body_value("[1, 2]", &BodyPath::default()).as_deref(),
        Some("[1, 2]")
    );
    assert!(BodyPath::parse("a").is_err());
    assert_eq!(path("").segments(), &[]);
}

#[test]
fn unbraced_variable_extent() {
    // An unbraced variable ends at the first character outside [A-Za-z0-9_.-] and brackets.
    let body = r#"{"a":"x","b":"y"}"#;
    assert_eq!(
        route("$request.body.a/$request.body.b", body).as_deref(),
        Some("x/y")
    );
    assert_eq!(route("<$request.body.a>", body).as_deref(), Some("<x>"));
    assert_eq!(
        route("$request.body.a-b", r#"{"a-b":"dash"}"#).as_deref(),
        Some("dash")
    );
}

// === parse errors ===

#[test]
fn parse_errors_have_positions() {
    let cases = [
        ("${}", 0, "empty `${}`"),
        ("ab${request.body.a", 2, "unclosed `${`"),
        ("$foo.bar", 1, "unknown variable"),
        ("${request.bodyx}", 2, "unknown variable"),
        ("$request.body[x]", 14, "expected an index or a quoted name"),
        ("$request.body[]", 13, "empty `[]`"),
        ("$request.body[*]", 14, "wildcards"),
        ("$request.body['a", 13, "unclosed quote"),
        ("$request.body['a'x]", 17, "expected `]`"),
        ("$request.body[0", 13, "unclosed `[`"),
        ("$request.body..a", 13, "empty name"),
        ("$request.body.a.", 15, "empty name"),
        ("${request.body.${x}}", 15, "nested variables"),
        ("abc$", 3, "expected a variable"),
        ("a $ b", 2, "expected a variable name"),
        ("${request.header}", 16, "expected `.` and a name"),
        ("${request.header.}", 17, "expected a name"),
        ("${request.header.a[0]}", 18, "brackets"),
        ("${context.a..b}", 12, "empty name in `context`"),
        (
            "${integration.response.statuscode.x}",
            33,
            "unexpected text",
        ),
        ("${request.body['a']b}", 19, "expected `.` or `[`"),
        ("é${}", 1, "empty `${}`"),
        (
            "$request.body[99999999999999999999999999]",
            14,
            "index too large",
        ),
    ];
    for (source, position, message) in cases {
        let err = parse_error(source);
        assert_eq!(err.position, position, "{source}: {err}");
        assert!(err.message.contains(message), "{source}: {err}");
        assert!(err
            .to_string()
            .ends_with(&format!(" at character {position}")));
    }
}

// === properties ===

/// A JSON value of modest size, as text.
fn json_text() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_owned()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| f.to_string()),
        any::<String>().prop_map(|s| serde_json::Value::String(s).to_string()),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6)
                .prop_map(|items| format!("[{}]", items.join(","))),
            prop::collection::vec(("[a-z]{0,3}", inner), 0..6).prop_map(|members| {
                let members: Vec<String> = members
                    .into_iter()
                    .map(|(k, v)| format!("{}:{v}", serde_json::Value::String(k)))
                    .collect();
                format!("{{{}}}", members.join(","))
            }),
        ]
    })
}

proptest! {
    // Failures are reported, not saved: the regressions folder is outside this module.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn parse_never_panics(source in any::<String>()) {
        if let Ok(e) = SelectionExpression::parse(&source) {
            let _ = e.select_route(&source);
            let _ = e.evaluate(|_| Some(Cow::Borrowed("v")));
        }
    }

    #[test]
    fn parse_never_panics_on_expression_like_text(source in r"[$\\{}\[\]'.a-z0-9 é-]{0,24}") {
        if let Ok(e) = SelectionExpression::parse(&source) {
            prop_assert_eq!(e.source(), source.as_str());
            let _ = e.select_route(r#"{"a":{"b":[1,"x"]}}"#);
        }
    }

    #[test]
    fn select_route_never_panics(body in any::<String>()) {
        for source in ["$request.body.action", "${request.body.a}-${request.body['b'][0]}", "\\$default", "$request.body"] {
            let _ = expr(source).select_route(&body);
        }
    }

    #[test]
    fn select_route_never_panics_on_json(body in json_text(), key in "[a-z]{1,3}") {
        let e = expr(&format!("${{request.body['{key}']}}-${{request.body[0].{key}}}"));
        prop_assert!(e.select_route(&body).is_some());
    }

    #[test]
    fn action_string_is_the_route_key(action in any::<String>(), other in json_text()) {
        let json_action = serde_json::Value::String(action.clone()).to_string();
        let e = expr("$request.body.action");
        let body = format!(r#"{{"action":{json_action}}}"#);
        prop_assert_eq!(e.select_route(&body).map(Cow::into_owned), Some(action.clone()));
        let body = format!(r#"{{"before":{other}, "action" : {json_action} ,"after":{other}}}"#);
        prop_assert_eq!(e.select_route(&body).map(Cow::into_owned), Some(action));
    }

    #[test]
    fn validity_matches_serde_json(body in any::<String>()) {
        let valid = serde_json::from_str::<serde::de::IgnoredAny>(&body).is_ok();
        prop_assert_eq!(expr("$request.body.action").select_route(&body).is_some(), valid);
    }

    #[test]
    fn validity_matches_serde_json_on_json_like_text(body in r#"[\[\]{}",: a0-9.e\\]{0,16}"#) {
        let valid = serde_json::from_str::<serde::de::IgnoredAny>(&body).is_ok();
        prop_assert_eq!(expr("$request.body.a").select_route(&body).is_some(), valid);
    }
}
