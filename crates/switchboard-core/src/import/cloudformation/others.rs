//! Resource types that are not converted: skipped silently when they cannot change how the
//! WebSocket API behaves (tables, queues, roles, permissions, …), with a warning naming them
//! otherwise.

use super::Converter;
use crate::config::Severity;
use crate::import::stack::Resource;

/// Namespaces of resources that cannot change the WebSocket API: the data and services the
/// functions use, permissions, logging, networking, DNS and certificates.
const UNRELATED_PREFIXES: &[&str] = &[
    "AWS::IAM::",
    "AWS::Lambda::",
    "AWS::DynamoDB::",
    "AWS::S3::",
    "AWS::SQS::",
    "AWS::SNS::",
    "AWS::Logs::",
    "AWS::CloudWatch::",
    "AWS::Events::",
    "AWS::Scheduler::",
    "AWS::Pipes::",
    "AWS::Kinesis::",
    "AWS::KinesisFirehose::",
    "AWS::StepFunctions::",
    "AWS::SSM::",
    "AWS::SecretsManager::",
    "AWS::KMS::",
    "AWS::Cognito::",
    "AWS::CloudFront::",
    "AWS::Route53::",
    "AWS::CertificateManager::",
    "AWS::EC2::",
    "AWS::RDS::",
    "AWS::ElastiCache::",
    "AWS::ECR::",
    "AWS::AppSync::",
    "AWS::XRay::",
    "AWS::CodeDeploy::",
    "AWS::WAFv2::",
    "AWS::EFS::",
    "AWS::CDK::Metadata",
    "AWS::CloudFormation::WaitCondition",
    "AWS::Serverless::SimpleTable",
    "AWS::Serverless::StateMachine",
    "AWS::Serverless::LayerVersion",
    "AWS::Serverless::Connector",
    "AWS::ApiGateway::Account",
];

impl Converter<'_> {
    pub(super) fn other(&mut self, r: &Resource) {
        let kind = r.kind.as_str();
        if UNRELATED_PREFIXES.iter().any(|p| kind.starts_with(p)) {
            return;
        }
        let message = match kind {
            "AWS::ApiGatewayV2::ApiMapping" => {
                "custom domain API mappings are not served: clients connect to ws://HOST/STAGE \
                 (ws://HOST/API/STAGE with several APIs); skipped"
                    .to_owned()
            }
            "AWS::ApiGatewayV2::DomainName" => {
                "custom domain names are not served; to report one in requestContext.domainName, \
                 set [server] domainName in the --config file; skipped"
                    .to_owned()
            }
            "AWS::ApiGatewayV2::VpcLink" => {
                "VPC links are not served (integrations reach their backends directly); skipped"
                    .to_owned()
            }
            "AWS::ApiGatewayV2::ApiGatewayManagedOverrides" => {
                "managed overrides apply to HTTP APIs made by quick create; skipped".to_owned()
            }
            "AWS::Serverless::WebSocketApi" => {
                self.resource_problem(
                    r,
                    "AWS::Serverless::WebSocketApi is not converted yet: declare the API with \
                     AWS::ApiGatewayV2::Api, Route, Integration and Stage resources"
                        .to_owned(),
                    Severity::Error,
                );
                return;
            }
            "AWS::Serverless::Api" | "AWS::Serverless::HttpApi" => format!(
                "{kind} is a REST or HTTP API, which is not served (Switchboard serves WebSocket \
                 APIs); skipped"
            ),
            "AWS::ApiGateway::ApiKey"
            | "AWS::ApiGateway::UsagePlan"
            | "AWS::ApiGateway::UsagePlanKey" => {
                "API keys and usage plans are not converted: declare the keys a route with \
                 ApiKeyRequired accepts in [apiKeys] of the --config file; skipped"
                    .to_owned()
            }
            _ if kind.starts_with("AWS::ApiGateway::") => format!(
                "{kind} belongs to a REST API, which is not served (Switchboard serves WebSocket \
                 APIs); skipped"
            ),
            "AWS::CloudFormation::Stack" | "AWS::Serverless::Application" => {
                "nested stacks are not read: APIs or functions they declare are not served; \
                 skipped"
                    .to_owned()
            }
            _ if kind.starts_with("Custom::") || kind == "AWS::CloudFormation::CustomResource" => {
                "custom resources are not run; skipped".to_owned()
            }
            _ => format!("{kind} is not a resource switchboard import reads; skipped"),
        };
        self.resource_problem(r, message, Severity::Warning);
    }
}
