//! What the gateway takes from `template.yaml`: the stage, the routes and the functions
//! behind them, the authorizer, the usage-plan throttle and the gateway responses.

use std::collections::HashMap;
use std::time::Duration;

use serde_yaml_ng::Value;

/// One method of one resource, and the function behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Resource path as declared, e.g. `/v1/contact/{contact_id}`.
    pub path: String,
    /// `GET`, `POST`, ... or `ANY`.
    pub method: String,
    /// The function's binary (what `cargo lambda watch` invokes it by).
    pub function: String,
    /// Whether the API's authorizer runs for this route.
    pub authorized: bool,
    /// Whether the route needs an API key (and so is metered by the usage plan).
    pub api_key_required: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorizer {
    pub function: String,
    /// Request headers that identify the caller; all must be present.
    pub identity_headers: Vec<String>,
    /// How long a result is cached per identity (`ReauthorizeEvery`).
    pub ttl: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Throttle {
    pub burst: f64,
    /// Tokens per second.
    pub rate: f64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayResponse {
    pub status: Option<u16>,
    pub template: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ApiModel {
    pub stage: String,
    pub routes: Vec<Route>,
    pub authorizer: Option<Authorizer>,
    pub throttle: Option<Throttle>,
    pub gateway_responses: HashMap<String, GatewayResponse>,
}

impl ApiModel {
    pub fn load(path: &std::path::Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Self::parse(&text)
    }

    /// Reads the one `AWS::Serverless::Api` of the template and everything attached to it.
    pub fn parse(text: &str) -> Result<Self, String> {
        let doc: Value =
            serde_yaml_ng::from_str(text).map_err(|e| format!("template is not YAML: {e}"))?;
        let resources = doc
            .get("Resources")
            .and_then(Value::as_mapping)
            .ok_or("template has no Resources")?;
        let of_type = |t: &'static str| {
            resources
                .iter()
                .filter(move |(_, r)| r.get("Type").and_then(Value::as_str) == Some(t))
                .filter_map(|(name, r)| Some((name.as_str()?, r)))
        };
        let mut apis = of_type("AWS::Serverless::Api");
        let (api_name, api) = apis
            .next()
            .ok_or("template declares no AWS::Serverless::Api")?;
        if apis.next().is_some() {
            return Err("template declares more than one AWS::Serverless::Api".into());
        }
        let props = api.get("Properties").ok_or("the API has no Properties")?;
        let stage = text_at(props, &["StageName"]).ok_or("the API has no StageName")?;
        let auth = props.get("Auth");
        let default_authorizer = auth.and_then(|a| text_at(a, &["DefaultAuthorizer"]));
        let api_key_default = auth
            .and_then(|a| a.get("ApiKeyRequired"))
            .and_then(Value::as_bool)
            .unwrap_or(false);

        // Binary of each function, by logical id.
        let binaries: HashMap<&str, String> = of_type("AWS::Serverless::Function")
            .map(|(name, f)| {
                let binary = text_at(f, &["Metadata", "BuildProperties", "Binary"])
                    .unwrap_or_else(|| name.to_string());
                (name, binary)
            })
            .collect();

        let authorizer = match &default_authorizer {
            None => None,
            Some(name) => {
                let def = auth
                    .and_then(|a| a.get("Authorizers"))
                    .and_then(|a| a.get(name.as_str()))
                    .ok_or_else(|| format!("default authorizer {name} is not declared"))?;
                let target = def
                    .get("FunctionArn")
                    .and_then(get_att_target)
                    .ok_or("authorizer FunctionArn is not !GetAtt <Function>.Arn")?;
                let function = binaries.get(target.as_str()).cloned().ok_or_else(|| {
                    format!("authorizer function {target} is not in the template")
                })?;
                let identity = def.get("Identity");
                let identity_headers = identity
                    .and_then(|i| i.get("Headers"))
                    .and_then(Value::as_sequence)
                    .map(|hs| {
                        hs.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_ascii_lowercase)
                            .collect()
                    })
                    .unwrap_or_else(|| vec!["authorization".to_string()]);
                let ttl = identity
                    .and_then(|i| i.get("ReauthorizeEvery"))
                    .and_then(Value::as_u64)
                    .unwrap_or(300);
                Some(Authorizer {
                    function,
                    identity_headers,
                    ttl: Duration::from_secs(ttl),
                })
            }
        };

        let mut routes = Vec::new();
        for (name, function) in of_type("AWS::Serverless::Function") {
            let events = function
                .get("Properties")
                .and_then(|p| p.get("Events"))
                .and_then(Value::as_mapping);
            for (_, event) in events.into_iter().flatten() {
                if event.get("Type").and_then(Value::as_str) != Some("Api") {
                    continue;
                }
                let props = event
                    .get("Properties")
                    .ok_or("an Api event has no Properties")?;
                match props.get("RestApiId").and_then(ref_target) {
                    Some(target) if target == api_name => {}
                    _ => continue,
                }
                let event_auth = props.get("Auth");
                let authorizer_name = event_auth
                    .and_then(|a| text_at(a, &["Authorizer"]))
                    .or_else(|| default_authorizer.clone());
                routes.push(Route {
                    path: text_at(props, &["Path"]).ok_or("an Api event has no Path")?,
                    method: text_at(props, &["Method"])
                        .ok_or("an Api event has no Method")?
                        .to_ascii_uppercase(),
                    function: binaries[name].clone(),
                    authorized: authorizer_name.is_some_and(|a| a != "NONE"),
                    api_key_required: event_auth
                        .and_then(|a| a.get("ApiKeyRequired"))
                        .and_then(Value::as_bool)
                        .unwrap_or(api_key_default),
                });
            }
        }

        let throttle = of_type("AWS::ApiGateway::UsagePlan")
            .filter_map(|(_, plan)| plan.get("Properties")?.get("Throttle"))
            .map(|t| Throttle {
                burst: t
                    .get("BurstLimit")
                    .and_then(Value::as_f64)
                    .unwrap_or(f64::INFINITY),
                rate: t
                    .get("RateLimit")
                    .and_then(Value::as_f64)
                    .unwrap_or(f64::INFINITY),
            })
            .next();

        let gateway_responses = props
            .get("GatewayResponses")
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
            .filter_map(|(kind, r)| {
                let status = r
                    .get("StatusCode")
                    .and_then(|s| s.as_u64().or_else(|| s.as_str()?.parse().ok()));
                let template = r
                    .get("ResponseTemplates")
                    .and_then(|t| text_at(t, &["application/json"]));
                Some((
                    kind.as_str()?.to_string(),
                    GatewayResponse {
                        status: status.and_then(|s| u16::try_from(s).ok()),
                        template,
                    },
                ))
            })
            .collect();

        Ok(ApiModel {
            stage,
            routes,
            authorizer,
            throttle,
            gateway_responses,
        })
    }
}

fn text_at(value: &Value, path: &[&str]) -> Option<String> {
    let mut at = value;
    for key in path {
        at = at.get(*key)?;
    }
    match at {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// `!Ref X` or `{Ref: X}` → X.
fn ref_target(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str().map(str::to_string),
        Value::Mapping(_) => value.get("Ref")?.as_str().map(str::to_string),
        _ => None,
    }
}

/// `!GetAtt X.Arn` or `{Fn::GetAtt: [X, Arn]}` → X.
fn get_att_target(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "GetAtt" => {
            let (target, attribute) = tagged.value.as_str()?.split_once('.')?;
            (attribute == "Arn").then(|| target.to_string())
        }
        Value::Mapping(_) => {
            let parts = value.get("Fn::GetAtt")?.as_sequence()?;
            (parts.get(1)?.as_str()? == "Arn")
                .then(|| parts.first()?.as_str().map(str::to_string))?
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> ApiModel {
        ApiModel::load(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../template.yaml"))
            .unwrap()
    }

    #[test]
    fn reads_the_products_template() {
        let api = model();
        assert_eq!(api.stage, "api");
        let auth = api.authorizer.as_ref().unwrap();
        assert_eq!(auth.function, "authorizer");
        assert_eq!(auth.identity_headers, vec!["authorization"]);
        assert_eq!(auth.ttl, Duration::from_secs(300));
        let throttle = api.throttle.unwrap();
        assert_eq!(throttle.burst, 100.0);
        assert!((throttle.rate * 60.0 - 100.0).abs() < 1e-6);
        let get = api
            .routes
            .iter()
            .find(|r| r.path == "/v1/contact/{contact_id}" && r.method == "GET")
            .unwrap();
        assert_eq!(get.function, "get-contact");
        assert!(get.authorized && get.api_key_required);
        let any = api
            .routes
            .iter()
            .find(|r| r.path == "/v1/contact/{contact_id}" && r.method == "ANY")
            .unwrap();
        assert_eq!(any.function, "responder");
        assert!(!any.authorized && !any.api_key_required);
        assert_eq!(api.gateway_responses["THROTTLED"].status, Some(429));
    }
}
