//! The local runtime with real Node.js (aws-lambda-ric) and Python (awslambdaric) worker
//! processes, driven through the Invoke API it serves: payloads, function errors, timeouts,
//! warm reuse, the concurrency limit, the environment and the log.

mod common;

use common::{invoke, invoke_with, pid_of, process_exists, settings, spec, start, Lang};
use serde_json::json;
use std::collections::HashSet;
use switchboard_lambda::{Counts, LocalLambda, Settings};
use switchboard_testkit::eventually;

/// One test per language for a behaviour `async fn NAME(lang: Lang)`.
macro_rules! in_both_languages {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn node() {
                super::$name(super::Lang::Node).await
            }
            #[tokio::test]
            async fn python() {
                super::$name(super::Lang::Python).await
            }
        }
    )*};
}

in_both_languages!(
    the_handlers_result_is_the_invoke_response_and_its_context_is_lambdas,
    an_exception_is_a_function_error_as_lambda_reports_it,
    a_worker_past_its_timeout_is_killed_and_the_next_invocation_starts_a_new_one,
    a_worker_that_finished_serves_the_next_invocation,
    a_worker_that_exits_mid_invocation_is_a_runtime_exit_error,
    the_handler_sees_the_gateway_environment_its_own_variables_and_lambdas,
    handler_output_reaches_the_log_tagged_with_the_function_name,
);

async fn the_handlers_result_is_the_invoke_response_and_its_context_is_lambdas(lang: Lang) {
    let mut f = spec("greeter", lang);
    f.memory_mb = 512;
    let local = start(vec![f], settings()).await;
    // The SDKs send a client context as base64 JSON; the handler gets it in its context.
    let client_context = "eyJjdXN0b20iOiB7InRlbmFudCI6ICJhY21lIn19"; // {"custom": {"tenant": "acme"}}
    let answer = common::invoke_with(
        &local,
        "greeter",
        json!({"action": "whoami", "n": 7}).to_string().into_bytes(),
        &[("x-amz-client-context", client_context)],
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.header("x-amz-function-error"), None);
    assert_eq!(answer.header("x-amz-executed-version"), Some("$LATEST"));
    let body = &answer.body;
    assert_eq!(body["event"], json!({"action": "whoami", "n": 7}));
    assert_eq!(body["functionName"], "greeter");
    assert_eq!(body["clientCustom"], json!({"tenant": "acme"}));
    assert_eq!(body["functionVersion"], "$LATEST");
    assert_eq!(body["memoryLimitInMB"], "512");
    assert_eq!(body["logGroupName"], "/aws/lambda/greeter");
    assert_eq!(
        body["invokedFunctionArn"],
        "arn:aws:lambda:us-east-1:123456789012:function:greeter"
    );
    assert_eq!(
        body["awsRequestId"].as_str(),
        answer.header("x-amzn-requestid")
    );
    let remaining = body["remainingMs"].as_i64().expect("remaining time");
    assert!(
        remaining > 0 && remaining <= 3000,
        "remaining {remaining} ms of 3 s"
    );
    local.shutdown().await;
}

async fn an_exception_is_a_function_error_as_lambda_reports_it(lang: Lang) {
    let local = start(vec![spec("thrower", lang)], settings()).await;
    let answer = invoke(
        &local,
        "thrower",
        &json!({"action": "throw", "message": "boom"}),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.header("x-amz-function-error"), Some("Unhandled"));
    assert_eq!(answer.body["errorMessage"], "boom");
    let (error_type, trace) = match lang {
        Lang::Node => ("Error", "trace"),
        Lang::Python => ("ValueError", "stackTrace"),
    };
    assert_eq!(answer.body["errorType"], error_type);
    assert!(
        answer.body[trace].as_array().is_some_and(|t| !t.is_empty()),
        "{answer:?}"
    );
    // A handled exception leaves the worker warm, as on Lambda.
    let first = pid_of(&local, "thrower").await;
    assert_eq!(pid_of(&local, "thrower").await, first);
    local.shutdown().await;
}

async fn a_worker_past_its_timeout_is_killed_and_the_next_invocation_starts_a_new_one(lang: Lang) {
    let mut f = spec("sleeper", lang);
    f.timeout = common::SHORT_TIMEOUT;
    let local = start(vec![f], settings()).await;
    let first = pid_of(&local, "sleeper").await;
    let answer = invoke(&local, "sleeper", &json!({"action": "hang"})).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.header("x-amz-function-error"), Some("Unhandled"));
    assert_eq!(answer.body["errorType"], "Sandbox.Timedout");
    let request_id = answer.header("x-amzn-requestid").expect("request id");
    assert_eq!(
        answer.body["errorMessage"],
        format!("RequestId: {request_id} Error: Task timed out after 1.00 seconds")
    );
    eventually("the timed-out worker process is gone", || async {
        (!process_exists(first)).then_some(())
    })
    .await;
    let second = pid_of(&local, "sleeper").await;
    assert_ne!(
        second, first,
        "a new worker (cold start) serves the next invocation"
    );
    assert_eq!(local.status("sleeper").map(|c| c.live), Some(1));
    local.shutdown().await;
}

async fn a_worker_that_exits_mid_invocation_is_a_runtime_exit_error(lang: Lang) {
    let local = start(vec![spec("quitter", lang)], settings()).await;
    let first = pid_of(&local, "quitter").await;
    let answer = invoke(&local, "quitter", &json!({"action": "exit"})).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.header("x-amz-function-error"), Some("Unhandled"));
    assert_eq!(answer.body["errorType"], "Runtime.ExitError");
    let request_id = answer.header("x-amzn-requestid").expect("request id");
    assert_eq!(
        answer.body["errorMessage"],
        format!("RequestId: {request_id} Error: Runtime exited with error: exit status 3")
    );
    assert_ne!(
        pid_of(&local, "quitter").await,
        first,
        "a new worker took over"
    );
    local.shutdown().await;
}

async fn a_worker_that_finished_serves_the_next_invocation(lang: Lang) {
    let local = start(vec![spec("warm", lang)], settings()).await;
    assert_eq!(
        local.status("warm").map(|c| c.live),
        Some(0),
        "no worker before the first call"
    );
    let first = pid_of(&local, "warm").await;
    let second = pid_of(&local, "warm").await;
    assert_eq!(first, second);
    assert_eq!(local.status("warm").map(|c| c.live), Some(1));
    local.shutdown().await;
    assert!(!process_exists(first), "shutdown kills the workers");
}

async fn the_handler_sees_the_gateway_environment_its_own_variables_and_lambdas(lang: Lang) {
    let mut f = spec("envy", lang);
    f.memory_mb = 256;
    f.environment
        .insert("TABLE_NAME".into(), "connections".into());
    let code_dir = std::fs::canonicalize(&f.code_dir).expect("code dir");
    let local = start(
        vec![f],
        Settings {
            region: "eu-west-2".into(),
            ..settings()
        },
    )
    .await;
    let names = [
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
        "TABLE_NAME",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_LAMBDA_RUNTIME_API",
        "AWS_EXECUTION_ENV",
        "LAMBDA_TASK_ROOT",
        "_HANDLER",
        "TZ",
        "PATH",
    ];
    let answer = invoke(&local, "envy", &json!({"action": "env", "names": names})).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let env = &answer.body;
    assert_eq!(env["AWS_REGION"], "eu-west-2");
    assert_eq!(env["AWS_DEFAULT_REGION"], "eu-west-2");
    assert_eq!(env["TABLE_NAME"], "connections");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "envy");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
    assert_eq!(env["AWS_LAMBDA_LOG_GROUP_NAME"], "/aws/lambda/envy");
    assert!(env["AWS_LAMBDA_LOG_STREAM_NAME"]
        .as_str()
        .is_some_and(|s| s.contains("/[$LATEST]")));
    assert!(env["AWS_LAMBDA_RUNTIME_API"]
        .as_str()
        .is_some_and(|s| s.starts_with("127.0.0.1:")));
    assert_eq!(
        env["AWS_EXECUTION_ENV"],
        format!("AWS_Lambda_{}", lang.runtime().identifier)
    );
    assert_eq!(env["LAMBDA_TASK_ROOT"], code_dir.to_string_lossy().as_ref());
    assert_eq!(env["_HANDLER"], "app.handler");
    assert_eq!(env["TZ"], ":UTC");
    // Inherited from the process that runs the runtime (the gateway).
    assert_eq!(env["PATH"].as_str(), std::env::var("PATH").ok().as_deref());
    let whoami = invoke(&local, "envy", &json!({"action": "whoami"})).await;
    assert_eq!(
        whoami.body["invokedFunctionArn"],
        "arn:aws:lambda:eu-west-2:123456789012:function:envy"
    );
    local.shutdown().await;
}

async fn handler_output_reaches_the_log_tagged_with_the_function_name(lang: Lang) {
    common::capture_logs();
    let name = format!("logger-{}", lang.dir());
    let local = start(vec![spec(&name, lang)], settings()).await;
    let marker = format!("marker-{}-{}", lang.dir(), std::process::id());
    let answer = invoke(&local, &name, &json!({"action": "log", "marker": marker})).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let tag = format!("function={name}");
    eventually(
        "the handler's stdout line in the log, tagged with its function",
        || {
            let logs = common::logs();
            let found = logs.lines().any(|l| {
                l.contains(&marker) && l.contains(&tag) && l.contains("stream=\"stdout\"")
            });
            async move { found.then_some(()) }
        },
    )
    .await;
    local.shutdown().await;
}

#[tokio::test]
async fn the_concurrency_limit_caps_workers_queues_the_rest_and_refuses_past_the_queue() {
    let mut f = spec("gated", Lang::Node);
    f.concurrency = Some(2);
    // Long enough that only the gate decides when the handlers return.
    f.timeout = std::time::Duration::from_secs(60);
    let local = std::sync::Arc::new(
        start(
            vec![f],
            Settings {
                max_queued: 1,
                ..settings()
            },
        )
        .await,
    );
    let gate = std::env::temp_dir().join(format!("switchboard-lambda-gate-{}", std::process::id()));
    let _ = std::fs::remove_file(&gate);
    let event = json!({"action": "gate", "file": gate.to_string_lossy()});
    let calls: Vec<_> = (0..3)
        .map(|_| {
            let local = std::sync::Arc::clone(&local);
            let event = event.clone();
            tokio::spawn(async move { invoke(&local, "gated", &event).await })
        })
        .collect();
    eventually("two busy workers and one invocation waiting", || {
        let status = local.status("gated");
        async move {
            (status
                == Some(Counts {
                    live: 2,
                    idle: 0,
                    pending: 1,
                    inflight: 3,
                }))
            .then_some(())
        }
    })
    .await;
    let refused = invoke(&local, "gated", &json!({"action": "whoami"})).await;
    assert_eq!(refused.status, 429, "{refused:?}");
    assert_eq!(
        refused.header("x-amzn-errortype"),
        Some("TooManyRequestsException")
    );
    assert_eq!(
        refused.body["Reason"],
        "ReservedFunctionConcurrentInvocationLimitExceeded"
    );
    std::fs::write(&gate, b"open").expect("open the gate");
    let mut pids = HashSet::new();
    for call in calls {
        let answer = call.await.expect("invocation task");
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(answer.header("x-amz-function-error"), None, "{answer:?}");
        pids.insert(answer.body["pid"].as_u64().expect("pid"));
    }
    let _ = std::fs::remove_file(&gate);
    assert_eq!(
        pids.len(),
        2,
        "three invocations ran on exactly two workers"
    );
    assert_eq!(local.status("gated").map(|c| c.live), Some(2));
}

#[tokio::test]
async fn a_handler_that_cannot_load_is_an_init_error_and_the_next_call_retries() {
    let local = start(
        vec![common::spec_in("broken", Lang::Node, "broken")],
        settings(),
    )
    .await;
    for _ in 0..2 {
        let answer = invoke(&local, "broken", &json!({})).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(answer.header("x-amz-function-error"), Some("Unhandled"));
        assert_eq!(answer.body["errorType"], "Runtime.ImportModuleError");
        assert!(answer.body["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("a-package-that-is-not-installed")));
    }
    local.shutdown().await;
}

#[tokio::test]
async fn unknown_functions_versions_and_bad_payloads_get_lambdas_api_errors() {
    let local = start(vec![spec("known", Lang::Python)], settings()).await;
    let missing = invoke(&local, "nope", &json!({})).await;
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.header("x-amzn-errortype"),
        Some("ResourceNotFoundException")
    );
    assert_eq!(
        missing.body["Message"],
        "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope"
    );
    let version = invoke(&local, "known:7", &json!({})).await;
    assert_eq!(version.status, 404, "{version:?}");
    let latest = invoke(&local, "known:$LATEST", &json!({"action": "whoami"})).await;
    assert_eq!(
        latest.body["invokedFunctionArn"],
        "arn:aws:lambda:us-east-1:123456789012:function:known:$LATEST"
    );
    let arn = "arn:aws:lambda:us-east-1:123456789012:function:known";
    assert_eq!(invoke(&local, arn, &json!({})).await.status, 200);
    let bad = invoke_with(&local, "known", b"{not json".to_vec(), &[]).await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        bad.header("x-amzn-errortype"),
        Some("InvalidRequestContentException")
    );
    let too_big = invoke_with(
        &local,
        "known",
        vec![b' '; switchboard_lambda::MAX_REQUEST_BYTES + 1],
        &[],
    )
    .await;
    assert_eq!(too_big.status, 413);
    let dry = invoke_with(
        &local,
        "known",
        b"{}".to_vec(),
        &[("x-amz-invocation-type", "DryRun")],
    )
    .await;
    assert_eq!(dry.status, 204);
    let event = invoke_with(
        &local,
        "known",
        b"{}".to_vec(),
        &[("x-amz-invocation-type", "Event")],
    )
    .await;
    assert_eq!(event.status, 202);
    local.shutdown().await;
}

#[tokio::test]
async fn missing_runtimes_and_invalid_functions_are_refused_at_start_with_the_fix() {
    let no_ric = LocalLambda::start(vec![spec("n", Lang::Node)], Settings::default())
        .await
        .err()
        .expect("refused");
    assert!(no_ric.to_string().contains("aws-lambda-ric"), "{no_ric}");
    let no_python = LocalLambda::start(
        vec![spec("p", Lang::Python)],
        Settings {
            python: "/nonexistent/python3".into(),
            ..settings()
        },
    )
    .await
    .err()
    .expect("refused");
    assert!(
        no_python.to_string().contains("awslambdaric"),
        "{no_python}"
    );
    let mut bad = spec("bad name", Lang::Node);
    bad.code_dir = "/nonexistent".into();
    let invalid = LocalLambda::start(vec![bad], settings())
        .await
        .err()
        .expect("refused");
    assert!(invalid.to_string().contains("bad name"), "{invalid}");
    let public = LocalLambda::start(
        vec![spec("n", Lang::Node)],
        Settings {
            invoke_listen: "0.0.0.0:0".parse().expect("addr"),
            ..settings()
        },
    )
    .await
    .err()
    .expect("refused");
    assert!(public.to_string().contains("loopback"), "{public}");
}
