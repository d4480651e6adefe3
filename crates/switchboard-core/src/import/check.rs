//! A template together with a settings file (`serve --template FILE --config FILE`): the
//! template's APIs take the place of `[apis]`, and the whole is checked as one configuration,
//! each problem reported in the file it is about.

use super::{import, ImportOptions, Imported};
use crate::config::{error_segment as Segment, Checked, ConfigError, KeyPath};

/// A template and settings that can be served.
#[derive(Debug, Clone)]
pub struct TemplateChecked {
    /// The merged configuration (`checked.config`) and every warning: the template's first, then
    /// those of the settings file and of the cross-checks.
    pub checked: Checked,
    /// The converted template (its functions, origins and conversion warnings).
    pub imported: Imported,
}

/// Converts `template` and checks it with the settings file (`settings` = its text and name;
/// `None`: every setting at its default).
///
/// The settings' `[aws] region` and `accountId` become `AWS::Region` and `AWS::AccountId` of the
/// template (`options` says them otherwise). The settings file may hold anything but `[apis]`.
pub fn check_with_template(
    template: &str,
    mut options: ImportOptions,
    settings: Option<(&str, &str)>,
) -> Result<TemplateChecked, ConfigError> {
    let (text, settings_name) = settings.unwrap_or(("", "(default settings)"));
    options.apply_settings(text);
    let imported = import(template, &options)?;
    let template_name = options.file_name.clone();
    let locate = |path: &KeyPath| {
        let keys: Vec<String> = path
            .segments()
            .iter()
            .filter_map(|s| match s {
                Segment::Key(k) => Some(k.clone()),
                Segment::Index(_) => None,
            })
            .collect();
        let origin = imported.origin_of(&keys)?;
        Some(crate::config::Elsewhere {
            file: template_name.clone(),
            line: origin.at.line,
            column: origin.at.column,
            note: format!(" (from {})", origin.label),
        })
    };
    let foreign = crate::config::ForeignApis {
        apis: imported.config.apis.clone(),
        why: "the APIs come from the template given with --template; this file may only hold \
              [server], [management], [aws], [iam] and [apiKeys]",
        locate: &locate,
    };
    let mut checked = crate::config::check_toml(text, settings_name, Some(foreign))?;
    // AWS serves `@connections` on the API's own endpoint; handlers written for it call there.
    checked.config.management.on_server_listener = true;
    let mut warnings = imported.warnings.clone();
    warnings.append(&mut checked.warnings);
    checked.warnings = warnings;
    Ok(TemplateChecked { checked, imported })
}

impl ImportOptions {
    /// Takes `AWS::Region` and `AWS::AccountId` from the `[aws]` table of a settings file, when
    /// it parses (its problems are reported by the full check).
    pub fn apply_settings(&mut self, settings: &str) {
        let Ok(document) = toml_edit::Document::parse(settings) else {
            return;
        };
        let Some(aws) = document.get("aws") else {
            return;
        };
        let read = |key: &str| aws.get(key).and_then(|v| v.as_str()).map(str::to_owned);
        if let Some(region) = read("region") {
            self.region = region;
        }
        if let Some(account_id) = read("accountId") {
            self.account_id = account_id;
        }
    }
}
