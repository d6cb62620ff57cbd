//! Running the REQUEST authorizer, evaluating its policy, and caching the outcome per
//! identity source for the template's TTL, as API Gateway does.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_lambda_events::apigw::{
    ApiGatewayCustomAuthorizerRequestTypeRequest, ApiGatewayCustomAuthorizerResponse,
};
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use serde_json::{Map, Value};

use crate::proxy::Headers;
use crate::responses::GatewayError;
use lambda_invoke::{InvokeError, Invoker};

#[derive(Debug, Clone, PartialEq)]
pub struct Allowed {
    /// What the integration sees as `requestContext.authorizer`.
    pub context: Map<String, Value>,
    /// The API key the usage plan meters (`usageIdentifierKey`).
    pub usage_key: Option<String>,
}

/// What the authorizer returned: cached per identity source, its policy evaluated per call.
#[derive(Debug, Clone, PartialEq)]
struct Outcome {
    statements: Vec<Statement>,
    allowed: Allowed,
}

#[derive(Debug, Clone, PartialEq)]
struct Statement {
    allow: bool,
    resources: Vec<String>,
}

/// Every value of every identity header, in order: what the cache is keyed by. Keyed by
/// less (the last value, say), a request whose headers are ambiguous could be answered
/// from another request's cached outcome instead of being refused by the authorizer.
pub type IdentitySource = Vec<Vec<String>>;

pub struct Authorizer {
    function: String,
    identity_headers: Vec<String>,
    ttl: Duration,
    cache: Mutex<HashMap<IdentitySource, (Instant, Outcome)>>,
}

impl Authorizer {
    pub fn new(function: String, identity_headers: Vec<String>, ttl: Duration) -> Self {
        Authorizer {
            function,
            identity_headers,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// The request's identity source. Like API Gateway, a missing or empty identity
    /// header is refused (401) without calling the authorizer.
    pub fn identity_source(&self, headers: &Headers) -> Result<IdentitySource, GatewayError> {
        self.identity_headers
            .iter()
            .map(|name| match headers.get(name) {
                Some(values) if !values.iter().any(|v| v.trim().is_empty()) => Ok(values.clone()),
                _ => Err(GatewayError::Unauthorized),
            })
            .collect()
    }

    /// Authorizes a call of `method_arn` by the caller `identity`, invoking the authorizer
    /// with `event` unless a cached outcome answers.
    pub async fn authorize(
        &self,
        invoker: &Invoker,
        identity: IdentitySource,
        method_arn: &str,
        event: &ApiGatewayCustomAuthorizerRequestTypeRequest,
    ) -> Result<Allowed, GatewayError> {
        let outcome = match self.cached(&identity) {
            Some(outcome) => outcome,
            None => {
                let outcome = self.invoke(invoker, event).await?;
                self.remember(identity, &outcome);
                outcome
            }
        };
        let applies = |s: &&Statement| s.resources.iter().any(|r| glob(r, method_arn));
        let matching: Vec<&Statement> = outcome.statements.iter().filter(applies).collect();
        // An explicit Deny wins; without any Allow, the call is denied too.
        if matching.iter().any(|s| s.allow) && !matching.iter().any(|s| !s.allow) {
            Ok(outcome.allowed)
        } else {
            Err(GatewayError::AccessDenied)
        }
    }

    fn cached(&self, identity: &IdentitySource) -> Option<Outcome> {
        let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(identity)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, outcome)| outcome.clone())
    }

    fn remember(&self, identity: IdentitySource, outcome: &Outcome) {
        if self.ttl.is_zero() {
            return;
        }
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.retain(|_, (at, _)| at.elapsed() < self.ttl);
        cache.insert(identity, (Instant::now(), outcome.clone()));
    }

    async fn invoke(
        &self,
        invoker: &Invoker,
        event: &ApiGatewayCustomAuthorizerRequestTypeRequest,
    ) -> Result<Outcome, GatewayError> {
        match invoker.invoke(&self.function, event).await {
            Ok(answer) => outcome(answer).ok_or_else(|| {
                eprintln!("local-gateway: the authorizer's answer is not a policy");
                GatewayError::AuthorizerFailure
            }),
            Err(InvokeError::Function(message)) if message == "Unauthorized" => {
                Err(GatewayError::Unauthorized)
            }
            Err(err) => {
                eprintln!("local-gateway: authorizer failed: {err:?}");
                Err(GatewayError::AuthorizerFailure)
            }
        }
    }
}

/// Reads the authorizer's answer; `None` if it is not a well-formed policy answer.
fn outcome(answer: Value) -> Option<Outcome> {
    // The event type defaults a missing Effect to Allow; IAM requires one, and a policy
    // that forgot it must not open the API.
    if !every_statement_has_an_effect(&answer) {
        return None;
    }
    let answer: ApiGatewayCustomAuthorizerResponse = serde_json::from_value(answer).ok()?;
    let statements = answer
        .policy_document
        .statement
        .into_iter()
        .filter(invokes_the_api)
        .map(|s| Statement {
            allow: s.effect == IamPolicyEffect::Allow,
            resources: s.resource,
        })
        .collect();
    let mut context: Map<String, Value> = match answer.context {
        Value::Object(context) => context
            .into_iter()
            // API Gateway passes context values on as strings, numbers or booleans only.
            .filter(|(_, v)| v.is_string() || v.is_number() || v.is_boolean())
            .collect(),
        _ => Map::new(),
    };
    if let Some(principal) = answer.principal_id {
        context.insert("principalId".into(), Value::from(principal));
    }
    Some(Outcome {
        statements,
        allowed: Allowed {
            context,
            usage_key: answer.usage_identifier_key,
        },
    })
}

fn every_statement_has_an_effect(answer: &Value) -> bool {
    let statements = answer
        .get("policyDocument")
        .and_then(|p| p.get("Statement"))
        .and_then(Value::as_array);
    statements.is_some_and(|all| all.iter().all(|s| s.get("Effect").is_some()))
}

fn invokes_the_api(statement: &IamPolicyStatement) -> bool {
    statement
        .action
        .iter()
        .any(|a| a == "execute-api:Invoke" || a == "*" || a == "execute-api:*")
}

/// IAM-style wildcard match: `*` any run of characters, `?` any one.
fn glob(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
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
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:local/api/GET/v1/contact/1";

    #[test]
    fn wildcards() {
        assert!(glob(
            "arn:aws:execute-api:us-east-1:123456789012:local/api/*",
            ARN
        ));
        assert!(glob("*", ARN));
        assert!(glob("arn:*:local/api/???/v1/*", ARN));
        assert!(!glob(
            "arn:aws:execute-api:us-east-1:123456789012:other/api/*",
            ARN
        ));
        assert!(!glob(
            "arn:aws:execute-api:us-east-1:123456789012:local/api/POST/*",
            ARN
        ));
    }

    fn authorizer() -> Authorizer {
        Authorizer::new(
            "authorizer".into(),
            vec!["authorization".into()],
            Duration::from_secs(300),
        )
    }

    fn headers(authorization: &[&str]) -> Headers {
        let mut headers = Headers::new();
        headers.insert("host".into(), vec!["h".into()]);
        if !authorization.is_empty() {
            headers.insert(
                "authorization".into(),
                authorization.iter().map(|v| v.to_string()).collect(),
            );
        }
        headers
    }

    #[test]
    fn the_identity_source_is_every_value_of_every_identity_header() {
        let auth = authorizer();
        let one = auth.identity_source(&headers(&["Bearer A"])).unwrap();
        assert_eq!(one, vec![vec!["Bearer A".to_string()]]);
        let two = auth
            .identity_source(&headers(&["Bearer garbage", "Bearer A"]))
            .unwrap();
        let swapped = auth
            .identity_source(&headers(&["Bearer A", "Bearer garbage"]))
            .unwrap();
        assert!(one != two && one != swapped && two != swapped);
        for missing in [&[][..], &[""], &["   "], &["Bearer A", ""]] {
            assert_eq!(
                auth.identity_source(&headers(missing)),
                Err(GatewayError::Unauthorized),
                "{missing:?}"
            );
        }
    }

    #[test]
    fn a_cached_outcome_answers_only_its_own_identity_source() {
        let auth = authorizer();
        let allowed = outcome(json!({
            "principalId": "ch1",
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "*"}]},
            "usageIdentifierKey": "key1",
        }))
        .unwrap();
        let one = auth.identity_source(&headers(&["Bearer A"])).unwrap();
        auth.remember(one.clone(), &allowed);
        assert_eq!(auth.cached(&one), Some(allowed));
        for ambiguous in [
            ["Bearer garbage", "Bearer A"],
            ["Bearer A", "Bearer garbage"],
        ] {
            let identity = auth.identity_source(&headers(&ambiguous)).unwrap();
            assert_eq!(auth.cached(&identity), None, "{ambiguous:?}");
        }
        let uncached = Authorizer::new("a".into(), vec!["authorization".into()], Duration::ZERO);
        uncached.remember(
            one.clone(),
            &outcome(json!({"policyDocument": {"Statement": []}})).unwrap(),
        );
        assert_eq!(uncached.cached(&one), None, "a TTL of 0 caches nothing");
    }

    #[test]
    fn the_answer_is_read_as_an_authorizer_response() {
        let read = outcome(json!({
            "principalId": "ch1",
            "policyDocument": {"Version": "2012-10-17", "Statement": [
                {"Action": ["execute-api:Invoke"], "Effect": "Allow", "Resource": ["arn:a", "arn:b"]},
                {"Action": "execute-api:*", "Effect": "Deny", "Resource": "arn:c"},
                {"Action": "s3:GetObject", "Effect": "Allow", "Resource": "*"}]},
            "context": {"channel_id": "ch1", "n": 3, "vip": true, "nested": {"x": 1}, "list": [1], "none": null},
            "usageIdentifierKey": "key1",
        }))
        .unwrap();
        assert_eq!(
            read.statements,
            vec![
                Statement {
                    allow: true,
                    resources: vec!["arn:a".into(), "arn:b".into()]
                },
                Statement {
                    allow: false,
                    resources: vec!["arn:c".into()]
                },
            ],
            "only statements about invoking the API count"
        );
        assert_eq!(
            Value::Object(read.allowed.context),
            json!({"channel_id": "ch1", "n": 3, "vip": true, "principalId": "ch1"}),
            "context values are strings, numbers and booleans only"
        );
        assert_eq!(read.allowed.usage_key.as_deref(), Some("key1"));
        for malformed in [
            json!({"principalId": "x"}),
            json!({"policyDocument": {"Statement": [{"Action": "*", "Resource": "*"}]}}),
            json!({"policyDocument": {"Statement": [{"Action": "*", "Effect": "Maybe", "Resource": "*"}]}}),
            json!({"policyDocument": {"Statement": [{"Effect": "Allow", "Resource": "*"}]}}),
            json!({"policyDocument": {"Statement": [{"Action": "*", "Effect": "Allow"}]}}),
            json!("Allow"),
        ] {
            assert_eq!(outcome(malformed.clone()), None, "{malformed}");
        }
    }

    #[tokio::test]
    async fn an_explicit_deny_wins() {
        let auth = authorizer();
        let identity = vec![vec!["Bearer A".to_string()]];
        let policy = |statements: Value| {
            outcome(json!({"policyDocument": {"Statement": statements}})).unwrap()
        };
        // The invoker is never reached: every answer below is cached.
        let invoker = Invoker::new("http://127.0.0.1:9", Duration::from_millis(1)).unwrap();
        let event = ApiGatewayCustomAuthorizerRequestTypeRequest::default();
        let cases = [
            (
                json!([{"Action": "*", "Effect": "Allow", "Resource": "*"}]),
                true,
            ),
            (
                json!([{"Action": "*", "Effect": "Allow", "Resource": "*"},
                       {"Action": "*", "Effect": "Deny", "Resource": "*/GET/*"}]),
                false,
            ),
            (
                json!([{"Action": "*", "Effect": "Allow", "Resource": "*"},
                       {"Action": "*", "Effect": "Deny", "Resource": "*/POST/*"}]),
                true,
            ),
            (
                json!([{"Action": "*", "Effect": "Allow", "Resource": "*/POST/*"}]),
                false,
            ),
        ];
        for (statements, allowed) in cases {
            auth.remember(identity.clone(), &policy(statements.clone()));
            let answer = auth
                .authorize(&invoker, identity.clone(), ARN, &event)
                .await;
            assert_eq!(answer.is_ok(), allowed, "{statements}");
            if !allowed {
                assert_eq!(answer, Err(GatewayError::AccessDenied));
            }
        }
    }
}
