//! `$input` and `$util` (docs/behaviour.md §4.6).

use std::rc::Rc;

use super::ast::Offset;
use super::eval::Renderer;
use super::jsonpath::{JsonPath, Selection};
use super::util;
use super::value::{MapObj, Value};
use super::TemplateError;

impl Renderer<'_, '_> {
    /// The body parsed as JSON, parsed at most once per render.
    fn body_json(&mut self, at: Offset) -> Result<Rc<serde_json::Value>, TemplateError> {
        let body = self.ctx.body;
        let parsed = self.body_json.get_or_insert_with(|| {
            serde_json::from_str::<serde_json::Value>(body)
                .map(Rc::new)
                .map_err(|e| e.to_string())
        });
        match parsed {
            Ok(v) => Ok(v.clone()),
            Err(e) => {
                let message = format!("the message body is not valid JSON ({e})");
                Err(self.err(at, message))
            }
        }
    }

    fn json_path(&self, args: &[Value], at: Offset) -> Result<Option<JsonPath>, TemplateError> {
        let path = match args {
            [] => "$",
            [Value::Str(p)] => p,
            _ => return Ok(None),
        };
        JsonPath::parse(path).map(Some).map_err(|m| self.err(at, m))
    }

    /// `$input.body` is a property; these are the methods.
    pub fn input_method(
        &mut self,
        name: &str,
        args: &[Value],
        at: Offset,
    ) -> Result<Value, TemplateError> {
        match name {
            "json" => {
                let Some(path) = self.json_path(args, at)? else {
                    return Ok(Value::Null);
                };
                let root = self.body_json(at)?;
                let selected = path.select(&root).map_err(|m| self.err(at, m))?;
                let text = match selected {
                    Selection::One(v) => serde_json::to_string(v),
                    // A definite path that matches nothing renders as nothing.
                    Selection::Missing => Ok(String::new()),
                    Selection::Many(vs) => serde_json::to_string(&vs),
                }
                .map_err(|e| self.err(at, e.to_string()))?;
                self.charge(text.len(), at)?;
                Ok(Value::Str(Rc::from(text)))
            }
            "path" => {
                let Some(path) = self.json_path(args, at)? else {
                    return Ok(Value::Null);
                };
                let root = self.body_json(at)?;
                let selected = path.select(&root).map_err(|m| self.err(at, m))?;
                let mut budget = self.steps_left;
                let result = match selected {
                    Selection::One(v) => self.heap.import_json(v, &mut budget, 0),
                    Selection::Missing => Ok(Value::Null),
                    Selection::Many(vs) => {
                        let mut items = Vec::with_capacity(vs.len());
                        let mut failed = None;
                        for v in vs {
                            match self.heap.import_json(v, &mut budget, 1) {
                                Ok(x) => items.push(x),
                                Err(m) => {
                                    failed = Some(m);
                                    break;
                                }
                            }
                        }
                        match failed {
                            Some(m) => Err(m),
                            None => Ok(self.heap.new_list(items, true)),
                        }
                    }
                };
                self.steps_left = budget;
                result.map_err(|m| self.err(at, m))
            }
            "params" => match args {
                [] => Ok(self.params_value()),
                [Value::Str(n)] => {
                    let found = self.ctx.params.and_then(|p| {
                        p.path
                            .get(&**n)
                            .or_else(|| p.querystring.get(&**n))
                            .or_else(|| p.header.get(&**n))
                            .or_else(|| {
                                p.header
                                    .iter()
                                    .find(|(k, _)| k.eq_ignore_ascii_case(n))
                                    .map(|(_, v)| v)
                            })
                    });
                    // API Gateway gives an empty string for a parameter that is not there.
                    let v = found.map_or("", String::as_str);
                    self.string(v, at)
                }
                _ => Ok(Value::Null),
            },
            _ => Ok(Value::Null),
        }
    }

    /// `$input.params()`: `{path={…}, querystring={…}, header={…}}`, built once per render.
    fn params_value(&mut self) -> Value {
        if let Some(v) = &self.params_map {
            return v.clone();
        }
        let mut sections = MapObj::default();
        let empty = std::collections::BTreeMap::new();
        let params = self.ctx.params;
        for (name, section) in [
            ("path", params.map_or(&empty, |p| &p.path)),
            ("querystring", params.map_or(&empty, |p| &p.querystring)),
            ("header", params.map_or(&empty, |p| &p.header)),
        ] {
            let mut m = MapObj::default();
            for (k, v) in section {
                m.insert(Rc::from(k.as_str()), Value::str(v));
            }
            let v = self.heap.new_map(m);
            sections.insert(Rc::from(name), v);
        }
        let v = self.heap.new_map(sections);
        self.params_map = Some(v.clone());
        v
    }

    /// `$util.*`.
    pub fn util_method(
        &mut self,
        name: &str,
        args: &[Value],
        at: Offset,
    ) -> Result<Value, TemplateError> {
        let [arg] = args else { return Ok(Value::Null) };
        let Some(text) = self.display(arg, at)? else {
            return Ok(Value::Null);
        };
        let result = match name {
            "escapeJavaScript" => util::escape_javascript(&text),
            "urlEncode" => util::url_encode(&text),
            "urlDecode" => util::url_decode(&text).map_err(|m| self.err(at, m))?,
            "base64Encode" => util::base64_encode(&text),
            "base64Decode" => util::base64_decode(&text).map_err(|m| self.err(at, m))?,
            "parseJson" => {
                let json: serde_json::Value = serde_json::from_str(&text)
                    .map_err(|e| self.err(at, format!("parseJson: invalid JSON ({e})")))?;
                let mut budget = self.steps_left;
                let v = self.heap.import_json(&json, &mut budget, 0);
                self.steps_left = budget;
                return v.map_err(|m| self.err(at, m));
            }
            _ => return Ok(Value::Null),
        };
        self.string(&result, at)
    }
}
