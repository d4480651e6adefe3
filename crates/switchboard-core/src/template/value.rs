//! Runtime values: what references and expressions evaluate to while rendering.
//!
//! Lists and maps live in a per-render [`Heap`] and are referred to by index, so they behave
//! like Java objects (`$list.add(1)` mutates every alias) while cycles cost nothing: the heap is
//! dropped as a whole when the render ends.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::rc::Rc;

/// Index of an object in the [`Heap`].
pub(crate) type ObjId = usize;

/// Deepest value nesting that printing, comparing or converting walks before giving up.
pub(crate) const MAX_VALUE_DEPTH: usize = 128;

/// A VTL value.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// Java `null`: an undefined reference, a missing key, a method returning nothing.
    Null,
    /// `java.lang.Boolean`.
    Bool(bool),
    /// `java.lang.Integer`/`Long`.
    Int(i64),
    /// `java.lang.Double`.
    Float(f64),
    /// `java.lang.String`.
    Str(Rc<str>),
    /// A `java.util.List`.
    List(ObjId),
    /// A `java.util.Map` (insertion-ordered).
    Map(ObjId),
    /// A `Map.Entry` from `entrySet()`.
    Entry(ObjId),
    /// `$input`.
    Input,
    /// `$util`.
    Util,
    /// `$context.<path>` that the gateway had no value for (yet): navigable, otherwise null.
    Context(Rc<str>),
    /// `$foreach` inside a loop.
    Foreach {
        /// 0-based iteration.
        index: i64,
        /// More items follow.
        has_next: bool,
    },
}

impl Value {
    /// A string value.
    pub fn str(s: &str) -> Self {
        Value::Str(Rc::from(s))
    }

    /// Null for template purposes (includes unresolved `$context` paths).
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null | Value::Context(_))
    }

    /// Velocity 1.7 truthiness: only null and `false` are false.
    pub fn truthy(&self) -> bool {
        !matches!(self, Value::Null | Value::Context(_) | Value::Bool(false))
    }

    /// The integer this value stands for, if it is an integral number.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(*f as i64),
            _ => None,
        }
    }
}

/// A heap object.
#[derive(Debug, Clone)]
pub(crate) enum Obj {
    /// A list; `json` lists (from a JSON document) print as JSON, the others as Java's
    /// `[a, b]`.
    List { items: Vec<Value>, json: bool },
    /// A map.
    Map(MapObj),
    /// A map entry.
    Entry(Rc<str>, Value),
}

/// An insertion-ordered string-keyed map.
#[derive(Debug, Clone, Default)]
pub(crate) struct MapObj {
    keys: Vec<Rc<str>>,
    values: Vec<Value>,
    index: HashMap<Rc<str>, usize>,
}

impl MapObj {
    /// The value at `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.index.get(key).and_then(|&i| self.values.get(i))
    }

    /// Inserts, returning the previous value.
    pub fn insert(&mut self, key: Rc<str>, value: Value) -> Option<Value> {
        if let Some(&i) = self.index.get(&key) {
            return self
                .values
                .get_mut(i)
                .map(|slot| std::mem::replace(slot, value));
        }
        self.index.insert(key.clone(), self.keys.len());
        self.keys.push(key);
        self.values.push(value);
        None
    }

    /// Removes, returning the old value.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.index.remove(key)?;
        if i >= self.keys.len() {
            return None;
        }
        self.keys.remove(i);
        let old = self.values.remove(i);
        for slot in self.index.values_mut() {
            if *slot > i {
                *slot -= 1;
            }
        }
        Some(old)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Keys in order.
    pub fn keys(&self) -> &[Rc<str>] {
        &self.keys
    }

    /// Values in order.
    pub fn values(&self) -> &[Value] {
        &self.values
    }
}

/// All lists, maps and entries created during one render.
#[derive(Debug, Default)]
pub(crate) struct Heap {
    objs: Vec<Obj>,
}

impl Heap {
    /// Stores an object.
    pub fn alloc(&mut self, obj: Obj) -> ObjId {
        self.objs.push(obj);
        self.objs.len() - 1
    }

    /// A new list value.
    pub fn new_list(&mut self, items: Vec<Value>, json: bool) -> Value {
        Value::List(self.alloc(Obj::List { items, json }))
    }

    /// A new map value.
    pub fn new_map(&mut self, map: MapObj) -> Value {
        Value::Map(self.alloc(Obj::Map(map)))
    }

    /// The object at `id`.
    pub fn get(&self, id: ObjId) -> Option<&Obj> {
        self.objs.get(id)
    }

    /// The list items at `id`.
    pub fn list(&self, id: ObjId) -> &[Value] {
        match self.objs.get(id) {
            Some(Obj::List { items, .. }) => items,
            _ => &[],
        }
    }

    /// The list at `id`, mutably.
    pub fn list_mut(&mut self, id: ObjId) -> Option<&mut Vec<Value>> {
        match self.objs.get_mut(id) {
            Some(Obj::List { items, .. }) => Some(items),
            _ => None,
        }
    }

    /// The map at `id`.
    pub fn map(&self, id: ObjId) -> Option<&MapObj> {
        match self.objs.get(id) {
            Some(Obj::Map(m)) => Some(m),
            _ => None,
        }
    }

    /// The map at `id`, mutably.
    pub fn map_mut(&mut self, id: ObjId) -> Option<&mut MapObj> {
        match self.objs.get_mut(id) {
            Some(Obj::Map(m)) => Some(m),
            _ => None,
        }
    }

    /// Converts a JSON document into heap values; `budget` is decremented per node and the
    /// conversion fails when it runs out.
    pub fn import_json(
        &mut self,
        json: &serde_json::Value,
        budget: &mut u64,
        depth: usize,
    ) -> Result<Value, String> {
        spend_one(budget)?;
        if depth > MAX_VALUE_DEPTH {
            return Err("JSON nesting is too deep".into());
        }
        Ok(match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => Value::Int(i),
                None => Value::Float(n.as_f64().unwrap_or(f64::NAN)),
            },
            serde_json::Value::String(s) => Value::str(s),
            serde_json::Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(self.import_json(item, budget, depth + 1)?);
                }
                self.new_list(out, true)
            }
            serde_json::Value::Object(map) => {
                let mut out = MapObj::default();
                for (k, v) in map {
                    let v = self.import_json(v, budget, depth + 1)?;
                    out.insert(Rc::from(k.as_str()), v);
                }
                self.new_map(out)
            }
        })
    }

    /// Java's `String.valueOf(value)`, appended to `out`; returns `false` (writing nothing)
    /// for values that render as their reference text instead (null and the built-ins).
    pub fn display(&self, value: &Value, out: &mut String, limit: usize) -> Result<bool, String> {
        match value {
            Value::Null
            | Value::Input
            | Value::Util
            | Value::Context(_)
            | Value::Foreach { .. } => return Ok(false),
            _ => self.write_java(value, out, 0, limit)?,
        }
        Ok(true)
    }

    /// Java `toString()` of any value (`null` for null).
    fn write_java(
        &self,
        value: &Value,
        out: &mut String,
        depth: usize,
        limit: usize,
    ) -> Result<(), String> {
        if depth > MAX_VALUE_DEPTH {
            return Err("value nesting is too deep to print".into());
        }
        if out.len() > limit {
            return Err(format!("text exceeds the {limit}-byte limit"));
        }
        match value {
            Value::Null | Value::Context(_) => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => out.push_str(&java_double(*f)),
            Value::Str(s) => out.push_str(s),
            Value::List(id) => match self.get(*id) {
                Some(Obj::List { json: true, .. }) => {
                    self.write_json(value, JsonStyle::ListText, out, depth, limit)?;
                }
                _ => {
                    out.push('[');
                    for (i, item) in self.list(*id).iter().enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        self.write_java(item, out, depth + 1, limit)?;
                    }
                    out.push(']');
                }
            },
            Value::Map(id) => {
                out.push('{');
                if let Some(m) = self.map(*id) {
                    for (i, (k, v)) in m.keys().iter().zip(m.values()).enumerate() {
                        if i > 0 {
                            out.push_str(", ");
                        }
                        out.push_str(k);
                        out.push('=');
                        self.write_java(v, out, depth + 1, limit)?;
                    }
                }
                out.push('}');
            }
            Value::Entry(id) => {
                if let Some(Obj::Entry(k, v)) = self.get(*id) {
                    out.push_str(k);
                    out.push('=');
                    self.write_java(v, out, depth + 1, limit)?;
                }
            }
            Value::Input | Value::Util | Value::Foreach { .. } => out.push_str("{}"),
        }
        Ok(())
    }

    /// Compact JSON text of a value as json-smart writes it (API Gateway's JSON library, see
    /// [`JsonStyle`]): numbers as Java prints them (`1.0E-5`), strings escaped by
    /// [`write_json_string`].
    pub fn write_json(
        &self,
        value: &Value,
        style: JsonStyle,
        out: &mut String,
        depth: usize,
        limit: usize,
    ) -> Result<(), String> {
        if depth > MAX_VALUE_DEPTH {
            return Err("value nesting is too deep to print".into());
        }
        if out.len() > limit {
            return Err(format!("text exceeds the {limit}-byte limit"));
        }
        match value {
            Value::Null
            | Value::Context(_)
            | Value::Input
            | Value::Util
            | Value::Foreach { .. } => out.push_str("null"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Value::Float(f) => out.push_str(&java_double(*f)),
            Value::Str(s) => write_json_string(s, style, out),
            Value::List(id) => {
                out.push('[');
                for (i, item) in self.list(*id).iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    self.write_json(item, style, out, depth + 1, limit)?;
                }
                out.push(']');
            }
            Value::Map(id) => {
                out.push('{');
                if let Some(m) = self.map(*id) {
                    for (i, (k, v)) in m.keys().iter().zip(m.values()).enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        write_json_string(k, style, out);
                        out.push(':');
                        self.write_json(v, style, out, depth + 1, limit)?;
                    }
                }
                out.push('}');
            }
            Value::Entry(id) => {
                out.push('{');
                if let Some(Obj::Entry(k, v)) = self.get(*id) {
                    write_json_string(k, style, out);
                    out.push(':');
                    self.write_json(v, style, out, depth + 1, limit)?;
                }
                out.push('}');
            }
        }
        Ok(())
    }

    /// Velocity 1.7 `==`: numbers by value, same kinds by `equals` ([`Heap::java_equals`] for
    /// lists and maps), different kinds by their `toString()`; null equals only null.
    /// `budget` is decremented per value compared; the comparison fails when it runs out.
    pub fn equals(
        &self,
        a: &Value,
        b: &Value,
        depth: usize,
        budget: &mut u64,
    ) -> Result<bool, String> {
        spend_one(budget)?;
        if depth > MAX_VALUE_DEPTH {
            return Err("value nesting is too deep to compare".into());
        }
        Ok(match (a, b) {
            (x, y) if x.is_null() || y.is_null() => x.is_null() && y.is_null(),
            (Value::Int(x), Value::Int(y)) => x == y,
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                to_f64(a) == to_f64(b)
            }
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Str(x), Value::Str(y)) => x == y,
            // Two lists or two maps compare with Java's `equals`, element by element.
            (Value::List(_), Value::List(_)) | (Value::Map(_), Value::Map(_)) => {
                self.java_equals(a, b, depth, budget)?
            }
            _ => {
                let (mut x, mut y) = (String::new(), String::new());
                let limit = super::MAX_STRING_BYTES;
                self.write_java(a, &mut x, depth, limit)?;
                self.write_java(b, &mut y, depth, limit)?;
                x == y
            }
        })
    }
}

impl Heap {
    /// Java's `a.equals(b)` (what `List.contains`, `indexOf`, `remove` and
    /// `Map.containsValue` use): same kind and same value — `1` is not `1.0` nor `"1"` — lists
    /// and maps element by element. `budget` is decremented per value compared.
    pub fn java_equals(
        &self,
        a: &Value,
        b: &Value,
        depth: usize,
        budget: &mut u64,
    ) -> Result<bool, String> {
        spend_one(budget)?;
        if depth > MAX_VALUE_DEPTH {
            return Err("value nesting is too deep to compare".into());
        }
        Ok(match (a, b) {
            (x, y) if x.is_null() || y.is_null() => x.is_null() && y.is_null(),
            (Value::Int(x), Value::Int(y)) => x == y,
            (Value::Float(x), Value::Float(y)) => {
                (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits()
            }
            (Value::Bool(x), Value::Bool(y)) => x == y,
            (Value::Str(x), Value::Str(y)) => x == y,
            (Value::List(x), Value::List(y)) => {
                if x == y {
                    return Ok(true);
                }
                let (xs, ys) = (self.list(*x), self.list(*y));
                if xs.len() != ys.len() {
                    return Ok(false);
                }
                for (p, q) in xs.iter().zip(ys) {
                    if !self.java_equals(p, q, depth + 1, budget)? {
                        return Ok(false);
                    }
                }
                true
            }
            (Value::Map(x), Value::Map(y)) => {
                if x == y {
                    return Ok(true);
                }
                let (Some(mx), Some(my)) = (self.map(*x), self.map(*y)) else {
                    return Ok(false);
                };
                if mx.len() != my.len() {
                    return Ok(false);
                }
                for (k, v) in mx.keys().iter().zip(mx.values()) {
                    match my.get(k) {
                        Some(w) if self.java_equals(v, w, depth + 1, budget)? => {}
                        _ => return Ok(false),
                    }
                }
                true
            }
            (Value::Entry(x), Value::Entry(y)) => match (self.get(*x), self.get(*y)) {
                (Some(Obj::Entry(k1, v1)), Some(Obj::Entry(k2, v2))) => {
                    k1 == k2 && self.java_equals(v1, v2, depth + 1, budget)?
                }
                _ => false,
            },
            _ => false,
        })
    }
}

/// Takes one step from `budget`, failing when none is left.
fn spend_one(budget: &mut u64) -> Result<(), String> {
    match budget.checked_sub(1) {
        Some(left) => {
            *budget = left;
            Ok(())
        }
        None => Err("render step limit exceeded".into()),
    }
}

/// A number as `f64`.
pub(crate) fn to_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(f) => *f,
        _ => f64::NAN,
    }
}

/// The two ways API Gateway's JSON library (json-smart, under Jayway JsonPath) writes JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JsonStyle {
    /// `$input.json()`: json-smart's `LT_COMPRESS`.
    Compact,
    /// A JSON list printed as text (`JSONArray.toString()`): json-smart's default style, which
    /// also writes `/` as `\/`.
    ListText,
}

/// Appends `s` as a JSON string literal, escaped as json-smart does: `"`, `\\`, the control
/// characters (`\b \t \n \f \r`, others `\u00XX`), U+007F–U+009F and U+2000–U+20FF as
/// `\uXXXX` (upper-case hex), and `/` in [`JsonStyle::ListText`].
pub(crate) fn write_json_string(s: &str, style: JsonStyle, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '/' if style == JsonStyle::ListText => out.push_str("\\/"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0c}' => out.push_str("\\f"),
            '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}' | '\u{2000}'..='\u{20ff}' => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Java's `Double.toString`: `2.0`, `0.001`, `1.0E7`, `1.5E-4`, `NaN`, `Infinity`.
pub(crate) fn java_double(f: f64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let abs = f.abs();
    if (1e-3..1e7).contains(&abs) {
        let s = format!("{f}");
        if s.contains('.') {
            s
        } else {
            s + ".0"
        }
    } else {
        let s = format!("{f:e}");
        let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let mantissa = if mantissa.contains('.') {
            mantissa.to_owned()
        } else {
            format!("{mantissa}.0")
        };
        format!("{mantissa}E{exp}")
    }
}
