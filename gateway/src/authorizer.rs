//! Running the REQUEST authorizer, evaluating its policy, and caching the outcome per
//! identity for the template's TTL, as API Gateway does.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::lambda::{InvokeError, Invoker};
use crate::responses::GatewayError;

#[derive(Debug, Clone, PartialEq)]
pub struct Allowed {
    /// What the integration sees as `requestContext.authorizer`.
    pub context: Map<String, Value>,
    /// The API key the usage plan meters (`usageIdentifierKey`).
    pub usage_key: Option<String>,
}

/// What the authorizer returned: cached per identity, its policy evaluated per call.
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

pub struct Authorizer {
    function: String,
    ttl: Duration,
    cache: Mutex<HashMap<String, (Instant, Outcome)>>,
}

impl Authorizer {
    pub fn new(function: String, ttl: Duration) -> Self {
        Authorizer {
            function,
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    /// Authorizes a call of `method_arn` by the caller `identity` (the identity header
    /// values), invoking the authorizer unless a cached policy answers.
    pub async fn authorize(
        &self,
        invoker: &Invoker,
        identity: &str,
        method_arn: &str,
        event: &Value,
    ) -> Result<Allowed, GatewayError> {
        let cached = {
            let cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            cache
                .get(identity)
                .filter(|(at, _)| at.elapsed() < self.ttl)
                .map(|(_, o)| o.clone())
        };
        let outcome = match cached {
            Some(outcome) => outcome,
            None => {
                let outcome = self.invoke(invoker, event).await?;
                if !self.ttl.is_zero() {
                    let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
                    cache.retain(|_, (at, _)| at.elapsed() < self.ttl);
                    cache.insert(identity.to_string(), (Instant::now(), outcome.clone()));
                }
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

    async fn invoke(&self, invoker: &Invoker, event: &Value) -> Result<Outcome, GatewayError> {
        let response = match invoker.invoke(&self.function, event).await {
            Ok(response) => response,
            Err(InvokeError::Function(message)) if message == "Unauthorized" => {
                return Err(GatewayError::Unauthorized)
            }
            Err(err) => {
                eprintln!("local-gateway: authorizer failed: {err:?}");
                return Err(GatewayError::AuthorizerFailure);
            }
        };
        let statements = response
            .get("policyDocument")
            .and_then(|p| p.get("Statement"))
            .and_then(Value::as_array)
            .ok_or(GatewayError::AuthorizerFailure)?
            .iter()
            .filter(|s| {
                strings(s.get("Action"))
                    .iter()
                    .any(|a| a == "execute-api:Invoke" || a == "*" || a == "execute-api:*")
            })
            .map(|s| Statement {
                allow: s.get("Effect").and_then(Value::as_str) == Some("Allow"),
                resources: strings(s.get("Resource")),
            })
            .collect();
        let mut context = match response.get("context") {
            Some(Value::Object(context)) => context
                .iter()
                // API Gateway passes context values on as strings, numbers or booleans only.
                .filter(|(_, v)| v.is_string() || v.is_number() || v.is_boolean())
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            _ => Map::new(),
        };
        if let Some(principal) = response.get("principalId") {
            context.insert("principalId".into(), principal.clone());
        }
        let usage_key = response
            .get("usageIdentifierKey")
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(Outcome {
            statements,
            allowed: Allowed { context, usage_key },
        })
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
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
    use super::glob;

    #[test]
    fn wildcards() {
        let arn = "arn:aws:execute-api:us-east-1:123456789012:local/api/GET/v1/contact/1";
        assert!(glob(
            "arn:aws:execute-api:us-east-1:123456789012:local/api/*",
            arn
        ));
        assert!(glob("*", arn));
        assert!(glob("arn:*:local/api/???/v1/*", arn));
        assert!(!glob(
            "arn:aws:execute-api:us-east-1:123456789012:other/api/*",
            arn
        ));
        assert!(!glob(
            "arn:aws:execute-api:us-east-1:123456789012:local/api/POST/*",
            arn
        ));
    }
}
