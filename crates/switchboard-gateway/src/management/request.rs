//! What a management request asks for, read from its method and path: pure, no I/O.

use super::errors::MgmtError;
use crate::runtime::Runtime;
use http::Method;
use percent_encoding::percent_decode_str;
use std::borrow::Cow;
use switchboard_core::ids::AwsId;

/// The `@connections` operations (docs/behaviour.md §7.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `POST @connections/{id}`.
    Post,
    /// `GET @connections/{id}`.
    Get,
    /// `DELETE @connections/{id}`.
    Delete,
}

impl Kind {
    /// The operation's name in the AWS API (metric labels).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Post => "PostToConnection",
            Kind::Get => "GetConnection",
            Kind::Delete => "DeleteConnection",
        }
    }
}

/// A management call, addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// Which operation.
    pub kind: Kind,
    /// The API addressed.
    pub api_id: String,
    /// The stage addressed (it exists).
    pub stage: String,
    /// The connection, or `None` for an id that no node could have issued (then `Gone`).
    pub connection_id: Option<AwsId>,
}

/// Reads `METHOD /{apiId}/{stage}/@connections/{id}` or `/{stage}/@connections/{id}` (the
/// API by [`Runtime::address`]); segments are percent-decoded (`%40connections`, `abc%3D`).
/// A path that names no stage of an API is `Forbidden`, as on AWS; a method the path does not
/// take is `MethodNotAllowed`.
pub fn parse(
    runtime: &Runtime,
    method: &Method,
    raw_path: &str,
    host: Option<&str>,
) -> Result<Call, MgmtError> {
    // Borrowed unless a segment is percent-encoded.
    let segments: Vec<Cow<'_, str>> = raw_path
        .split('/')
        .skip(1)
        .map(|s| percent_decode_str(s).decode_utf8_lossy())
        .collect();
    let at = segments
        .iter()
        .position(|s| s == "@connections")
        .ok_or(MgmtError::Forbidden)?;
    let (prefix, rest) = segments.split_at(at);
    let id = match rest {
        [_, id] if !id.is_empty() => id,
        _ => return Err(MgmtError::Forbidden),
    };
    let api = runtime.address(host, prefix).ok_or(MgmtError::Forbidden)?;
    let stage = prefix
        .last()
        .filter(|stage| api.stages.contains_key(stage.as_ref()))
        .ok_or(MgmtError::Forbidden)?;
    let kind = match *method {
        Method::POST => Kind::Post,
        Method::GET => Kind::Get,
        Method::DELETE => Kind::Delete,
        _ => return Err(MgmtError::MethodNotAllowed),
    };
    Ok(Call {
        kind,
        api_id: api.id.clone(),
        stage: stage.to_string(),
        connection_id: AwsId::parse(id),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_core::config::Config;

    fn runtime(toml: &str) -> Runtime {
        let config = Config::from_toml_str(toml, "t.toml").expect("config");
        Runtime::build(config, None).expect("runtime")
    }

    const ONE: &str = r#"
[apis.chat]
routeSelectionExpression = "$request.body.action"
[apis.chat.stages.dev]
[apis.chat.routes."$default"]
target = "integrations/m"
[apis.chat.integrations.m]
integrationType = "MOCK"
"#;

    fn two() -> String {
        format!("{ONE}{}", ONE.replace("chat", "game"))
    }

    const ID: &str = "abcdefghijklmno=";

    #[test]
    fn paths_in_every_documented_shape() {
        let one = runtime(ONE);
        let get = |path: &str| parse(&one, &Method::GET, path, None);
        let call = get("/chat/dev/@connections/abcdefghijklmno%3D").expect("full path");
        assert_eq!((call.api_id.as_str(), call.stage.as_str()), ("chat", "dev"));
        assert_eq!(call.connection_id, AwsId::parse(ID));
        assert_eq!(
            get("/dev/%40connections/abcdefghijklmno=").map(|c| c.kind),
            Ok(Kind::Get)
        );
        // An id that cannot be ours is addressed all the same (and will be Gone).
        assert_eq!(
            get("/dev/@connections/short").map(|c| c.connection_id),
            Ok(None)
        );
        for bad in [
            "/dev/@connections/",
            "/dev/@connections/a/b",
            "/a/b/c/@connections/x",
            "/prod/@connections/x",
            "/dev/x",
        ] {
            assert_eq!(get(bad), Err(MgmtError::Forbidden), "{bad}");
        }
        assert_eq!(
            parse(&one, &Method::PUT, "/dev/@connections/x", None),
            Err(MgmtError::MethodNotAllowed)
        );
        let two = runtime(&two());
        assert_eq!(
            parse(&two, &Method::GET, "/dev/@connections/x", None),
            Err(MgmtError::Forbidden)
        );
        let by_host = parse(
            &two,
            &Method::GET,
            "/dev/@connections/x",
            Some("game.example.com"),
        );
        assert_eq!(by_host.map(|c| c.api_id), Ok("game".to_owned()));
    }
}
