//! Serverless Framework variables where they are plain: `${self:path}`, `${opt:name}`,
//! `${sls:stage}`, `${env:NAME}`, `${aws:region}`, `${aws:accountId}`, with fallbacks
//! (`${opt:stage, 'dev'}`, `${self:custom.x, self:provider.y}`) and nesting
//! (`${self:custom.tables.${sls:stage}}`).
//!
//! A variable that needs the outside world (`${ssm:…}`, `${file(…)}`, `${cf:…}`, `${s3:…}`, …)
//! becomes the internal function [`UNRESOLVED`]: an error where the API needs its value, a warning
//! where only a function's environment does.

use crate::import::intrinsics::UNRESOLVED;
use crate::import::node::{Entry, Node, Position, Value};
use crate::import::ImportOptions;
use std::cell::RefCell;

/// Sources whose variables are resolved, or recognised (and refused) as Serverless variables.
/// Anything else inside `${…}` (e.g. `${AWS::Region}` of an `Fn::Sub`) is left as written.
const SOURCES: &[&str] = &[
    "self:",
    "opt:",
    "sls:",
    "env:",
    "aws:",
    "file(",
    "ssm:",
    "cf:",
    "cf(",
    "s3:",
    "param:",
    "git:",
    "strToBool(",
    "sls(",
    "terraform:",
    "vault:",
    "doppler:",
];

/// Most `${…}` expansions in one string, and deepest `self:` chain.
const MAX_STEPS: usize = 256;
const MAX_DEPTH: usize = 32;

/// Resolves variables of one `serverless.yml`.
pub(crate) struct Variables<'a> {
    root: &'a Node,
    options: &'a ImportOptions,
    /// `${sls:stage}`: `--parameter-overrides stage=…`, else `provider.stage`, else `dev`.
    pub stage: String,
    /// `self:` addresses being resolved, to stop cycles.
    active: RefCell<Vec<String>>,
}

impl<'a> Variables<'a> {
    pub(crate) fn new(root: &'a Node, options: &'a ImportOptions) -> Self {
        let mut variables = Self {
            root,
            options,
            stage: "dev".to_owned(),
            active: RefCell::new(Vec::new()),
        };
        if let Some(stage) = options.parameter_overrides.get("stage") {
            variables.stage = stage.clone();
        } else if let Some(stage) = root.get("provider").and_then(|p| p.get("stage")) {
            if let Some(text) = variables.tree(stage, 0).as_str() {
                variables.stage = text.to_owned();
            }
        }
        variables
    }

    /// `node` with every variable resolved; an unresolvable one becomes [`UNRESOLVED`].
    pub(crate) fn tree(&self, node: &Node, depth: usize) -> Node {
        if depth > MAX_DEPTH * 4 {
            return unresolved(node.at, "values are nested too deep");
        }
        match &node.value {
            Value::Str(text) => match self.string(text, node.at, depth) {
                Ok(value) => value,
                Err(message) => unresolved(node.at, &message),
            },
            Value::List(items) => Node::new(
                node.at,
                Value::List(items.iter().map(|i| self.tree(i, depth + 1)).collect()),
            ),
            Value::Map(entries) => Node::new(
                node.at,
                Value::Map(
                    entries
                        .iter()
                        .map(|e| Entry {
                            key: e.key.clone(),
                            at: e.at,
                            node: self.tree(&e.node, depth + 1),
                        })
                        .collect(),
                ),
            ),
            _ => node.clone(),
        }
    }

    /// A string: one variable alone keeps the type of its value; otherwise the values are
    /// spliced into the text. Innermost `${…}` first.
    fn string(&self, text: &str, at: Position, depth: usize) -> Result<Node, String> {
        let mut current = text.to_owned();
        // Resolved text is never re-scanned, so `${` inside a value stays literal.
        let mut done = String::new();
        for _ in 0..MAX_STEPS {
            let Some((start, end)) = innermost(&current) else {
                done.push_str(&current);
                return Ok(Node::str(at, done));
            };
            let expression = &current[start + 2..end];
            let whole = done.is_empty() && start == 0 && end + 1 == current.len();
            let value = self.expression(expression, at, depth)?;
            if whole {
                return Ok(value);
            }
            let Some(text) = value.scalar_text() else {
                return Err(format!(
                    "${{{expression}}} is {}, which cannot be part of a string",
                    value.kind()
                ));
            };
            let before = &current[..start];
            let after = &current[end + 1..];
            if enclosing(before) {
                // Nested: splice and scan again for the enclosing variable.
                current = format!("{before}{text}{after}");
            } else {
                done.push_str(before);
                done.push_str(&text);
                current = after.to_owned();
            }
        }
        Err(format!("`{text}` expands more than {MAX_STEPS} variables"))
    }

    /// One expression: `source:address` with `, fallback` alternatives.
    fn expression(&self, expression: &str, at: Position, depth: usize) -> Result<Node, String> {
        let alternatives = split_top_level(expression);
        let mut reasons = Vec::new();
        for alternative in &alternatives {
            let alternative = alternative.trim();
            if let Some(literal) = quoted(alternative) {
                return Ok(Node::str(at, literal));
            }
            if let Ok(number) = alternative.parse::<i64>() {
                return Ok(Node::new(at, Value::Int(number)));
            }
            match self.source(alternative, at, depth)? {
                Some(value) => return Ok(value),
                None => reasons.push(alternative.to_owned()),
            }
        }
        Err(format!(
            "the Serverless variable ${{{expression}}} has no value here ({})",
            reasons.join(", ")
        ))
    }

    /// `Ok(None)`: the source has no value for it (a fallback may); `Err`: it cannot be read
    /// here at all.
    fn source(&self, reference: &str, at: Position, depth: usize) -> Result<Option<Node>, String> {
        if let Some(path) = reference.strip_prefix("self:") {
            return self.self_reference(path.trim(), depth);
        }
        if let Some(name) = reference.strip_prefix("opt:") {
            let name = name.trim();
            return Ok(self
                .options
                .parameter_overrides
                .get(name)
                .map(|value| Node::str(at, value.clone())));
        }
        if let Some(name) = reference.strip_prefix("sls:") {
            return match name.trim() {
                "stage" => Ok(Some(Node::str(at, self.stage.clone()))),
                "instanceId" => Ok(Some(Node::str(at, "switchboard"))),
                other => Err(format!("${{sls:{other}}} is not known here")),
            };
        }
        if let Some(name) = reference.strip_prefix("env:") {
            return Ok(self
                .options
                .environment
                .get(name.trim())
                .map(|v| Node::str(at, v.clone())));
        }
        if let Some(name) = reference.strip_prefix("aws:") {
            return match name.trim() {
                "region" => Ok(Some(Node::str(at, self.options.region.clone()))),
                "accountId" => Ok(Some(Node::str(at, self.options.account_id.clone()))),
                other => Err(format!("${{aws:{other}}} is not known here")),
            };
        }
        Err(format!(
            "the Serverless variable ${{{reference}}} reads from outside the file, which \
             switchboard import does not do; write its value instead"
        ))
    }

    /// `${self:a.b.c}`: a value of this file, itself resolved.
    fn self_reference(&self, path: &str, depth: usize) -> Result<Option<Node>, String> {
        if depth > MAX_DEPTH || self.active.borrow().iter().any(|a| a == path) {
            return Err(format!("${{self:{path}}} is defined through itself"));
        }
        let mut node = self.root;
        if !path.is_empty() {
            for key in path.split('.') {
                let next = match &node.value {
                    Value::Map(_) => node.get(key),
                    Value::List(items) => key.parse::<usize>().ok().and_then(|i| items.get(i)),
                    _ => None,
                };
                match next {
                    Some(next) => node = next,
                    None => return Ok(None),
                }
            }
        }
        self.active.borrow_mut().push(path.to_owned());
        let value = self.tree(node, depth + 1);
        self.active.borrow_mut().pop();
        Ok(Some(value))
    }
}

/// The internal function standing for a value that cannot be resolved.
pub(crate) fn unresolved(at: Position, message: &str) -> Node {
    Node::map(at, vec![(UNRESOLVED, Node::str(at, message))])
}

/// Whether `node` is (or holds) an unresolved variable.
pub(crate) fn is_unresolved(node: &Node) -> bool {
    node.get(UNRESOLVED).is_some()
}

/// The byte range (`${` start, `}` end) of the first Serverless variable that holds no other.
fn innermost(text: &str) -> Option<(usize, usize)> {
    let mut search = 0;
    while let Some(found) = text[search..].find("${") {
        let start = search + found;
        let body = &text[start + 2..];
        let recognised = SOURCES.iter().any(|s| body.trim_start().starts_with(s));
        if !recognised {
            search = start + 2;
            continue;
        }
        // The first `}` closes the innermost variable unless another `${` opens before it.
        let close = body.find('}')?;
        match body[..close].find("${") {
            Some(inner) => {
                let inner_start = start + 2 + inner;
                let rest = &text[inner_start..];
                let inner_close = rest.find('}')?;
                return Some((inner_start, inner_start + inner_close));
            }
            None => return Some((start, start + 2 + close)),
        }
    }
    None
}

/// Whether some variable encloses the one starting right after `before`.
fn enclosing(before: &str) -> bool {
    let opens = before.matches("${").count();
    let closes = before.matches('}').count();
    opens > closes
}

/// Splits `a, 'b, c', d` at the commas outside quotes and parentheses.
fn split_top_level(expression: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut quote: Option<char> = None;
    let mut parens = 0usize;
    for c in expression.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                current.push(c);
            }
            (Some(_), c) => current.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                current.push(c);
            }
            (None, '(') => {
                parens += 1;
                current.push(c);
            }
            (None, ')') => {
                parens = parens.saturating_sub(1);
                current.push(c);
            }
            (None, ',') if parens == 0 => parts.push(std::mem::take(&mut current)),
            (None, c) => current.push(c),
        }
    }
    parts.push(current);
    parts
}

/// The text of a quoted literal `'dev'` or `"dev"`.
fn quoted(text: &str) -> Option<String> {
    let first = text.chars().next()?;
    if (first == '\'' || first == '"') && text.len() >= 2 && text.ends_with(first) {
        Some(text[1..text.len() - 1].to_owned())
    } else {
        None
    }
}
