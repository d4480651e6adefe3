//! Templates on the command line: reading a template and its settings file (`serve --template`,
//! `validate --template`) and `switchboard import FILE`.

use crate::cli::TemplateArgs;
use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use switchboard_core::config::{Config, ConfigError, Problem};
use switchboard_core::import::{
    check_with_template, import, to_toml, ImportOptions, TemplateChecked, TemplateFormat,
    MAX_TEMPLATE_BYTES,
};

/// A template to serve, the settings file that goes with it, and what it is deployed with.
#[derive(Debug, Clone)]
pub struct TemplateSource {
    /// The template.
    pub path: PathBuf,
    /// `--config`: `[server]`, `[management]`, `[aws]`, `[iam]`, `[apiKeys]`.
    pub settings: Option<PathBuf>,
    parameter_overrides: BTreeMap<String, String>,
    stack_name: String,
}

impl TemplateSource {
    /// From the command line; a malformed `--parameter-overrides` value is refused here.
    pub fn new(
        path: PathBuf,
        settings: Option<PathBuf>,
        args: &TemplateArgs,
    ) -> Result<Self, String> {
        Ok(Self {
            path,
            settings,
            parameter_overrides: parse_overrides(&args.parameter_overrides)?,
            stack_name: args.stack_name.clone(),
        })
    }

    /// Reads both files, converts the template and checks the whole; the lines returned say
    /// what is wrong, each naming its file.
    pub fn check(&self) -> Result<TemplateChecked, Vec<String>> {
        let template = read_template(&self.path).map_err(|e| vec![e])?;
        let settings = match &self.settings {
            Some(path) => Some((
                std::fs::read_to_string(path)
                    .map_err(|e| vec![format!("cannot read {}: {}", path.display(), reason(&e))])?,
                path.display().to_string(),
            )),
            None => None,
        };
        let options = options(&self.path, &self.parameter_overrides, &self.stack_name);
        check_with_template(
            &template,
            options,
            settings.as_ref().map(|(t, n)| (t.as_str(), n.as_str())),
        )
        .map_err(|e| problems(&e))
    }
}

/// `NAME=VALUE` pairs; SAM's `ParameterKey=NAME,ParameterValue=VALUE` form is accepted too.
fn parse_overrides(items: &[String]) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    for item in items {
        let pair = match (
            item.strip_prefix("ParameterKey="),
            item.find(",ParameterValue="),
        ) {
            (Some(_), Some(at)) => Some((
                &item["ParameterKey=".len()..at],
                &item[at + ",ParameterValue=".len()..],
            )),
            _ => item.split_once('='),
        };
        match pair {
            Some((name, value)) if !name.trim().is_empty() => {
                out.insert(name.trim().to_owned(), value.to_owned());
            }
            _ => return Err(format!("--parameter-overrides: `{item}` is not NAME=VALUE")),
        }
    }
    Ok(out)
}

fn options(path: &Path, overrides: &BTreeMap<String, String>, stack_name: &str) -> ImportOptions {
    let base_dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    ImportOptions {
        file_name: path.display().to_string(),
        base_dir,
        stack_name: stack_name.to_owned(),
        parameter_overrides: overrides.clone(),
        environment: std::env::vars().collect(),
        ..ImportOptions::default()
    }
}

/// The template's text, refused past [`MAX_TEMPLATE_BYTES`] without reading it all.
fn read_template(path: &Path) -> Result<String, String> {
    let file = std::fs::File::open(path)
        .map_err(|e| format!("cannot read {}: {}", path.display(), reason(&e)))?;
    let mut text = String::new();
    file.take(MAX_TEMPLATE_BYTES as u64 + 1)
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read {}: {}", path.display(), reason(&e)))?;
    if text.len() > MAX_TEMPLATE_BYTES {
        return Err(format!(
            "{}: the template is larger than {MAX_TEMPLATE_BYTES} bytes",
            path.display()
        ));
    }
    Ok(text)
}

fn reason(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.rfind(" (os error ") {
        Some(i) => text[..i].to_owned(),
        None => text,
    }
}

fn problems(error: &ConfigError) -> Vec<String> {
    error.problems.iter().map(Problem::to_string).collect()
}

/// `switchboard import FILE`: the TOML on stdout, problems on stderr.
pub fn run(
    path: &Path,
    settings: Option<&Path>,
    overrides: &[String],
    stack_name: &str,
) -> ExitCode {
    let fail = |lines: Vec<String>| {
        for line in lines {
            eprintln!("{line}");
        }
        ExitCode::FAILURE
    };
    let overrides = match parse_overrides(overrides) {
        Ok(overrides) => overrides,
        Err(line) => return fail(vec![line]),
    };
    let template = match read_template(path) {
        Ok(text) => text,
        Err(line) => return fail(vec![line]),
    };
    let settings_text = match settings {
        Some(settings) => match std::fs::read_to_string(settings) {
            Ok(text) => Some((text, settings.display().to_string())),
            Err(e) => {
                return fail(vec![format!(
                    "cannot read {}: {}",
                    settings.display(),
                    reason(&e)
                )])
            }
        },
        None => None,
    };
    let mut options = options(path, &overrides, stack_name);
    if let Some((text, _)) = &settings_text {
        options.apply_settings(text);
    }
    // First the conversion alone, so the TOML can be printed even when the check below fails.
    let imported = match import(&template, &options) {
        Ok(imported) => imported,
        Err(error) => return fail(problems(&error)),
    };
    let kind = match imported.format {
        TemplateFormat::CloudFormation => "a CloudFormation/SAM template",
        TemplateFormat::Serverless => "a Serverless Framework service",
    };
    let header = vec![
        format!(
            "Converted by `switchboard import` from {} ({kind}).",
            path.display()
        ),
        format!(
            "AWS::Region = {}, AWS::AccountId = {}, AWS::StackName = {}.",
            options.region, options.account_id, options.stack_name
        ),
        "Serve it with `switchboard serve --config FILE`; [server], [management] and [aws]"
            .to_owned(),
        "settings go in the same file (docs/configuration.md). serve --template also serves"
            .to_owned(),
        "@connections on the WebSocket listener, as AWS does: [management] onServerListener = true"
            .to_owned(),
        "does the same for this file.".to_owned(),
    ];
    let text = to_toml(&imported, &header);
    print!("{text}");
    let checked = check_with_template(
        &template,
        options,
        settings_text
            .as_ref()
            .map(|(t, n)| (t.as_str(), n.as_str())),
    );
    match checked {
        Ok(checked) => {
            for warning in &checked.checked.warnings {
                eprintln!("{warning}");
            }
            // The printed file must load as the merged configuration did.
            if let Err(error) = Config::check_toml_str(&text, "(printed TOML)") {
                let mut lines = vec![
                    "internal error: the printed TOML does not load; please report it:".to_owned(),
                ];
                lines.extend(problems(&error));
                return fail(lines);
            }
            ExitCode::SUCCESS
        }
        Err(error) => fail(problems(&error)),
    }
}
