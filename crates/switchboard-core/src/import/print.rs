//! An imported template as `switchboard.toml` text: the `[apis]` tables in the model's key order
//! (tables sorted by key), each preceded by a comment naming the resource it came from, and the
//! declared functions as a closing comment. Values equal to their default are left out.
//!
//! Every struct is destructured without `..`, so a field added to the model fails to compile
//! here until it is printed.

use super::{FunctionCode, Imported, Origin};
use crate::config::{
    AccessLogSettings, ApiConfig, AuthorizerConfig, BinaryFrames, IntegrationConfig,
    IntegrationResponseConfig, IntegrationTlsConfig, JwtConfiguration, ModelConfig, RouteConfig,
    RouteRequestParameter, RouteResponseConfig, RouteSettings, StageConfig, StageLimits,
};
use std::collections::BTreeMap;
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table, Value};

/// The default integration timeout (not printed).
const DEFAULT_TIMEOUT_MILLIS: u64 = 29_000;

/// `switchboard.toml` text for `imported`, starting with `header` (comment lines, without `#`).
pub fn to_toml(imported: &Imported, header: &[String]) -> String {
    let mut document = DocumentMut::new();
    let mut apis = Table::new();
    apis.set_implicit(true);
    for (id, api) in &imported.config.apis {
        apis.insert(id, Item::Table(api_table(&imported.origins, id, api)));
    }
    document.insert("apis", Item::Table(apis));
    let mut out = String::new();
    for line in header {
        out.push_str(&comment_line(line));
    }
    let body = document.to_string();
    if header.is_empty() {
        out.push_str(body.trim_start_matches('\n'));
    } else {
        out.push_str(&body);
    }
    if !imported.functions.is_empty() {
        out.push_str(
            "\n# Functions the template declares. They are not part of this file: the gateway\n",
        );
        out.push_str(
            "# invokes each through the Lambda Invoke API at [aws.endpoints] lambda, by the\n",
        );
        out.push_str("# name in its ARN.\n");
        for f in &imported.functions {
            let mut parts = vec![format!("name {}", f.name)];
            if let Some(runtime) = &f.runtime {
                parts.push(format!("runtime {runtime}"));
            }
            if let Some(handler) = &f.handler {
                parts.push(format!("handler {handler}"));
            }
            match &f.code {
                Some(FunctionCode::Directory(p)) | Some(FunctionCode::Archive(p)) => {
                    parts.push(format!("code {}", p.display()))
                }
                Some(FunctionCode::Inline(_)) => parts.push("inline code".to_owned()),
                Some(FunctionCode::S3 { bucket, key }) => {
                    parts.push(format!("code s3://{bucket}/{key}"))
                }
                Some(FunctionCode::Image(image)) => parts.push(format!("image {image}")),
                None => {}
            }
            out.push_str(&comment_line(&format!(
                "  {}: {}",
                f.logical_id,
                parts.join(", ")
            )));
        }
    }
    out
}

fn comment_line(text: &str) -> String {
    let text = text.replace(['\n', '\r'], " ");
    if text.is_empty() {
        "#\n".to_owned()
    } else {
        format!("# {text}\n")
    }
}

/// A table with a `# from …` comment when `path` has a recorded origin.
fn table_at(origins: &[Origin], path: &[&str]) -> Table {
    let mut table = Table::new();
    let found = origins
        .iter()
        .filter(|o| {
            o.key_path
                .iter()
                .map(String::as_str)
                .eq(path.iter().copied())
        })
        .map(|o| format!("# from {}\n", o.label.replace(['\n', '\r'], " ")))
        .collect::<String>();
    table.decor_mut().set_prefix(format!("\n{found}"));
    table
}

/// A parent table that has no header of its own (`[apis.X.routes]`).
fn implicit() -> Table {
    let mut table = Table::new();
    table.set_implicit(true);
    table
}

fn set(table: &mut Table, key: &str, value: impl Into<Value>) {
    table.insert(key, Item::Value(value.into()));
}

fn set_opt(table: &mut Table, key: &str, value: &Option<String>) {
    if let Some(value) = value {
        set(table, key, value.as_str());
    }
}

fn set_true(table: &mut Table, key: &str, value: bool) {
    if value {
        set(table, key, true);
    }
}

fn strings(map: &BTreeMap<String, String>) -> InlineTable {
    let mut table = InlineTable::new();
    for (k, v) in map {
        table.insert(k, Value::from(v.as_str()));
    }
    table
}

fn set_map(table: &mut Table, key: &str, map: &BTreeMap<String, String>) {
    if !map.is_empty() {
        set(table, key, strings(map));
    }
}

fn string_array(items: &[String]) -> Array {
    items.iter().map(String::as_str).collect()
}

/// Enumerations in their wire spelling (`AWS_PROXY`), as the model reads them.
fn wire<T: std::fmt::Debug>(value: &T) -> String {
    // The variants are the wire names in CamelCase: AwsProxy → AWS_PROXY.
    let name = format!("{value:?}");
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

fn api_table(origins: &[Origin], id: &str, api: &ApiConfig) -> Table {
    let ApiConfig {
        name,
        protocol_type,
        route_selection_expression,
        api_key_selection_expression,
        description,
        tags,
        version,
        disable_execute_api_endpoint,
        disable_schema_validation,
        ip_address_type,
        stages,
        integrations,
        routes,
        authorizers,
        models,
        // Not a file's table: a file's stages serve the API itself.
        deployments: _,
    } = api;
    let mut table = table_at(origins, &["apis", id]);
    set_opt(&mut table, "name", name);
    if let Some(protocol) = protocol_type {
        set(&mut table, "protocolType", wire(protocol));
    }
    set(
        &mut table,
        "routeSelectionExpression",
        route_selection_expression.as_str(),
    );
    set_opt(
        &mut table,
        "apiKeySelectionExpression",
        api_key_selection_expression,
    );
    set_opt(&mut table, "description", description);
    set_map(&mut table, "tags", tags);
    set_opt(&mut table, "version", version);
    set_true(
        &mut table,
        "disableExecuteApiEndpoint",
        *disable_execute_api_endpoint,
    );
    set_true(
        &mut table,
        "disableSchemaValidation",
        *disable_schema_validation,
    );
    set_opt(&mut table, "ipAddressType", ip_address_type);

    let mut children = implicit();
    for (name, stage) in stages {
        children.insert(
            name,
            Item::Table(stage_table(origins, &["apis", id, "stages", name], stage)),
        );
    }
    if !stages.is_empty() {
        table.insert("stages", Item::Table(children));
    }
    let mut children = implicit();
    for (name, integration) in integrations {
        let path = ["apis", id, "integrations", name];
        children.insert(
            name,
            Item::Table(integration_table(origins, &path, integration)),
        );
    }
    if !integrations.is_empty() {
        table.insert("integrations", Item::Table(children));
    }
    let mut children = implicit();
    for (key, route) in routes {
        let path = ["apis", id, "routes", key];
        children.insert(key, Item::Table(route_table(origins, &path, route)));
    }
    if !routes.is_empty() {
        table.insert("routes", Item::Table(children));
    }
    let mut children = implicit();
    for (name, authorizer) in authorizers {
        let path = ["apis", id, "authorizers", name];
        children.insert(
            name,
            Item::Table(authorizer_table(origins, &path, authorizer)),
        );
    }
    if !authorizers.is_empty() {
        table.insert("authorizers", Item::Table(children));
    }
    let mut children = implicit();
    for (name, model) in models {
        let ModelConfig {
            content_type,
            schema,
        } = model;
        let mut t = table_at(origins, &["apis", id, "models", name]);
        set_opt(&mut t, "contentType", content_type);
        set(&mut t, "schema", schema.as_str());
        children.insert(name, Item::Table(t));
    }
    if !models.is_empty() {
        table.insert("models", Item::Table(children));
    }
    table
}

fn route_settings(settings: &RouteSettings) -> InlineTable {
    let RouteSettings {
        throttling_burst_limit,
        throttling_rate_limit,
        logging_level,
        data_trace_enabled,
        detailed_metrics_enabled,
    } = settings;
    let mut t = InlineTable::new();
    if let Some(v) = throttling_burst_limit {
        t.insert("throttlingBurstLimit", Value::from(i64::from(*v)));
    }
    if let Some(v) = throttling_rate_limit {
        t.insert("throttlingRateLimit", Value::from(*v));
    }
    if let Some(v) = logging_level {
        t.insert("loggingLevel", Value::from(wire(v)));
    }
    if let Some(v) = data_trace_enabled {
        t.insert("dataTraceEnabled", Value::from(*v));
    }
    if let Some(v) = detailed_metrics_enabled {
        t.insert("detailedMetricsEnabled", Value::from(*v));
    }
    t
}

fn stage_table(origins: &[Origin], path: &[&str], stage: &StageConfig) -> Table {
    let StageConfig {
        stage_name,
        stage_variables,
        default_route_settings,
        route_settings: per_route,
        access_log_settings,
        limits,
        pushes_during_connect,
        event_extensions,
        description,
        tags,
        auto_deploy,
        deployment_id,
        client_certificate_id,
    } = stage;
    let mut t = table_at(origins, path);
    set_opt(&mut t, "stageName", stage_name);
    set_map(&mut t, "stageVariables", stage_variables);
    if *pushes_during_connect {
        set(&mut t, "pushesDuringConnect", true);
    }
    if *event_extensions {
        set(&mut t, "eventExtensions", true);
    }
    if *default_route_settings != RouteSettings::default() {
        set(
            &mut t,
            "defaultRouteSettings",
            route_settings(default_route_settings),
        );
    }
    if !per_route.is_empty() {
        let mut all = InlineTable::new();
        for (key, settings) in per_route {
            all.insert(key, Value::from(route_settings(settings)));
        }
        set(&mut t, "routeSettings", all);
    }
    if let Some(AccessLogSettings {
        format,
        destination,
        destination_arn,
    }) = access_log_settings
    {
        let mut log = InlineTable::new();
        log.insert("format", Value::from(format.as_str()));
        log.insert("destination", Value::from(destination.as_str()));
        if let Some(arn) = destination_arn {
            log.insert("destinationArn", Value::from(arn.as_str()));
        }
        set(&mut t, "accessLogSettings", log);
    }
    if *limits != StageLimits::default() {
        let StageLimits {
            idle_timeout_seconds,
            max_connection_seconds,
            max_frame_bytes,
            max_message_bytes,
            binary_frames,
        } = limits;
        let mut l = InlineTable::new();
        l.insert(
            "idleTimeoutSeconds",
            Value::from(to_i64(*idle_timeout_seconds)),
        );
        l.insert(
            "maxConnectionSeconds",
            Value::from(to_i64(*max_connection_seconds)),
        );
        l.insert(
            "maxFrameBytes",
            Value::from(to_i64(*max_frame_bytes as u64)),
        );
        l.insert(
            "maxMessageBytes",
            Value::from(to_i64(*max_message_bytes as u64)),
        );
        let frames = match binary_frames {
            BinaryFrames::Reject => "reject",
            BinaryFrames::Accept => "accept",
        };
        l.insert("binaryFrames", Value::from(frames));
        set(&mut t, "limits", l);
    }
    set_opt(&mut t, "description", description);
    set_map(&mut t, "tags", tags);
    set_true(&mut t, "autoDeploy", *auto_deploy);
    set_opt(&mut t, "deploymentId", deployment_id);
    set_opt(&mut t, "clientCertificateId", client_certificate_id);
    t
}

fn to_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn integration_table(origins: &[Origin], path: &[&str], integration: &IntegrationConfig) -> Table {
    let IntegrationConfig {
        integration_type,
        integration_uri,
        integration_method,
        timeout_in_millis,
        request_parameters,
        request_templates,
        template_selection_expression,
        passthrough_behavior,
        content_handling_strategy,
        integration_responses,
        credentials,
        description,
        connection_type,
        connection_id,
        credentials_arn,
        payload_format_version,
        integration_subtype,
        tls_config,
    } = integration;
    let mut t = table_at(origins, path);
    set(&mut t, "integrationType", wire(integration_type));
    set_opt(&mut t, "integrationUri", integration_uri);
    set_opt(&mut t, "integrationMethod", integration_method);
    if *timeout_in_millis != DEFAULT_TIMEOUT_MILLIS {
        set(&mut t, "timeoutInMillis", to_i64(*timeout_in_millis));
    }
    set_map(&mut t, "requestParameters", request_parameters);
    set_map(&mut t, "requestTemplates", request_templates);
    set_opt(
        &mut t,
        "templateSelectionExpression",
        template_selection_expression,
    );
    if let Some(v) = passthrough_behavior {
        set(&mut t, "passthroughBehavior", wire(v));
    }
    if let Some(v) = content_handling_strategy {
        set(&mut t, "contentHandlingStrategy", wire(v));
    }
    if let Some(credentials) = credentials {
        let crate::config::AwsCredentials {
            access_key_id,
            secret_access_key,
            session_token,
        } = credentials;
        let mut c = InlineTable::new();
        c.insert("accessKeyId", Value::from(access_key_id.as_str()));
        c.insert("secretAccessKey", Value::from(secret_access_key.as_str()));
        if let Some(token) = session_token {
            c.insert("sessionToken", Value::from(token.as_str()));
        }
        set(&mut t, "credentials", c);
    }
    set_opt(&mut t, "description", description);
    if let Some(v) = connection_type {
        set(&mut t, "connectionType", wire(v));
    }
    set_opt(&mut t, "connectionId", connection_id);
    set_opt(&mut t, "credentialsArn", credentials_arn);
    set_opt(&mut t, "payloadFormatVersion", payload_format_version);
    set_opt(&mut t, "integrationSubtype", integration_subtype);
    if let Some(IntegrationTlsConfig {
        server_name_to_verify,
    }) = tls_config
    {
        let mut tls = InlineTable::new();
        if let Some(name) = server_name_to_verify {
            tls.insert("serverNameToVerify", Value::from(name.as_str()));
        }
        set(&mut t, "tlsConfig", tls);
    }
    if !integration_responses.is_empty() {
        let mut responses = implicit();
        for (key, response) in integration_responses {
            let IntegrationResponseConfig {
                integration_response_key,
                response_parameters,
                response_templates,
                template_selection_expression,
                content_handling_strategy,
            } = response;
            let mut full: Vec<&str> = path.to_vec();
            full.extend(["integrationResponses", key.as_str()]);
            let mut r = table_at(origins, &full);
            set_opt(&mut r, "integrationResponseKey", integration_response_key);
            set_map(&mut r, "responseParameters", response_parameters);
            set_map(&mut r, "responseTemplates", response_templates);
            set_opt(
                &mut r,
                "templateSelectionExpression",
                template_selection_expression,
            );
            if let Some(v) = content_handling_strategy {
                set(&mut r, "contentHandlingStrategy", wire(v));
            }
            responses.insert(key, Item::Table(r));
        }
        t.insert("integrationResponses", Item::Table(responses));
    }
    t
}

fn parameters(map: &BTreeMap<String, RouteRequestParameter>) -> InlineTable {
    let mut all = InlineTable::new();
    for (name, RouteRequestParameter { required }) in map {
        let mut p = InlineTable::new();
        p.insert("required", Value::from(*required));
        all.insert(name, Value::from(p));
    }
    all
}

fn route_table(origins: &[Origin], path: &[&str], route: &RouteConfig) -> Table {
    let RouteConfig {
        route_key,
        operation_name,
        authorization_scopes,
        route_responses,
        target,
        route_response_selection_expression,
        authorization_type,
        authorizer_id,
        api_key_required,
        request_parameters,
        model_selection_expression,
        request_models,
    } = route;
    let mut t = table_at(origins, path);
    set_opt(&mut t, "routeKey", route_key);
    set_opt(&mut t, "target", target);
    set_opt(
        &mut t,
        "routeResponseSelectionExpression",
        route_response_selection_expression,
    );
    if let Some(v) = authorization_type {
        set(&mut t, "authorizationType", wire(v));
    }
    set_opt(&mut t, "authorizerId", authorizer_id);
    set_true(&mut t, "apiKeyRequired", *api_key_required);
    if !request_parameters.is_empty() {
        set(&mut t, "requestParameters", parameters(request_parameters));
    }
    set_opt(
        &mut t,
        "modelSelectionExpression",
        model_selection_expression,
    );
    set_map(&mut t, "requestModels", request_models);
    set_opt(&mut t, "operationName", operation_name);
    if !authorization_scopes.is_empty() {
        set(
            &mut t,
            "authorizationScopes",
            string_array(authorization_scopes),
        );
    }
    if !route_responses.is_empty() {
        let mut responses = implicit();
        for (key, response) in route_responses {
            let RouteResponseConfig {
                route_response_key,
                model_selection_expression,
                response_models,
                response_parameters,
            } = response;
            let mut full: Vec<&str> = path.to_vec();
            full.extend(["routeResponses", key.as_str()]);
            let mut r = table_at(origins, &full);
            set_opt(&mut r, "routeResponseKey", route_response_key);
            set_opt(
                &mut r,
                "modelSelectionExpression",
                model_selection_expression,
            );
            set_map(&mut r, "responseModels", response_models);
            if !response_parameters.is_empty() {
                set(
                    &mut r,
                    "responseParameters",
                    parameters(response_parameters),
                );
            }
            responses.insert(key, Item::Table(r));
        }
        t.insert("routeResponses", Item::Table(responses));
    }
    t
}

fn authorizer_table(origins: &[Origin], path: &[&str], authorizer: &AuthorizerConfig) -> Table {
    let AuthorizerConfig {
        authorizer_type,
        authorizer_uri,
        identity_source,
        jwt_configuration,
        name,
        authorizer_result_ttl_in_seconds,
        authorizer_credentials_arn,
        authorizer_payload_format_version,
        enable_simple_responses,
        identity_validation_expression,
    } = authorizer;
    let mut t = table_at(origins, path);
    set(&mut t, "authorizerType", wire(authorizer_type));
    set_opt(&mut t, "authorizerUri", authorizer_uri);
    if !identity_source.is_empty() {
        set(&mut t, "identitySource", string_array(identity_source));
    }
    if let Some(JwtConfiguration {
        issuer,
        audience,
        jwks_uri,
        jwks_file,
    }) = jwt_configuration
    {
        let mut j = InlineTable::new();
        j.insert("issuer", Value::from(issuer.as_str()));
        if !audience.is_empty() {
            j.insert("audience", Value::from(string_array(audience)));
        }
        if let Some(uri) = jwks_uri {
            j.insert("jwksUri", Value::from(uri.as_str()));
        }
        if let Some(file) = jwks_file {
            j.insert("jwksFile", Value::from(file.as_str()));
        }
        set(&mut t, "jwtConfiguration", j);
    }
    set_opt(&mut t, "name", name);
    if let Some(ttl) = authorizer_result_ttl_in_seconds {
        set(&mut t, "authorizerResultTtlInSeconds", to_i64(*ttl));
    }
    set_opt(
        &mut t,
        "authorizerCredentialsArn",
        authorizer_credentials_arn,
    );
    set_opt(
        &mut t,
        "authorizerPayloadFormatVersion",
        authorizer_payload_format_version,
    );
    set_true(&mut t, "enableSimpleResponses", *enable_simple_responses);
    set_opt(
        &mut t,
        "identityValidationExpression",
        identity_validation_expression,
    );
    t
}
