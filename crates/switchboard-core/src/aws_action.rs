//! `AWS` service-integration URIs (docs/behaviour.md §4.4): `arn:aws:apigateway:{region}:{service}:action/{Action}`
//! and the AWS JSON protocol of the services reachable that way.

/// A parsed action ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceAction {
    /// Partition (`aws`, `aws-cn`, `aws-us-gov`): decides the endpoint's DNS suffix.
    pub partition: String,
    /// Region the service is called (and signed) in.
    pub region: String,
    /// The service as named in the ARN (`dynamodb`, `sqs`, `kinesis`, `states`, `events`).
    pub service: String,
    /// The API action, e.g. `PutItem`.
    pub action: String,
    /// How the service speaks JSON.
    pub protocol: JsonProtocol,
}

/// The AWS JSON protocol of one service: `POST /` with `X-Amz-Target: {prefix}.{Action}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JsonProtocol {
    /// `X-Amz-Target` prefix (from the service's API model `targetPrefix`).
    pub target_prefix: &'static str,
    /// `application/x-amz-json-1.0` or `-1.1` (the model's `jsonVersion`).
    pub content_type: &'static str,
    /// SigV4 signing name and endpoint prefix.
    pub signing_name: &'static str,
}

/// The JSON-protocol services supported, keyed by the service name used in the ARN.
/// Prefixes and versions are those of the services' published API models.
const SERVICES: [(&str, JsonProtocol); 5] = [
    (
        "dynamodb",
        JsonProtocol {
            target_prefix: "DynamoDB_20120810",
            content_type: "application/x-amz-json-1.0",
            signing_name: "dynamodb",
        },
    ),
    (
        "sqs",
        JsonProtocol {
            target_prefix: "AmazonSQS",
            content_type: "application/x-amz-json-1.0",
            signing_name: "sqs",
        },
    ),
    (
        "kinesis",
        JsonProtocol {
            target_prefix: "Kinesis_20131202",
            content_type: "application/x-amz-json-1.1",
            signing_name: "kinesis",
        },
    ),
    (
        "states",
        JsonProtocol {
            target_prefix: "AWSStepFunctions",
            content_type: "application/x-amz-json-1.0",
            signing_name: "states",
        },
    ),
    (
        "events",
        JsonProtocol {
            target_prefix: "AWSEvents",
            content_type: "application/x-amz-json-1.1",
            signing_name: "events",
        },
    ),
];

/// Why an `AWS` integration URI cannot be served.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ServiceActionError {
    /// Not of the form `arn:aws:apigateway:{region}:{service}:action/{Action}`.
    #[error("expected arn:aws:apigateway:{{region}}:{{service}}:action/{{Action}}, got {0:?}")]
    Malformed(String),
    /// A service this gateway cannot call (not an AWS JSON-protocol service it knows).
    #[error(
        "service {0:?} is not supported; AWS integrations support dynamodb, sqs, kinesis, states, events"
    )]
    UnknownService(String),
}

impl ServiceAction {
    /// Parses an action ARN.
    pub fn parse(uri: &str) -> Result<Self, ServiceActionError> {
        let malformed = || ServiceActionError::Malformed(uri.to_owned());
        let (partition, rest) = uri
            .strip_prefix("arn:")
            .and_then(|r| r.split_once(':'))
            .ok_or_else(malformed)?;
        if !crate::arn::is_partition(partition) {
            return Err(malformed());
        }
        let rest = rest.strip_prefix("apigateway:").ok_or_else(malformed)?;
        let mut parts = rest.splitn(3, ':');
        let (Some(region), Some(service), Some(path)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed());
        };
        let action = path.strip_prefix("action/").ok_or_else(malformed)?;
        let well_formed = |s: &str, extra: char| {
            !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == extra)
        };
        if !well_formed(region, '-') || !well_formed(service, '-') || !well_formed(action, '_') {
            return Err(malformed());
        }
        let protocol = SERVICES
            .iter()
            .find(|(name, _)| *name == service)
            .map(|(_, p)| *p)
            .ok_or_else(|| ServiceActionError::UnknownService(service.to_owned()))?;
        Ok(Self {
            partition: partition.to_owned(),
            region: region.to_owned(),
            service: service.to_owned(),
            action: action.to_owned(),
            protocol,
        })
    }

    /// `X-Amz-Target` of the call, e.g. `DynamoDB_20120810.PutItem`.
    pub fn target(&self) -> String {
        format!("{}.{}", self.protocol.target_prefix, self.action)
    }

    /// The real regional endpoint, used when `aws.endpoints.{service}` is not set.
    pub fn default_endpoint(&self) -> String {
        let suffix = crate::arn::dns_suffix(&self.partition).unwrap_or("amazonaws.com");
        format!(
            "https://{}.{}.{suffix}/",
            self.protocol.signing_name, self.region
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamodb_put_item_parses() {
        let a = ServiceAction::parse("arn:aws:apigateway:us-east-1:dynamodb:action/PutItem")
            .expect("parses");
        assert_eq!(a.region, "us-east-1");
        assert_eq!(a.target(), "DynamoDB_20120810.PutItem");
        assert_eq!(a.protocol.content_type, "application/x-amz-json-1.0");
        assert_eq!(
            a.default_endpoint(),
            "https://dynamodb.us-east-1.amazonaws.com/"
        );
    }

    #[test]
    fn every_partition_is_called_at_its_own_endpoint() {
        for (uri, endpoint) in [
            (
                "arn:aws-cn:apigateway:cn-north-1:sqs:action/SendMessage",
                "https://sqs.cn-north-1.amazonaws.com.cn/",
            ),
            (
                "arn:aws-us-gov:apigateway:us-gov-west-1:dynamodb:action/PutItem",
                "https://dynamodb.us-gov-west-1.amazonaws.com/",
            ),
        ] {
            let a = ServiceAction::parse(uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
            assert_eq!(a.default_endpoint(), endpoint);
        }
        assert!(matches!(
            ServiceAction::parse("arn:aws-iso:apigateway:us-east-1:sqs:action/SendMessage"),
            Err(ServiceActionError::Malformed(_))
        ));
    }

    #[test]
    fn each_service_has_its_prefix_and_version() {
        let cases = [
            ("sqs", "SendMessage", "AmazonSQS.SendMessage", "1.0"),
            ("kinesis", "PutRecord", "Kinesis_20131202.PutRecord", "1.1"),
            (
                "states",
                "StartExecution",
                "AWSStepFunctions.StartExecution",
                "1.0",
            ),
            ("events", "PutEvents", "AWSEvents.PutEvents", "1.1"),
        ];
        for (service, action, target, version) in cases {
            let a = ServiceAction::parse(&format!(
                "arn:aws:apigateway:eu-west-1:{service}:action/{action}"
            ))
            .expect("parses");
            assert_eq!(a.target(), target);
            assert!(a.protocol.content_type.ends_with(version), "{service}");
        }
    }

    proptest::proptest! {
        /// Parsing any URI returns a result, never panics.
        #[test]
        fn parsing_never_panics(uri in "(arn:aws:apigateway:)?.{0,60}") {
            let _ = ServiceAction::parse(&uri);
        }
    }

    #[test]
    fn other_forms_are_refused() {
        for bad in [
            "arn:aws:apigateway:us-east-1:dynamodb:path/PutItem",
            "arn:aws:apigateway:us-east-1:dynamodb:action/",
            "arn:aws:apigateway:us-east-1:dynamodb",
            "arn:aws:lambda:us-east-1:1:function:f",
            "arn:aws:apigateway:us east:dynamodb:action/PutItem",
        ] {
            assert!(
                matches!(
                    ServiceAction::parse(bad),
                    Err(ServiceActionError::Malformed(_))
                ),
                "{bad}"
            );
        }
        assert_eq!(
            ServiceAction::parse("arn:aws:apigateway:us-east-1:sns:action/Publish"),
            Err(ServiceActionError::UnknownService("sns".into()))
        );
    }
}
