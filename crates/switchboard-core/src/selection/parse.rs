//! The expression grammar (docs/behaviour.md §2.2): static text, `\$` escapes, `$name.path` and `${name.path}`.

use super::{BodyPath, Part, PathSegment, Variable};

/// A parse failure at a byte offset; `SelectionError` converts it to a character offset.
pub(super) struct ParseError {
    pub(super) message: String,
    pub(super) byte: usize,
}

fn error<T>(message: impl Into<String>, byte: usize) -> Result<T, ParseError> {
    Err(ParseError {
        message: message.into(),
        byte,
    })
}

/// Characters an unbraced variable extends over, besides bracket segments (docs/behaviour.md §2.2).
fn is_unbraced_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-')
}

/// A key that `Display` can write as `.key` and that parses back the same way.
pub(super) fn is_plain_name(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

/// Splits an expression into merged static text and variables.
pub(super) fn parse_parts(source: &str) -> Result<Vec<Part>, ParseError> {
    // An unescaped `$default` alone is the catch-all, the same as `\$default` (docs/behaviour.md §2.2, §2.4).
    if source == "$default" {
        return Ok(vec![Part::Text("$default".to_owned())]);
    }
    let bytes = source.as_bytes();
    let mut parts = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            // `\$` is a literal dollar (docs/behaviour.md §2.2); any other backslash is literal text.
            b'\\' if bytes.get(i + 1) == Some(&b'$') => {
                text.push('$');
                i += 2;
            }
            b'\\' => {
                text.push('\\');
                i += 1;
            }
            b'$' => {
                let (variable, end) = match bytes.get(i + 1) {
                    None => {
                        return error("expected a variable after `$` (write `\\$` for a literal dollar)", i)
                    }
                    Some(b'{') => braced(source, i)?,
                    Some(&b) if is_unbraced_byte(b) || b == b'[' => unbraced(source, i)?,
                    Some(_) => {
                        return error(
                            "expected a variable name or `{` after `$` (write `\\$` for a literal dollar)",
                            i,
                        )
                    }
                };
                if !text.is_empty() {
                    parts.push(Part::Text(std::mem::take(&mut text)));
                }
                parts.push(Part::Variable(variable));
                i = end;
            }
            _ => {
                // Copy up to the next special byte; both are ASCII, so slicing stays on a boundary.
                let rest = &source[i..];
                let n = rest.find(['\\', '$']).unwrap_or(rest.len());
                text.push_str(&rest[..n]);
                i += n;
            }
        }
    }
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    Ok(parts)
}

/// `${...}` starting at the `$` at `dollar`; returns the variable and the offset after `}`.
fn braced(source: &str, dollar: usize) -> Result<(Variable, usize), ParseError> {
    let bytes = source.as_bytes();
    let start = dollar + 2;
    let mut k = start;
    loop {
        match bytes.get(k) {
            None => return error("unclosed `${`", dollar),
            Some(b'}') => break,
            // A quoted bracket name may contain `}`.
            Some(b'[') => k = skip_bracket(source, k)?,
            Some(_) => k += 1,
        }
    }
    if k == start {
        return error("empty `${}`", dollar);
    }
    let variable = parse_variable(&source[start..k], start)?;
    Ok((variable, k + 1))
}

/// `$name.path` starting at the `$` at `dollar`; returns the variable and the offset after it.
fn unbraced(source: &str, dollar: usize) -> Result<(Variable, usize), ParseError> {
    let bytes = source.as_bytes();
    let start = dollar + 1;
    let mut k = start;
    while let Some(&b) = bytes.get(k) {
        if is_unbraced_byte(b) {
            k += 1;
        } else if b == b'[' {
            k = skip_bracket(source, k)?;
        } else {
            break;
        }
    }
    let variable = parse_variable(&source[start..k], start)?;
    Ok((variable, k))
}

/// Finds the end of the bracket segment opening at `open`, honouring quotes; returns the offset
/// after `]`. Its content is checked later by `parse_body_path`.
fn skip_bracket(source: &str, open: usize) -> Result<usize, ParseError> {
    let bytes = source.as_bytes();
    let mut k = open + 1;
    if let Some(&quote @ (b'\'' | b'"')) = bytes.get(k) {
        k += 1;
        loop {
            match bytes.get(k) {
                None => return error("unclosed quote in `[`", open),
                Some(b'\\') => k += 2,
                Some(&b) if b == quote => break,
                Some(_) => k += 1,
            }
        }
        k += 1;
        return match bytes.get(k) {
            Some(b']') => Ok(k + 1),
            _ => error("expected `]` after the quoted name", k.min(source.len())),
        };
    }
    match source.get(k..).and_then(|rest| rest.find(']')) {
        Some(n) => Ok(k + n + 1),
        None => error("unclosed `[`", open),
    }
}

/// The variable text without `$` and braces, e.g. `request.body.action`; `base` is its offset.
fn parse_variable(text: &str, base: usize) -> Result<Variable, ParseError> {
    for (root, body) in [
        (
            "request.body",
            Variable::RequestBody as fn(BodyPath) -> Variable,
        ),
        ("integration.response.body", Variable::IntegrationBody),
    ] {
        if let Some(rest) = strip_root(text, root) {
            return parse_body_path(rest, base + root.len()).map(body);
        }
    }
    for (root, named) in [
        (
            "request.header",
            Variable::RequestHeader as fn(String) -> Variable,
        ),
        ("request.querystring", Variable::RequestQueryString),
        ("context", Variable::Context),
        ("stageVariables", Variable::StageVariable),
        ("integration.response.header", Variable::IntegrationHeader),
        (
            "integration.response.multivalueheader",
            Variable::IntegrationMultiValueHeader,
        ),
    ] {
        if let Some(rest) = strip_root(text, root) {
            return parse_name(rest, base + root.len(), root == "context").map(named);
        }
    }
    if let Some(rest) = strip_root(text, "integration.response.statuscode") {
        return if rest.is_empty() {
            Ok(Variable::IntegrationStatusCode)
        } else {
            error(
                "unexpected text after `integration.response.statuscode`",
                base + text.len() - rest.len(),
            )
        };
    }
    error(
        format!(
            "unknown variable `{text}` (expected request.body, request.header, request.querystring, \
             context, stageVariables or integration.response.*)"
        ),
        base,
    )
}

/// The text after `root` when `text` starts with that whole root (`request.bodyx` does not).
fn strip_root<'t>(text: &'t str, root: &str) -> Option<&'t str> {
    let rest = text.strip_prefix(root)?;
    match rest.as_bytes().first() {
        None | Some(b'.' | b'[') => Some(rest),
        Some(_) => None,
    }
}

/// `.NAME` after a header, query-string, stage-variable or context root.
fn parse_name(rest: &str, base: usize, dotted: bool) -> Result<String, ParseError> {
    let Some(name) = rest.strip_prefix('.') else {
        return error("expected `.` and a name", base);
    };
    if name.is_empty() {
        return error("expected a name after `.`", base + 1);
    }
    if let Some(n) = name.find(['[', ']']) {
        return error("brackets are only allowed in body paths", base + 1 + n);
    }
    if dotted {
        // `context.X.Y`: every step needs a name.
        let mut offset = base + 1;
        for step in name.split('.') {
            if step.is_empty() {
                return error("empty name in `context` path", offset);
            }
            offset += step.len() + 1;
        }
    }
    Ok(name.to_owned())
}

/// A JSON path as it follows `body` (docs/behaviour.md §2.2): `.name`, `['name']`, `["name"]`, `[0]`.
pub(super) fn parse_body_path(path: &str, base: usize) -> Result<BodyPath, ParseError> {
    let bytes = path.as_bytes();
    let mut segments = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'.' => {
                let start = i + 1;
                let end = path[start..]
                    .find(['.', '[', ']'])
                    .map_or(path.len(), |n| start + n);
                let name = &path[start..end];
                if name.is_empty() {
                    return error("empty name in body path", base + i);
                }
                // Evaluation happens once (docs/behaviour.md §2.2): a `$` or `{` here is a nesting mistake.
                if let Some(n) = name.find(['$', '{']) {
                    return error(
                        "nested variables are not supported (quote unusual names: ['name'])",
                        base + start + n,
                    );
                }
                segments.push(PathSegment::Key(name.to_owned()));
                i = end;
            }
            b'[' => {
                let (segment, end) = parse_bracket(path, i, base)?;
                segments.push(segment);
                i = end;
            }
            _ => return error("expected `.` or `[` in body path", base + i),
        }
    }
    Ok(BodyPath { segments })
}

/// One `[...]` segment opening at `open`; returns it and the offset after `]`.
fn parse_bracket(path: &str, open: usize, base: usize) -> Result<(PathSegment, usize), ParseError> {
    let bytes = path.as_bytes();
    let mut k = open + 1;
    match bytes.get(k) {
        Some(&quote @ (b'\'' | b'"')) => {
            k += 1;
            let mut name = String::new();
            loop {
                let Some(ch) = path[k..].chars().next() else {
                    return error("unclosed quote in `[`", base + open);
                };
                k += ch.len_utf8();
                if ch == char::from(quote) {
                    break;
                }
                if ch == '\\' {
                    // `\'`, `\"`, `\\`: the next character is taken literally.
                    let Some(escaped) = path[k..].chars().next() else {
                        return error("unclosed quote in `[`", base + open);
                    };
                    k += escaped.len_utf8();
                    name.push(escaped);
                } else {
                    name.push(ch);
                }
            }
            if bytes.get(k) != Some(&b']') {
                return error("expected `]` after the quoted name", base + k);
            }
            Ok((PathSegment::Key(name), k + 1))
        }
        _ => {
            let Some(n) = path[k..].find(']') else {
                return error("unclosed `[`", base + open);
            };
            let inner = &path[k..k + n];
            if inner.is_empty() {
                return error("empty `[]`", base + open);
            }
            if inner == "*" {
                return error("wildcards are not supported in body paths", base + k);
            }
            if !inner.bytes().all(|b| b.is_ascii_digit()) {
                return error(
                    "expected an index or a quoted name in `[]`, e.g. [0] or ['name']",
                    base + k,
                );
            }
            match inner.parse::<usize>() {
                Ok(index) => Ok((PathSegment::Index(index), k + n + 1)),
                Err(_) => error("index too large", base + k),
            }
        }
    }
}
