//! Naming what a file that does not parse as TOML is instead: JSON, YAML, or an infrastructure
//! template, so the answer is "this must be TOML" rather than a TOML syntax error at line 1.

/// A data format a configuration might mistakenly be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Yaml,
}

impl Format {
    fn name(self) -> &'static str {
        match self {
            Format::Json => "JSON",
            Format::Yaml => "YAML",
        }
    }
}

/// The message for a file that failed to parse as TOML and is recognisably something else;
/// `None` when it looks like TOML with a mistake in it (then the syntax error is the answer).
pub(crate) fn not_toml(file_name: &str, text: &str) -> Option<String> {
    let extension = file_name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let format = match extension.as_str() {
        "json" => Some(Format::Json),
        "yaml" | "yml" => Some(Format::Yaml),
        _ => from_content(text, extension != "toml"),
    }?;
    Some(match template_kind(text) {
        Some(kind) => format!(
            "{file_name} is {kind} ({}), not a Switchboard configuration: templates are not TOML. \
             Write the API as a TOML file (see docs/configuration.md)",
            format.name()
        ),
        None => format!(
            "{file_name} is {}, but a Switchboard configuration file must be TOML \
             (see docs/configuration.md)",
            format.name()
        ),
    })
}

/// The format the text is written in, judged by its first significant line. With `loose`, a
/// first line `key: value` is enough for YAML; a `.toml` file needs a stronger sign, since that
/// line is also a TOML file with `:` typed for `=`.
fn from_content(text: &str, loose: bool) -> Option<Format> {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))?;
    // TOML never starts with `{`; `[` starts a TOML table header too, so JSON must also parse.
    if first.starts_with('{')
        || (first.starts_with('[') && serde_json::from_str::<serde_json::Value>(text).is_ok())
    {
        return Some(Format::Json);
    }
    if first == "---" || template_kind(text).is_some() {
        return Some(Format::Yaml);
    }
    let yaml_key = first.split_once(':').is_some_and(|(key, rest)| {
        !key.is_empty()
            && !key.contains(['=', '[', '"', ' '])
            && (rest.is_empty() || rest.starts_with(' '))
    });
    (loose && yaml_key).then_some(Format::Yaml)
}

/// What kind of infrastructure template the text is, if it is one.
fn template_kind(text: &str) -> Option<&'static str> {
    let has_line_starting = |prefix: &str| text.lines().any(|l| l.starts_with(prefix));
    if text.contains("AWSTemplateFormatVersion")
        || text.contains("AWS::Serverless")
        || (text.contains("Resources") && text.contains("AWS::"))
    {
        Some("a CloudFormation/SAM template")
    } else if has_line_starting("service:") && has_line_starting("provider:") {
        Some("a Serverless Framework service file")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_named_by_extension_or_content() {
        let message = not_toml("config.json", "{\"apis\": {}}").unwrap_or_default();
        assert_eq!(
            message,
            "config.json is JSON, but a Switchboard configuration file must be TOML (see docs/configuration.md)"
        );
        assert!(
            not_toml("switchboard.toml", "{\"apis\": {}}").is_some_and(|m| m.contains("is JSON"))
        );
        assert!(not_toml("x.conf", "[1, 2]").is_some_and(|m| m.contains("is JSON")));
    }

    #[test]
    fn yaml_and_templates_are_named() {
        let sam = "AWSTemplateFormatVersion: '2010-09-09'\nTransform: AWS::Serverless-2016-10-31\nResources:\n  Api:\n    Type: AWS::ApiGatewayV2::Api\n";
        assert_eq!(
            not_toml("template.yaml", sam).unwrap_or_default(),
            "template.yaml is a CloudFormation/SAM template (YAML), not a Switchboard configuration: \
             templates are not TOML. Write the API as a TOML file (see docs/configuration.md)"
        );
        let sls = "service: chat\nprovider:\n  name: aws\n";
        assert!(not_toml("serverless.yml", sls).is_some_and(|m| m.contains("Serverless Framework")));
        assert!(not_toml("switchboard.toml", sam).is_some_and(|m| m.contains("CloudFormation")));
        assert!(not_toml("api.conf", "apis:\n  chat: {}\n").is_some_and(|m| m.contains("is YAML")));
    }

    #[test]
    fn a_toml_file_with_a_mistake_is_left_to_the_syntax_error() {
        assert_eq!(not_toml("switchboard.toml", "[server]\nlisten = \n"), None);
        assert_eq!(
            not_toml("switchboard.toml", "listen: \"127.0.0.1:1\"\n"),
            None
        );
        assert_eq!(not_toml("x.conf", "[server\n"), None);
    }
}
