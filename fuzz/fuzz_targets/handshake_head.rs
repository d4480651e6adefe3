//! WebSocket upgrade request heads (docs/behaviour.md §3.1): raw bytes as a client sends
//! them, read the way the listener reads them: the recorded head's headers in the client's
//! spelling (`head::parse_headers`), the RFC 6455 checks (`handshake::upgrade_key`) and the
//! API and stage the path addresses (`Runtime::resolve`). Input: the request head's bytes.
#![no_main]

mod common;

use base64::Engine as _;
use http::{Method, Request, Uri, Version};
use libfuzzer_sys::fuzz_target;
use switchboard_gateway::handshake::upgrade_key;
use switchboard_gateway::head::parse_headers;

/// The `http::Request` hyper would hand the listener for this head, if it accepts it.
fn request_of(head: &[u8]) -> Option<Request<()>> {
    let mut storage = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Request::new(&mut storage);
    let httparse::Status::Complete(_) = parsed.parse(head).ok()? else {
        return None;
    };
    let mut builder = Request::builder()
        .method(Method::from_bytes(parsed.method?.as_bytes()).ok()?)
        .uri(parsed.path?.parse::<Uri>().ok()?)
        .version(match parsed.version? {
            0 => Version::HTTP_10,
            _ => Version::HTTP_11,
        });
    for h in parsed.headers.iter() {
        builder = builder.header(h.name, h.value);
    }
    builder.body(()).ok()
}

fuzz_target!(|data: &[u8]| {
    let recorded = parse_headers(data);
    let Some(req) = request_of(data) else {
        return;
    };
    // A head hyper accepts is one the recorder can spell out, header for header.
    let spelled = recorded.unwrap_or_else(|| panic!("an accepted head was not re-read"));
    assert_eq!(spelled.len(), req.headers().len(), "header count");
    if let Ok(key) = upgrade_key(&req) {
        assert_eq!(req.method(), Method::GET);
        assert!(req.version() >= Version::HTTP_11);
        let nonce = base64::engine::general_purpose::STANDARD.decode(&key);
        assert_eq!(nonce.map(|n| n.len()).ok(), Some(16), "key {key:?}");
        assert_eq!(req.headers().get_all("sec-websocket-key").iter().count(), 1);
    }
    let host = req.headers().get("host").and_then(|h| h.to_str().ok());
    for runtime in [common::one_api(), common::two_apis()] {
        if let Some((api, stage)) = runtime.resolve(host, req.uri().path()) {
            assert!(!stage.contains('/'), "stage {stage:?}");
            assert!(runtime.apis.contains_key(&api.id));
        }
    }
});
