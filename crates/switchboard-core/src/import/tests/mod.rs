//! Tests of template import: intrinsics evaluated as a stack would, every unsupported feature
//! named in a warning or refused with an error at its resource and property, and the printed
//! TOML loading back into the same configuration.

mod cloudformation;
mod serverless;

use super::*;
use crate::config::{Problem, Severity};

/// Options with fixed identity, as the tests expect.
fn options() -> ImportOptions {
    ImportOptions {
        file_name: "t.yaml".to_owned(),
        region: "eu-west-1".to_owned(),
        account_id: "111122223333".to_owned(),
        stack_name: "chat".to_owned(),
        ..ImportOptions::default()
    }
}

/// Imports `text`, panicking with every problem when it fails.
fn ok(text: &str) -> Imported {
    ok_with(text, &options())
}

fn ok_with(text: &str, options: &ImportOptions) -> Imported {
    match import(text, options) {
        Ok(imported) => imported,
        Err(e) => panic!("import failed:\n{e}"),
    }
}

/// Imports `text`, expecting it to be refused; returns the problems.
fn refused(text: &str) -> Vec<Problem> {
    refused_with(text, &options())
}

fn refused_with(text: &str, options: &ImportOptions) -> Vec<Problem> {
    match import(text, options) {
        Ok(imported) => panic!("import succeeded: {:#?}", imported.config.apis),
        Err(e) => e.problems,
    }
}

/// The one problem of `problems` whose key path is `path` and severity `severity`.
fn find<'p>(problems: &'p [Problem], severity: Severity, path: &str) -> &'p Problem {
    let found: Vec<&Problem> = problems
        .iter()
        .filter(|p| p.severity == severity && p.key_path == path)
        .collect();
    match found.as_slice() {
        [one] => one,
        _ => panic!("expected one {severity:?} at {path}, found {found:?} in {problems:#?}"),
    }
}

/// The smallest WebSocket API, with `extra` resources appended (indented by four spaces).
fn api(extra: &str) -> String {
    format!(
        r#"Resources:
  Api:
    Type: AWS::ApiGatewayV2::Api
    Properties:
      ProtocolType: WEBSOCKET
      RouteSelectionExpression: $request.body.action
  Stage:
    Type: AWS::ApiGatewayV2::Stage
    Properties:
      ApiId: !Ref Api
      StageName: dev
{extra}"#
    )
}
