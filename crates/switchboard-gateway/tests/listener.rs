//! The client listener's own protections and TLS: `wss://` with PEM files, the handshake
//! time limit, and the connection cap.

use std::sync::Arc;
use std::time::Duration;
use switchboard_core::config::Config;
use switchboard_testkit::TestGateway;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const ECHO: &str = r#"
[apis.t]
routeSelectionExpression = "$request.body.action"
[apis.t.stages.dev]
[apis.t.integrations.echo]
integrationType = "MOCK"
requestTemplates = { "$default" = '{"statusCode": 200}' }
integrationResponses = { "$default" = { responseTemplates = { "$default" = '$input.body' } } }
[apis.t.routes."$default"]
target = "integrations/echo"
routeResponseSelectionExpression = "$default"
"#;

fn config(extra: &str) -> Config {
    let mut c = Config::from_toml_str(&format!("{extra}\n{ECHO}"), "t.toml").expect("valid");
    c.server.listen = "127.0.0.1:0".into();
    c.management.listen = "127.0.0.1:0".into();
    c
}

#[tokio::test]
async fn wss_serves_tls_with_the_configured_certificate() {
    let dir = std::env::temp_dir().join(format!("switchboard-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let cert = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).expect("cert");
    let (cert_file, key_file) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_file, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_file, cert.signing_key.serialize_pem()).expect("write key");
    let gw = TestGateway::start_config(config(&format!(
        "[server.tls]\ncertFile = {:?}\nkeyFile = {:?}\n",
        cert_file.display().to_string(),
        key_file.display().to_string()
    )))
    .await;
    assert!(gw.url("/t/dev").starts_with("wss://"));

    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.cert.der().clone()).expect("root");
    let client = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(gw.handle.ws_addr)
        .await
        .expect("tcp");
    let tls = tokio_rustls::TlsConnector::from(Arc::new(client))
        .connect(
            rustls_pki_types::ServerName::try_from("localhost").expect("name"),
            tcp,
        )
        .await
        .expect("TLS handshake with the configured certificate");
    let url = format!("wss://localhost:{}/t/dev", gw.handle.ws_addr.port());
    let (mut ws, _) = tokio_tungstenite::client_async(url, tls)
        .await
        .expect("upgrade over TLS");
    use futures_util::{SinkExt, StreamExt};
    ws.send(tokio_tungstenite::tungstenite::Message::text("secure"))
        .await
        .expect("send");
    let reply = ws.next().await.expect("reply").expect("ok");
    assert_eq!(reply.into_text().expect("text").as_str(), "secure");
}

#[tokio::test]
async fn a_missing_certificate_file_is_a_clear_start_error() {
    let c = config(
        "[server.tls]\ncertFile = \"/nonexistent/cert.pem\"\nkeyFile = \"/nonexistent/key.pem\"\n",
    );
    let err = switchboard_gateway::Gateway::start(c)
        .await
        .err()
        .expect("refuses to start");
    assert!(err.to_string().contains("/nonexistent/cert.pem"), "{err}");
}

#[tokio::test]
async fn a_missing_management_certificate_names_its_table() {
    let c = config(
        "[management.tls]\ncertFile = \"/nonexistent/mgmt.pem\"\nkeyFile = \"/nonexistent/mgmt-key.pem\"\n",
    );
    let err = switchboard_gateway::Gateway::start(c)
        .await
        .err()
        .expect("refuses to start");
    assert!(
        err.to_string()
            .starts_with("management.tls.certFile /nonexistent/mgmt.pem"),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let gw =
        TestGateway::start_config(config("[server.limits]\nhandshakeTimeoutSeconds = 10\n")).await;
    let mut tcp = tokio::net::TcpStream::connect(gw.handle.ws_addr)
        .await
        .expect("tcp");
    tcp.write_all(b"GET /t/dev HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("partial head");
    let started = tokio::time::Instant::now();
    let mut buf = Vec::new();
    // The gateway answers 408 (or just closes); either way the socket ends.
    let _ = tokio::time::timeout(Duration::from_secs(3600), tcp.read_to_end(&mut buf))
        .await
        .expect("the gateway closed the slow connection");
    assert!(started.elapsed() >= Duration::from_secs(10));
    let text = String::from_utf8_lossy(&buf);
    assert!(
        text.is_empty() || text.starts_with("HTTP/1.1 408"),
        "{text}"
    );
}

#[tokio::test]
async fn connections_over_the_cap_get_503_and_a_freed_slot_is_reused() {
    let gw = TestGateway::start_config(config("[server.limits]\nmaxConnections = 2\n")).await;
    let a = gw.connect("/t/dev").await;
    let _b = gw.connect("/t/dev").await;
    let refused = gw
        .raw_http("GET /t/dev HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        .await;
    assert!(refused.starts_with("HTTP/1.1 503"), "{refused}");
    a.close(Some(1000), "").await;
    switchboard_testkit::eventually("a slot frees up", || async {
        gw.try_connect("/t/dev").await.ok()
    })
    .await;
}
