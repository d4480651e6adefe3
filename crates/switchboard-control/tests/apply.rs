//! The control plane's rules without HTTP: ids, conflicts, deployments as snapshots, and the
//! file's validator deciding what may be deployed.

use serde_json::{json, Map, Value};
use switchboard_control::{
    apply, served, Collection, Context, ControlError, ControlState, Op, Outcome, PageRequest,
};
use switchboard_core::config::Config;

/// A control plane state with the file configuration `base`, and calls on it.
struct Plane {
    state: ControlState,
    base: Config,
}

impl Plane {
    fn new() -> Self {
        Self {
            state: ControlState::default(),
            base: Config::default(),
        }
    }

    fn call(&mut self, op: Op) -> Result<Value, ControlError> {
        let ctx = Context {
            base: &self.base,
            now: time::OffsetDateTime::UNIX_EPOCH,
            endpoint: "ws://127.0.0.1:8080",
            region: "us-east-1",
            max_apis: 3,
            max_resources: 5,
            max_deployments: 3,
        };
        let mut next = self.state.clone();
        let outcome = apply(&mut next, op, &ctx)?;
        self.state = next;
        Ok(match outcome {
            Outcome::Created(v) | Outcome::Found(v) | Outcome::Listed(v) => v,
            Outcome::Deleted | Outcome::Tagged => Value::Null,
        })
    }

    fn create(&mut self, collection: Collection, body: Value) -> Result<Value, ControlError> {
        self.call(Op::Create {
            collection,
            body: object(body),
        })
    }

    /// An API with one MOCK integration, a `$default` route to it and a stage `dev`.
    fn api(&mut self) -> (String, String) {
        let api = self
            .create(
                Collection::Apis,
                json!({"name": "chat", "protocolType": "WEBSOCKET", "routeSelectionExpression": "$request.body.action"}),
            )
            .unwrap();
        let id = api["apiId"].as_str().unwrap().to_owned();
        let integration = self
            .create(
                Collection::Integrations { api: id.clone() },
                json!({"integrationType": "MOCK"}),
            )
            .unwrap();
        let integration = integration["integrationId"].as_str().unwrap().to_owned();
        self.create(
            Collection::Routes { api: id.clone() },
            json!({"routeKey": "$default", "target": format!("integrations/{integration}")}),
        )
        .unwrap();
        self.create(
            Collection::Stages { api: id.clone() },
            json!({"stageName": "dev"}),
        )
        .unwrap();
        (id, integration)
    }
}

fn object(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

#[test]
fn ids_have_aws_formats_and_the_endpoint_is_this_gateway() {
    let mut plane = Plane::new();
    let (api, integration) = plane.api();
    assert_eq!(api.len(), 10);
    assert_eq!(integration.len(), 7);
    assert!(api
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()));
    let got = plane
        .call(Op::Get {
            collection: Collection::Apis,
            id: api.clone(),
        })
        .unwrap();
    assert_eq!(got["apiEndpoint"], format!("ws://127.0.0.1:8080/{api}"));
    assert_eq!(got["createdDate"], "1970-01-01T00:00:00Z");
}

#[test]
fn nothing_is_served_until_a_deployment_and_a_change_waits_for_the_next() {
    let mut plane = Plane::new();
    let (api, integration) = plane.api();
    assert!(
        served(&plane.state).unwrap().is_empty(),
        "a stage without a deployment serves nothing"
    );
    plane
        .create(
            Collection::Deployments { api: api.clone() },
            json!({"stageName": "dev"}),
        )
        .unwrap();
    let routes = |plane: &Plane| -> Vec<String> {
        served(&plane.state).unwrap()[&api]
            .routes
            .keys()
            .cloned()
            .collect()
    };
    assert_eq!(routes(&plane), ["$default"]);
    plane
        .create(
            Collection::Routes { api: api.clone() },
            json!({"routeKey": "join", "target": format!("integrations/{integration}")}),
        )
        .unwrap();
    assert_eq!(
        routes(&plane),
        ["$default"],
        "undeployed routes are not served"
    );
    plane
        .create(
            Collection::Deployments { api: api.clone() },
            json!({"stageName": "dev"}),
        )
        .unwrap();
    assert_eq!(routes(&plane), ["$default", "join"]);
}

#[test]
fn auto_deploy_stages_serve_every_change() {
    let mut plane = Plane::new();
    let (api, integration) = plane.api();
    plane
        .call(Op::Update {
            collection: Collection::Stages { api: api.clone() },
            id: "dev".into(),
            body: object(json!({"autoDeploy": true})),
        })
        .unwrap();
    plane
        .create(
            Collection::Routes { api: api.clone() },
            json!({"routeKey": "join", "target": format!("integrations/{integration}")}),
        )
        .unwrap();
    assert!(served(&plane.state).unwrap()[&api]
        .routes
        .contains_key("join"));
    plane
        .call(Op::Update {
            collection: Collection::Apis,
            id: api.clone(),
            body: object(json!({"routeSelectionExpression": "$request.body.type"})),
        })
        .unwrap();
    assert_eq!(
        served(&plane.state).unwrap()[&api].route_selection_expression,
        "$request.body.type",
        "an UpdateApi is deployed too"
    );
}

#[test]
fn each_stage_serves_the_deployment_it_points_at() {
    let mut plane = Plane::new();
    let (api, integration) = plane.api();
    plane
        .create(
            Collection::Stages { api: api.clone() },
            json!({"stageName": "prod"}),
        )
        .unwrap();
    let first = plane
        .create(
            Collection::Deployments { api: api.clone() },
            json!({"stageName": "prod"}),
        )
        .unwrap();
    plane
        .create(
            Collection::Routes { api: api.clone() },
            json!({"routeKey": "join", "target": format!("integrations/{integration}")}),
        )
        .unwrap();
    // `dev` may name a route only its own deployment has; `prod`'s deployment lacks it.
    plane
        .call(Op::Update {
            collection: Collection::Stages { api: api.clone() },
            id: "dev".into(),
            body: object(json!({"routeSettings": {"join": {"throttlingBurstLimit": 5}}})),
        })
        .unwrap();
    plane
        .create(
            Collection::Deployments { api: api.clone() },
            json!({"stageName": "dev"}),
        )
        .unwrap();
    let routes_of = |plane: &Plane, stage: &str| -> Vec<String> {
        let apis = served(&plane.state).unwrap();
        let served = &apis[&api];
        served
            .served_on(&served.stages[stage])
            .routes
            .keys()
            .cloned()
            .collect()
    };
    assert_eq!(
        routes_of(&plane, "prod"),
        ["$default"],
        "prod keeps its deployment"
    );
    assert_eq!(routes_of(&plane, "dev"), ["$default", "join"]);
    let apis = served(&plane.state).unwrap();
    assert_eq!(apis[&api].deployments.len(), 2, "one per deployment in use");
    assert_eq!(
        apis[&api].routes.len(),
        2,
        "the API's own tables are the newest deployment in use (what export writes)"
    );

    // Pointing a stage at a deployment is a change of what is served.
    let before = switchboard_control::served_json(&plane.state);
    let dev = plane
        .call(Op::Get {
            collection: Collection::Stages { api: api.clone() },
            id: "dev".into(),
        })
        .unwrap();
    plane
        .call(Op::Update {
            collection: Collection::Stages { api: api.clone() },
            id: "prod".into(),
            body: object(json!({"deploymentId": dev["deploymentId"]})),
        })
        .unwrap();
    assert_ne!(switchboard_control::served_json(&plane.state), before);
    assert_eq!(routes_of(&plane, "prod"), ["$default", "join"]);
    let apis = served(&plane.state).unwrap();
    assert_eq!(
        apis[&api].deployments.len(),
        1,
        "stages of one deployment share it"
    );

    // Each stage is checked with its own deployment: `prod` may go back to the first one...
    plane
        .call(Op::Update {
            collection: Collection::Stages { api: api.clone() },
            id: "prod".into(),
            body: object(json!({"deploymentId": first["deploymentId"]})),
        })
        .unwrap();
    assert_eq!(routes_of(&plane, "prod"), ["$default"]);
    // ...`dev` may not: its route settings name a route that deployment lacks.
    let refused = plane
        .call(Op::Update {
            collection: Collection::Stages { api: api.clone() },
            id: "dev".into(),
            body: object(json!({"deploymentId": first["deploymentId"]})),
        })
        .unwrap_err();
    assert!(
        matches!(&refused, ControlError::BadRequest(m) if m.contains("routeSettings")),
        "{refused:?}"
    );
}

#[test]
fn the_files_validator_decides_what_may_be_deployed() {
    let mut plane = Plane::new();
    let (api, _) = plane.api();
    plane
        .create(
            Collection::Routes { api: api.clone() },
            json!({"routeKey": "lost", "target": "integrations/nowhere"}),
        )
        .unwrap();
    let refused = plane
        .create(
            Collection::Deployments { api: api.clone() },
            json!({"stageName": "dev"}),
        )
        .unwrap_err();
    let ControlError::BadRequest(message) = refused else {
        panic!("expected BadRequest, got {refused:?}");
    };
    assert!(message.contains("routes.lost.target"), "{message}");
    assert!(served(&plane.state).unwrap().is_empty());
}

#[test]
fn a_field_the_model_does_not_know_or_a_wrong_value_is_a_bad_request() {
    let mut plane = Plane::new();
    let (api, _) = plane.api();
    for body in [
        json!({"integrationType": "MOCK", "noSuchField": 1}),
        json!({"integrationType": "SOMETHING"}),
        json!({"integrationType": "MOCK", "timeoutInMillis": "soon"}),
    ] {
        let got = plane.create(Collection::Integrations { api: api.clone() }, body);
        assert!(matches!(got, Err(ControlError::BadRequest(_))), "{got:?}");
    }
}

#[test]
fn duplicates_and_references_conflict() {
    let mut plane = Plane::new();
    let (api, integration) = plane.api();
    let dup = plane.create(
        Collection::Routes { api: api.clone() },
        json!({"routeKey": "$default"}),
    );
    assert!(matches!(dup, Err(ControlError::Conflict(_))));
    let dup = plane.create(
        Collection::Stages { api: api.clone() },
        json!({"stageName": "dev"}),
    );
    assert!(matches!(dup, Err(ControlError::Conflict(_))));
    let used = plane.call(Op::Delete {
        collection: Collection::Integrations { api: api.clone() },
        id: integration,
    });
    assert!(matches!(used, Err(ControlError::Conflict(_))));
    let missing = plane.call(Op::Get {
        collection: Collection::Routes {
            api: "nosuchapi0".into(),
        },
        id: "x".into(),
    });
    assert!(matches!(
        missing,
        Err(ControlError::NotFound {
            resource_type: "Api",
            ..
        })
    ));
}

#[test]
fn counts_are_bounded() {
    let mut plane = Plane::new();
    let (api, _) = plane.api();
    for n in 0..4 {
        plane
            .create(
                Collection::Routes { api: api.clone() },
                json!({"routeKey": format!("r{n}")}),
            )
            .unwrap();
    }
    let over = plane.create(
        Collection::Routes { api: api.clone() },
        json!({"routeKey": "r9"}),
    );
    assert!(matches!(over, Err(ControlError::BadRequest(m)) if m.contains("maxResourcesPerApi")));
    plane.api();
    plane.api();
    let over = plane.create(
        Collection::Apis,
        json!({"name": "x", "protocolType": "WEBSOCKET", "routeSelectionExpression": "$request.body.a"}),
    );
    assert!(matches!(over, Err(ControlError::BadRequest(m)) if m.contains("maxApis")));
}

#[test]
fn old_unused_deployments_are_dropped() {
    let mut plane = Plane::new();
    let (api, _) = plane.api();
    let first = plane
        .create(
            Collection::Deployments { api: api.clone() },
            json!({"stageName": "dev"}),
        )
        .unwrap();
    for _ in 0..5 {
        plane
            .create(Collection::Deployments { api: api.clone() }, json!({}))
            .unwrap();
    }
    let kept = &plane.state.apis[&api].deployments;
    assert_eq!(kept.len(), 3);
    let first = first["deploymentId"].as_str().unwrap();
    assert!(
        kept.contains_key(first),
        "the deployment a stage uses is kept"
    );
}

#[test]
fn pages_cover_a_collection() {
    let mut plane = Plane::new();
    let (api, _) = plane.api();
    for n in 0..3 {
        plane
            .create(
                Collection::Routes { api: api.clone() },
                json!({"routeKey": format!("r{n}")}),
            )
            .unwrap();
    }
    let first = plane
        .call(Op::List {
            collection: Collection::Routes { api: api.clone() },
            page: PageRequest {
                max_results: Some("3".into()),
                next_token: None,
            },
        })
        .unwrap();
    assert_eq!(first["items"].as_array().unwrap().len(), 3);
    let rest = plane
        .call(Op::List {
            collection: Collection::Routes { api },
            page: PageRequest {
                max_results: Some("3".into()),
                next_token: first["nextToken"].as_str().map(str::to_owned),
            },
        })
        .unwrap();
    assert_eq!(rest["items"].as_array().unwrap().len(), 1);
    assert!(rest.get("nextToken").is_none());
}
