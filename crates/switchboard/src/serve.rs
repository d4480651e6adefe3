//! `serve` and `validate`: loading the file, running the gateway, and the signals.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use switchboard_core::config::Config;
use switchboard_gateway::Gateway;

/// The built-in demo API served when there is no configuration file.
pub const DEMO_CONFIG: &str = include_str!("../../../examples/demo/switchboard.toml");
/// The configuration file looked for when `--config` is not given.
const DEFAULT_CONFIG: &str = "switchboard.toml";

/// `switchboard validate`.
pub fn validate(path: &Path) -> ExitCode {
    match Config::load(path).map(|c| switchboard_gateway::runtime::Runtime::build(c, None)) {
        Ok(Ok(_)) => {
            println!("{}: ok", path.display());
            ExitCode::SUCCESS
        }
        Ok(Err(e)) => {
            eprintln!("{}: {e}", path.display());
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

/// `switchboard serve`.
pub async fn serve(
    config_path: Option<PathBuf>,
    listen: Option<String>,
    management_listen: Option<String>,
) -> ExitCode {
    let path = config_path.or_else(|| {
        Path::new(DEFAULT_CONFIG)
            .exists()
            .then(|| PathBuf::from(DEFAULT_CONFIG))
    });
    let loaded = match &path {
        Some(p) => Config::load(p),
        None => Config::from_toml_str(DEMO_CONFIG, "<built-in demo>"),
    };
    let mut config = match loaded {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(listen) = listen {
        config.server.listen = listen;
    }
    if let Some(listen) = management_listen {
        config.management.listen = listen;
    }
    let drain = Duration::from_secs(config.server.limits.drain_seconds);
    // Installed before anything is printed: a signal sent as soon as the URL appears is ours.
    let signals = Signals::install();
    let apis: Vec<(String, Vec<String>)> = config
        .apis
        .iter()
        .map(|(id, api)| (id.clone(), api.stages.keys().cloned().collect()))
        .collect();
    let gateway = match Gateway::start(config).await {
        Ok(g) => g,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    // With one API the short AWS-shaped URL works too; print the one a user would type.
    let url = |api: &str, stage: &str| {
        if apis.len() == 1 {
            gateway.url(api, stage).replace(&format!("/{api}/"), "/")
        } else {
            gateway.url(api, stage)
        }
    };
    for (api, stages) in &apis {
        for stage in stages {
            println!("listening on {}", url(api, stage));
        }
    }
    println!("management API on http://{}", gateway.mgmt_addr);
    if path.is_none() {
        if let Some((api, stages)) = apis.first() {
            let stage = stages.first().map(String::as_str).unwrap_or("dev");
            let url = url(api, stage);
            println!("No configuration file: serving the built-in demo API. Try it:");
            println!("  wscat -c {url}        (npm i -g wscat)");
            println!("  websocat {url}");
            println!("then send: hello   or   {{\"action\":\"whoami\"}}");
        }
    }
    wait_for_signals(signals, &gateway, path.as_deref()).await;
    tracing::info!("shutting down: closing connections with 1001");
    if gateway.shutdown(drain).await {
        ExitCode::SUCCESS
    } else {
        tracing::warn!(
            ?drain,
            "drain time ran out before every $disconnect finished"
        );
        ExitCode::SUCCESS
    }
}

/// SIGTERM, SIGINT and SIGHUP streams.
#[cfg(unix)]
struct Signals(
    Option<(
        tokio::signal::unix::Signal,
        tokio::signal::unix::Signal,
        tokio::signal::unix::Signal,
    )>,
);

#[cfg(unix)]
impl Signals {
    fn install() -> Self {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) {
            (Ok(term), Ok(int), Ok(hup)) => Self(Some((term, int, hup))),
            _ => Self(None),
        }
    }
}

#[cfg(unix)]
async fn wait_for_signals(
    signals: Signals,
    gateway: &switchboard_gateway::GatewayHandle,
    path: Option<&Path>,
) {
    let Some((mut term, mut int, mut hup)) = signals.0 else {
        tracing::error!("cannot install signal handlers; waiting for Ctrl-C");
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    loop {
        tokio::select! {
            _ = term.recv() => return,
            _ = int.recv() => return,
            _ = hup.recv() => reload(gateway, path),
        }
    }
}

#[cfg(not(unix))]
struct Signals;

#[cfg(not(unix))]
impl Signals {
    fn install() -> Self {
        Self
    }
}

#[cfg(not(unix))]
async fn wait_for_signals(
    _signals: Signals,
    _gateway: &switchboard_gateway::GatewayHandle,
    _path: Option<&Path>,
) {
    let _ = tokio::signal::ctrl_c().await;
}

/// SIGHUP: a bad file is reported and the running configuration stays.
fn reload(gateway: &switchboard_gateway::GatewayHandle, path: Option<&Path>) {
    let Some(path) = path else {
        tracing::warn!("SIGHUP ignored: serving the built-in demo, there is no file to reload");
        return;
    };
    match Config::load(path) {
        Ok(config) => match gateway.reload(config) {
            Ok(()) => tracing::info!(file = %path.display(), "reloaded"),
            Err(e) => {
                tracing::error!(error = %e, "reload refused; keeping the running configuration")
            }
        },
        Err(e) => tracing::error!(error = %e, "reload refused; keeping the running configuration"),
    }
}
