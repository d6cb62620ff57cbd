//! `template.yaml` as the local stack reads it: the local gateway its API, the local stack
//! its queues, the local relay its event source mappings, so that what runs here is what
//! the template deploys. Values may be `!Ref` to a template parameter, which stands for the
//! parameter's `Default` (what `sam deploy` uses unless told otherwise).

use std::collections::HashMap;

use anyhow::{bail, Context};
use serde_yaml_ng::{Mapping, Value};

/// The template's text, parsed.
pub fn load(path: &std::path::Path) -> anyhow::Result<Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&text)
}

pub fn parse(text: &str) -> anyhow::Result<Value> {
    serde_yaml_ng::from_str(text).context("template is not YAML")
}

/// The template's resources, its parameters to resolve `!Ref` with, and its globals.
pub struct Template<'a> {
    resources: &'a Mapping,
    parameters: Option<&'a Mapping>,
    /// `Globals`, if any.
    pub globals: Option<&'a Value>,
}

impl<'a> Template<'a> {
    pub fn new(doc: &'a Value) -> anyhow::Result<Self> {
        Ok(Template {
            resources: doc
                .get("Resources")
                .and_then(Value::as_mapping)
                .context("template has no Resources")?,
            parameters: doc.get("Parameters").and_then(Value::as_mapping),
            globals: doc.get("Globals"),
        })
    }

    /// The resources of one type, by logical id.
    pub fn of_type(&self, kind: &'static str) -> impl Iterator<Item = (&'a str, &'a Value)> {
        self.resources
            .iter()
            .filter(move |(_, r)| r.get("Type").and_then(Value::as_str) == Some(kind))
            .filter_map(|(name, r)| Some((name.as_str()?, r)))
    }

    /// The binary of each function (what `cargo lambda watch` names it), by logical id.
    pub fn function_binaries(&self) -> anyhow::Result<HashMap<&'a str, String>> {
        self.of_type("AWS::Serverless::Function")
            .map(|(name, f)| {
                let binary = self.text(f, &["Metadata", "BuildProperties", "Binary"])?;
                Ok((name, binary.unwrap_or_else(|| name.to_string())))
            })
            .collect()
    }

    /// The value at `path` below `value`, a `!Ref` to a parameter replaced by its Default.
    pub fn value(&self, value: &'a Value, path: &[&str]) -> anyhow::Result<Option<&'a Value>> {
        match path.iter().try_fold(value, |at, key| at.get(*key)) {
            Some(found) => self.resolve(found, &path.join(".")).map(Some),
            None => Ok(None),
        }
    }

    /// `value` itself, or for `!Ref P` the Default of parameter P. Anything else is an error
    /// here, rather than a setting silently missing (an unlimited throttle, say).
    pub fn resolve(&self, value: &'a Value, what: &str) -> anyhow::Result<&'a Value> {
        let Some(name) = ref_target(value) else {
            return Ok(value);
        };
        let parameter = self
            .parameters
            .and_then(|p| p.get(name.as_str()))
            .with_context(|| format!("{what}: !Ref {name} names no template parameter"))?;
        parameter
            .get("Default")
            .with_context(|| format!("{what}: parameter {name} has no Default"))
    }

    pub fn text(&self, value: &'a Value, path: &[&str]) -> anyhow::Result<Option<String>> {
        self.value(value, path)?
            .map(|found| text(found, &path.join(".")))
            .transpose()
    }

    /// A number, written as one or as text (CloudFormation parameters are text).
    pub fn number(&self, value: &'a Value, path: &[&str]) -> anyhow::Result<Option<f64>> {
        let what = path.join(".");
        self.value(value, path)?
            .map(|found| match found {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            })
            .map(|n| n.with_context(|| format!("{what} must be a number")))
            .transpose()
    }

    pub fn flag(&self, value: &'a Value, path: &[&str]) -> anyhow::Result<Option<bool>> {
        let what = path.join(".");
        self.value(value, path)?
            .map(|found| match found {
                Value::Bool(b) => Some(*b),
                Value::String(s) => s.parse().ok(),
                _ => None,
            })
            .map(|b| b.with_context(|| format!("{what} must be true or false")))
            .transpose()
    }
}

pub fn text(value: &Value, what: &str) -> anyhow::Result<String> {
    match value {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        _ => bail!("{what} must be text"),
    }
}

/// `!Ref X` or `{Ref: X}` → X.
pub fn ref_target(value: &Value) -> Option<String> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "Ref" => tagged.value.as_str().map(str::to_string),
        Value::Mapping(_) => value.get("Ref")?.as_str().map(str::to_string),
        _ => None,
    }
}

/// `!GetAtt X.A` or `{Fn::GetAtt: [X, A]}` → (X, A).
pub fn get_att(value: &Value) -> Option<(String, String)> {
    match value {
        Value::Tagged(tagged) if tagged.tag == "GetAtt" => {
            let (target, attribute) = tagged.value.as_str()?.split_once('.')?;
            Some((target.to_string(), attribute.to_string()))
        }
        Value::Mapping(_) => {
            let parts = value.get("Fn::GetAtt")?.as_sequence()?;
            Some((
                parts.first()?.as_str()?.to_string(),
                parts.get(1)?.as_str()?.to_string(),
            ))
        }
        _ => None,
    }
}

/// `!GetAtt X.Arn` or `{Fn::GetAtt: [X, Arn]}` → X.
pub fn get_att_target(value: &Value) -> Option<String> {
    get_att(value).and_then(|(target, attribute)| (attribute == "Arn").then_some(target))
}
