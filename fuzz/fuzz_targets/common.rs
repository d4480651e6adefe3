//! Helpers shared by the fuzz targets: cutting one input into fields, and fixed gateway
//! runtimes built once per process.
#![allow(dead_code)]

use std::sync::OnceLock;
use switchboard_core::config::Config;
use switchboard_gateway::runtime::Runtime;

/// The input's text cut at `\0` into at most `n` fields (missing fields are empty), so seeds
/// stay readable files and the fuzzer can grow any field independently.
pub fn fields(data: &[u8], n: usize) -> Vec<String> {
    let text = String::from_utf8_lossy(data);
    let mut out: Vec<String> = text.splitn(n, '\0').map(str::to_owned).collect();
    out.resize(n, String::new());
    out
}

/// Two APIs, `chat` and `game`, each with stages `dev` and `prod` and the lifecycle routes, a
/// `send` route and `$default`: enough for addressing by path, by host and route lookups.
const TWO_APIS: &str = r#"
[apis.chat]
routeSelectionExpression = "$request.body.action"
[apis.chat.stages.dev]
[apis.chat.stages.prod]
[apis.chat.routes."$connect"]
target = "integrations/m"
[apis.chat.routes."$disconnect"]
target = "integrations/m"
[apis.chat.routes."$default"]
target = "integrations/m"
[apis.chat.routes.send]
target = "integrations/m"
[apis.chat.integrations.m]
integrationType = "MOCK"

[apis.game]
routeSelectionExpression = "${request.body.type}-$request.body.v"
[apis.game.stages.dev]
[apis.game.routes."$default"]
target = "integrations/m"
[apis.game.integrations.m]
integrationType = "MOCK"
"#;

/// One API only (`chat`), where `/{stage}` addresses it whatever the host.
const ONE_API: &str = r#"
[apis.chat]
routeSelectionExpression = "$request.body.action"
[apis.chat.stages.dev]
[apis.chat.routes."$default"]
target = "integrations/m"
[apis.chat.integrations.m]
integrationType = "MOCK"
"#;

fn build(toml: &str) -> Runtime {
    let config = match Config::from_toml_str(toml, "fuzz.toml") {
        Ok(config) => config,
        Err(e) => panic!("the fuzz configuration is invalid: {e}"),
    };
    match Runtime::build(config, None) {
        Ok(runtime) => runtime,
        Err(e) => panic!("the fuzz runtime does not build: {e}"),
    }
}

/// The two-API runtime, built on first use.
pub fn two_apis() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| build(TWO_APIS))
}

/// The one-API runtime, built on first use.
pub fn one_api() -> &'static Runtime {
    static RUNTIME: OnceLock<Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| build(ONE_API))
}
