//! End to end: the gateway's `AWS_PROXY` integration reaches a local function through the
//! Invoke API this crate serves (`[aws.endpoints] lambda`), with no AWS credentials anywhere,
//! and a WebSocket client gets the handler's reply on a two-way route.

mod common;

use common::{settings, spec, start, Lang};
use switchboard_testkit::TestGateway;

fn chat_api(endpoint: &str) -> String {
    format!(
        r#"
[aws.endpoints]
lambda = "{endpoint}"
[apis.chat]
routeSelectionExpression = "$request.body.action"
[apis.chat.stages.dev]
[apis.chat.integrations.fn]
integrationType = "AWS_PROXY"
integrationUri = "arn:aws:lambda:us-east-1:123456789012:function:chat"
[apis.chat.routes."$connect"]
target = "integrations/fn"
[apis.chat.routes.send]
target = "integrations/fn"
routeResponseSelectionExpression = "$default"
"#
    )
}

async fn a_websocket_message_gets_the_local_handlers_reply(lang: Lang) {
    let local = start(vec![spec("chat", lang)], settings()).await;
    // TestGateway::start gives the gateway no credentials, as when none are in its environment.
    let gw = TestGateway::start(&chat_api(&local.endpoint())).await;
    let mut client = gw.connect("/chat/dev").await;
    client
        .send_text(r#"{"action":"send","text":"hello"}"#)
        .await;
    let reply = client.recv_text().await;
    let prefix = match lang {
        Lang::Node => "node says hello (pid ",
        Lang::Python => "python says hello (pid ",
    };
    assert!(reply.starts_with(prefix), "{reply}");
    // $connect and the message ran on the same warm worker.
    assert_eq!(local.status("chat").map(|c| c.live), Some(1));
    local.shutdown().await;
}

#[tokio::test]
async fn a_websocket_message_gets_the_node_handlers_reply_without_credentials() {
    a_websocket_message_gets_the_local_handlers_reply(Lang::Node).await;
}

#[tokio::test]
async fn a_websocket_message_gets_the_python_handlers_reply_without_credentials() {
    a_websocket_message_gets_the_local_handlers_reply(Lang::Python).await;
}
