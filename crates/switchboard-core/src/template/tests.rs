//! Behaviour tests for the mapping-template engine.

use std::collections::BTreeMap;

use serde_json::json;

use super::{
    InputParams, RenderBudget, RenderError, Template, TemplateContext, TemplateError,
    DEFAULT_MAX_STEPS,
};

fn context() -> serde_json::Value {
    json!({
        "connectionId": "VNRUSeldSwMCIRQ=",
        "requestId": "VNRXVFJOywMF3-Q=",
        "routeKey": "sendmessage",
        "eventType": "MESSAGE",
        "connectedAt": 1_700_000_000_000_i64,
        "authorizer": { "principalId": "user-1", "admin": "true" },
        "identity": { "sourceIp": "203.0.113.9" },
        "flag": true
    })
}

fn stage() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("table".to_owned(), "MyTable".to_owned()),
        ("env-name".to_owned(), "dev".to_owned()),
    ])
}

/// Renders `template` against `body` with the fixtures above.
fn render(template: &str, body: &str) -> Result<String, TemplateError> {
    let ctx_values = context();
    let stage = stage();
    let t = Template::parse(template)?;
    t.render(&TemplateContext::new(body, &ctx_values, &stage))
}

fn ok(template: &str, body: &str) -> String {
    match render(template, body) {
        Ok(s) => s,
        Err(e) => panic!("{template:?} failed: {e}"),
    }
}

fn parse_err(template: &str) -> TemplateError {
    match Template::parse(template) {
        Ok(_) => panic!("{template:?} parsed"),
        Err(e) => e,
    }
}

// === stage 1: text, references, $context, $stageVariables, $input ===

#[test]
fn plain_text_passes_through_byte_for_byte() {
    for t in [
        "",
        "hello",
        "  spaced\n\n\ttabs\r\nand CRLF\n",
        "{\"statusCode\": 200}",
        "unicode: héllo wörld ✓ 𝄞",
        "dollar $ alone, $5.00, US$, a # hash, C# and #1, 100%",
        "trailing backslash \\",
        "braces { } [ ] ( )",
    ] {
        assert_eq!(ok(t, ""), t);
    }
}

#[test]
fn example_templates_from_the_spec_render() {
    assert_eq!(ok("{\"statusCode\": 200}", ""), "{\"statusCode\": 200}");
    assert_eq!(
        ok("{\"echo\": $input.json('$')}", r#"{"a": [1, 2], "b": "x"}"#),
        r#"{"echo": {"a":[1,2],"b":"x"}}"#
    );
    assert_eq!(
        ok(
            r#"{"TableName":"MyTable","Item":{"id":{"S":"$context.requestId"},"userData":{"S":$input.json('$.data')}}}"#,
            r#"{"action":"putItem","data":"hello"}"#
        ),
        r#"{"TableName":"MyTable","Item":{"id":{"S":"VNRXVFJOywMF3-Q="},"userData":{"S":"hello"}}}"#
    );
    assert_eq!(
        ok(
            r#"{"error": "Bad request", "message": $input.json('$.Message')}"#,
            r#"{"__type":"ValidationException","Message":"NUMBER_VALUE cannot be converted to String"}"#
        ),
        r#"{"error": "Bad request", "message": "NUMBER_VALUE cannot be converted to String"}"#
    );
}

#[test]
fn references_in_all_their_forms() {
    assert_eq!(ok("$context.connectionId", ""), "VNRUSeldSwMCIRQ=");
    assert_eq!(ok("${context.connectionId}!", ""), "VNRUSeldSwMCIRQ=!");
    assert_eq!(ok("$!context.connectionId", ""), "VNRUSeldSwMCIRQ=");
    assert_eq!(ok("$!{context.connectionId}", ""), "VNRUSeldSwMCIRQ=");
    assert_eq!(ok("id=$context.connectionId.", ""), "id=VNRUSeldSwMCIRQ=.");
}

#[test]
fn undefined_references_render_their_source_unless_quiet() {
    assert_eq!(ok("a $nope b", ""), "a $nope b");
    assert_eq!(ok("a ${nope} b", ""), "a ${nope} b");
    assert_eq!(ok("a $!nope b", ""), "a  b");
    assert_eq!(ok("a $!{nope} b", ""), "a  b");
    assert_eq!(
        ok("$nope.deeper.method(1, 'x')", ""),
        "$nope.deeper.method(1, 'x')"
    );
    assert_eq!(ok("$context.nothing.here", ""), "$context.nothing.here");
    assert_eq!(ok("$!context.nothing", ""), "");
}

#[test]
fn context_values_render_raw_strings_and_json_scalars() {
    assert_eq!(ok("$context.authorizer.principalId", ""), "user-1");
    assert_eq!(ok("$context.identity.sourceIp", ""), "203.0.113.9");
    assert_eq!(ok("$context.connectedAt", ""), "1700000000000");
    assert_eq!(ok("$context.flag", ""), "true");
    assert_eq!(ok("$context['routeKey']", ""), "sendmessage");
    assert_eq!(
        ok("#if($context.authorizer.admin == 'true')yes#end", ""),
        "yes"
    );
}

#[test]
fn stage_variables_by_property_and_index() {
    assert_eq!(ok("$stageVariables.table", ""), "MyTable");
    assert_eq!(ok("$stageVariables['table']", ""), "MyTable");
    assert_eq!(ok("${stageVariables['env-name']}", ""), "dev");
    assert_eq!(ok("$stageVariables.missing", ""), "$stageVariables.missing");
    assert_eq!(ok("$stageVariables.size()", ""), "2");
}

#[test]
fn input_body_is_the_raw_text() {
    assert_eq!(ok("[$input.body]", "not json at all"), "[not json at all]");
    assert_eq!(ok("$input.body", r#"{"a" : 1}"#), r#"{"a" : 1}"#);
}

#[test]
fn input_json_selects_and_serialises_compactly() {
    let body = r#"{"a":{"b":[10, {"c": "x\"y"}]}, "s": "str", "n": null, "f": 2.5}"#;
    assert_eq!(ok("$input.json('$.a.b[0]')", body), "10");
    assert_eq!(ok("$input.json('$.a.b[1]')", body), r#"{"c":"x\"y"}"#);
    assert_eq!(ok("$input.json('$.a.b[-1].c')", body), r#""x\"y""#);
    assert_eq!(ok("$input.json('$.s')", body), r#""str""#);
    assert_eq!(ok("$input.json('$.n')", body), "null");
    assert_eq!(ok("$input.json('$.f')", body), "2.5");
    assert_eq!(ok("$input.json(\"$['a']['b'][0]\")", body), "10");
    assert_eq!(ok("[$input.json('$.missing')]", body), "[]");
    assert_eq!(ok("$input.json('$.a.b[*]')", body), r#"[10,{"c":"x\"y"}]"#);
    assert_eq!(ok("$input.json('$..c')", body), r#"["x\"y"]"#);
    assert_eq!(ok("$input.json('s')", body), r#""str""#);
    assert_eq!(ok("$input.json()", "[1]"), "[1]");
}

#[test]
fn input_path_returns_navigable_values() {
    let body = r#"{"name":"Ann","tags":["a","b"],"user":{"id":7,"roles":[{"r":1}]},"f":2.0}"#;
    assert_eq!(ok("$input.path('$.name')", body), "Ann");
    assert_eq!(ok("$input.path('$').user.id", body), "7");
    assert_eq!(ok("$input.path('$.tags').size()", body), "2");
    assert_eq!(ok("$input.path('$.tags')[1]", body), "b");
    assert_eq!(ok("$input.path('$.tags')", body), r#"["a","b"]"#);
    assert_eq!(
        ok("$input.path('$.user')", body),
        r#"{id=7, roles=[{"r":1}]}"#
    );
    assert_eq!(ok("$input.path('$.f')", body), "2.0");
    assert_eq!(ok("$input.path('$.nope')", body), "$input.path('$.nope')");
    assert_eq!(ok("$!input.path('$.nope')", body), "");
    assert_eq!(
        ok(
            "#set($root = $input.path('$'))#foreach($t in $root.tags)$t;#end",
            body
        ),
        "a;b;"
    );
}

#[test]
fn input_path_hands_out_the_document_itself() {
    let body = r#"{"id":"a/1","list":[1],"o":{"k":2}}"#;
    // Changing what $input.path returned changes what $input.json prints afterwards.
    assert_eq!(
        ok(
            "#set($r = $input.path('$'))#set($r.url = \"https://x/$r.id\")#set($d = $r.list.add(0.5))$input.json('$')",
            body
        ),
        r#"{"id":"a/1","list":[1,0.5],"o":{"k":2},"url":"https://x/a/1"}"#
    );
    // A wildcard gives a new list of the same objects.
    assert_eq!(
        ok(
            "#set($all = $input.path('$.*'))#set($d = $all[2].put('z', 1))$input.json('$.o')",
            body
        ),
        r#"{"k":2,"z":1}"#
    );
    // Printed as text, a JSON list escapes `/` (json-smart's JSONArray.toString); json() does not.
    assert_eq!(
        ok("$input.path('$.*')|$input.json('$.*')", r#"{"u":"a/b"}"#),
        r#"["a\/b"]|["a/b"]"#
    );
}

#[test]
fn a_document_made_cyclic_fails_the_render_instead_of_looping() {
    let body = r#"{"a":{"b":1}}"#;
    let cyclic = "#set($r = $input.path('$'))#set($d = $r.put('me', $r))";
    for tail in [
        "$input.json('$')",
        "$input.json('$..zz')",
        "$r",
        "$input.path('$..b').size()",
    ] {
        let e = render(&format!("{cyclic}{tail}"), body).unwrap_err();
        assert!(
            e.message.contains("too deep") || e.message.contains("more than"),
            "{tail}: {e}"
        );
    }
}

#[test]
fn json_helpers_on_a_non_json_body_fail_the_render() {
    let e = render("x $input.json('$.a')", "not json").unwrap_err();
    assert_eq!((e.line, e.column), (1, 10), "points at `json`");
    assert!(e.message.contains("not valid JSON"), "{e}");
    assert!(e.client_input, "the client's body is to blame");
    // An empty body (`$connect`, `$disconnect`) is the template's problem, not a client's.
    assert!(!render("$input.path('$')", "").unwrap_err().client_input);
    // Other render failures are the template's.
    assert!(
        !render("$util.base64Decode('***')", "{}")
            .unwrap_err()
            .client_input
    );
    // A template that does not look at the body does not care.
    assert_eq!(
        ok("{\"statusCode\":200}", "not json"),
        "{\"statusCode\":200}"
    );
}

#[test]
fn the_body_is_parsed_once_per_render() {
    // Not observable directly; a loop of lookups over a large body must stay cheap.
    let body = format!("{{\"items\": [{}]}}", vec!["1"; 5000].join(","));
    let out = ok(
        "#foreach($i in [1..2000])$input.json('$.items[0]')#end",
        &body,
    );
    assert_eq!(out.len(), 2000);
}

// === stage 2: directives ===

#[test]
fn set_and_if_else_chains() {
    assert_eq!(ok("#set($a = 5)$a", ""), "5");
    assert_eq!(
        ok(
            "#set( $a = 'x' )#if($a == 'x')X#elseif($a == 'y')Y#else Z#end",
            ""
        ),
        "X"
    );
    assert_eq!(
        ok(
            "#set($a = 'y')#if($a == 'x')X#elseif($a == 'y')Y#else Z#end",
            ""
        ),
        "Y"
    );
    assert_eq!(
        ok(
            "#set($a = 'q')#if($a == 'x')X#elseif($a == 'y')Y#{else}Z#{end}",
            ""
        ),
        "Z"
    );
    assert_eq!(ok("#if($undefined)yes#else no#end", ""), " no");
    assert_eq!(
        ok("#set($e = '')#if($e)empty string is true#end", ""),
        "empty string is true"
    );
    assert_eq!(
        ok("#set($z = 0)#if($z)zero is true#end", ""),
        "zero is true"
    );
    // Velocity 1.7 evaluates only references, booleans, comparisons and logic as conditions:
    // a literal or arithmetic is false, whatever its value.
    for cond in [
        "''", "'x'", "\"x\"", "\"$e\"", "0", "1", "2.5", "[1]", "{}", "[1..2]", "1 + 1",
    ] {
        let t = format!("#set($e = 1)#if({cond})T#{{else}}F#end|#if(!({cond}))T#{{else}}F#end");
        assert_eq!(ok(&t, ""), "F|T", "{cond}");
    }
    assert_eq!(ok("#set($b = true && 'x')$b", ""), "false");
    assert_eq!(ok("#if(!$undefined)neg#end", ""), "neg");
    assert_eq!(ok("#if(not false and true or false)w#end", ""), "w");
}

#[test]
fn set_to_null_keeps_the_old_value() {
    assert_eq!(ok("#set($a = 1)#set($a = $nothing)$a", ""), "1");
    assert_eq!(
        ok(
            "#foreach($k in ['a','b'])#set($v = $input.path(\"$.$k\"))$v,#end",
            r#"{"a":1}"#
        ),
        "1,1,"
    );
}

#[test]
fn foreach_with_loop_variables() {
    assert_eq!(
        ok(
            "#foreach($x in [1, 2, 3])$x#if($foreach.hasNext),#end#end",
            ""
        ),
        "1,2,3"
    );
    assert_eq!(
        ok(
            "#foreach($x in ['a','b'])$foreach.index/$foreach.count/$velocityCount #end",
            ""
        ),
        "0/1/1 1/2/2 "
    );
    assert_eq!(
        ok("#foreach($i in [1..5])#if($i == 3)#break#end$i#end", ""),
        "12"
    );
    assert_eq!(ok("#foreach($i in [3..1])$i#end", ""), "321");
    assert_eq!(ok("#foreach($x in $nothing)never#end", ""), "");
    assert_eq!(ok("#foreach($v in {'a': 1, 'b': 2})$v#end", ""), "12");
    // The loop variable is restored afterwards.
    assert_eq!(
        ok("#set($x = 'outer')#foreach($x in [1])$x#end$x", ""),
        "1outer"
    );
}

#[test]
fn nested_loops_and_foreach_parent_scoping() {
    assert_eq!(
        ok(
            "#foreach($a in [1,2])#foreach($b in ['x','y'])$a$b#if($foreach.hasNext)-#end#end;#end",
            ""
        ),
        "1x-1y;2x-2y;"
    );
}

#[test]
fn comments_and_unparsed_blocks() {
    assert_eq!(ok("a## comment\nb", ""), "ab");
    assert_eq!(ok("a#* block\n comment *#b", ""), "ab");
    assert_eq!(ok("#[[ $not #if(a) ]]#", ""), " $not #if(a) ");
    assert!(Template::parse("a #* unterminated").is_err());
}

#[test]
fn directive_lines_gobble_their_line_break() {
    // The blanks before an indented directive belong to the preceding text token and stay;
    // the line break after the directive goes (Velocity 1.7's lexer).
    let t = "{\n  #set($x = 1)\n  \"a\": $x,\n  #if(true)\n  \"b\": 2\n  #end\n}\n";
    assert_eq!(ok(t, ""), "{\n    \"a\": 1,\n    \"b\": 2\n  }\n");
    let t = "#foreach($i in [1,2])\n$i\n#end\ndone";
    assert_eq!(ok(t, ""), "1\n2\ndone");
    // Blanks before #set that begin a token go; text on the same line stays.
    assert_eq!(ok("#if(true)\n    #set($a = 1)\n#end$a", ""), "1");
    assert_eq!(ok("x  #set($a = 1)y", ""), "x  y");
    // CRLF is a line break too.
    assert_eq!(ok("#set($a = 1)\r\nv$a", ""), "v1");
}

#[test]
fn stop_ends_rendering() {
    assert_eq!(ok("a#stop b", ""), "a");
    assert_eq!(
        ok(
            "#foreach($i in [1,2,3])$i#if($i == 2)#stop#end#end after",
            ""
        ),
        "12"
    );
}

#[test]
fn escaping_references_and_directives() {
    assert_eq!(ok("#set($a = 1)\\$a", ""), "$a");
    assert_eq!(ok("#set($a = 1)\\\\$a", ""), "\\1");
    assert_eq!(ok("\\$undefined", ""), "\\$undefined");
    assert_eq!(ok("\\#if(x)", ""), "#if(x)");
    assert_eq!(ok("\\#notadirective", ""), "\\#notadirective");
    assert_eq!(ok("a\\b", ""), "a\\b");
}

// === expressions ===

#[test]
fn literals_and_arithmetic() {
    assert_eq!(ok("#set($x = 7 / 2)$x", ""), "3");
    assert_eq!(ok("#set($x = 7 % 3)$x", ""), "1");
    assert_eq!(ok("#set($x = -7 / 2)$x", ""), "-3");
    assert_eq!(ok("#set($x = 1.5 * 2)$x", ""), "3.0");
    assert_eq!(ok("#set($x = 2 + 3 * 4)$x", ""), "14");
    assert_eq!(ok("#set($x = (2 + 3) * 4)$x", ""), "20");
    assert_eq!(ok("#set($x = 1 / 0)$x", ""), "$x");
    assert_eq!(ok("#set($x = 'a' + 1)$x", ""), "a1");
    assert_eq!(ok("#set($x = 1e3)$x", ""), "1000.0");
    assert_eq!(ok("#set($x = 0.0001)$x", ""), "1.0E-4");
    assert_eq!(
        ok("#set($x = 9223372036854775807 + 1)$x", ""),
        "9.223372036854776E18"
    );
}

#[test]
fn comparisons_and_word_operators() {
    for (expr, want) in [
        ("1 < 2", true),
        ("2 lt 1", false),
        ("2 >= 2", true),
        ("3 ge 4", false),
        ("1 == 1.0", true),
        ("'1' == 1", true),
        ("'a' eq 'a'", true),
        ("'a' ne 'b'", true),
        ("'a' < 'b'", false),
        ("$nothing == $nothing2", true),
        ("$nothing == 1", false),
        ("[1, 2] == [1, 2]", true),
        ("{'a': 1} == {'a': 1}", true),
        ("true && !false", true),
        ("false || 1 le 0", false),
    ] {
        let t = format!("#if({expr})T#{{else}}F#end");
        assert_eq!(ok(&t, ""), if want { "T" } else { "F" }, "{expr}");
    }
}

#[test]
fn strings_single_and_double_quoted() {
    assert_eq!(
        ok("#set($n = 'World')#set($s = \"Hello $n!\")$s", ""),
        "Hello World!"
    );
    assert_eq!(ok("#set($s = 'Hello $n')$s", ""), "Hello $n");
    assert_eq!(ok("#set($s = 'it''s')$s", ""), "it's");
    assert_eq!(ok("#set($s = \"say \"\"hi\"\"\")$s", ""), "say \"hi\"");
    // A backslash does not escape a quote: the string ends there, as in Velocity 1.7.
    assert_eq!(ok("#set($s = \"a\\\")$s", ""), "a\\");
    parse_err("#set($s = \"a\\\"b\")$s");
    // `\uXXXX` is a UTF-16 unit in double quotes only; other backslashes stay.
    assert_eq!(
        ok("#set($s = \"\\u0041\\n\\uD83D\\uDE00\\uD83D\")$s", ""),
        "A\\n\u{1F600}?"
    );
    assert_eq!(ok("#set($a = 1)#set($s = \"$a\\u0042\")$s", ""), "1B");
    assert_eq!(ok("#set($s = '\\u0041')$s", ""), "\\u0041");
    parse_err("#set($s = \"\\u00zz\")");
    assert_eq!(
        ok(
            "#set($l = [1,2])#set($s = \"#foreach($i in $l)$i#end\")$s",
            ""
        ),
        "12"
    );
}

#[test]
fn lists_maps_and_ranges() {
    assert_eq!(
        ok("#set($l = [1, 'two', 3.5, true])$l", ""),
        "[1, two, 3.5, true]"
    );
    assert_eq!(
        ok("#set($m = {'a': 1, \"b\": [1, 2]})$m", ""),
        "{a=1, b=[1, 2]}"
    );
    assert_eq!(ok("#set($r = [1..4])$r", ""), "[1, 2, 3, 4]");
    assert_eq!(ok("#set($n = 3)#set($r = [1..$n])$r.size()", ""), "3");
    assert_eq!(ok("#set($m = {})$m.isEmpty()", ""), "true");
    assert_eq!(ok("#set($l = [])$l", ""), "[]");
    assert_eq!(
        ok("#set($m = {'k': 'v'})$m.k $m['k'] $m.get('k')", ""),
        "v v v"
    );
    assert_eq!(ok("#set($l = [[1, 2], [3]])$l[0][1]$l[-1][0]", ""), "23");
}

#[test]
fn list_methods() {
    assert_eq!(
        ok("#set($l = [])$l.add(1)$l.add('x')$l", ""),
        "truetrue[1, x]"
    );
    assert_eq!(ok("#set($l = [])#set($d = $l.add(1))$l.size()", ""), "1");
    assert_eq!(
        ok(
            "#set($l = [1,2,3])$l.get(1) $l.contains(3) $l.indexOf(9)",
            ""
        ),
        "2 true -1"
    );
    assert_eq!(
        ok("#set($l = [1,2])$l.isEmpty() $l.remove(0) $l", ""),
        "false 1 [2]"
    );
    assert_eq!(ok("#set($l = [1,2])#set($l[0] = 9)$l", ""), "[9, 2]");
    assert_eq!(
        ok("#set($a = [1])#set($b = $a)$b.add(2)$a", ""),
        "true[1, 2]"
    );
    assert!(render("#set($l = [1])$l.get(5)", "").is_err());
    assert!(render("#set($l = [1])$l[3]", "").is_err());
}

#[test]
fn map_methods() {
    let t = "#set($m = {})$m.put('a', 1)|$!m.put('a', 2)|$m.get('a')|$m.containsKey('a')|$m.size()";
    assert_eq!(ok(t, ""), "$m.put('a', 1)|1|2|true|1");
    assert_eq!(
        ok(
            "#set($m = {'a': 1, 'b': 2})#foreach($k in $m.keySet())$k=$m.get($k);#end",
            ""
        ),
        "a=1;b=2;"
    );
    assert_eq!(
        ok(
            "#set($m = {'a': 1})#foreach($e in $m.entrySet())$e.key:$e.value $e#end",
            ""
        ),
        "a:1 a=1"
    );
    assert_eq!(
        ok(
            "#set($m = {'a': 1, 'b': 2})$m.values() $m.remove('a') $m",
            ""
        ),
        "[1, 2] 1 {b=2}"
    );
    assert_eq!(ok("#set($m = {})#set($m.x = 'y')$m.x", ""), "y");
}

#[test]
fn string_methods() {
    let cases = [
        ("$s.length()", "Hello, World"),
        // Java strings have length(), not size().
        ("$s.size()", "$s.size()"),
        ("$s.compareTo('Help')", "-4"),
        ("$s.indexOf(111)", "4"),
        ("$s.substring(7)", "World"),
        ("$s.substring(0, 5)", "Hello"),
        ("$s.indexOf('o')", "4"),
        ("$s.indexOf('o', 5)", "8"),
        ("$s.lastIndexOf('o')", "8"),
        ("$s.contains('World')", "true"),
        ("$s.startsWith('Hell')", "true"),
        ("$s.endsWith('x')", "false"),
        ("$s.toLowerCase()", "hello, world"),
        ("$s.toUpperCase()", "HELLO, WORLD"),
        ("$s.replace('l', 'L')", "HeLLo, WorLd"),
        ("$s.replaceAll('[aeiou]', '*')", "H*ll*, W*rld"),
        ("$s.replaceAll('(\\w+), (\\w+)', '$2 $1')", "World Hello"),
        ("$s.replaceFirst('l', '_')", "He_lo, World"),
        ("$s.split(', ')", "[Hello, World]"),
        ("$s.split(',')[1].trim()", "World"),
        ("$s.equals('Hello, World')", "true"),
        ("$s.equalsIgnoreCase('hello, world')", "true"),
        ("$s.isEmpty()", "false"),
        ("$s.matches('H.*d')", "true"),
        ("$s.matches('ello')", "false"),
        ("$s.charAt(1)", "e"),
    ];
    for (expr, want) in cases {
        let got = ok(&format!("#set($s = 'Hello, World')${{s}}|{expr}"), "");
        let want = if expr == "$s.length()" {
            "Hello, World|12".to_owned()
        } else {
            format!("Hello, World|{want}")
        };
        assert_eq!(got, want, "{expr}");
    }
    assert_eq!(ok("#set($s = 'a,b,,')$s.split(',').size()", ""), "2");
    assert_eq!(
        ok("#set($s = 'abc')$s.unknownMethod()", ""),
        "$s.unknownMethod()"
    );
    assert!(render("#set($s = 'abc')$s.substring(5)", "").is_err());
    assert!(render("#set($s = 'abc')$s.matches('(')", "").is_err());
}

#[test]
fn util_functions() {
    assert_eq!(
        ok("$util.escapeJavaScript(\"it's \"\"q\"\" / \\ é\n\")", ""),
        "it\\'s \\\"q\\\" \\/ \\\\ \\u00E9\\n"
    );
    assert_eq!(
        ok("$util.urlEncode('a b&c=d/é*')", ""),
        "a+b%26c%3Dd%2F%C3%A9*"
    );
    assert_eq!(
        ok("$util.urlDecode('a+b%26c%3Dd%2F%C3%A9')", ""),
        "a b&c=d/é"
    );
    assert_eq!(ok("$util.base64Encode('hello')", ""), "aGVsbG8=");
    assert_eq!(ok("$util.base64Decode('aGVsbG8=')", ""), "hello");
    assert_eq!(ok("$util.base64Decode('aGVsbG8')", ""), "hello");
    assert_eq!(
        ok(
            "#set($o = $util.parseJson('{\"a\":{\"b\":[1,2]}}'))$o.a.b[1]",
            ""
        ),
        "2"
    );
    assert_eq!(ok("$util.parseJson($input.body).x", r#"{"x":"y"}"#), "y");
    assert!(render("$util.urlDecode('%zz')", "").is_err());
    assert!(render("$util.parseJson('{')", "").is_err());
    assert!(render("$util.base64Decode('***')", "").is_err());
}

#[test]
fn input_params_lookups() {
    let params = InputParams {
        path: BTreeMap::from([("id".into(), "p1".into())]),
        querystring: BTreeMap::from([("token".into(), "q1".into()), ("id".into(), "q-id".into())]),
        header: BTreeMap::from([("X-Trace".into(), "h1".into())]),
    };
    let ctx_values = context();
    let stage = stage();
    let ctx = TemplateContext::new("", &ctx_values, &stage).with_params(&params);
    let r = |t: &str| {
        Template::parse(t)
            .and_then(|t| t.render(&ctx))
            .unwrap_or_default()
    };
    assert_eq!(r("$input.params('id')"), "p1");
    assert_eq!(r("$input.params('token')"), "q1");
    assert_eq!(r("$input.params('x-trace')"), "h1");
    assert_eq!(r("[$input.params('absent')]"), "[]");
    assert_eq!(r("$input.params().header.get('X-Trace')"), "h1");
    assert_eq!(r("$input.params().querystring.size()"), "2");
    assert_eq!(
        r("$input.params()"),
        "{path={id=p1}, querystring={id=q-id, token=q1}, header={X-Trace=h1}}"
    );
}

#[test]
fn a_realistic_request_template() {
    let template = r#"#set($body = $input.path('$'))
{
  "connectionId": "$context.connectionId",
  "items": [
#foreach($item in $body.items)
    {"name": "$util.escapeJavaScript($item.name)", "qty": $item.qty}#if($foreach.hasNext),#end

#end
  ],
  "count": $body.items.size()
}"#;
    let body = r#"{"items":[{"name":"a'b","qty":1},{"name":"c","qty":2}]}"#;
    let out = ok(template, body);
    let want = "{\n  \"connectionId\": \"VNRUSeldSwMCIRQ=\",\n  \"items\": [\n    {\"name\": \"a\\'b\", \"qty\": 1},\n    {\"name\": \"c\", \"qty\": 2}\n  ],\n  \"count\": 2\n}";
    assert_eq!(out, want);
}

// === errors and limits ===

#[test]
fn parse_errors_carry_line_and_column() {
    let e = parse_err("line one\n  #if($a == )x#end");
    assert_eq!((e.line, e.column), (2, 13), "{e}");
    let e = parse_err("ok\n#if(true)\nno end");
    assert_eq!((e.line, e.column), (2, 1), "{e}");
    assert!(e.message.contains("#end"), "{e}");
    let e = parse_err("a\nb #end");
    assert_eq!((e.line, e.column), (2, 3), "{e}");
    let e = parse_err("é #else");
    assert_eq!((e.line, e.column), (1, 3), "{e}");
    let e = parse_err("#set($a = 'unterminated)");
    assert_eq!((e.line, e.column), (1, 11), "{e}");
    let e = parse_err("#foreach($x $list)#end");
    assert!(e.message.contains("'in'"), "{e}");
    assert!(parse_err("#macro(m)x#end")
        .message
        .contains("not supported"));
    assert_eq!(
        parse_err("#set($a.b() = 1)").to_string(),
        "line 1, column 6: cannot assign to a method call"
    );
}

#[test]
fn oversized_templates_are_rejected() {
    let big = "x".repeat(super::MAX_TEMPLATE_BYTES + 1);
    let e = parse_err(&big);
    assert!(e.message.contains("300 KB"), "{e}");
    assert!(Template::parse(&"x".repeat(super::MAX_TEMPLATE_BYTES)).is_ok());
}

#[test]
fn nesting_is_capped_at_parse_time() {
    let deep_if = "#if(true)".repeat(100) + &"#end".repeat(100);
    assert!(parse_err(&deep_if).message.contains("nesting"));
    let deep_parens = format!("#set($a = {}1{})", "(".repeat(200), ")".repeat(200));
    assert!(parse_err(&deep_parens).message.contains("nesting"));
    let long_chain = format!("#set($a = 1{})", " + 1".repeat(500));
    assert!(parse_err(&long_chain).message.contains("nesting"));
    let deep_lists = format!("#set($a = {}{})", "[".repeat(100), "]".repeat(100));
    assert!(parse_err(&deep_lists).message.contains("nesting"));
    // Just under the cap parses and renders.
    let ok_if = "#if(true)".repeat(60) + "x" + &"#end".repeat(60);
    assert_eq!(ok(&ok_if, ""), "x");
}

#[test]
fn runaway_renders_are_stopped() {
    let e = render("#foreach($i in [1..10001])#end", "").unwrap_err();
    assert!(e.message.contains("range"), "{e}");
    let e = render(
        "#set($l = [])#foreach($i in [1..10000])$!l.add($i)#end#foreach($x in $l)#end$l.add(1)#foreach($x in $l)#end",
        "",
    )
    .unwrap_err();
    assert!(e.message.contains("#foreach"), "{e}");
    let e = render(
        "#foreach($a in [1..10000])#foreach($b in [1..10000])#end#end",
        "",
    )
    .unwrap_err();
    assert!(e.message.contains("steps"), "{e}");
    let e = render(
        "#set($s = 'xxxxxxxxxxxxxxxx')#foreach($i in [1..30])#set($s = \"$s$s\")#end",
        "",
    )
    .unwrap_err();
    assert!(e.message.contains("limit"), "{e}");
    let e = render("#foreach($i in [1..10000])0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef#end", "")
        .unwrap_err();
    assert!(e.message.contains("rendered text exceeds"), "{e}");
    // Self-containing lists print an error, not a stack overflow.
    let e = render("#set($l = [])$l.add($l)$l", "").unwrap_err();
    assert!(e.message.contains("too deep"), "{e}");
}

/// Renders `template` over `body` within `budget`.
fn render_within(template: &str, body: &str, budget: &RenderBudget) -> Result<String, RenderError> {
    let ctx_values = context();
    let stage = stage();
    let t = Template::parse(template).unwrap_or_else(|e| panic!("{template:?}: {e}"));
    t.render_within(&TemplateContext::new(body, &ctx_values, &stage), budget)
}

fn steps(max_steps: u64) -> RenderBudget {
    RenderBudget {
        max_steps,
        max_time: None,
        ..RenderBudget::default()
    }
}

#[test]
fn a_render_past_its_step_budget_is_exhausted_and_a_larger_budget_finishes_it() {
    let t = "#foreach($i in [1..100])$i,#end";
    match render_within(t, "", &steps(50)) {
        Err(RenderError::Exhausted(e)) => assert!(e.message.contains("50 evaluation steps"), "{e}"),
        other => panic!("{other:?}"),
    }
    let done = render_within(t, "", &steps(1_000)).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        done.starts_with("1,2,3,") && done.ends_with("100,"),
        "{done}"
    );
    // The default step budget stops the two-million-step template of the hardening report.
    let e = render(
        "#foreach($a in [1..2000])#foreach($b in [1..1000])#end#end",
        "",
    )
    .unwrap_err();
    assert!(
        e.message
            .contains(&format!("{DEFAULT_MAX_STEPS} evaluation steps")),
        "{e}"
    );
}

#[test]
fn the_output_budget_fails_the_render_whatever_the_step_budget() {
    let budget = RenderBudget {
        max_output_bytes: 10,
        ..steps(1_000_000)
    };
    match render_within("0123456789abc", "", &budget) {
        Err(RenderError::Failed(e)) => assert!(e.message.contains("10-byte limit"), "{e}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        render_within("0123456789", "", &budget).ok().as_deref(),
        Some("0123456789")
    );
}

#[test]
fn text_built_or_scanned_spends_steps_by_its_size() {
    // Few constructs, but each doubling builds a longer string: 1 MiB in all.
    let doubling = "#set($s = 'x')#foreach($i in [1..19])#set($s = \"$s$s\")#end$s.length()";
    assert!(render_within(doubling, "", &steps(200)).is_err());
    assert!(render_within(doubling, "", &steps(5_000)).is_ok());
    // Scanning a long string with a method costs as much as its length.
    let body = "y".repeat(512 * 1024);
    let scans = "#foreach($i in [1..10])$input.body.indexOf('z')#end";
    assert!(matches!(
        render_within(scans, &body, &steps(1_000)),
        Err(RenderError::Exhausted(_))
    ));
    assert!(render_within(scans, &body, &steps(30_000)).is_ok());
}

#[test]
fn deep_comparisons_and_json_walks_spend_a_step_per_value() {
    let build = "#set($a = [])#foreach($i in [1..5000])$!a.add($i)#end\
                 #set($b = [])#foreach($i in [1..5000])$!b.add($i)#end";
    // Building both lists takes about 40,000 steps; each comparison 5,000 more.
    let compare = format!("{build}#foreach($i in [1..20])#if($a == $b)=#end#end");
    assert!(matches!(
        render_within(&compare, "", &steps(60_000)),
        Err(RenderError::Exhausted(_))
    ));
    assert!(render_within(&compare, "", &steps(200_000)).is_ok());
    let body = format!("[{}]", vec!["{\"a\":{\"b\":1}}"; 2_000].join(","));
    let scan = "#foreach($i in [1..10])$input.path('$..b').size()#end";
    assert!(matches!(
        render_within(scan, &body, &steps(20_000)),
        Err(RenderError::Exhausted(_))
    ));
    assert!(render_within(scan, &body, &steps(200_000)).is_ok());
}

#[test]
fn the_time_budget_is_read_inside_the_evaluator() {
    // Fifty million steps take many seconds; a 1 ms budget stops the render long before.
    let budget = RenderBudget {
        max_steps: u64::MAX,
        max_time: Some(std::time::Duration::from_millis(1)),
        ..RenderBudget::default()
    };
    let started = std::time::Instant::now();
    let result = render_within(
        "#foreach($a in [1..10000])#foreach($b in [1..5000])#end#end",
        "",
        &budget,
    );
    match result {
        Err(RenderError::Exhausted(e)) => assert!(e.message.contains("longer than 1 ms"), "{e}"),
        other => panic!("{other:?}"),
    }
    // A liveness bound, not a speed measurement: without the clock this runs for minutes.
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    // A render too short to read the clock is never stopped by it.
    let none = RenderBudget {
        max_time: Some(std::time::Duration::ZERO),
        ..steps(1_000)
    };
    assert_eq!(
        render_within("$context.connectionId", "", &none),
        Ok("VNRUSeldSwMCIRQ=".into())
    );
}

#[test]
fn templates_are_shareable_across_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Template>();
    let t = Template::parse("$context.connectionId").unwrap_or_else(|e| panic!("{e}"));
    let t2 = t.clone();
    let handle = std::thread::spawn(move || {
        let ctx_values = context();
        let stage = stage();
        t2.render(&TemplateContext::new("", &ctx_values, &stage))
    });
    let joined = handle.join().unwrap_or_else(|_| panic!("thread panicked"));
    assert_eq!(joined, Ok("VNRUSeldSwMCIRQ=".to_owned()));
}

#[test]
fn deepest_accepted_nesting_fits_a_small_stack() {
    // Tokio worker threads get 2 MiB; parse and render must fit there even in debug builds.
    let handle = std::thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let n = super::MAX_NESTING - 2;
            let cases = [
                format!("#set($a = {}1{})$a", "(".repeat(n), ")".repeat(n)),
                format!("#set($a = {}1{})$a", "[".repeat(n), "]".repeat(n)),
                format!("#set($a = {}true)$a", "!".repeat(n)),
                format!("#set($a = 1{})$a", " + 1".repeat(n)),
                format!(
                    "#set($s = 'x')$s{}{}",
                    ".concat($s".repeat(n / 2),
                    ")".repeat(n / 2)
                ),
                format!(
                    "{}x{}",
                    "#if(((((true)))))#foreach($i in [1])".repeat(n / 7),
                    "#end#end".repeat(n / 7)
                ),
            ];
            let deep_body = format!("{}1{}", "[{\"a\":".repeat(60), "}]".repeat(60));
            let t = "$input.path('$') $input.json('$') $util.parseJson($input.body).size()";
            let out = Template::parse(t).and_then(|t| {
                let ctx = serde_json::json!({});
                t.render(&TemplateContext::new(&deep_body, &ctx, &BTreeMap::new()))
            });
            assert!(out.is_ok(), "{out:?}");
            for t in &cases {
                let parsed = Template::parse(t);
                assert!(parsed.is_ok(), "{t}: {parsed:?}");
                if let Ok(t) = parsed {
                    let stage = BTreeMap::new();
                    let ctx = serde_json::json!({});
                    assert!(t.render(&TemplateContext::new("{}", &ctx, &stage)).is_ok());
                }
            }
        });
    let joined = handle.map(|h| h.join());
    assert!(matches!(joined, Ok(Ok(()))), "overflowed or panicked");
}
