//! What the gateway takes from `template.yaml`: the stages, the routes and the functions
//! behind them, the authorizer, the usage-plan throttle and the gateway responses.
//! Values it reads may be `!Ref` to a template parameter, which stands for the
//! parameter's `Default` (what `sam deploy` uses unless told otherwise).

use std::collections::HashMap;
use std::time::Duration;

use anyhow::{bail, Context};
use hyper::header::{HeaderName, HeaderValue};
use local_template::{get_att_target, ref_target, text, Template};
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
    /// Headers its `ResponseParameters` set (SAM's `Headers: {NAME: "'value'"}`).
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// A stage of the API, as SAM's transform makes them from the template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub name: String,
    /// Whether a usage plan names it: only there are API keys accepted, so a method that
    /// needs one is refused elsewhere (as API Gateway refuses a key outside the stage's
    /// plans).
    pub metered: bool,
}

/// The stage SAM's deployment makes besides `StageName` when the API sets no
/// `OpenApiVersion`.
pub const SAM_DEFAULT_STAGE: &str = "Stage";

#[derive(Debug, Clone)]
pub struct ApiModel {
    /// `StageName` first.
    pub stages: Vec<Stage>,
    pub routes: Vec<Route>,
    pub authorizer: Option<Authorizer>,
    pub throttle: Option<Throttle>,
    pub gateway_responses: HashMap<String, GatewayResponse>,
}

/// What a method inherits from the API's `Auth` unless its event says otherwise.
struct MethodDefaults {
    authorizer: Option<String>,
    api_key_required: bool,
}

impl ApiModel {
    pub fn load(path: &std::path::Path) -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        Self::parse(&text)
    }

    /// Reads the one `AWS::Serverless::Api` of the template and everything attached to it.
    pub fn parse(text: &str) -> anyhow::Result<Self> {
        let doc = local_template::parse(text)?;
        let template = Template::new(&doc)?;
        let (api_name, api) = the_api(&template)?;
        let props = api.get("Properties").context("the API has no Properties")?;
        let defaults = MethodDefaults {
            authorizer: template.text(props, &["Auth", "DefaultAuthorizer"])?,
            api_key_required: template
                .flag(props, &["Auth", "ApiKeyRequired"])?
                .unwrap_or(false),
        };
        let binaries = template.function_binaries()?;
        let authorizer = match &defaults.authorizer {
            Some(name) => Some(authorizer(&template, props, name, &binaries)?),
            None => None,
        };
        Ok(ApiModel {
            stages: stages(&template, props)?,
            routes: routes(&template, api_name, &defaults, &binaries)?,
            authorizer,
            throttle: throttle(&template)?,
            gateway_responses: gateway_responses(&template, props)?,
        })
    }
}

/// The one `AWS::Serverless::Api` of the template.
fn the_api<'a>(template: &Template<'a>) -> anyhow::Result<(&'a str, &'a Value)> {
    let mut apis = template.of_type("AWS::Serverless::Api");
    let api = apis
        .next()
        .context("template declares no AWS::Serverless::Api")?;
    match apis.next() {
        Some(_) => bail!("template declares more than one AWS::Serverless::Api"),
        None => Ok(api),
    }
}

/// The REQUEST authorizer `name` of the API's `Auth.Authorizers`.
fn authorizer(
    template: &Template<'_>,
    api_props: &Value,
    name: &str,
    binaries: &HashMap<&str, String>,
) -> anyhow::Result<Authorizer> {
    let def = api_props
        .get("Auth")
        .and_then(|a| a.get("Authorizers"))
        .and_then(|a| a.get(name))
        .with_context(|| format!("default authorizer {name} is not declared"))?;
    let target = def
        .get("FunctionArn")
        .and_then(get_att_target)
        .context("authorizer FunctionArn is not !GetAtt <Function>.Arn")?;
    let function = binaries
        .get(target.as_str())
        .cloned()
        .with_context(|| format!("authorizer function {target} is not in the template"))?;
    let identity_headers = match template.value(def, &["Identity", "Headers"])? {
        Some(Value::Sequence(headers)) => headers
            .iter()
            .map(|h| {
                let h = template.resolve(h, "Identity.Headers")?;
                Ok(text(h, "Identity.Headers")?.to_ascii_lowercase())
            })
            .collect::<anyhow::Result<_>>()?,
        Some(_) => bail!("Identity.Headers must be a list"),
        None => vec!["authorization".to_string()],
    };
    let ttl = template
        .number(def, &["Identity", "ReauthorizeEvery"])?
        .unwrap_or(300.0);
    if !(0.0..=3600.0).contains(&ttl) || ttl.fract() != 0.0 {
        bail!("ReauthorizeEvery {ttl} is not 0 to 3600 seconds");
    }
    Ok(Authorizer {
        function,
        identity_headers,
        ttl: Duration::from_secs(ttl as u64),
    })
}

/// Every method of the API, from the `Api` events of the functions.
fn routes(
    template: &Template<'_>,
    api_name: &str,
    defaults: &MethodDefaults,
    binaries: &HashMap<&str, String>,
) -> anyhow::Result<Vec<Route>> {
    let mut routes = Vec::new();
    for (name, function) in template.of_type("AWS::Serverless::Function") {
        for event in api_events(function, api_name)? {
            routes.push(route(template, event, defaults, &binaries[name])?);
        }
    }
    Ok(routes)
}

/// The Properties of the function's `Api` events on the API `api_name`.
fn api_events<'a>(function: &'a Value, api_name: &str) -> anyhow::Result<Vec<&'a Value>> {
    let events = function
        .get("Properties")
        .and_then(|p| p.get("Events"))
        .and_then(Value::as_mapping);
    let mut on_this_api = Vec::new();
    for (_, event) in events.into_iter().flatten() {
        if event.get("Type").and_then(Value::as_str) != Some("Api") {
            continue;
        }
        let props = event
            .get("Properties")
            .context("an Api event has no Properties")?;
        if props.get("RestApiId").and_then(ref_target).as_deref() == Some(api_name) {
            on_this_api.push(props);
        }
    }
    Ok(on_this_api)
}

fn route(
    template: &Template<'_>,
    event: &Value,
    defaults: &MethodDefaults,
    function: &str,
) -> anyhow::Result<Route> {
    let authorizer = template
        .text(event, &["Auth", "Authorizer"])?
        .or_else(|| defaults.authorizer.clone());
    Ok(Route {
        path: template
            .text(event, &["Path"])?
            .context("an Api event has no Path")?,
        method: template
            .text(event, &["Method"])?
            .context("an Api event has no Method")?
            .to_ascii_uppercase(),
        function: function.to_string(),
        authorized: authorizer.is_some_and(|a| a != "NONE"),
        api_key_required: template
            .flag(event, &["Auth", "ApiKeyRequired"])?
            .unwrap_or(defaults.api_key_required),
    })
}

/// The first usage plan's throttle. A limit left out is no limit, as on API Gateway; one
/// written but unreadable is an error.
/// The stages SAM makes: `StageName`, and `Stage` too unless the API (or `Globals.Api`)
/// sets `OpenApiVersion`; each metered if a usage plan's `ApiStages` names it.
fn stages(template: &Template<'_>, api_props: &Value) -> anyhow::Result<Vec<Stage>> {
    let mut names = vec![template
        .text(api_props, &["StageName"])?
        .context("the API has no StageName")?];
    let version = match template.text(api_props, &["OpenApiVersion"])? {
        Some(version) => Some(version),
        None => match template.globals {
            Some(globals) => template.text(globals, &["Api", "OpenApiVersion"])?,
            None => None,
        },
    };
    if version.is_none() {
        names.push(SAM_DEFAULT_STAGE.to_string());
    }
    let mut metered = Vec::new();
    for (_, plan) in template.of_type("AWS::ApiGateway::UsagePlan") {
        let listed = plan
            .get("Properties")
            .and_then(|p| p.get("ApiStages"))
            .and_then(Value::as_sequence);
        for api_stage in listed.into_iter().flatten() {
            metered.extend(template.text(api_stage, &["Stage"])?);
        }
    }
    Ok(names
        .into_iter()
        .map(|name| Stage {
            metered: metered.contains(&name),
            name,
        })
        .collect())
}

fn throttle(template: &Template<'_>) -> anyhow::Result<Option<Throttle>> {
    let mut plans = template
        .of_type("AWS::ApiGateway::UsagePlan")
        .filter_map(|(_, plan)| plan.get("Properties")?.get("Throttle"));
    let Some(limits) = plans.next() else {
        return Ok(None);
    };
    Ok(Some(Throttle {
        burst: template
            .number(limits, &["BurstLimit"])?
            .unwrap_or(f64::INFINITY),
        rate: template
            .number(limits, &["RateLimit"])?
            .unwrap_or(f64::INFINITY),
    }))
}

/// The API's `GatewayResponses`, by response type.
fn gateway_responses(
    template: &Template<'_>,
    api_props: &Value,
) -> anyhow::Result<HashMap<String, GatewayResponse>> {
    let Some(responses) = api_props.get("GatewayResponses") else {
        return Ok(HashMap::new());
    };
    let responses = responses
        .as_mapping()
        .context("GatewayResponses must be a mapping")?;
    responses
        .iter()
        .map(|(kind, response)| {
            let kind = kind
                .as_str()
                .context("a gateway response type must be text")?;
            let response = gateway_response(template, response)
                .with_context(|| format!("gateway response {kind}"))?;
            Ok((kind.to_string(), response))
        })
        .collect()
}

fn gateway_response(template: &Template<'_>, response: &Value) -> anyhow::Result<GatewayResponse> {
    let status = match template.number(response, &["StatusCode"])? {
        Some(s) if (100.0..=599.0).contains(&s) && s.fract() == 0.0 => Some(s as u16),
        Some(s) => bail!("StatusCode {s} is not an HTTP status"),
        None => None,
    };
    Ok(GatewayResponse {
        status,
        template: template.text(response, &["ResponseTemplates", "application/json"])?,
        headers: response_headers(template, response)?,
    })
}

/// The headers of SAM's `ResponseParameters: {Headers: {NAME: "'value'"}}` (SAM prefixes
/// each with `gatewayresponse.header.`). Anything else is refused here rather than
/// answered differently from API Gateway at run time: `Paths` and `QueryStrings` (which
/// the local gateway does not emulate), API Gateway's own `gatewayresponse.header.NAME`
/// keys (SAM's translator rejects them, though cfn-lint lets them pass), and values that
/// are not static.
fn response_headers(
    template: &Template<'_>,
    response: &Value,
) -> anyhow::Result<Vec<(HeaderName, HeaderValue)>> {
    let Some(parameters) = template.value(response, &["ResponseParameters"])? else {
        return Ok(Vec::new());
    };
    let parameters = parameters
        .as_mapping()
        .context("ResponseParameters must be a mapping")?;
    let mut headers = Vec::new();
    for (kind, entries) in parameters {
        let kind = kind
            .as_str()
            .context("a ResponseParameters key must be text")?;
        match kind {
            "Headers" => {}
            "Paths" | "QueryStrings" => {
                bail!("ResponseParameters.{kind}: the local gateway sends headers only")
            }
            other => {
                bail!(
                    "ResponseParameters.{other}: not SAM's form; write \
                     ResponseParameters: {{Headers: {{NAME: \"'value'\"}}}}"
                )
            }
        }
        let entries = template
            .resolve(entries, "ResponseParameters.Headers")?
            .as_mapping()
            .context("ResponseParameters.Headers must be a mapping")?;
        for (name, value) in entries {
            let name = name
                .as_str()
                .context("a ResponseParameters.Headers name must be text")?;
            let what = format!("ResponseParameters.Headers.{name}");
            let value = text(template.resolve(value, &what)?, &what)?;
            headers.push(response_header(&what, name, &value)?);
        }
    }
    Ok(headers)
}

/// `NAME: "'value'"` → the header NAME: value. Only static values (single-quoted): a
/// mapping from the request (`method.request.header.X`, ...) is refused.
fn response_header(
    what: &str,
    name: &str,
    value: &str,
) -> anyhow::Result<(HeaderName, HeaderValue)> {
    let literal = value
        .strip_prefix('\'')
        .and_then(|v| v.strip_suffix('\''))
        .with_context(|| {
            format!(
                "{what}: {value} is not a static value ('...'); the local gateway maps no \
                 request values into gateway responses"
            )
        })?;
    let header = HeaderName::from_bytes(name.as_bytes()).with_context(|| what.to_string())?;
    let literal = HeaderValue::from_str(literal).with_context(|| what.to_string())?;
    Ok((header, literal))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> ApiModel {
        ApiModel::load(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml"),
        )
        .unwrap()
    }

    #[test]
    fn reads_the_products_template() {
        let api = model();
        let metered = |name: &str| Stage {
            name: name.to_string(),
            metered: true,
        };
        // The API sets OpenApiVersion: SAM makes no "Stage" stage.
        assert_eq!(api.stages, vec![metered("api")]);
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

    /// A small API whose usage plan's `RateLimit` is `rate` and whose THROTTLED response
    /// carries `parameters`.
    fn small_api(rate: &str, parameters: &str) -> anyhow::Result<ApiModel> {
        let text = r#"
Parameters:
  Rate:
    Type: Number
    Default: 2
  Stage:
    Type: String
    Default: v9
  Wait:
    Type: String
    Default: "'30'"
  NoDefault:
    Type: Number
Resources:
  Api:
    Type: AWS::Serverless::Api
    Properties:
      StageName: !Ref Stage
      GatewayResponses:
        THROTTLED:
          StatusCode: 429
          ResponseParameters: PARAMETERS
  Plan:
    Type: AWS::ApiGateway::UsagePlan
    Properties:
      Throttle:
        BurstLimit: 10
        RateLimit: RATE
"#;
        ApiModel::parse(&text.replace("RATE", rate).replace("PARAMETERS", parameters))
    }

    #[test]
    fn a_ref_to_a_parameter_is_its_default() {
        let api = small_api("!Ref Rate", "{}").unwrap();
        // No OpenApiVersion and no ApiStages: SAM's "Stage" stage too, neither metered.
        let names: Vec<(&str, bool)> = api
            .stages
            .iter()
            .map(|s| (s.name.as_str(), s.metered))
            .collect();
        assert_eq!(names, [("v9", false), (SAM_DEFAULT_STAGE, false)]);
        let throttle = api.throttle.unwrap();
        assert_eq!((throttle.burst, throttle.rate), (10.0, 2.0));
        let long_form = small_api("{Ref: Rate}", "{}").unwrap();
        assert_eq!(long_form.throttle.unwrap().rate, 2.0);
    }

    #[test]
    fn a_ref_that_cannot_be_resolved_fails_the_load() {
        let unknown = format!("{:#}", small_api("!Ref Nope", "{}").unwrap_err());
        assert!(
            unknown.contains("RateLimit") && unknown.contains("Nope"),
            "{unknown}"
        );
        let no_default = format!("{:#}", small_api("!Ref NoDefault", "{}").unwrap_err());
        assert!(
            no_default.contains("NoDefault") && no_default.contains("no Default"),
            "{no_default}"
        );
        let unreadable = format!("{:#}", small_api("fast", "{}").unwrap_err());
        assert!(unreadable.contains("RateLimit"), "{unreadable}");
    }

    #[test]
    fn response_parameters_become_headers() {
        let api = small_api(
            "1",
            r#"{Headers: {Retry-After: "'60'", X-Wait: !Ref Wait}}"#,
        )
        .unwrap();
        let headers = &api.gateway_responses["THROTTLED"].headers;
        let as_text: Vec<(&str, &str)> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.to_str().unwrap()))
            .collect();
        assert_eq!(as_text, vec![("retry-after", "60"), ("x-wait", "30")]);
    }

    #[test]
    fn the_products_429s_carry_retry_after() {
        let api = model();
        for kind in ["THROTTLED", "QUOTA_EXCEEDED"] {
            let response = &api.gateway_responses[kind];
            assert_eq!(response.status, Some(429), "{kind}");
            let retry_after: Vec<(&str, &str)> = response
                .headers
                .iter()
                .map(|(n, v)| (n.as_str(), v.to_str().unwrap()))
                .collect();
            assert_eq!(retry_after, vec![("retry-after", "1")], "{kind}");
        }
    }

    #[test]
    fn response_parameters_other_than_static_headers_fail_the_load() {
        for (parameters, named) in [
            (
                r#"{Headers: {X: "method.request.header.X"}}"#,
                "not a static value",
            ),
            (r#"{Headers: {X: "60"}}"#, "not a static value"),
            // API Gateway's own keys, which SAM's translator refuses.
            (r#"{"gatewayresponse.header.X": "'1'"}"#, "not SAM's form"),
            (r#"{QueryStrings: {x: "'1'"}}"#, "headers only"),
            (r#"{Paths: {x: "'1'"}}"#, "headers only"),
            (r#"{Headers: "'1'"}"#, "Headers must be a mapping"),
            (r#"{Headers: {Bad Name: "'1'"}}"#, "Bad Name"),
            (
                r#"{Headers: {X: "'a\nb'"}}"#,
                "ResponseParameters.Headers.X",
            ),
        ] {
            let err = format!("{:#}", small_api("1", parameters).unwrap_err());
            assert!(
                err.contains("THROTTLED") && err.contains(named),
                "{parameters}: {err}"
            );
        }
    }
}
