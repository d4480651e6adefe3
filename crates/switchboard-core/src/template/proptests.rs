//! Property tests: parsing and rendering never panic on arbitrary input.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::{Template, TemplateContext};

/// Fragments that exercise the grammar more than uniform random text would.
fn vtl_fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("$".to_owned()),
        Just("$!".to_owned()),
        Just("${".to_owned()),
        Just("}".to_owned()),
        Just("#".to_owned()),
        Just("##".to_owned()),
        Just("#*".to_owned()),
        Just("*#".to_owned()),
        Just("#[[".to_owned()),
        Just("]]#".to_owned()),
        Just("\\".to_owned()),
        Just("#if(".to_owned()),
        Just("#elseif(".to_owned()),
        Just("#else".to_owned()),
        Just("#end".to_owned()),
        Just("#set(".to_owned()),
        Just("#foreach($i in ".to_owned()),
        Just("#break".to_owned()),
        Just("#stop".to_owned()),
        Just(")".to_owned()),
        Just("(".to_owned()),
        Just("[".to_owned()),
        Just("]".to_owned()),
        Just("..".to_owned()),
        Just("{".to_owned()),
        Just(":".to_owned()),
        Just(",".to_owned()),
        Just("'".to_owned()),
        Just("\"".to_owned()),
        Just(" == ".to_owned()),
        Just(" + ".to_owned()),
        Just(" / ".to_owned()),
        Just(" % ".to_owned()),
        Just(" && ".to_owned()),
        Just("!".to_owned()),
        Just("\n".to_owned()),
        Just("$a".to_owned()),
        Just("$i".to_owned()),
        Just(".b".to_owned()),
        Just(".size()".to_owned()),
        Just(".add($a)".to_owned()),
        Just(".put('k', $a)".to_owned()),
        Just(".substring(1, 2)".to_owned()),
        Just(".split('')".to_owned()),
        Just(".replaceAll('a*', 'b')".to_owned()),
        Just("$input.json('$')".to_owned()),
        Just("$input.json('$..*')".to_owned()),
        Just("$input.path('$.a')".to_owned()),
        Just("$input.body".to_owned()),
        Just("$util.parseJson($input.body)".to_owned()),
        Just("$util.escapeJavaScript($a)".to_owned()),
        Just("$util.base64Decode($a)".to_owned()),
        Just("$util.urlDecode($a)".to_owned()),
        Just("$context.connectionId".to_owned()),
        Just("$stageVariables.x".to_owned()),
        Just("$foreach.hasNext".to_owned()),
        Just("[1..5]".to_owned()),
        Just("[1, 'x', 2.5]".to_owned()),
        Just("{'k': [1]}".to_owned()),
        Just("-9223372036854775808".to_owned()),
        Just("9223372036854775807".to_owned()),
        Just("0".to_owned()),
        Just("1.5e300".to_owned()),
        "[a-z0-9 ]{0,4}",
        "\\PC{0,3}",
    ]
}

fn vtl_template() -> impl Strategy<Value = String> {
    prop::collection::vec(vtl_fragment(), 0..40).prop_map(|parts| parts.concat())
}

fn body() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("{\"a\": {\"b\": [1, 2, {\"c\": \"d\"}]}, \"x\": null}".to_owned()),
        Just("[1, 2, 3]".to_owned()),
        Just("\"str\"".to_owned()),
        Just("not json".to_owned()),
        "\\PC{0,40}",
    ]
}

fn render_quietly(template: &str, body: &str) {
    let stage = BTreeMap::from([("x".to_owned(), "y".to_owned())]);
    let context = serde_json::json!({"connectionId": "abc"});
    if let Ok(t) = Template::parse(template) {
        let _ = t.render(&TemplateContext::new(body, &context, &stage));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_never_panics_on_arbitrary_text(s in "\\PC{0,200}") {
        let _ = Template::parse(&s);
    }

    #[test]
    fn parse_never_panics_on_vtl_shaped_text(s in vtl_template()) {
        let _ = Template::parse(&s);
    }

    #[test]
    fn render_never_panics(s in vtl_template(), b in body()) {
        render_quietly(&s, &b);
    }

    #[test]
    fn text_without_vtl_characters_renders_unchanged(s in "[^$#\\\\]{0,200}") {
        let stage = BTreeMap::new();
        let context = serde_json::json!({});
        let t = Template::parse(&s);
        prop_assert!(t.is_ok());
        if let Ok(t) = t {
            prop_assert_eq!(t.render(&TemplateContext::new("", &context, &stage)), Ok(s.clone()));
        }
    }

    #[test]
    fn parse_errors_point_inside_the_template(s in vtl_template()) {
        if let Err(e) = Template::parse(&s) {
            prop_assert!(e.line >= 1 && e.column >= 1);
            prop_assert!(e.line <= s.lines().count().max(1) + 1);
        }
    }
}
