//! Connections for the plane's unit tests.

use std::net::{IpAddr, Ipv4Addr};
use switchboard_core::context::ConnectionInfo;
use switchboard_core::ids::AwsId;

/// A connection of API `chat`, stage `dev`, from loopback, with no authorizer.
pub fn info(id: AwsId) -> ConnectionInfo {
    ConnectionInfo {
        connection_id: id,
        connected_at: 1,
        api_id: "chat".into(),
        stage: "dev".into(),
        domain_name: "localhost".into(),
        source_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        user_agent: None,
        caller: Default::default(),
        authorizer: None,
    }
}
