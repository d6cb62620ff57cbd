//! Logging the way Lambda expects (level from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`, default
//! INFO; JSON when `AWS_LAMBDA_LOG_FORMAT=JSON`), with one rule no setting can lift: the
//! runtime's TRACE output, which prints every raw event (Authorization header and so the
//! token included), is never enabled.

use tracing_subscriber::filter::{Directive, EnvFilter, LevelFilter};

use crate::env;

/// Targets capped below TRACE whatever the configured level.
const NEVER_TRACED: [&str; 3] = ["lambda_runtime", "lambda_runtime_api_client", "lambda_http"];

/// The filter for a configured level (`RUST_LOG`-style directives are honoured too).
pub fn filter(configured: Option<&str>) -> EnvFilter {
    let level = configured
        .and_then(|l| l.parse::<LevelFilter>().ok())
        .unwrap_or(LevelFilter::INFO);
    let mut filter = EnvFilter::builder()
        .with_default_directive(level.into())
        .parse_lossy(configured.unwrap_or_default());
    for target in NEVER_TRACED {
        if let Ok(directive) =
            format!("{target}={}", level.min(LevelFilter::DEBUG)).parse::<Directive>()
        {
            filter = filter.add_directive(directive);
        }
    }
    filter
}

pub fn init() {
    let configured = env::get(env::AWS_LAMBDA_LOG_LEVEL).or_else(|| env::get(env::RUST_LOG));
    let builder = tracing_subscriber::fmt()
        .with_target(false)
        .without_time()
        .with_env_filter(filter(configured.as_deref()));
    let json = env::get(env::AWS_LAMBDA_LOG_FORMAT).is_some_and(|f| f.eq_ignore_ascii_case("json"));
    // A second initialisation (tests) keeps the first subscriber.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_runtime_never_traces_events() {
        for configured in [
            Some("trace"),
            Some("TRACE"),
            Some("lambda_runtime=trace"),
            None,
        ] {
            let text = filter(configured).to_string();
            for target in NEVER_TRACED {
                assert!(
                    !text.contains(&format!("{target}=trace")),
                    "{configured:?}: {text}"
                );
            }
        }
        let text = filter(Some("trace")).to_string();
        assert!(text.contains("lambda_runtime=debug"), "{text}");
        assert!(filter(Some("warn"))
            .to_string()
            .contains("lambda_runtime=warn"));
    }
}
