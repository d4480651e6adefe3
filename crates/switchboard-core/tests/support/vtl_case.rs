//! One case of the mapping-template corpus (`tests/vtl-corpus/*.json`), shared by the corpus
//! test and the `vtl_render` example that the Velocity 1.7 comparison runs.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use switchboard_core::template::{InputParams, Template, TemplateContext};

/// A template with everything it renders against.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VtlCase {
    /// Where the template comes from (a documentation page, or the feature it exercises).
    #[allow(dead_code)]
    pub source: String,
    /// The mapping template.
    pub template: String,
    /// The message (or backend reply) `$input` reads.
    pub body: String,
    /// `$context`.
    pub context: serde_json::Value,
    /// `$stageVariables`.
    pub stage_variables: BTreeMap<String, String>,
    /// `$input.params()`.
    #[serde(default)]
    pub params: Option<BTreeMap<String, BTreeMap<String, String>>>,
    /// API Gateway's output, where it is known: documented, or observed with Velocity 1.7 for a
    /// case that guards a fix (`tests/vtl/compare.mjs` checks that Velocity produces it).
    #[serde(default)]
    #[allow(dead_code)]
    pub expected: Option<String>,
}

/// The corpus directory.
pub fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vtl-corpus")
}

/// Every case in `dir`, by file stem, in name order.
pub fn load(dir: &Path) -> Result<Vec<(String, VtlCase)>, String> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            let case: VtlCase =
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            Ok((name, case))
        })
        .collect()
}

impl VtlCase {
    /// Renders with Switchboard's engine.
    pub fn render(&self) -> Result<String, String> {
        let template = Template::parse(&self.template).map_err(|e| format!("parse: {e}"))?;
        let params = self.params.as_ref().map(|p| InputParams {
            path: p.get("path").cloned().unwrap_or_default(),
            querystring: p.get("querystring").cloned().unwrap_or_default(),
            header: p.get("header").cloned().unwrap_or_default(),
        });
        let mut ctx = TemplateContext::new(&self.body, &self.context, &self.stage_variables);
        if let Some(p) = &params {
            ctx = ctx.with_params(p);
        }
        template.render(&ctx).map_err(|e| format!("render: {e}"))
    }
}
