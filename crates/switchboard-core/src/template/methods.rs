//! Java methods that templates call on strings, lists, maps and numbers.
//!
//! A call that matches no method (unknown name, wrong arity or argument kinds) yields null, so
//! the reference renders as its source text, as Velocity does. A matched method that Java would
//! make throw (index out of range, bad regular expression) is a render error.

use std::rc::Rc;

use super::ast::Offset;
use super::budget::REGEX_COMPILE_STEPS;
use super::eval::Renderer;
use super::value::{Obj, Value};
use super::{TemplateError, MAX_LIST_LEN};

/// Regular expressions compiled per render at most (the cache is cleared past this).
const MAX_CACHED_REGEXES: usize = 64;

impl Renderer<'_, '_> {
    /// `receiver.name(args)`.
    pub fn call(
        &mut self,
        receiver: Value,
        name: &str,
        args: &[Value],
        at: Offset,
    ) -> Result<Value, TemplateError> {
        match receiver {
            Value::Input => self.input_method(name, args, at),
            Value::Util => self.util_method(name, args, at),
            Value::Str(s) => self.string_method(&s, name, args, at),
            Value::List(id) => self.list_method(id, name, args, at),
            Value::Map(id) => self.map_method(id, name, args, at),
            Value::Entry(id) => Ok(match (self.heap.get(id), name, args) {
                (Some(Obj::Entry(k, _)), "getKey", []) => Value::Str(k.clone()),
                (Some(Obj::Entry(_, v)), "getValue", []) => v.clone(),
                _ => self.common_method(&receiver, name, args, at)?,
            }),
            Value::Foreach { index, has_next } => Ok(match (name, args) {
                ("hasNext", []) => Value::Bool(has_next),
                ("getIndex", []) => Value::Int(index),
                ("getCount", []) => Value::Int(index.saturating_add(1)),
                ("isFirst", []) => Value::Bool(index == 0),
                ("isLast", []) => Value::Bool(!has_next),
                _ => Value::Null,
            }),
            Value::Int(_) | Value::Float(_) => Ok(match (name, args) {
                ("intValue" | "longValue", []) => match receiver {
                    Value::Float(f) => Value::Int(f as i64),
                    other => other,
                },
                ("doubleValue" | "floatValue", []) => Value::Float(super::value::to_f64(&receiver)),
                _ => self.common_method(&receiver, name, args, at)?,
            }),
            Value::Bool(_) => self.common_method(&receiver, name, args, at),
            Value::Null | Value::Context(_) => Ok(Value::Null),
        }
    }

    /// Methods every Java object has.
    fn common_method(
        &mut self,
        receiver: &Value,
        name: &str,
        args: &[Value],
        at: Offset,
    ) -> Result<Value, TemplateError> {
        Ok(match (name, args) {
            ("toString", []) => match self.display(receiver, at)? {
                Some(s) => Value::Str(Rc::from(s)),
                None => Value::Null,
            },
            ("equals", [other]) => Value::Bool(self.metered(at, |heap, budget| {
                heap.java_equals(receiver, other, 0, budget)
            })?),
            _ => Value::Null,
        })
    }

    /// A compiled regular expression (Rust `regex` syntax: no look-around or back-references).
    pub fn regex(&mut self, pattern: &str, at: Offset) -> Result<regex::Regex, TemplateError> {
        if let Some(re) = self.regexes.get(pattern) {
            return Ok(re.clone());
        }
        self.spend(REGEX_COMPILE_STEPS, at)?;
        let re = regex::RegexBuilder::new(pattern)
            .size_limit(1 << 20)
            .dfa_size_limit(1 << 20)
            .build()
            .map_err(|e| self.err(at, format!("invalid regular expression: {e}")))?;
        if self.regexes.len() >= MAX_CACHED_REGEXES {
            self.regexes.clear();
        }
        self.regexes.insert(pattern.into(), re.clone());
        Ok(re)
    }

    fn string_method(
        &mut self,
        s: &Rc<str>,
        name: &str,
        args: &[Value],
        at: Offset,
    ) -> Result<Value, TemplateError> {
        // Most string methods read the whole receiver: its length is their work.
        self.scan(s.len(), at)?;
        let str_arg = |i: usize| match args.get(i) {
            Some(Value::Str(a)) => Some(a.clone()),
            _ => None,
        };
        let int_arg = |i: usize| args.get(i).and_then(Value::as_int);
        // Java strings count UTF-16 units: a character outside the BMP is two.
        let char_len = || s.encode_utf16().count();
        let out_of_range = |this: &Self, what: String| {
            Err(this.err(at, format!("String index out of range: {what}")))
        };
        Ok(match (name, args.len()) {
            ("length", 0) => Value::Int(i64::try_from(char_len()).unwrap_or(i64::MAX)),
            ("compareTo" | "compareToIgnoreCase", 1) => match str_arg(0) {
                Some(o) => Value::Int(java_compare(s, &o, name == "compareToIgnoreCase")),
                None => Value::Null,
            },
            ("isEmpty", 0) => Value::Bool(s.is_empty()),
            ("toString" | "trim" | "toLowerCase" | "toUpperCase", 0) => {
                let t = match name {
                    "trim" => s.trim_matches(|c: char| c <= ' ').to_owned(),
                    "toLowerCase" => s.to_lowercase(),
                    "toUpperCase" => s.to_uppercase(),
                    _ => return Ok(Value::Str(s.clone())),
                };
                self.string(&t, at)?
            }
            ("substring", 1 | 2) => {
                let len = char_len();
                let (Some(b), e) = (
                    int_arg(0),
                    if args.len() == 2 {
                        int_arg(1)
                    } else {
                        Some(len as i64)
                    },
                ) else {
                    return Ok(Value::Null);
                };
                let Some(e) = e else { return Ok(Value::Null) };
                if b < 0 || e > len as i64 || b > e {
                    return out_of_range(self, format!("begin {b}, end {e}, length {len}"));
                }
                let t = utf16_slice(s, b as usize, e as usize);
                self.string(&t, at)?
            }
            ("charAt", 1) => {
                let Some(i) = int_arg(0) else {
                    return Ok(Value::Null);
                };
                match usize::try_from(i).ok().filter(|&i| i < char_len()) {
                    Some(i) => Value::str(&utf16_slice(s, i, i + 1)),
                    None => return out_of_range(self, format!("index {i}")),
                }
            }
            ("indexOf" | "lastIndexOf", 1 | 2) => {
                // A number is a character code (Java's `indexOf(int ch)`).
                let needle = match args.first() {
                    Some(Value::Str(n)) => n.clone(),
                    Some(Value::Int(code)) => {
                        match u32::try_from(*code).ok().and_then(char::from_u32) {
                            Some(c) => Rc::from(c.to_string()),
                            None => return Ok(Value::Int(-1)),
                        }
                    }
                    _ => return Ok(Value::Null),
                };
                let from = int_arg(1);
                let found = if name == "indexOf" {
                    let start = utf16_to_byte(s, from.unwrap_or(0));
                    s.get(start..)
                        .and_then(|t| t.find(&*needle))
                        .map(|b| b + start)
                } else {
                    // Java: the last match that starts at or before `from`.
                    let end = match from {
                        Some(f) if f < 0 => return Ok(Value::Int(-1)),
                        Some(f) => utf16_to_byte(s, f)
                            .saturating_add(needle.len())
                            .min(s.len()),
                        None => s.len(),
                    };
                    let end = (0..=end)
                        .rev()
                        .find(|&b| s.is_char_boundary(b))
                        .unwrap_or(0);
                    s.get(..end).and_then(|t| t.rfind(&*needle))
                };
                let idx = found.map_or(-1, |b| {
                    s.get(..b).map_or(0, |p| p.encode_utf16().count()) as i64
                });
                Value::Int(idx)
            }
            ("contains", 1) => match str_arg(0) {
                Some(n) => Value::Bool(s.contains(&*n)),
                None => Value::Null,
            },
            ("startsWith", 1) => match str_arg(0) {
                Some(n) => Value::Bool(s.starts_with(&*n)),
                None => Value::Null,
            },
            ("endsWith", 1) => match str_arg(0) {
                Some(n) => Value::Bool(s.ends_with(&*n)),
                None => Value::Null,
            },
            ("equals", 1) => Value::Bool(str_arg(0).is_some_and(|o| o == *s)),
            ("equalsIgnoreCase", 1) => {
                Value::Bool(str_arg(0).is_some_and(|o| o.to_lowercase() == s.to_lowercase()))
            }
            ("concat", 1) => match str_arg(0) {
                Some(o) => {
                    self.charge(s.len() + o.len(), at)?;
                    Value::Str(Rc::from(format!("{s}{o}")))
                }
                None => Value::Null,
            },
            ("replace", 2) => {
                let (Some(from), Some(to)) = (str_arg(0), str_arg(1)) else {
                    return Ok(Value::Null);
                };
                let estimate = if from.is_empty() {
                    (s.len().saturating_add(1))
                        .saturating_mul(to.len().saturating_add(1))
                        .saturating_add(s.len())
                } else {
                    s.len()
                        .saturating_add(s.matches(&*from).count().saturating_mul(to.len()))
                };
                self.charge(estimate, at)?;
                if from.is_empty() {
                    // Java inserts the replacement between every character and at both ends.
                    let mut t = String::from(&*to);
                    for c in s.chars() {
                        t.push(c);
                        t.push_str(&to);
                    }
                    Value::Str(Rc::from(t))
                } else {
                    Value::Str(Rc::from(s.replace(&*from, &to)))
                }
            }
            ("replaceAll" | "replaceFirst", 2) => {
                let (Some(pattern), Some(repl)) = (str_arg(0), str_arg(1)) else {
                    return Ok(Value::Null);
                };
                let re = self.regex(&pattern, at)?;
                let repl = java_replacement(&repl);
                let limit = if name == "replaceFirst" { 1 } else { 0 };
                let matches = re
                    .find_iter(s)
                    .count()
                    .min(if limit == 1 { 1 } else { usize::MAX });
                self.charge(
                    s.len()
                        .saturating_add(matches.saturating_mul(repl.len().saturating_add(16))),
                    at,
                )?;
                let t = re.replacen(s, limit, repl.as_str());
                self.string(&t, at)?
            }
            ("matches", 1) => {
                let Some(pattern) = str_arg(0) else {
                    return Ok(Value::Null);
                };
                let re = self.regex(&format!("^(?:{pattern})$"), at)?;
                Value::Bool(re.is_match(s))
            }
            ("split", 1 | 2) => {
                let Some(pattern) = str_arg(0) else {
                    return Ok(Value::Null);
                };
                let limit = if args.len() == 2 {
                    match int_arg(1) {
                        Some(l) => l,
                        None => return Ok(Value::Null),
                    }
                } else {
                    0
                };
                let re = self.regex(&pattern, at)?;
                let parts = java_split(s, &re, limit);
                if parts.len() > MAX_LIST_LEN {
                    return Err(
                        self.err(at, format!("split yields more than {MAX_LIST_LEN} items"))
                    );
                }
                let mut items = Vec::with_capacity(parts.len());
                for p in parts {
                    self.tick(at)?;
                    items.push(self.string(p, at)?);
                }
                self.heap.new_list(items, false)
            }
            _ => self.common_method(&Value::Str(s.clone()), name, args, at)?,
        })
    }

    fn list_method(
        &mut self,
        id: usize,
        name: &str,
        args: &[Value],
        at: Offset,
    ) -> Result<Value, TemplateError> {
        let len = self.heap.list(id).len();
        let full = |this: &Self| {
            Err(this.err(
                at,
                format!("a list would exceed the limit of {MAX_LIST_LEN} items"),
            ))
        };
        Ok(match (name, args) {
            ("size", []) => Value::Int(len as i64),
            ("isEmpty", []) => Value::Bool(len == 0),
            ("get", [i]) => {
                let Some(n) = i.as_int() else {
                    return Ok(Value::Null);
                };
                match usize::try_from(n)
                    .ok()
                    .and_then(|p| self.heap.list(id).get(p))
                {
                    Some(v) => v.clone(),
                    None => {
                        return Err(
                            self.err(at, format!("list index {n} is out of bounds (size {len})"))
                        )
                    }
                }
            }
            ("contains" | "indexOf" | "lastIndexOf", [x]) => {
                let mut found = None;
                let items = self.heap.list(id).to_vec();
                let order: Box<dyn Iterator<Item = (usize, &Value)>> = if name == "lastIndexOf" {
                    Box::new(items.iter().enumerate().rev())
                } else {
                    Box::new(items.iter().enumerate())
                };
                for (i, item) in order {
                    self.tick(at)?;
                    if self.metered(at, |heap, budget| heap.java_equals(item, x, 0, budget))? {
                        found = Some(i);
                        break;
                    }
                }
                if name == "contains" {
                    Value::Bool(found.is_some())
                } else {
                    Value::Int(found.map_or(-1, |i| i as i64))
                }
            }
            ("add", [x]) => {
                if len >= MAX_LIST_LEN {
                    return full(self);
                }
                if let Some(items) = self.heap.list_mut(id) {
                    items.push(x.clone());
                }
                Value::Bool(true)
            }
            ("add", [i, x]) => {
                if len >= MAX_LIST_LEN {
                    return full(self);
                }
                match (
                    i.as_int().and_then(|n| usize::try_from(n).ok()),
                    self.heap.list_mut(id),
                ) {
                    (Some(p), Some(items)) if p <= items.len() => items.insert(p, x.clone()),
                    _ => {
                        return Err(
                            self.err(at, format!("list index is out of bounds (size {len})"))
                        )
                    }
                }
                // `void`: renders as the reference text, as in Velocity.
                Value::Null
            }
            ("addAll", [Value::List(other)]) => {
                let extra = self.heap.list(*other).to_vec();
                if len + extra.len() > MAX_LIST_LEN {
                    return full(self);
                }
                for _ in 0..extra.len() / 64 {
                    self.tick(at)?;
                }
                let changed = !extra.is_empty();
                if let Some(items) = self.heap.list_mut(id) {
                    items.extend(extra);
                }
                Value::Bool(changed)
            }
            ("set", [i, x]) => self.list_set(id, i, x.clone(), at)?,
            ("remove", [Value::Int(n)]) => {
                match (usize::try_from(*n).ok(), self.heap.list_mut(id)) {
                    (Some(p), Some(items)) if p < items.len() => items.remove(p),
                    _ => {
                        return Err(
                            self.err(at, format!("list index {n} is out of bounds (size {len})"))
                        )
                    }
                }
            }
            ("remove", [x]) => {
                let items = self.heap.list(id).to_vec();
                let mut found = None;
                for (i, item) in items.iter().enumerate() {
                    self.tick(at)?;
                    if self.metered(at, |heap, budget| heap.java_equals(item, x, 0, budget))? {
                        found = Some(i);
                        break;
                    }
                }
                if let (Some(i), Some(items)) = (found, self.heap.list_mut(id)) {
                    items.remove(i);
                }
                Value::Bool(found.is_some())
            }
            ("clear", []) => {
                if let Some(items) = self.heap.list_mut(id) {
                    items.clear();
                }
                Value::Null
            }
            ("subList", [a, b]) => {
                let (Some(a), Some(b)) = (a.as_int(), b.as_int()) else {
                    return Ok(Value::Null);
                };
                if a < 0 || b > len as i64 || a > b {
                    return Err(self.err(
                        at,
                        format!("subList({a}, {b}) is out of bounds (size {len})"),
                    ));
                }
                let items = self.heap.list(id)[a as usize..b as usize].to_vec();
                self.heap.new_list(items, false)
            }
            _ => self.common_method(&Value::List(id), name, args, at)?,
        })
    }

    fn map_method(
        &mut self,
        id: usize,
        name: &str,
        args: &[Value],
        at: Offset,
    ) -> Result<Value, TemplateError> {
        let Some(map) = self.heap.map(id) else {
            return Ok(Value::Null);
        };
        let len = map.len();
        Ok(match (name, args) {
            ("size", []) => Value::Int(len as i64),
            ("isEmpty", []) => Value::Bool(len == 0),
            ("get" | "containsKey" | "remove", [k]) => {
                let key = self.display(k, at)?.unwrap_or_else(|| "null".into());
                match name {
                    "get" => self
                        .heap
                        .map(id)
                        .and_then(|m| m.get(&key))
                        .cloned()
                        .unwrap_or(Value::Null),
                    "containsKey" => {
                        Value::Bool(self.heap.map(id).is_some_and(|m| m.get(&key).is_some()))
                    }
                    _ => self
                        .heap
                        .map_mut(id)
                        .and_then(|m| m.remove(&key))
                        .unwrap_or(Value::Null),
                }
            }
            ("put", [k, v]) => {
                let key = self.display(k, at)?.unwrap_or_else(|| "null".into());
                if len >= MAX_LIST_LEN {
                    return Err(self.err(
                        at,
                        format!("a map would exceed the limit of {MAX_LIST_LEN} entries"),
                    ));
                }
                self.heap
                    .map_mut(id)
                    .and_then(|m| m.insert(Rc::from(key), v.clone()))
                    .unwrap_or(Value::Null)
            }
            ("putAll", [Value::Map(other)]) => {
                let (keys, values) = match self.heap.map(*other) {
                    Some(o) => (o.keys().to_vec(), o.values().to_vec()),
                    None => return Ok(Value::Null),
                };
                if len + keys.len() > MAX_LIST_LEN {
                    return Err(self.err(
                        at,
                        format!("a map would exceed the limit of {MAX_LIST_LEN} entries"),
                    ));
                }
                for (k, v) in keys.into_iter().zip(values) {
                    self.tick(at)?;
                    if let Some(m) = self.heap.map_mut(id) {
                        m.insert(k, v);
                    }
                }
                Value::Null
            }
            ("containsValue", [x]) => {
                let values = map.values().to_vec();
                let mut found = false;
                for v in &values {
                    self.tick(at)?;
                    if self.metered(at, |heap, budget| heap.java_equals(v, x, 0, budget))? {
                        found = true;
                        break;
                    }
                }
                Value::Bool(found)
            }
            ("keySet", []) => {
                let keys: Vec<Value> = map.keys().iter().map(|k| Value::Str(k.clone())).collect();
                self.heap.new_list(keys, false)
            }
            ("values", []) => {
                let values = map.values().to_vec();
                self.heap.new_list(values, false)
            }
            ("entrySet", []) => {
                let pairs: Vec<(Rc<str>, Value)> = map
                    .keys()
                    .iter()
                    .cloned()
                    .zip(map.values().iter().cloned())
                    .collect();
                let mut entries = Vec::with_capacity(pairs.len());
                for (k, v) in pairs {
                    self.tick(at)?;
                    entries.push(Value::Entry(self.heap.alloc(Obj::Entry(k, v))));
                }
                self.heap.new_list(entries, false)
            }
            ("clear", []) => {
                if let Some(m) = self.heap.map_mut(id) {
                    *m = Default::default();
                }
                Value::Null
            }
            _ => self.common_method(&Value::Map(id), name, args, at)?,
        })
    }
}

/// Java's `String.split(regex, limit)`: a zero-width match at the start yields no leading empty
/// string; with `limit == 0` trailing empty strings are dropped; `limit > 0` caps the count.
pub(crate) fn java_split<'s>(s: &'s str, re: &regex::Regex, limit: i64) -> Vec<&'s str> {
    if s.is_empty() {
        return vec![""];
    }
    let mut parts = Vec::new();
    let mut last = 0;
    for m in re.find_iter(s) {
        if limit > 0 && parts.len() as i64 >= limit - 1 {
            break;
        }
        if m.end() == 0 {
            continue;
        }
        parts.push(s.get(last..m.start()).unwrap_or(""));
        last = m.end();
    }
    parts.push(s.get(last..).unwrap_or(""));
    if limit == 0 {
        while parts.len() > 1 && parts.last() == Some(&"") {
            parts.pop();
        }
        if parts == [""] && !s.is_empty() {
            parts.clear();
        }
    }
    parts
}

/// Java's replacement syntax (`$1`, `${name}`, `\$`) in the `regex` crate's syntax.
pub(crate) fn java_replacement(repl: &str) -> String {
    let mut out = String::with_capacity(repl.len());
    let mut chars = repl.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('$') => out.push_str("$$"),
                Some(other) => out.push(other),
                None => {}
            },
            '$' => {
                if chars.peek() == Some(&'{') {
                    out.push('$');
                } else {
                    let mut digits = String::new();
                    while let Some(d) = chars.peek().copied().filter(char::is_ascii_digit) {
                        digits.push(d);
                        chars.next();
                    }
                    if digits.is_empty() {
                        out.push_str("$$");
                    } else {
                        out.push_str("${");
                        out.push_str(&digits);
                        out.push('}');
                    }
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// The UTF-16 units `[begin, end)` of `s` as Java's `substring` gives them: half of a
/// character outside the BMP (a lone surrogate) becomes `?`, as Java writes it out.
pub(crate) fn utf16_slice(s: &str, begin: usize, end: usize) -> String {
    let mut out = String::new();
    let mut unit = 0usize;
    for c in s.chars() {
        let width = c.len_utf16();
        let (start, stop) = (unit, unit + width);
        unit = stop;
        if start >= end {
            break;
        }
        if start >= begin && stop <= end {
            out.push(c);
        } else if stop > begin {
            out.push('?');
        }
    }
    out
}

/// The byte offset in `s` of UTF-16 unit `unit` (negative counts as 0; inside a surrogate
/// pair, the next character; past the end, the end).
pub(crate) fn utf16_to_byte(s: &str, unit: i64) -> usize {
    let Ok(unit) = usize::try_from(unit.max(0)) else {
        return s.len();
    };
    let mut seen = 0usize;
    for (b, c) in s.char_indices() {
        if seen >= unit {
            return b;
        }
        seen += c.len_utf16();
    }
    s.len()
}

/// Java's `String.compareTo` (`compareToIgnoreCase` when `ignore_case`): the difference of the
/// first UTF-16 units that differ, else of the lengths.
pub(crate) fn java_compare(a: &str, b: &str, ignore_case: bool) -> i64 {
    let fold = |u: u16| -> u32 {
        let Some(c) = char::from_u32(u32::from(u)) else {
            return u32::from(u);
        };
        let upper = c.to_uppercase().next().unwrap_or(c);
        let lower = upper.to_lowercase().next().unwrap_or(upper);
        lower as u32
    };
    let (mut x, mut y) = (a.encode_utf16(), b.encode_utf16());
    loop {
        match (x.next(), y.next()) {
            (Some(p), Some(q)) if p == q => {}
            (Some(p), Some(q)) => {
                let (p, q) = if ignore_case {
                    (fold(p), fold(q))
                } else {
                    (u32::from(p), u32::from(q))
                };
                if p != q {
                    return i64::from(p) - i64::from(q);
                }
            }
            (Some(_), None) => return 1 + x.count() as i64,
            (None, Some(_)) => return -(1 + y.count() as i64),
            (None, None) => return 0,
        }
    }
}
