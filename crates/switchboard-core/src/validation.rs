//! Request validation (docs/behaviour.md §2.4, §4.7): a route's `modelSelectionExpression` picks a model
//! from its `requestModels`; the message must be JSON that the model's draft-4 JSON Schema
//! accepts, or the integration is not called and the client gets `Bad request body` (§6).

use crate::config::ModelConfig;
use crate::mapping::DEFAULT_KEY;
use crate::selection::{SelectionError, SelectionExpression};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The compiled models of one API, by model name. Schemas compile once, at config load.
#[derive(Debug, Clone, Default)]
pub struct Models {
    schemas: BTreeMap<String, Arc<jsonschema::Validator>>,
}

/// Why a model or a route's validation settings do not compile.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The schema is not JSON.
    #[error("schema is not valid JSON: {0}")]
    NotJson(String),
    /// The schema is JSON but not a valid draft-4 schema (or uses an unresolvable `$ref`).
    #[error("schema is not a valid JSON Schema draft 4 document: {0}")]
    Schema(String),
    /// `modelSelectionExpression` does not parse.
    #[error("modelSelectionExpression: {0}")]
    Selection(#[from] SelectionError),
    /// `requestModels` names a model the API does not define.
    #[error("requestModels.{key}: unknown model `{model}`")]
    UnknownModel {
        /// The model key.
        key: String,
        /// The model name.
        model: String,
    },
}

/// Why a message failed validation; the client sees only `Bad request body`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Invalid {
    /// The selection matched no model key and there is no `$default` model.
    #[error("no request model for selection {0:?} and no $default model")]
    NoModel(String),
    /// The message is not JSON.
    #[error("the message is not JSON")]
    NotJson,
    /// The schema rejected the message.
    #[error("{0}")]
    Schema(String),
}

impl Models {
    /// Compiles every model; the error names the model whose schema is wrong.
    pub fn compile(models: &BTreeMap<String, ModelConfig>) -> Result<Self, (String, ModelError)> {
        let mut schemas = BTreeMap::new();
        for (name, model) in models {
            let schema: serde_json::Value = serde_json::from_str(&model.schema)
                .map_err(|e| (name.clone(), ModelError::NotJson(e.to_string())))?;
            let validator = jsonschema::draft4::new(&schema)
                .map_err(|e| (name.clone(), ModelError::Schema(e.to_string())))?;
            schemas.insert(name.clone(), Arc::new(validator));
        }
        Ok(Self { schemas })
    }
}

/// A route's request validation.
#[derive(Debug, Clone)]
pub struct RequestValidator {
    selection: SelectionExpression,
    /// Model key → compiled schema.
    models: BTreeMap<String, Arc<jsonschema::Validator>>,
}

impl RequestValidator {
    /// The validator of a route, or `None` when the route has no `modelSelectionExpression`
    /// (AWS validates only when the expression is set, docs/behaviour.md §2.4).
    pub fn compile(
        model_selection_expression: Option<&str>,
        request_models: &BTreeMap<String, String>,
        models: &Models,
    ) -> Result<Option<Self>, ModelError> {
        let Some(expression) = model_selection_expression else {
            return Ok(None);
        };
        let selection = SelectionExpression::parse(expression)?;
        let models = request_models
            .iter()
            .map(|(key, name)| {
                models
                    .schemas
                    .get(name)
                    .map(|v| (key.clone(), Arc::clone(v)))
                    .ok_or_else(|| ModelError::UnknownModel {
                        key: key.clone(),
                        model: name.clone(),
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Some(Self { selection, models }))
    }

    /// Checks one message: select the model (exact key, else `$default`), then validate.
    pub fn validate(&self, body: &str) -> Result<(), Invalid> {
        let key = match self.selection.static_value() {
            Some(key) => key.to_owned(),
            None => self
                .selection
                .select_route(body)
                .ok_or(Invalid::NotJson)?
                .into_owned(),
        };
        let validator = self
            .models
            .get(&key)
            .or_else(|| self.models.get(DEFAULT_KEY))
            .ok_or(Invalid::NoModel(key))?;
        let instance: serde_json::Value =
            serde_json::from_str(body).map_err(|_| Invalid::NotJson)?;
        validator
            .validate(&instance)
            .map_err(|e| Invalid::Schema(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models(pairs: &[(&str, &str)]) -> Models {
        let map = pairs
            .iter()
            .map(|(n, s)| {
                (
                    (*n).to_owned(),
                    ModelConfig {
                        content_type: None,
                        schema: (*s).to_owned(),
                    },
                )
            })
            .collect();
        Models::compile(&map).expect("compiles")
    }

    const MESSAGE: &str = r#"{"type":"object","required":["action","text"],
        "properties":{"action":{"type":"string"},"text":{"type":"string","maxLength":5}}}"#;
    const ANY_OBJECT: &str = r#"{"type":"object"}"#;

    fn validator(expr: &str, keys: &[(&str, &str)]) -> RequestValidator {
        let m = models(&[("Message", MESSAGE), ("Any", ANY_OBJECT)]);
        let keys = keys
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        RequestValidator::compile(Some(expr), &keys, &m)
            .expect("compiles")
            .expect("present")
    }

    #[test]
    fn selected_model_accepts_and_rejects() {
        let v = validator("$request.body.action", &[("send", "Message")]);
        assert_eq!(v.validate(r#"{"action":"send","text":"hi"}"#), Ok(()));
        assert!(matches!(
            v.validate(r#"{"action":"send","text":"too long"}"#),
            Err(Invalid::Schema(_))
        ));
        assert!(matches!(
            v.validate(r#"{"action":"send"}"#),
            Err(Invalid::Schema(_))
        ));
    }

    #[test]
    fn no_match_without_default_fails_and_default_catches() {
        let v = validator("$request.body.action", &[("send", "Message")]);
        assert_eq!(
            v.validate(r#"{"action":"other"}"#),
            Err(Invalid::NoModel("other".into()))
        );
        let v = validator(
            "$request.body.action",
            &[("send", "Message"), ("$default", "Any")],
        );
        assert_eq!(v.validate(r#"{"action":"other"}"#), Ok(()));
        assert!(v.validate("[1]").is_err(), "$default model wants an object");
    }

    #[test]
    fn non_json_fails_even_with_static_selection() {
        let v = validator("\\$default", &[("$default", "Any")]);
        assert_eq!(v.validate("not json"), Err(Invalid::NotJson));
        assert_eq!(v.validate("{}"), Ok(()));
    }

    #[test]
    fn draft4_semantics_apply() {
        // Draft 4: exclusiveMaximum is a boolean modifier of maximum.
        let m = models(&[(
            "N",
            r#"{"type":"object","properties":{"n":{"type":"number","maximum":5,"exclusiveMaximum":true}}}"#,
        )]);
        let keys = [("$default".to_owned(), "N".to_owned())].into();
        let v = RequestValidator::compile(Some("\\$default"), &keys, &m)
            .expect("compiles")
            .expect("present");
        assert_eq!(v.validate(r#"{"n":4}"#), Ok(()));
        assert!(v.validate(r#"{"n":5}"#).is_err());
    }

    proptest::proptest! {
        /// Any message is either accepted or rejected: validation never panics.
        #[test]
        fn validation_never_panics(body in ".{0,200}", action in "[a-z]{0,6}") {
            let v = validator(
                "$request.body.action",
                &[("send", "Message"), ("$default", "Any")],
            );
            let _ = v.validate(&body);
            let _ = v.validate(&format!(r#"{{"action":"{action}","text":{body:?}}}"#));
        }
    }

    #[test]
    fn bad_schemas_and_unknown_models_are_config_errors() {
        let bad = [(
            "Bad".to_owned(),
            ModelConfig {
                content_type: None,
                schema: r#"{"type": 12}"#.into(),
            },
        )]
        .into();
        assert!(matches!(
            Models::compile(&bad),
            Err((name, ModelError::Schema(_))) if name == "Bad"
        ));
        let keys = [("$default".to_owned(), "Missing".to_owned())].into();
        assert!(matches!(
            RequestValidator::compile(Some("\\$default"), &keys, &Models::default()),
            Err(ModelError::UnknownModel { .. })
        ));
        assert!(RequestValidator::compile(None, &keys, &Models::default())
            .expect("ok")
            .is_none());
    }
}
