//! `serve` and `validate`: loading the file (or the template and its settings file), running
//! the gateway, and the signals.

use crate::cli::TemplateArgs;
use crate::import::TemplateSource;
use crate::node::{Node, NodeError};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;
use switchboard_core::config::{Checked, Config, ManagementAuth, Problem};
use switchboard_core::import::LambdaFunction;
use switchboard_gateway::runtime::Runtime;
use switchboard_gateway::server::StartError;

/// The built-in demo API served when there is no configuration file.
pub const DEMO_CONFIG: &str = include_str!("../../../examples/demo/switchboard.toml");
/// The configuration file looked for when `--config` is not given.
pub(crate) const DEFAULT_CONFIG: &str = "switchboard.toml";
/// How the built-in demo is named in messages.
const DEMO_NAME: &str = "<built-in demo>";

/// Where a command's configuration comes from.
enum Source {
    /// A file named with `--config` (or `validate FILE`).
    Named(PathBuf),
    /// `./switchboard.toml`, found without being named.
    Implicit(PathBuf),
    /// No file: the built-in demo.
    Demo,
    /// A template (`--template`), with its settings file if one was named.
    Template(TemplateSource),
}

impl Source {
    /// The file named, else `./switchboard.toml` when it exists, else the demo.
    fn pick(named: Option<PathBuf>) -> Self {
        match named {
            Some(path) => Source::Named(path),
            None if Path::new(DEFAULT_CONFIG).exists() => {
                Source::Implicit(PathBuf::from(DEFAULT_CONFIG))
            }
            None => Source::Demo,
        }
    }

    /// A template when one is given, else [`Source::pick`].
    fn with_template(named: Option<PathBuf>, template: &TemplateArgs) -> Result<Self, String> {
        match &template.template {
            Some(path) => Ok(Source::Template(TemplateSource::new(
                path.clone(),
                named,
                template,
            )?)),
            None => Ok(Source::pick(named)),
        }
    }

    /// The configuration file, if there is one.
    fn path(&self) -> Option<&Path> {
        match self {
            Source::Named(path) | Source::Implicit(path) => Some(path),
            Source::Demo => None,
            Source::Template(template) => template.settings.as_deref(),
        }
    }

    fn name(&self) -> String {
        match self {
            Source::Template(template) => template.path.display().to_string(),
            _ => self
                .path()
                .map_or_else(|| DEMO_NAME.to_owned(), |p| p.display().to_string()),
        }
    }

    /// Reads and checks the configuration: the linter (every problem of the file), then what
    /// this build of the gateway can serve. `validate` and `serve` both refuse exactly what this
    /// refuses; the lines returned say why.
    fn check(&self) -> Result<Loaded, Vec<String>> {
        let lines = |e: switchboard_core::config::ConfigError| {
            e.problems
                .iter()
                .map(Problem::to_string)
                .collect::<Vec<_>>()
        };
        let (checked, functions) = match self {
            Source::Template(template) => {
                let loaded = template.check()?;
                (loaded.checked, loaded.imported.functions)
            }
            _ => {
                let checked = match self.path() {
                    Some(path) => Config::check_file(path),
                    None => Config::check_toml_str(DEMO_CONFIG, DEMO_NAME),
                }
                .map_err(lines)?;
                (checked, Vec::new())
            }
        };
        // Compiling templates, schemas and URIs is what `serve` does first; nothing is bound.
        Runtime::build(checked.config.clone(), None)
            .map_err(|e| vec![format!("{}: {e}", self.name())])?;
        // A template's functions must run locally unless they are invoked elsewhere.
        crate::local_functions::plan(&functions, &checked.config)
            .map_err(|e| vec![format!("{}: {e}", self.name())])?;
        Ok(Loaded { checked, functions })
    }
}

/// A configuration that can be served: the checked configuration and, from a template, the
/// Lambda functions it declares.
struct Loaded {
    checked: Checked,
    functions: Vec<LambdaFunction>,
}

/// What the gateway is started with.
///
/// The local Lambda runtime hooks in here: `functions` are the Lambda functions the template
/// declares (empty for a TOML configuration), with their runtime, handler, code location,
/// environment, timeout and memory. The gateway invokes every Lambda integration and authorizer
/// through the Lambda Invoke API at `config.aws.endpoints["lambda"]`, naming the function by the
/// `function:NAME` of its ARN, which is [`LambdaFunction::name`]; a local runtime serves that API
/// for these functions and points the endpoint at itself before the gateway starts.
pub struct ServePlan {
    /// The configuration to serve (the template's APIs merged in).
    pub config: Config,
    /// The functions the template declares.
    pub functions: Vec<LambdaFunction>,
}

/// `switchboard validate [FILE] [--template T]`: every problem on stderr; exit 1 when the file
/// (or the template with its settings file) cannot serve.
pub fn validate(path: Option<PathBuf>, template: &TemplateArgs) -> ExitCode {
    let source = match &template.template {
        Some(_) => match Source::with_template(path, template) {
            Ok(source) => source,
            Err(line) => {
                eprintln!("{line}");
                return ExitCode::FAILURE;
            }
        },
        // Unlike serve, there is no demo to fall back to: a missing default file is reported.
        None => Source::Named(path.unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG))),
    };
    match source.check() {
        Ok(Loaded { checked, .. }) => {
            for warning in &checked.warnings {
                eprintln!("{warning}");
            }
            match checked.warnings.len() {
                0 => println!("{}: ok", source.name()),
                1 => println!("{}: ok, 1 warning", source.name()),
                n => println!("{}: ok, {n} warnings", source.name()),
            }
            ExitCode::SUCCESS
        }
        Err(lines) => {
            for line in lines {
                eprintln!("{line}");
            }
            ExitCode::FAILURE
        }
    }
}

/// `switchboard serve`.
pub async fn serve(
    config_path: Option<PathBuf>,
    template: TemplateArgs,
    listen: Option<String>,
    management_listen: Option<String>,
    lambda_ric: Option<PathBuf>,
) -> ExitCode {
    let source = match Source::with_template(config_path, &template) {
        Ok(source) => source,
        Err(line) => {
            eprintln!("{line}");
            return ExitCode::FAILURE;
        }
    };
    let Loaded { checked, functions } = match source.check() {
        Ok(loaded) => loaded,
        Err(lines) => {
            for line in lines {
                eprintln!("{line}");
            }
            return ExitCode::FAILURE;
        }
    };
    announce_source(&source);
    for warning in &checked.warnings {
        tracing::warn!("{warning}");
    }
    let mut plan = ServePlan {
        config: checked.config,
        functions,
    };
    let config = &mut plan.config;
    if let Some(listen) = listen {
        config.server.listen = listen;
    }
    let management_overridden = management_listen.is_some();
    if let Some(listen) = management_listen {
        config.management.listen = listen;
    }
    let open_management = config.management.auth == ManagementAuth::None;
    let local_lambda =
        match crate::local_functions::start(&plan.functions, config, lambda_ric.as_deref()).await {
            Ok(local) => local,
            Err(e) => {
                eprintln!("{}: {e}", source.name());
                return ExitCode::FAILURE;
            }
        };
    let local_endpoint = local_lambda.as_ref().map(|local| local.endpoint());
    announce_functions(&plan);
    // Installed before anything is printed: a signal sent as soon as the URL appears is ours.
    let signals = Signals::install();
    let apis: Vec<(String, Vec<String>, usize)> = plan
        .config
        .apis
        .iter()
        .map(|(id, api)| {
            (
                id.clone(),
                api.stages.keys().cloned().collect(),
                api.routes.len(),
            )
        })
        .collect();
    let connections_on_server = plan.config.management.on_server_listener;
    if matches!(source, Source::Template(_)) && plan.config.server.tls.is_none() {
        tracing::info!(
            "no [server.tls] in the settings: @connections is served on the WebSocket listener \
             over plain HTTP, so handlers that call https://{{domainName}}/{{stage}} cannot reach \
             it; add a certificate (docs/templates.md#lambda-functions)"
        );
    }
    let node = match Node::start(plan.config).await {
        Ok(node) => node,
        Err(NodeError::Gateway(StartError::Build(e))) => {
            eprintln!("{}: {e}", source.name());
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let gateway = &node.gateway;
    // The file's own address was checked with the file; an override is only known now.
    if management_overridden && open_management && !gateway.mgmt_addr.ip().is_loopback() {
        tracing::warn!(
            "the management API on {} accepts calls without authentication from anyone who can \
             reach it",
            gateway.mgmt_addr
        );
    }
    // With one API the short AWS-shaped URL works too; print the one a user would type.
    let url = |api: &str, stage: &str| {
        if apis.len() == 1 {
            gateway.url(api, stage).replace(&format!("/{api}/"), "/")
        } else {
            gateway.url(api, stage)
        }
    };
    for (api, stages, routes) in &apis {
        for stage in stages {
            let url = url(api, stage);
            tracing::info!("API {api}, stage {stage}: {url} ({routes} routes)");
            println!("listening on {url}");
        }
    }
    // Before the management line, which readers of this output take as the last one.
    if connections_on_server {
        let scheme = if gateway.tls { "https" } else { "http" };
        println!(
            "@connections also on {scheme}://{}/{{stage}}/@connections/{{connectionId}}",
            gateway.ws_addr
        );
    }
    println!("management API on {}", gateway.mgmt_url());
    if let (Source::Demo, Some((api, stages, _))) = (&source, apis.first()) {
        let stage = stages.first().map(String::as_str).unwrap_or("dev");
        let url = url(api, stage);
        println!("No configuration file: serving the built-in demo API. Try it:");
        println!("  wscat -c {url}        (npm i -g wscat)");
        println!("  websocat {url}");
        println!("then send: hello   or   {{\"action\":\"whoami\"}}");
    }
    let claimed = tokio::select! {
        _ = wait_for_signals(signals, gateway, &source, local_endpoint.as_deref()) => false,
        _ = node.claimed() => true,
    };
    tracing::info!("shutting down: closing connections with 1001");
    // Read now: a reload may have changed it.
    let drain = Duration::from_secs(gateway.state.runtime.load().server.limits.drain_seconds);
    // The functions outlive the gateway: `$disconnect` integrations run during the drain.
    let stopped = node.stop(drain).await;
    if let Some(local) = local_lambda {
        local.shutdown().await;
    }
    if claimed {
        eprintln!(
            "error: this node was declared dead by its cluster (it could not renew its lease in \
             time) and has stopped; restart it to serve again"
        );
        return ExitCode::FAILURE;
    }
    if stopped {
        ExitCode::SUCCESS
    } else {
        tracing::warn!(
            ?drain,
            "drain time ran out before every $disconnect finished"
        );
        ExitCode::SUCCESS
    }
}

/// Logs which file is served, absolute, so a file picked up from the working directory is
/// never a surprise.
fn announce_source(source: &Source) {
    let absolute = |path: &Path| {
        std::fs::canonicalize(path)
            .unwrap_or_else(|_| path.to_owned())
            .display()
            .to_string()
    };
    match source {
        Source::Named(path) => tracing::info!("configuration loaded from {}", absolute(path)),
        Source::Implicit(path) => tracing::info!(
            "configuration loaded from {} (found in the current directory; --config names another file)",
            absolute(path)
        ),
        Source::Demo => tracing::info!(
            "no --config and no ./{DEFAULT_CONFIG}: serving the built-in demo API"
        ),
        Source::Template(template) => match &template.settings {
            Some(settings) => tracing::info!(
                "APIs loaded from the template {}, settings from {}",
                absolute(&template.path),
                absolute(settings)
            ),
            None => tracing::info!(
                "APIs loaded from the template {} (no --config: default settings)",
                absolute(&template.path)
            ),
        },
    }
}

/// Logs the functions a template declares and where they are invoked.
fn announce_functions(plan: &ServePlan) {
    if plan.functions.is_empty() {
        return;
    }
    let endpoint = plan
        .config
        .aws
        .endpoints
        .get("lambda")
        .cloned()
        .unwrap_or_else(|| format!("the AWS Lambda endpoint of {}", plan.config.aws.region));
    for function in &plan.functions {
        tracing::info!(
            "function {} ({}): invoked through the Lambda Invoke API at {endpoint}",
            function.name,
            function.logical_id
        );
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
    source: &Source,
    local_lambda: Option<&str>,
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
            _ = hup.recv() => reload(gateway, source, local_lambda),
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
    _source: &Source,
    _local_lambda: Option<&str>,
) {
    let _ = tokio::signal::ctrl_c().await;
}

/// SIGHUP: a bad file is reported and the running configuration stays. A template is read
/// again with its settings file; its functions keep running as they started (`local_lambda`,
/// the local runtime's Invoke API, stays the Lambda endpoint).
fn reload(
    gateway: &switchboard_gateway::GatewayHandle,
    source: &Source,
    local_lambda: Option<&str>,
) {
    if matches!(source, Source::Demo) {
        tracing::warn!("SIGHUP ignored: serving the built-in demo, there is no file to reload");
        return;
    }
    match source.check() {
        Ok(Loaded { mut checked, .. }) => {
            if let Some(endpoint) = local_lambda {
                if !checked.config.aws.endpoints.contains_key("lambda") {
                    tracing::info!(
                        "the template's functions keep running as they started: restart to apply \
                         changes to their definitions"
                    );
                    checked
                        .config
                        .aws
                        .endpoints
                        .insert("lambda".to_owned(), endpoint.to_owned());
                }
            }
            match gateway.reload(checked.config) {
                Ok(()) => {
                    for warning in &checked.warnings {
                        tracing::warn!("{warning}");
                    }
                    tracing::info!(file = %source.name(), "reloaded")
                }
                Err(e) => {
                    tracing::error!(error = %e, "reload refused; keeping the running configuration")
                }
            }
        }
        Err(lines) => tracing::error!(
            error = %lines.join("\n"),
            "reload refused; keeping the running configuration"
        ),
    }
}
