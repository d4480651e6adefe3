//! Operations and outcomes as NATS messages: a few headers, and the payload bytes as the
//! message body (no base64, no JSON around the client's message).

use async_nats::HeaderMap;
use bytes::Bytes;
use switchboard_core::ids::AwsId;
use switchboard_gateway::plane::{
    ConnectionSnapshot, GroupLimit, GroupName, Op, Outcome, Payload, StageOp, StageOutcome, Target,
};

/// Version of this format; a node refuses what it does not know.
const VERSION: &str = "1";
const H_VERSION: &str = "Sb-V";
const H_OP: &str = "Sb-Op";
const H_API: &str = "Sb-Api";
const H_STAGE: &str = "Sb-Stage";
const H_ID: &str = "Sb-Id";
const H_BINARY: &str = "Sb-Binary";
const H_OUTCOME: &str = "Sb-Outcome";
const H_GROUP: &str = "Sb-Group";
/// A stage operation's fields but its payload, as JSON.
const H_STAGE_OP: &str = "Sb-Stage-Op";

/// A message that is not an operation or outcome of this format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed cluster message: {0}")]
pub struct WireError(pub &'static str);

/// An operation as a request's headers and body.
pub fn encode_op(op: &Op) -> (HeaderMap, Bytes) {
    let mut headers = HeaderMap::new();
    headers.insert(H_VERSION, VERSION);
    let (kind, body) = match op {
        Op::Post { payload, .. } => {
            if payload.binary {
                headers.insert(H_BINARY, "1");
            }
            ("post", payload.data.clone())
        }
        Op::Get { .. } => ("get", Bytes::new()),
        Op::Delete { .. } => ("delete", Bytes::new()),
        Op::Join { group, .. } => {
            headers.insert(H_GROUP, group.as_str());
            ("join", Bytes::new())
        }
        Op::Leave { group, .. } => {
            headers.insert(H_GROUP, group.as_str());
            ("leave", Bytes::new())
        }
    };
    headers.insert(H_OP, kind);
    let target = op.target();
    headers.insert(H_API, target.api_id.as_str());
    headers.insert(H_STAGE, target.stage.as_str());
    headers.insert(H_ID, target.connection_id.as_str());
    (headers, body)
}

/// The operation a request carries.
pub fn decode_op(headers: Option<&HeaderMap>, body: Bytes) -> Result<Op, WireError> {
    let headers = headers.ok_or(WireError("no headers"))?;
    let get = |name: &str| headers.get(name).map(|v| v.as_str());
    if get(H_VERSION) != Some(VERSION) {
        return Err(WireError("unknown version"));
    }
    let target = Target {
        api_id: get(H_API).ok_or(WireError("no api"))?.to_owned(),
        stage: get(H_STAGE).ok_or(WireError("no stage"))?.to_owned(),
        connection_id: get(H_ID)
            .and_then(AwsId::parse)
            .ok_or(WireError("no connection id"))?,
    };
    match get(H_OP) {
        Some("post") => Ok(Op::Post {
            target,
            payload: Payload {
                data: body,
                binary: get(H_BINARY) == Some("1"),
            },
        }),
        Some("get") => Ok(Op::Get { target }),
        Some("delete") => Ok(Op::Delete { target }),
        Some(kind @ ("join" | "leave")) => {
            let group = get(H_GROUP)
                .and_then(|g| GroupName::parse(g).ok())
                .ok_or(WireError("no group"))?;
            Ok(match kind {
                "join" => Op::Join { target, group },
                _ => Op::Leave { target, group },
            })
        }
        _ => Err(WireError("unknown operation")),
    }
}

/// An outcome as a reply's headers and body (the snapshot as JSON for `Info`).
pub fn encode_outcome(outcome: &Outcome) -> (HeaderMap, Bytes) {
    let mut headers = HeaderMap::new();
    headers.insert(H_VERSION, VERSION);
    let (name, body) = match outcome {
        Outcome::Queued => ("queued", Bytes::new()),
        Outcome::Info(snapshot) => (
            "info",
            serde_json::to_vec(snapshot)
                .map(Bytes::from)
                .unwrap_or_default(),
        ),
        Outcome::Closing => ("closing", Bytes::new()),
        Outcome::Gone => ("gone", Bytes::new()),
        Outcome::QueueFull => ("queue-full", Bytes::new()),
        // An owner answers only for its own connections; these two are the caller's.
        Outcome::Unavailable => ("unavailable", Bytes::new()),
        Outcome::TimedOut => ("timed-out", Bytes::new()),
        Outcome::Done => ("done", Bytes::new()),
        Outcome::GroupLimit(GroupLimit::PerConnection) => ("group-limit-connection", Bytes::new()),
        Outcome::GroupLimit(GroupLimit::PerStage) => ("group-limit-stage", Bytes::new()),
    };
    headers.insert(H_OUTCOME, name);
    (headers, body)
}

/// The outcome a reply carries.
pub fn decode_outcome(headers: Option<&HeaderMap>, body: &[u8]) -> Result<Outcome, WireError> {
    let outcome = headers
        .and_then(|h| h.get(H_OUTCOME))
        .map(|v| v.as_str())
        .ok_or(WireError("no outcome"))?;
    Ok(match outcome {
        "queued" => Outcome::Queued,
        "info" => Outcome::Info(Box::new(
            serde_json::from_slice::<ConnectionSnapshot>(body)
                .map_err(|_| WireError("bad snapshot"))?,
        )),
        "closing" => Outcome::Closing,
        "gone" => Outcome::Gone,
        "queue-full" => Outcome::QueueFull,
        "unavailable" => Outcome::Unavailable,
        "timed-out" => Outcome::TimedOut,
        "done" => Outcome::Done,
        "group-limit-connection" => Outcome::GroupLimit(GroupLimit::PerConnection),
        "group-limit-stage" => Outcome::GroupLimit(GroupLimit::PerStage),
        _ => return Err(WireError("unknown outcome")),
    })
}

/// A stage operation as a request: its fields as JSON in a header, a broadcast's payload as
/// the body, untouched.
pub fn encode_stage_op(op: &StageOp) -> (HeaderMap, Bytes) {
    let mut headers = HeaderMap::new();
    headers.insert(H_VERSION, VERSION);
    let mut head = op.clone();
    let body = match &mut head {
        StageOp::Broadcast { payload, .. } => std::mem::take(&mut payload.data),
        _ => Bytes::new(),
    };
    let json = serde_json::to_string(&head).unwrap_or_default();
    headers.insert(H_STAGE_OP, json.as_str());
    (headers, body)
}

/// The stage operation a request carries.
pub fn decode_stage_op(headers: Option<&HeaderMap>, body: Bytes) -> Result<StageOp, WireError> {
    let headers = headers.ok_or(WireError("no headers"))?;
    if headers.get(H_VERSION).map(|v| v.as_str()) != Some(VERSION) {
        return Err(WireError("unknown version"));
    }
    let json = headers
        .get(H_STAGE_OP)
        .map(|v| v.as_str())
        .ok_or(WireError("no stage operation"))?;
    let mut op: StageOp =
        serde_json::from_str(json).map_err(|_| WireError("bad stage operation"))?;
    if let StageOp::Broadcast { payload, .. } = &mut op {
        payload.data = body;
    }
    Ok(op)
}

/// A stage outcome as a reply body (JSON).
pub fn encode_stage_outcome(outcome: &StageOutcome) -> Bytes {
    serde_json::to_vec(outcome)
        .map(Bytes::from)
        .unwrap_or_default()
}

/// The stage outcome a reply carries.
pub fn decode_stage_outcome(body: &[u8]) -> Result<StageOutcome, WireError> {
    serde_json::from_slice(body).map_err(|_| WireError("bad stage outcome"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};
    use switchboard_core::context::ConnectionInfo;
    use switchboard_core::ids::NodeTag;

    fn target() -> Target {
        Target {
            api_id: "chat".into(),
            stage: "dev".into(),
            connection_id: AwsId::connection(NodeTag(42)),
        }
    }

    #[test]
    fn every_operation_survives_the_trip_with_its_bytes_untouched() {
        let binary = Bytes::from_static(&[0, 159, 146, 150]);
        let ops = [
            Op::Post {
                target: target(),
                payload: Payload::from_bytes(Bytes::from_static(b"hello")),
            },
            Op::Post {
                target: target(),
                payload: Payload::from_bytes(binary.clone()),
            },
            Op::Get { target: target() },
            Op::Delete { target: target() },
            Op::Join {
                target: target(),
                group: GroupName::parse("room").expect("valid"),
            },
            Op::Leave {
                target: target(),
                group: GroupName::parse("room").expect("valid"),
            },
        ];
        for op in ops {
            let (headers, body) = encode_op(&op);
            if let Op::Post { payload, .. } = &op {
                assert_eq!(body, payload.data, "the payload is the body, as is");
            }
            assert_eq!(decode_op(Some(&headers), body), Ok(op));
        }
    }

    #[test]
    fn every_outcome_survives_the_trip() {
        let snapshot = ConnectionSnapshot {
            info: ConnectionInfo {
                connection_id: target().connection_id,
                connected_at: 1,
                api_id: "chat".into(),
                stage: "dev".into(),
                domain_name: "example.com".into(),
                source_ip: IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)),
                user_agent: Some("ua".into()),
                caller: Default::default(),
                authorizer: None,
            },
            last_active_at: 2,
            groups: Vec::new(),
            user: None,
        };
        for outcome in [
            Outcome::Queued,
            Outcome::Info(Box::new(snapshot)),
            Outcome::Closing,
            Outcome::Gone,
            Outcome::QueueFull,
            Outcome::Unavailable,
            Outcome::TimedOut,
            Outcome::Done,
            Outcome::GroupLimit(GroupLimit::PerConnection),
            Outcome::GroupLimit(GroupLimit::PerStage),
        ] {
            let (headers, body) = encode_outcome(&outcome);
            assert_eq!(decode_outcome(Some(&headers), &body), Ok(outcome));
        }
    }

    #[test]
    fn a_broadcast_travels_with_its_body_as_is() {
        use switchboard_gateway::plane::{Filter, Scope};
        let op = StageOp::Broadcast {
            scope: Scope {
                api_id: "chat".into(),
                stage: "dev".into(),
            },
            filter: Filter {
                group: Some(GroupName::parse("room").expect("valid")),
                user: None,
            },
            exclude: vec![target().connection_id],
            payload: Payload::from_bytes(Bytes::from_static(&[0, 255])),
        };
        let (headers, body) = encode_stage_op(&op);
        assert_eq!(body, Bytes::from_static(&[0, 255]));
        assert_eq!(decode_stage_op(Some(&headers), body), Ok(op));
        let tally = StageOutcome::Tally {
            queued: 3,
            skipped: 1,
        };
        assert_eq!(
            decode_stage_outcome(&encode_stage_outcome(&tally)),
            Ok(tally)
        );
    }

    #[test]
    fn strangers_are_refused() {
        assert!(decode_op(None, Bytes::new()).is_err());
        let (mut headers, body) = encode_op(&Op::Get { target: target() });
        headers.insert(H_VERSION, "2");
        assert_eq!(
            decode_op(Some(&headers), body),
            Err(WireError("unknown version"))
        );
        assert!(decode_outcome(None, b"").is_err());
    }
}
