//! The gateway under test.

use crate::client::{ConnectError, WsClient};
use switchboard_core::config::{AwsCredentials, Config};
use switchboard_gateway::{Gateway, GatewayHandle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A gateway running in this process on free ports.
pub struct TestGateway {
    /// The running gateway.
    pub handle: GatewayHandle,
}

impl TestGateway {
    /// Starts a gateway from TOML text; listen addresses are replaced by `127.0.0.1:0`.
    pub async fn start(toml: &str) -> Self {
        let mut config = Config::from_toml_str(toml, "test.toml")
            .unwrap_or_else(|e| panic!("test configuration is invalid:\n{e}"));
        config.server.listen = "127.0.0.1:0".into();
        config.management.listen = "127.0.0.1:0".into();
        Self::start_config(config).await
    }

    /// Starts a gateway from a configuration as it is.
    pub async fn start_config(config: Config) -> Self {
        Self::start_config_with_credentials(config, None).await
    }

    /// Starts a gateway whose outbound AWS calls sign with these credentials.
    pub async fn start_with_credentials(toml: &str, credentials: AwsCredentials) -> Self {
        let mut config = Config::from_toml_str(toml, "test.toml")
            .unwrap_or_else(|e| panic!("test configuration is invalid:\n{e}"));
        config.server.listen = "127.0.0.1:0".into();
        config.management.listen = "127.0.0.1:0".into();
        Self::start_config_with_credentials(config, Some(credentials)).await
    }

    async fn start_config_with_credentials(
        config: Config,
        credentials: Option<AwsCredentials>,
    ) -> Self {
        let handle = Gateway::start_with_credentials(config, credentials)
            .await
            .unwrap_or_else(|e| panic!("gateway did not start: {e}"));
        Self { handle }
    }

    /// `http://127.0.0.1:{management port}{path}`.
    pub fn management_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.handle.mgmt_addr)
    }

    /// An unauthenticated management call; returns the status and body.
    pub async fn management(&self, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        use http_body_util::{BodyExt, Full};
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http::<Full<bytes::Bytes>>();
        let request = http::Request::builder()
            .method(method)
            .uri(self.management_url(path))
            .body(Full::new(bytes::Bytes::copy_from_slice(body)))
            .expect("request");
        let response = tokio::time::timeout(crate::PATIENCE, client.request(request))
            .await
            .expect("management API answered in time")
            .expect("management API reachable");
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        (status, body)
    }

    /// `ws://127.0.0.1:{port}{path}`.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.handle.tls { "wss" } else { "ws" };
        format!("{scheme}://{}{path}", self.handle.ws_addr)
    }

    /// Connects a client to `path` (e.g. `/chat/dev`), panicking if refused.
    pub async fn connect(&self, path: &str) -> WsClient {
        WsClient::connect(&self.url(path))
            .await
            .unwrap_or_else(|e| panic!("connect to {path} failed: {e:?}"))
    }

    /// Connects, returning the refusal status if the upgrade is refused.
    pub async fn try_connect(&self, path: &str) -> Result<WsClient, ConnectError> {
        WsClient::connect(&self.url(path)).await
    }

    /// [`TestGateway::try_connect`] taking an owned path (handy in closures).
    pub async fn try_connect_owned(&self, path: String) -> Result<WsClient, ConnectError> {
        self.try_connect(&path).await
    }

    /// Sends raw bytes to the client listener and returns everything it answers until it
    /// closes or 2 KB arrived (for non-WebSocket requests).
    pub async fn raw_http(&self, request: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(self.handle.ws_addr)
            .await
            .expect("connect to gateway");
        stream
            .write_all(request.as_bytes())
            .await
            .expect("write request");
        let mut buf = vec![0u8; 2048];
        let mut got = 0;
        while got < buf.len() {
            let read = tokio::time::timeout(crate::PATIENCE, stream.read(&mut buf[got..]))
                .await
                .expect("gateway answered in time")
                .unwrap_or(0);
            if read == 0 {
                break;
            }
            got += read;
            if String::from_utf8_lossy(&buf[..got]).contains("\r\n\r\n") {
                // Headers complete; read the body too if a length was given.
                let text = String::from_utf8_lossy(&buf[..got]).to_string();
                let head = text.find("\r\n\r\n").unwrap_or(0) + 4;
                if got >= head + content_length(&text).unwrap_or(0) {
                    break;
                }
            }
        }
        String::from_utf8_lossy(&buf[..got]).into_owned()
    }

    /// Connections the gateway holds.
    pub fn connection_count(&self) -> usize {
        self.handle.state.plane.local().count()
    }
}

fn content_length(response: &str) -> Option<usize> {
    response.lines().find_map(|l| {
        let (name, value) = l.split_once(':')?;
        name.eq_ignore_ascii_case("content-length")
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}
