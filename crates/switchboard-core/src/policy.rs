//! IAM policy evaluation for `$connect` (docs/behaviour.md §8.2): a Lambda authorizer's `policyDocument`
//! and `AWS_IAM` principals' allow lists, matched against the route ARN with IAM wildcards.

use serde::Deserialize;
use serde_json::Value;

/// The action a WebSocket `$connect` needs.
pub const INVOKE_ACTION: &str = "execute-api:Invoke";

/// The decision of a policy for one action and resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// An Allow statement matches and no Deny does.
    Allow,
    /// A Deny statement matches (it wins over any Allow).
    ExplicitDeny,
    /// Nothing matches.
    ImplicitDeny,
}

/// Why a policy document cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid policyDocument: {0}")]
pub struct PolicyError(pub String);

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Document {
    #[serde(default)]
    statement: Option<OneOrMany<Statement>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Statement {
    effect: String,
    #[serde(default)]
    action: Option<OneOrMany<String>>,
    #[serde(default)]
    resource: Option<OneOrMany<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> OneOrMany<T> {
    fn iter(&self) -> std::slice::Iter<'_, T> {
        match self {
            OneOrMany::One(t) => std::slice::from_ref(t).iter(),
            OneOrMany::Many(v) => v.iter(),
        }
    }
}

/// Evaluates a policy document for `action` on `resource`: Deny wins, then Allow, else an
/// implicit deny.
pub fn evaluate(document: &Value, action: &str, resource: &str) -> Result<Decision, PolicyError> {
    let doc: Document =
        serde_json::from_value(document.clone()).map_err(|e| PolicyError(e.to_string()))?;
    let mut allowed = false;
    for statement in doc.statement.iter().flat_map(OneOrMany::iter) {
        let matches_action = statement
            .action
            .iter()
            .flat_map(OneOrMany::iter)
            .any(|a| wildcard_match(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()));
        let matches_resource = statement
            .resource
            .iter()
            .flat_map(OneOrMany::iter)
            .any(|r| wildcard_match(r, resource));
        if !(matches_action && matches_resource) {
            continue;
        }
        match statement.effect.as_str() {
            "Deny" => return Ok(Decision::ExplicitDeny),
            "Allow" => allowed = true,
            other => {
                return Err(PolicyError(format!(
                    "Effect must be Allow or Deny, not {other:?}"
                )))
            }
        }
    }
    Ok(if allowed {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    })
}

/// IAM wildcard matching: `*` any run of characters (including `/` and `:`), `?` one character.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// The ARN a `$connect` is authorized against: `arn:aws:execute-api:{region}:{account}:{api}/{stage}/$connect`.
pub fn connect_arn(region: &str, account: &str, api_id: &str, stage: &str) -> String {
    format!("arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/$connect")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:chat/dev/$connect";

    fn policy(effect: &str, resource: &str) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}]})
    }

    #[test]
    fn allow_deny_and_wildcards() {
        assert_eq!(
            evaluate(&policy("Allow", ARN), INVOKE_ACTION, ARN),
            Ok(Decision::Allow)
        );
        assert_eq!(
            evaluate(
                &policy(
                    "Allow",
                    "arn:aws:execute-api:us-east-1:123456789012:chat/dev/*"
                ),
                INVOKE_ACTION,
                ARN
            ),
            Ok(Decision::Allow)
        );
        // docs/behaviour.md §8.2: …/dev/*/* does not match …/dev/$connect.
        assert_eq!(
            evaluate(
                &policy(
                    "Allow",
                    "arn:aws:execute-api:us-east-1:123456789012:chat/dev/*/*"
                ),
                INVOKE_ACTION,
                ARN
            ),
            Ok(Decision::ImplicitDeny)
        );
        assert_eq!(
            evaluate(&policy("Deny", "*"), INVOKE_ACTION, ARN),
            Ok(Decision::ExplicitDeny)
        );
        let both = json!({"Statement": [
            {"Action": "execute-api:*", "Effect": "Allow", "Resource": "*"},
            {"Action": ["execute-api:Invoke"], "Effect": "Deny", "Resource": [ARN]}
        ]});
        assert_eq!(
            evaluate(&both, INVOKE_ACTION, ARN),
            Ok(Decision::ExplicitDeny)
        );
        let single = json!({"Statement": {"Action": "*", "Effect": "Allow", "Resource": "arn:aws:execute-api:us-east-1:*:chat/d?v/$connect"}});
        assert_eq!(evaluate(&single, INVOKE_ACTION, ARN), Ok(Decision::Allow));
        assert!(evaluate(
            &json!({"Statement": [{"Effect": "Maybe", "Action": "*", "Resource": "*"}]}),
            INVOKE_ACTION,
            ARN
        )
        .is_err());
        assert!(evaluate(&json!("nope"), INVOKE_ACTION, ARN).is_err());
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("a*c", "abbbc"));
        assert!(wildcard_match("a*", "a/b:c"));
        assert!(!wildcard_match("a?c", "ac"));
        assert!(wildcard_match("", ""));
        assert!(!wildcard_match("", "x"));
    }
}
