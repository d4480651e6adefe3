//! An apigatewayv2 REST request (`/v2/apis...`, `/v2/tags/ARN`) as a typed [`Op`].

use http::Method;
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value};
use switchboard_control::{Collection, ControlError, Op, PageRequest};

/// The operation a method, path, query and body name.
pub fn parse(method: &Method, path: &str, query: &str, body: &[u8]) -> Result<Op, ControlError> {
    let rest = path
        .strip_prefix("/v2/")
        .ok_or_else(|| unknown(method, path))?;
    if let Some(arn) = rest.strip_prefix("tags/") {
        let arn = decode(arn);
        return match *method {
            Method::GET => Ok(Op::GetTags { arn }),
            Method::POST => Ok(Op::Tag {
                arn,
                tags: field_object(&object(body)?, "tags")?,
            }),
            Method::DELETE => Ok(Op::Untag {
                arn,
                keys: query_values(query, "tagKeys"),
            }),
            _ => Err(unknown(method, path)),
        };
    }
    let segments: Vec<String> = rest.trim_end_matches('/').split('/').map(decode).collect();
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    let api = |i: usize| s[i].to_owned();
    let (collection, id) = match s.as_slice() {
        ["apis"] => (Collection::Apis, None),
        ["apis", a] => (Collection::Apis, Some(a.to_string())),
        ["apis", _, kind, rest @ ..] if rest.len() <= 3 => {
            let (collection, tail) = match (*kind, rest) {
                ("routes", [route, "routeresponses", tail @ ..]) => (
                    Collection::RouteResponses {
                        api: api(1),
                        route: route.to_string(),
                    },
                    tail,
                ),
                ("integrations", [integration, "integrationresponses", tail @ ..]) => (
                    Collection::IntegrationResponses {
                        api: api(1),
                        integration: integration.to_string(),
                    },
                    tail,
                ),
                ("routes", tail) => (Collection::Routes { api: api(1) }, tail),
                ("integrations", tail) => (Collection::Integrations { api: api(1) }, tail),
                ("authorizers", tail) => (Collection::Authorizers { api: api(1) }, tail),
                ("models", tail) => (Collection::Models { api: api(1) }, tail),
                ("stages", tail) => (Collection::Stages { api: api(1) }, tail),
                ("deployments", tail) => (Collection::Deployments { api: api(1) }, tail),
                _ => return Err(unknown(method, path)),
            };
            match tail {
                [] => (collection, None),
                [id] => (collection, Some(id.to_string())),
                _ => return Err(unknown(method, path)),
            }
        }
        _ => return Err(unknown(method, path)),
    };
    match (method.clone(), id) {
        (Method::GET, None) => Ok(Op::List {
            collection,
            page: PageRequest {
                max_results: query_values(query, "maxResults").into_iter().next(),
                next_token: query_values(query, "nextToken").into_iter().next(),
            },
        }),
        (Method::POST, None) => Ok(Op::Create {
            collection,
            body: object(body)?,
        }),
        (Method::GET, Some(id)) => Ok(Op::Get { collection, id }),
        (Method::PATCH, Some(id)) => Ok(Op::Update {
            collection,
            id,
            body: object(body)?,
        }),
        (Method::DELETE, Some(id)) => Ok(Op::Delete { collection, id }),
        _ => Err(unknown(method, path)),
    }
}

fn decode(segment: &str) -> String {
    percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

/// The body as a JSON object; an empty body is an empty object.
fn object(body: &[u8]) -> Result<Map<String, Value>, ControlError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(ControlError::BadRequest(
            "The request body must be a JSON object".into(),
        )),
        Err(e) => Err(ControlError::BadRequest(format!(
            "The request body is not valid JSON: {e}"
        ))),
    }
}

fn field_object(
    body: &Map<String, Value>,
    field: &str,
) -> Result<Map<String, Value>, ControlError> {
    match body.get(field) {
        Some(Value::Object(map)) => Ok(map.clone()),
        _ => Err(ControlError::BadRequest(format!(
            "{field} is required and must be an object"
        ))),
    }
}

fn query_values(query: &str, name: &str) -> Vec<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .filter(|(k, _)| decode(k) == name)
        .map(|(_, v)| decode(&v.replace('+', " ")))
        .collect()
}

fn unknown(method: &Method, path: &str) -> ControlError {
    ControlError::NotFound {
        message: format!("No apigatewayv2 operation is {method} {path}"),
        resource_type: "Operation",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_their_operation() {
        let op = parse(
            &Method::GET,
            "/v2/apis/abc/routes/r1/routeresponses",
            "maxResults=2",
            b"",
        )
        .unwrap();
        assert_eq!(op.name(), "GetRouteResponses");
        let op = parse(&Method::PATCH, "/v2/apis/abc/stages/dev", "", b"{}").unwrap();
        assert_eq!(op.name(), "UpdateStage");
        let op = parse(
            &Method::DELETE,
            "/v2/tags/arn%3Aaws%3Aapigateway%3Aus-east-1%3A%3A%2Fapis%2Fabc",
            "tagKeys=a&tagKeys=b",
            b"",
        )
        .unwrap();
        assert_eq!(
            op,
            Op::Untag {
                arn: "arn:aws:apigateway:us-east-1::/apis/abc".into(),
                keys: vec!["a".into(), "b".into()],
            }
        );
        assert!(parse(&Method::PUT, "/v2/apis/abc", "", b"").is_err());
        assert!(parse(&Method::GET, "/v2/apis/abc/nothing", "", b"").is_err());
        assert!(parse(&Method::POST, "/v2/apis", "", b"[1]").is_err());
    }
}
