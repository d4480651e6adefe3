//! `lambda-standin`: the testkit's Lambda Invoke API stand-in (SigV4-checked, in-process
//! handler) answering every invocation like bench/lambda's echo handler: a proxy event's body
//! goes back as `{statusCode: 200, body}`. The baseline for the local Lambda runtime in
//! bench/lambda.sh. Prints `lambda-standin http://127.0.0.1:PORT`; stops on Ctrl-C.
#![forbid(unsafe_code)]

use clap::Parser;
use switchboard_bench::fatal;
use switchboard_testkit::{LambdaReply, LambdaServer};

#[derive(Parser)]
#[command(about = "Lambda Invoke API stand-in with an echo handler (loopback only)")]
struct Cli {
    /// Access key id requests must be signed with.
    #[arg(long)]
    access_key_id: String,
    /// Secret access key requests must be signed with.
    #[arg(long)]
    secret_access_key: String,
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let server = LambdaServer::start(&cli.access_key_id, &cli.secret_access_key, |inv| {
        LambdaReply::Ok(serde_json::json!({"statusCode": 200, "body": inv.event["body"]}))
    })
    .await;
    println!("lambda-standin {}", server.endpoint());
    if let Err(e) = tokio::signal::ctrl_c().await {
        fatal(format!("waiting for Ctrl-C: {e}"));
    }
}
