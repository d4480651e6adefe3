//! The ARN grammar shared by the configuration check and the gateway (docs/behaviour.md §4.2,
//! §4.4): partitions, regions, account ids and Lambda function ARNs in both the forms
//! `integrationUri` and `authorizerUri` accept.

/// The AWS partitions and the DNS suffix of their regional endpoints.
const PARTITIONS: [(&str, &str); 3] = [
    ("aws", "amazonaws.com"),
    ("aws-cn", "amazonaws.com.cn"),
    ("aws-us-gov", "amazonaws.com"),
];

/// Whether `s` names an AWS partition: `aws`, `aws-cn` or `aws-us-gov`.
pub fn is_partition(s: &str) -> bool {
    dns_suffix(s).is_some()
}

/// The DNS suffix of a partition's regional endpoints (`amazonaws.com.cn` for `aws-cn`).
pub fn dns_suffix(partition: &str) -> Option<&'static str> {
    PARTITIONS
        .iter()
        .find(|(name, _)| *name == partition)
        .map(|(_, suffix)| *suffix)
}

/// Whether `s` can be a region name: lowercase letters, digits and `-`.
pub fn is_region(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Whether `s` is an account id: 12 digits.
pub fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.chars().all(|c| c.is_ascii_digit())
}

/// A Lambda function named by an ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionArn {
    /// Partition (`aws`, `aws-cn`, `aws-us-gov`).
    pub partition: String,
    /// Region the function lives (and is invoked) in.
    pub region: String,
    /// The account that owns it.
    pub account: String,
    /// Function name: 1–64 letters, digits, `-` or `_`.
    pub name: String,
    /// Version or alias: 1–128 letters, digits, `-`, `_` or `$`.
    pub qualifier: Option<String>,
}

impl FunctionArn {
    /// Parses `arn:{partition}:lambda:{region}:{account}:function:{name}[:{qualifier}]`, or
    /// the same wrapped as API Gateway writes it:
    /// `arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{functionArn}/invocations`.
    pub fn parse(uri: &str) -> Option<Self> {
        match invocation_target(uri) {
            Some(function) => Self::parse_function(function),
            None => Self::parse_function(uri),
        }
    }

    fn parse_function(s: &str) -> Option<Self> {
        let parts: Vec<&str> = s.split(':').collect();
        let ["arn", partition, "lambda", region, account, "function", name, qualifier @ ..] =
            parts.as_slice()
        else {
            return None;
        };
        let qualifier = match qualifier {
            [] => None,
            [q] if is_qualifier(q) => Some((*q).to_owned()),
            _ => return None,
        };
        (is_partition(partition)
            && is_region(region)
            && is_account_id(account)
            && is_function_name(name))
        .then(|| Self {
            partition: (*partition).to_owned(),
            region: (*region).to_owned(),
            account: (*account).to_owned(),
            name: (*name).to_owned(),
            qualifier,
        })
    }

    /// The Lambda endpoint of the function's region, `https://lambda.{region}.{suffix}`.
    pub fn regional_endpoint(&self) -> String {
        let suffix = dns_suffix(&self.partition).unwrap_or("amazonaws.com");
        format!("https://lambda.{}.{suffix}", self.region)
    }
}

/// The function ARN inside an `arn:…:apigateway:{region}:lambda:path/…/invocations` URI.
fn invocation_target(uri: &str) -> Option<&str> {
    let (partition, rest) = uri.strip_prefix("arn:")?.split_once(':')?;
    let (region, rest) = rest.strip_prefix("apigateway:")?.split_once(':')?;
    let function = rest
        .strip_prefix("lambda:path/2015-03-31/functions/")?
        .strip_suffix("/invocations")?;
    (is_partition(partition) && is_region(region)).then_some(function)
}

fn is_function_name(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

fn is_qualifier(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '$'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_partition_parses_in_both_forms() {
        for (partition, region, endpoint) in [
            ("aws", "eu-west-1", "https://lambda.eu-west-1.amazonaws.com"),
            (
                "aws-cn",
                "cn-north-1",
                "https://lambda.cn-north-1.amazonaws.com.cn",
            ),
            (
                "aws-us-gov",
                "us-gov-west-1",
                "https://lambda.us-gov-west-1.amazonaws.com",
            ),
        ] {
            let short = format!("arn:{partition}:lambda:{region}:123456789012:function:chat");
            let long = format!(
                "arn:{partition}:apigateway:{region}:lambda:path/2015-03-31/functions/{short}:live/invocations"
            );
            let f = FunctionArn::parse(&short).unwrap_or_else(|| panic!("{short}"));
            assert_eq!(
                (f.partition.as_str(), f.region.as_str()),
                (partition, region)
            );
            assert_eq!((f.name.as_str(), f.qualifier.as_deref()), ("chat", None));
            assert_eq!(f.regional_endpoint(), endpoint);
            let f = FunctionArn::parse(&long).unwrap_or_else(|| panic!("{long}"));
            assert_eq!(f.qualifier.as_deref(), Some("live"));
        }
    }

    #[test]
    fn other_shapes_are_refused() {
        for bad in [
            "chat",
            "arn:aws:lambda:eu-west-1:123456789012:layer:x",
            "arn:aws-iso:lambda:eu-west-1:123456789012:function:chat",
            "arn:aws:lambda:eu-west-1:1:function:chat",
            "arn:aws:lambda:EU-WEST-1:123456789012:function:chat",
            "arn:aws:lambda:eu-west-1:123456789012:function:",
            "arn:aws:lambda:eu-west-1:123456789012:function:a.b",
            "arn:aws:lambda:eu-west-1:123456789012:function:chat:",
            "arn:aws:lambda:eu-west-1:123456789012:function:chat:live:extra",
            "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/chat/invocations",
            "arn:aws:apigateway:eu-west-1:lambda:path/2015-03-31/functions/arn:aws:lambda:eu-west-1:123456789012:function:chat",
        ] {
            assert_eq!(FunctionArn::parse(bad), None, "{bad}");
        }
        let long_name = format!(
            "arn:aws:lambda:eu-west-1:123456789012:function:{}",
            "f".repeat(65)
        );
        assert_eq!(FunctionArn::parse(&long_name), None);
    }
}
