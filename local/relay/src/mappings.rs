//! The event source mappings of `template.yaml` (`AWS::Lambda::EventSourceMapping`), as
//! the relay runs them: which function, from the table's stream or from which queue, and
//! the settings Lambda honours (batch size and window, parallelization, filters, retries
//! and the on-failure destination, bisection, concurrency). Read from the template, as the
//! local gateway reads its API, so that what runs here is what is deployed; a setting the
//! relay cannot honour fails the start rather than being ignored.

use std::path::Path;
use std::time::Duration;

use anyhow::{bail, Context};
use local_template::{get_att, ref_target, Template};
use serde_json::Value as Json;
use serde_yaml_ng::Value;

/// Where a mapping reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// The table's stream.
    Stream,
    /// The queue of this logical id.
    Queue(String),
}

/// A filter on a key attribute's text: the records whose key `attribute` starts with
/// `prefix` pass (the only kind of filter pattern the template uses).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPrefix {
    pub attribute: String,
    pub prefix: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// The function's binary.
    pub function: String,
    pub source: Source,
    pub batch_size: usize,
    /// How long a batch waits to fill (`MaximumBatchingWindowInSeconds`).
    pub window: Duration,
    /// Batches of one stream shard in flight at once, each for its own partition keys
    /// (`ParallelizationFactor`): a key's records keep their order.
    pub parallelization: usize,
    /// Retries of a failed batch before its records go to `on_failure` (`None`: until
    /// they succeed).
    pub max_retries: Option<u32>,
    /// The logical id of the queue failed stream batches are reported to.
    pub on_failure: Option<String>,
    /// A batch whose invocation fails is retried in halves.
    pub bisect: bool,
    /// Records pass when any filter lets them (none: all pass).
    pub filters: Vec<KeyPrefix>,
    /// Invocations of a queue's batches at once (`ScalingConfig.MaximumConcurrency`).
    pub max_concurrency: Option<usize>,
}

impl Mapping {
    /// Whether a record with these key attributes reaches the function.
    pub fn passes(&self, key_text: impl Fn(&str) -> Option<String>) -> bool {
        self.filters.is_empty()
            || self
                .filters
                .iter()
                .any(|f| key_text(&f.attribute).is_some_and(|text| text.starts_with(&f.prefix)))
    }
}

/// Every event source mapping of the template at `path`.
pub fn read(path: &Path) -> anyhow::Result<Vec<Mapping>> {
    let doc = local_template::load(path)?;
    parse(&doc)
}

pub fn parse(doc: &Value) -> anyhow::Result<Vec<Mapping>> {
    let template = Template::new(doc)?;
    let binaries = template.function_binaries()?;
    template
        .of_type("AWS::Lambda::EventSourceMapping")
        .map(|(name, mapping)| {
            let props = mapping
                .get("Properties")
                .with_context(|| format!("{name} has no Properties"))?;
            mapping_of(&template, &binaries, props).with_context(|| format!("mapping {name}"))
        })
        .collect()
}

fn mapping_of(
    template: &Template<'_>,
    binaries: &std::collections::HashMap<&str, String>,
    props: &Value,
) -> anyhow::Result<Mapping> {
    let function = props
        .get("FunctionName")
        .and_then(ref_target)
        .context("FunctionName is not !Ref <Function>")?;
    let function = binaries
        .get(function.as_str())
        .cloned()
        .with_context(|| format!("function {function} is not in the template"))?;
    let source = props
        .get("EventSourceArn")
        .and_then(get_att)
        .filter(|(_, attribute)| ["StreamArn", "Arn"].contains(&attribute.as_str()))
        .context("EventSourceArn is not !GetAtt <Table>.StreamArn or <Queue>.Arn")?;
    let source = match source {
        (_, attribute) if attribute == "StreamArn" => Source::Stream,
        (queue, _) => Source::Queue(queue),
    };
    let count = |path: &[&str]| -> anyhow::Result<Option<usize>> {
        Ok(template.number(props, path)?.map(|n| n as usize))
    };
    let stream = source == Source::Stream;
    let mapping = Mapping {
        function,
        batch_size: count(&["BatchSize"])?.unwrap_or(if stream { 100 } else { 10 }),
        window: Duration::from_secs_f64(
            template
                .number(props, &["MaximumBatchingWindowInSeconds"])?
                .unwrap_or(0.0),
        ),
        parallelization: count(&["ParallelizationFactor"])?.unwrap_or(1).max(1),
        // Lambda's default for streams: -1, retry until the record expires.
        max_retries: match template.number(props, &["MaximumRetryAttempts"])? {
            Some(n) if n >= 0.0 => Some(n as u32),
            _ => None,
        },
        on_failure: props
            .get("DestinationConfig")
            .and_then(|d| d.get("OnFailure"))
            .and_then(|d| d.get("Destination"))
            .map(|arn| {
                local_template::get_att_target(arn)
                    .context("DestinationConfig.OnFailure.Destination is not !GetAtt <Queue>.Arn")
            })
            .transpose()?,
        bisect: template
            .flag(props, &["BisectBatchOnFunctionError"])?
            .unwrap_or(false),
        filters: filters(props)?,
        max_concurrency: count(&["ScalingConfig", "MaximumConcurrency"])?,
        source,
    };
    Ok(mapping)
}

/// `FilterCriteria.Filters[].Pattern`: each `{"dynamodb":{"Keys":{A:{"S":[{"prefix":P}]}}}}`.
fn filters(props: &Value) -> anyhow::Result<Vec<KeyPrefix>> {
    let Some(filters) = props.get("FilterCriteria").and_then(|c| c.get("Filters")) else {
        return Ok(Vec::new());
    };
    let filters = filters
        .as_sequence()
        .context("FilterCriteria.Filters must be a list")?;
    let mut found = Vec::new();
    for filter in filters {
        let pattern = filter
            .get("Pattern")
            .and_then(Value::as_str)
            .context("a filter without a Pattern")?;
        let json: Json = serde_json::from_str(pattern)
            .with_context(|| format!("filter pattern {pattern} is not JSON"))?;
        let keys = json
            .get("dynamodb")
            .and_then(|d| d.get("Keys"))
            .and_then(Json::as_object)
            .filter(|_| json.as_object().is_some_and(|o| o.len() == 1))
            .with_context(|| format!("the relay reads only key filters, not {pattern}"))?;
        for (attribute, condition) in keys {
            let prefixes = condition
                .get("S")
                .and_then(Json::as_array)
                .with_context(|| format!("the relay reads only S conditions, not {pattern}"))?;
            for prefix in prefixes {
                let prefix = prefix
                    .get("prefix")
                    .and_then(Json::as_str)
                    .with_context(|| format!("the relay reads only prefixes, not {pattern}"))?;
                found.push(KeyPrefix {
                    attribute: attribute.clone(),
                    prefix: prefix.to_string(),
                });
            }
        }
    }
    if found.is_empty() {
        bail!("FilterCriteria without a filter the relay reads");
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn product() -> Vec<Mapping> {
        read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml")).unwrap()
    }

    #[test]
    fn reads_the_products_mappings() {
        let mappings = product();
        let stream = mappings
            .iter()
            .find(|m| m.source == Source::Stream)
            .expect("the stream's mapping");
        assert_eq!(stream.function, "webhook-dispatch");
        assert_eq!(
            stream.batch_size,
            contacts_shared::limits::WEBHOOK_STREAM_BATCH
        );
        assert!(stream.bisect);
        assert_eq!(stream.on_failure.as_deref(), Some("StreamFailureQueue"));
        assert!(stream.max_retries.is_some());
        assert!(stream.passes(|a| (a == "SK").then(|| "C#abc".to_string())));
        assert!(!stream.passes(|a| (a == "SK").then(|| "#N#03".to_string())));
        let queues: Vec<&Mapping> = mappings
            .iter()
            .filter(|m| matches!(m.source, Source::Queue(_)))
            .collect();
        assert!(!queues.is_empty());
        for queue in queues {
            assert_eq!(queue.function, "webhook-deliver");
            assert_eq!(
                queue.batch_size,
                contacts_shared::limits::WEBHOOK_DELIVERY_BATCH
            );
        }
    }

    #[test]
    fn a_filter_the_relay_cannot_honour_fails_the_start() {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../template.yaml"),
        )
        .unwrap();
        let odd = text.replace(
            r#"{"dynamodb":{"Keys":{"SK":{"S":[{"prefix":"C#"}]}}}}"#,
            r#"{"dynamodb":{"NewImage":{"deleted":{"BOOL":[true]}}}}"#,
        );
        assert_ne!(odd, text, "the product's filter is the one replaced");
        let why = format!(
            "{:#}",
            parse(&local_template::parse(&odd).unwrap()).unwrap_err()
        );
        assert!(why.contains("only key filters"), "{why}");
    }
}
