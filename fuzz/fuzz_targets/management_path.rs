//! Management paths (docs/behaviour.md §7.2): `METHOD /{apiId}/{stage}/@connections/{id}` or
//! `/{stage}/@connections/{id}` (and the groups, users and registry extensions), percent-encoded
//! or not, with or without a `Host` naming the API. Parsing never panics; what it accepts names a configured API and stage; and every id,
//! percent-encoded into a path, is read back as itself. Input: `method \0 path \0 host \0 id`.
#![no_main]

mod common;

use http::Method;
use libfuzzer_sys::fuzz_target;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
use switchboard_core::ids::AwsId;
use switchboard_gateway::management::request::{parse, Kind};

fuzz_target!(|data: &[u8]| {
    let [method, path, host, id] =
        <[String; 4]>::try_from(common::fields(data, 4)).unwrap_or_default();
    let method = Method::from_bytes(method.as_bytes()).unwrap_or(Method::GET);
    let host = (!host.is_empty()).then_some(host.as_str());
    for runtime in [common::one_api(), common::two_apis()] {
        if let Ok(call) = parse(runtime, &method, &path, host) {
            let api = runtime.apis.get(&call.api_id);
            assert!(
                api.is_some_and(|api| api.stages.contains_key(&call.stage)),
                "{path:?} addressed {}/{}",
                call.api_id,
                call.stage
            );
            let one_connection = matches!(
                call.kind,
                Kind::Post | Kind::Get | Kind::Delete | Kind::Join(_) | Kind::Leave(_)
            );
            assert!(
                one_connection || call.connection_id.is_none(),
                "a call on many connections names none: {path:?}"
            );
        }
        // Any id, percent-encoded into a full path, comes back as the id it is.
        if !id.is_empty() {
            let encoded = utf8_percent_encode(&id, NON_ALPHANUMERIC).to_string();
            let full = format!("/chat/dev/@connections/{encoded}");
            match parse(runtime, &Method::POST, &full, None) {
                Ok(call) => {
                    assert_eq!((call.api_id.as_str(), call.stage.as_str()), ("chat", "dev"));
                    assert_eq!(call.connection_id, AwsId::parse(&id), "id {id:?}");
                }
                Err(_) => panic!("{full:?} was refused"),
            }
        }
    }
});
