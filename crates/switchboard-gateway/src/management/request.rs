//! What a management request asks for, read from its method and path: pure, no I/O.

use super::errors::MgmtError;
use crate::plane::group::{parse_user, GroupName, NameError, DEFAULT_PAGE, MAX_EXCLUDES, MAX_PAGE};
use crate::runtime::Runtime;
use http::Method;
use percent_encoding::percent_decode_str;
use std::borrow::Cow;
use switchboard_core::ids::AwsId;

/// The `@connections` operations (docs/behaviour.md §7.2) and the extensions beside them
/// (docs/groups.md).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `POST @connections/{id}`.
    Post,
    /// `GET @connections/{id}`.
    Get,
    /// `DELETE @connections/{id}`.
    Delete,
    /// `PUT @connections/{id}/groups/{group}`.
    Join(GroupName),
    /// `DELETE @connections/{id}/groups/{group}`.
    Leave(GroupName),
    /// `POST @connections`: every connection of the stage.
    BroadcastToStage,
    /// `GET @connections?group=&user=&limit=&nextToken=`.
    ListConnections,
    /// `POST @groups/{group}`.
    BroadcastToGroup(GroupName),
    /// `GET @groups/{group}`.
    GetGroup(GroupName),
    /// `POST @users/{principalId}`.
    PostToUser(String),
    /// `GET @users/{principalId}`.
    GetUser(String),
    /// `DELETE @users/{principalId}`.
    DeleteUser(String),
}

impl Kind {
    /// The operation's name (metric labels; the IAM action names of docs/groups.md).
    pub fn name(&self) -> &'static str {
        match self {
            Kind::Post => "PostToConnection",
            Kind::Get => "GetConnection",
            Kind::Delete => "DeleteConnection",
            Kind::Join(_) => "JoinGroup",
            Kind::Leave(_) => "LeaveGroup",
            Kind::BroadcastToStage => "BroadcastToStage",
            Kind::ListConnections => "ListConnections",
            Kind::BroadcastToGroup(_) => "BroadcastToGroup",
            Kind::GetGroup(_) => "GetGroup",
            Kind::PostToUser(_) => "PostToUser",
            Kind::GetUser(_) => "GetUser",
            Kind::DeleteUser(_) => "DeleteUser",
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
    /// The connection, or `None` for an id that no node could have issued (then `Gone`), or
    /// for an operation on many connections.
    pub connection_id: Option<AwsId>,
}

/// Reads `METHOD /{apiId}/{stage}/@connections/{id}` or `/{stage}/@connections/{id}` (the
/// API by [`Runtime::address`]), and the extension paths (`@connections/{id}/groups/{group}`,
/// `@connections`, `@groups/{group}`, `@users/{principalId}`); segments are percent-decoded
/// (`%40connections`, `abc%3D`). A path that names no stage of an API is `Forbidden`, as on
/// AWS; a method the path does not take is `MethodNotAllowed`; a bad group or user name is
/// `BadRequest`.
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
        .position(|s| matches!(s.as_ref(), "@connections" | "@groups" | "@users"))
        .ok_or(MgmtError::Forbidden)?;
    let (prefix, rest) = segments.split_at(at);
    let rest: Vec<&str> = rest.iter().map(|s| s.as_ref()).collect();
    let shape = match rest.as_slice() {
        ["@connections", id] if !id.is_empty() => Shape::Connection(id),
        ["@connections", id, "groups", group] if !id.is_empty() => Shape::Membership(id, group),
        ["@connections"] => Shape::Stage,
        ["@groups", group] => Shape::Group(group),
        ["@users", user] => Shape::User(user),
        _ => return Err(MgmtError::Forbidden),
    };
    let api = runtime.address(host, prefix).ok_or(MgmtError::Forbidden)?;
    let stage = prefix
        .last()
        .filter(|stage| api.stages.contains_key(stage.as_ref()))
        .ok_or(MgmtError::Forbidden)?;
    let (kind, id) = shape.kind(method)?;
    Ok(Call {
        kind,
        api_id: api.id.clone(),
        stage: stage.to_string(),
        connection_id: id.and_then(AwsId::parse),
    })
}

/// The path's shape, before the method picks the operation.
enum Shape<'a> {
    Connection(&'a str),
    Membership(&'a str, &'a str),
    Stage,
    Group(&'a str),
    User(&'a str),
}

impl<'a> Shape<'a> {
    fn kind(self, method: &Method) -> Result<(Kind, Option<&'a str>), MgmtError> {
        let group = |name: &str| GroupName::parse(name).map_err(bad_name);
        let user = |name: &str| parse_user(name).map_err(bad_name);
        Ok(match (self, method.as_str()) {
            (Shape::Connection(id), "POST") => (Kind::Post, Some(id)),
            (Shape::Connection(id), "GET") => (Kind::Get, Some(id)),
            (Shape::Connection(id), "DELETE") => (Kind::Delete, Some(id)),
            (Shape::Membership(id, g), "PUT") => (Kind::Join(group(g)?), Some(id)),
            (Shape::Membership(id, g), "DELETE") => (Kind::Leave(group(g)?), Some(id)),
            (Shape::Stage, "POST") => (Kind::BroadcastToStage, None),
            (Shape::Stage, "GET") => (Kind::ListConnections, None),
            (Shape::Group(g), "POST") => (Kind::BroadcastToGroup(group(g)?), None),
            (Shape::Group(g), "GET") => (Kind::GetGroup(group(g)?), None),
            (Shape::User(u), "POST") => (Kind::PostToUser(user(u)?), None),
            (Shape::User(u), "GET") => (Kind::GetUser(user(u)?), None),
            (Shape::User(u), "DELETE") => (Kind::DeleteUser(user(u)?), None),
            _ => return Err(MgmtError::MethodNotAllowed),
        })
    }
}

fn bad_name(e: NameError) -> MgmtError {
    MgmtError::BadRequest(e.to_string())
}

/// The query parameters of the extension operations, checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// `exclude` (repeatable, comma-separated): connections a broadcast leaves out.
    pub exclude: Vec<AwsId>,
    /// `group`: list only its members.
    pub group: Option<GroupName>,
    /// `user`: list only its connections.
    pub user: Option<String>,
    /// `limit`: page size.
    pub limit: usize,
    /// `nextToken`: where the previous page ended.
    pub after: Option<AwsId>,
}

/// Reads the query string; unknown parameters are ignored, bad values are `BadRequest`.
pub fn parse_query(raw: Option<&str>) -> Result<Query, MgmtError> {
    let bad = |m: String| MgmtError::BadRequest(m);
    let mut query = Query {
        limit: DEFAULT_PAGE,
        ..Query::default()
    };
    for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = value.replace('+', " ");
        let value = percent_decode_str(&value).decode_utf8_lossy();
        match key {
            "exclude" => {
                for id in value.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let id = AwsId::parse(id)
                        .ok_or_else(|| bad(format!("exclude: {id:?} is not a connection id")))?;
                    if query.exclude.len() == MAX_EXCLUDES {
                        return Err(bad(format!(
                            "exclude: at most {MAX_EXCLUDES} connection ids"
                        )));
                    }
                    query.exclude.push(id);
                }
            }
            "group" => {
                query.group =
                    Some(GroupName::parse(&value).map_err(|e| bad(format!("group: {e}")))?)
            }
            "user" => query.user = Some(parse_user(&value).map_err(|e| bad(format!("user: {e}")))?),
            "limit" => {
                query.limit = value
                    .parse::<usize>()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or_else(|| bad(format!("limit must be 1 to {MAX_PAGE}")))?
            }
            "nextToken" => {
                query.after = Some(
                    AwsId::parse(&value)
                        .ok_or_else(|| bad("nextToken is not one this gateway gave".to_owned()))?,
                )
            }
            _ => {}
        }
    }
    Ok(query)
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
            "/dev/@groups",
            "/dev/@users/a/b",
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
        let join = parse(
            &one,
            &Method::PUT,
            "/dev/@connections/abcdefghijklmno%3D/groups/room",
            None,
        )
        .expect("join");
        assert_eq!(
            join.kind,
            Kind::Join(GroupName::parse("room").expect("valid"))
        );
        assert_eq!(join.connection_id, AwsId::parse(ID));
        assert_eq!(
            parse(&one, &Method::POST, "/dev/@connections", None).map(|c| c.kind),
            Ok(Kind::BroadcastToStage)
        );
        assert!(matches!(
            parse(&one, &Method::POST, "/dev/@groups/a%20b", None),
            Err(MgmtError::BadRequest(_))
        ));
        assert_eq!(
            parse(&one, &Method::DELETE, "/dev/@users/auth0%7C42", None).map(|c| c.kind),
            Ok(Kind::DeleteUser("auth0|42".into()))
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

#[cfg(test)]
mod query_tests {
    use super::*;

    #[test]
    fn query_values_are_checked_and_bounded() {
        let id = "abcdefghijklmno=";
        let q = parse_query(Some(&format!(
            "exclude={id},{id}&exclude=abcdefghijklmns%3D&group=room&limit=5&x=y"
        )))
        .expect("valid");
        assert_eq!(q.exclude.len(), 3);
        assert_eq!(q.limit, 5);
        assert_eq!(q.group.as_ref().map(GroupName::as_str), Some("room"));
        assert_eq!(parse_query(None).map(|q| q.limit), Ok(DEFAULT_PAGE));
        for bad in [
            "limit=0",
            "limit=1001",
            "limit=x",
            "exclude=short",
            "group=a%2Fb",
            "nextToken=zz",
        ] {
            assert!(
                matches!(parse_query(Some(bad)), Err(MgmtError::BadRequest(_))),
                "{bad}"
            );
        }
        let many = vec![id; MAX_EXCLUDES + 1].join(",");
        assert!(parse_query(Some(&format!("exclude={many}"))).is_err());
    }
}
