//! The JSONPath subset that `$input.json()` and `$input.path()` take: `$`, `.name`,
//! `['name']`, `["name"]`, `[n]` (negative counts from the end), `[*]`, `.*`, `..name`, `..*`.
//! A path without a leading `$` is read as `$.path` (as Jayway JsonPath does).
//!
//! Paths select from the values of the render's heap, not from a copy: like API Gateway's
//! (Jayway JsonPath over json-smart), `$input.path()` hands out the document's own maps and
//! lists, so a template that changes them changes what `$input.json()` prints next.

use super::value::{Heap, Obj, Value};

/// Most values one path may select.
const MAX_RESULTS: usize = 100_000;

/// One step of a path.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Child(String),
    Index(i64),
    Wildcard,
    Deep(String),
    DeepWildcard,
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct JsonPath {
    steps: Vec<Step>,
}

/// What a path selected.
#[derive(Debug)]
pub(crate) enum Selection {
    /// A definite path that found its value.
    One(Value),
    /// A definite path that found nothing.
    Missing,
    /// An indefinite path (wildcard or deep scan): every match, possibly none.
    Many(Vec<Value>),
}

impl JsonPath {
    /// Parses `path`.
    pub fn parse(path: &str) -> Result<Self, String> {
        let path = path.trim();
        let mut rest = if let Some(r) = path.strip_prefix('$') {
            r
        } else if path.starts_with('[') || path.is_empty() {
            path
        } else {
            // Jayway: `a.b` means `$.a.b`; keep the dot handling uniform below.
            return Self::parse(&format!("$.{path}"));
        };
        let mut steps = Vec::new();
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("..") {
                if let Some(r2) = r.strip_prefix('*') {
                    steps.push(Step::DeepWildcard);
                    rest = r2;
                } else if r.starts_with('[') {
                    let (step, r2) = bracket(r, path)?;
                    match step {
                        Step::Child(name) => steps.push(Step::Deep(name)),
                        Step::Wildcard => steps.push(Step::DeepWildcard),
                        _ => return Err(format!("unsupported JSONPath '{path}'")),
                    }
                    rest = r2;
                } else {
                    let (name, r2) = name(r);
                    if name.is_empty() {
                        return Err(format!(
                            "invalid JSONPath '{path}': name expected after '..'"
                        ));
                    }
                    steps.push(Step::Deep(name.to_owned()));
                    rest = r2;
                }
            } else if let Some(r) = rest.strip_prefix('.') {
                if let Some(r2) = r.strip_prefix('*') {
                    steps.push(Step::Wildcard);
                    rest = r2;
                } else {
                    let (name, r2) = name(r);
                    if name.is_empty() {
                        return Err(format!(
                            "invalid JSONPath '{path}': name expected after '.'"
                        ));
                    }
                    steps.push(Step::Child(name.to_owned()));
                    rest = r2;
                }
            } else if rest.starts_with('[') {
                let (step, r2) = bracket(rest, path)?;
                steps.push(step);
                rest = r2;
            } else {
                return Err(format!("invalid JSONPath '{path}'"));
            }
        }
        Ok(Self { steps })
    }

    /// True when the path selects at most one value.
    fn definite(&self) -> bool {
        self.steps
            .iter()
            .all(|s| matches!(s, Step::Child(_) | Step::Index(_)))
    }

    /// Applies the path to `root`, a value in `heap`; `budget` is decremented per value
    /// visited and the selection fails when it runs out.
    pub fn select(&self, heap: &Heap, root: &Value, budget: &mut u64) -> Result<Selection, String> {
        let mut current = vec![root.clone()];
        for step in &self.steps {
            let mut next = Vec::new();
            for node in &current {
                spend(budget, 1)?;
                match step {
                    Step::Child(name) => {
                        if let Some(v) = member(heap, node, name) {
                            next.push(v.clone());
                        }
                    }
                    Step::Index(i) => {
                        if let Some(items) = items(heap, node) {
                            let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
                            let at = if *i < 0 { len + i } else { *i };
                            if let Some(v) = usize::try_from(at).ok().and_then(|a| items.get(a)) {
                                next.push(v.clone());
                            }
                        }
                    }
                    Step::Wildcard => children(heap, node, &mut next),
                    Step::Deep(name) => deep(heap, node, Some(name), &mut next, budget)?,
                    Step::DeepWildcard => deep(heap, node, None, &mut next, budget)?,
                }
                if next.len() > MAX_RESULTS {
                    return Err(format!("JSONPath selects more than {MAX_RESULTS} values"));
                }
            }
            spend(budget, next.len())?;
            current = next;
        }
        if self.definite() {
            Ok(current
                .into_iter()
                .next()
                .map_or(Selection::Missing, Selection::One))
        } else {
            Ok(Selection::Many(current))
        }
    }
}

/// Takes `n` steps from `budget`, failing when there are not that many left.
fn spend(budget: &mut u64, n: usize) -> Result<(), String> {
    match budget.checked_sub(u64::try_from(n).unwrap_or(u64::MAX)) {
        Some(left) => {
            *budget = left;
            Ok(())
        }
        None => {
            *budget = 0;
            Err("render step limit exceeded".into())
        }
    }
}

/// A dotted name: up to the next `.` or `[`.
fn name(s: &str) -> (&str, &str) {
    let end = s.find(['.', '[']).unwrap_or(s.len());
    (s[..end].trim(), &s[end..])
}

/// `[...]` at the start of `s`.
fn bracket<'p>(s: &'p str, path: &str) -> Result<(Step, &'p str), String> {
    let inner_and_rest = &s[1..];
    let inner_and_rest = inner_and_rest.trim_start();
    if let Some(q) = inner_and_rest
        .chars()
        .next()
        .filter(|c| *c == '\'' || *c == '"')
    {
        let body = &inner_and_rest[1..];
        let end = body
            .find(q)
            .ok_or_else(|| format!("invalid JSONPath '{path}': unterminated quote"))?;
        let key = &body[..end];
        let after = body[end + 1..].trim_start();
        let after = after
            .strip_prefix(']')
            .ok_or_else(|| format!("invalid JSONPath '{path}': ']' expected"))?;
        return Ok((Step::Child(key.to_owned()), after));
    }
    let end = inner_and_rest
        .find(']')
        .ok_or_else(|| format!("invalid JSONPath '{path}': ']' expected"))?;
    let inner = inner_and_rest[..end].trim();
    let after = &inner_and_rest[end + 1..];
    if inner == "*" {
        return Ok((Step::Wildcard, after));
    }
    match inner.parse::<i64>() {
        Ok(i) => Ok((Step::Index(i), after)),
        Err(_) => Err(format!(
            "unsupported JSONPath '{path}' (filters, slices and unions are not supported)"
        )),
    }
}

/// The member `name` of `node`, when it is a map that has one.
fn member<'h>(heap: &'h Heap, node: &Value, name: &str) -> Option<&'h Value> {
    match node {
        Value::Map(id) => heap.map(*id)?.get(name),
        _ => None,
    }
}

/// The items of `node`, when it is a list.
fn items<'h>(heap: &'h Heap, node: &Value) -> Option<&'h [Value]> {
    match node {
        Value::List(id) => match heap.get(*id)? {
            Obj::List { items, .. } => Some(items),
            _ => None,
        },
        _ => None,
    }
}

/// Every direct child of `node`.
fn children(heap: &Heap, node: &Value, out: &mut Vec<Value>) {
    match node {
        Value::Map(id) => {
            if let Some(m) = heap.map(*id) {
                out.extend(m.values().iter().cloned());
            }
        }
        Value::List(_) => out.extend(items(heap, node).unwrap_or_default().iter().cloned()),
        _ => {}
    }
}

/// `..name` (or `..*` when `name` is `None`): document order, no recursion. A template can
/// make the document cyclic (`$list.add($list)`), so the walk stops at [`MAX_RESULTS`] nodes.
fn deep(
    heap: &Heap,
    node: &Value,
    name: Option<&str>,
    out: &mut Vec<Value>,
    budget: &mut u64,
) -> Result<(), String> {
    let mut stack = vec![node.clone()];
    let mut visited = 0usize;
    while let Some(n) = stack.pop() {
        visited += 1;
        spend(budget, 1)?;
        match name {
            Some(name) => {
                if let Some(v) = member(heap, &n, name) {
                    out.push(v.clone());
                }
            }
            None => children(heap, &n, out),
        }
        let mut kids = Vec::new();
        children(heap, &n, &mut kids);
        stack.extend(kids.into_iter().rev());
        if out.len() > MAX_RESULTS || visited.saturating_add(stack.len()) > MAX_RESULTS {
            return Err(format!(
                "JSONPath deep scan visits more than {MAX_RESULTS} values"
            ));
        }
    }
    Ok(())
}
