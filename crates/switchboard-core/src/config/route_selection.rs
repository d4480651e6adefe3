//! What a WebSocket API's `routeSelectionExpression` may be (docs/behaviour.md §2.2, §2.4):
//! `$request.body.PATH`, a `${request.body.PATH}` template with static text around it, static
//! text, or `\$default`. Expressions that parse but cannot select routes as meant are refused.

use crate::selection::{SelectionExpression, Variable};

/// Why `expression` (already parsed) cannot select routes as its author meant, if it cannot.
pub(crate) fn problem(expression: &SelectionExpression) -> Option<String> {
    let source = expression.source();
    // A message has only a body: anything else evaluates to "" and every message goes to $default.
    if let Some(other) = expression
        .variables()
        .find(|v| !matches!(v, Variable::RequestBody(_)))
    {
        return Some(format!(
            "routeSelectionExpression `{source}` reads `{other}`, which a WebSocket message does not \
             have (every message would go to $default); a route selection expression reads the \
             message body: $request.body.PATH or ${{request.body.PATH}}"
        ));
    }
    if let Some(start) = missing_dollar(source) {
        let meant = format!("{}${}", &source[..start], &source[start..]);
        return Some(format!(
            "routeSelectionExpression `{source}` has no `$` before `request`, so it is fixed text \
             and every message would go to the route of that name or to $default; did you mean \
             `{meant}`?"
        ));
    }
    if let Some(brace) = stray_brace(source) {
        return Some(format!(
            "routeSelectionExpression `{source}` has a `{brace}` outside any `${{…}}`; write a \
             variable as $request.body.PATH or ${{request.body.PATH}}"
        ));
    }
    None
}

/// The byte offset of a `request.` written as static text (a variable whose `$` was forgotten).
fn missing_dollar(source: &str) -> Option<usize> {
    source.match_indices("request.").map(|(i, _)| i).find(|&i| {
        let before = &source[..i];
        !(before.ends_with('$') || before.ends_with("${"))
    })
}

/// A `{` or `}` in the static text of an expression (outside `${…}` and `[…]` segments).
fn stray_brace(source: &str) -> Option<char> {
    let mut chars = source.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                chars.next_if_eq(&'$');
            }
            '$' if chars.peek() == Some(&'{') => {
                // The expression parsed, so the closing brace is there; quoted names may hold one.
                let mut quote = None;
                for c in chars.by_ref() {
                    match (quote, c) {
                        (None, '\'' | '"') => quote = Some(c),
                        (Some(q), _) if c == q => quote = None,
                        (None, '}') => break,
                        _ => {}
                    }
                }
            }
            '[' => {
                let mut quote = None;
                for c in chars.by_ref() {
                    match (quote, c) {
                        (None, '\'' | '"') => quote = Some(c),
                        (Some(q), _) if c == q => quote = None,
                        (None, ']') => break,
                        _ => {}
                    }
                }
            }
            '{' | '}' => return Some(c),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(source: &str) -> Option<String> {
        let expression = SelectionExpression::parse(source)
            .unwrap_or_else(|e| panic!("`{source}` should parse: {e}"));
        problem(&expression)
    }

    #[test]
    fn the_documented_forms_are_accepted() {
        for source in [
            "$request.body.action",
            "${request.body.action}",
            "${request.body.service}/${request.body.action}",
            "${request.body.action}-${request.body.invalidPath}",
            "$request.body.service.do",
            "$request.body['a}b']",
            "${request.body['{x}']}",
            "action",
            "\\$default",
            "$default",
        ] {
            assert_eq!(check(source), None, "{source}");
        }
    }

    #[test]
    fn a_forgotten_dollar_is_refused_with_the_fix() {
        let message = check("request.body.action").unwrap_or_default();
        assert!(
            message.contains("did you mean `$request.body.action`?"),
            "{message}"
        );
        let message = check("v1-request.body.action").unwrap_or_default();
        assert!(message.contains("`v1-$request.body.action`"), "{message}");
    }

    #[test]
    fn a_stray_brace_is_refused() {
        let message = check("$request.body.action}").unwrap_or_default();
        assert!(
            message.contains("has a `}` outside any `${…}`"),
            "{message}"
        );
        assert!(check("{action").is_some());
    }

    #[test]
    fn variables_other_than_the_body_are_refused() {
        let message = check("$request.header.action").unwrap_or_default();
        assert!(
            message.contains("reads `request.header.action`"),
            "{message}"
        );
        assert!(check("${context.routeKey}").is_some());
        assert!(check("${stageVariables.route}").is_some());
    }
}
