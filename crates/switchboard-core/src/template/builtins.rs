//! `$input` and `$util` (docs/behaviour.md §4.6).

use std::rc::Rc;

use super::ast::Offset;
use super::eval::Renderer;
use super::jsonpath::{JsonPath, Selection};
use super::util;
use super::value::{JsonStyle, MapObj, Value};
use super::{TemplateError, MAX_STRING_BYTES};

impl Renderer<'_, '_> {
    /// The body as a document of heap values, parsed at most once per render. Every
    /// `$input.path()` and `$input.json()` reads this same document, so changes a template
    /// makes to what `$input.path()` returned show in later calls (as in API Gateway).
    fn body_doc(&mut self, at: Offset) -> Result<Value, TemplateError> {
        if self.body_doc.is_none() {
            self.scan(self.ctx.body.len(), at)?;
            let doc = match serde_json::from_str::<serde_json::Value>(self.ctx.body) {
                Ok(json) => self
                    .metered(at, |heap, budget| heap.import_json(&json, budget, 0))
                    .map_err(|e| e.message),
                Err(e) => Err(format!("the message body is not valid JSON ({e})")),
            };
            self.body_doc = Some(doc);
        }
        match &self.body_doc {
            Some(Ok(doc)) => Ok(doc.clone()),
            Some(Err(m)) => {
                // An empty body is never a client's doing on `$connect`/`$disconnect`.
                let mut e = self.err(at, m.clone());
                e.client_input = !self.ctx.body.is_empty();
                Err(e)
            }
            None => Err(self.err(at, "the message body was not parsed")),
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
                let root = self.body_doc(at)?;
                let selected = self.metered(at, |heap, budget| path.select(heap, &root, budget))?;
                let mut text = String::new();
                let written = match selected {
                    Selection::One(v) => {
                        self.heap
                            .write_json(&v, JsonStyle::Compact, &mut text, 0, MAX_STRING_BYTES)
                    }
                    // A definite path that matches nothing renders as nothing.
                    Selection::Missing => Ok(()),
                    Selection::Many(vs) => {
                        let list = self.heap.new_list(vs, true);
                        self.heap.write_json(
                            &list,
                            JsonStyle::Compact,
                            &mut text,
                            0,
                            MAX_STRING_BYTES,
                        )
                    }
                };
                written.map_err(|m| self.err(at, m))?;
                self.charge(text.len(), at)?;
                Ok(Value::Str(Rc::from(text)))
            }
            "path" => {
                let Some(path) = self.json_path(args, at)? else {
                    return Ok(Value::Null);
                };
                let root = self.body_doc(at)?;
                let selected = self.metered(at, |heap, budget| path.select(heap, &root, budget))?;
                Ok(match selected {
                    Selection::One(v) => v,
                    Selection::Missing => Value::Null,
                    // A new list of the selected values themselves, as Jayway JsonPath returns.
                    Selection::Many(vs) => self.heap.new_list(vs, true),
                })
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
                return self.metered(at, |heap, budget| heap.import_json(&json, budget, 0));
            }
            _ => return Ok(Value::Null),
        };
        self.string(&result, at)
    }
}
