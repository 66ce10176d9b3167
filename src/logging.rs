//! Where the log goes and what it lets through: stderr, human or JSON, filtered by
//! `REMEDIATOR_LOG`, with the AWS SDK's and the HTTP stack's wire logging kept off (it carries the
//! session token) unless a directive asks for it by name.

use crate::cli::LogFormat;

/// Targets of the AWS SDK and the HTTP and TLS stack under it (matched as prefixes: `aws` covers
/// `aws_config`, `aws_sigv4`, `aws_smithy_runtime`, every `aws_sdk_*`; `hyper` covers
/// `hyper_util` and `hyper_rustls`). At debug and trace they log whole requests with their signed
/// headers (the session token), canonical requests and bodies, so they stay off at every level
/// `REMEDIATOR_LOG` gives, unless it names one of them or a module inside one.
const WIRE_TARGETS: &[&str] = &[
    "aws",
    "hyper",
    "h2",
    "rustls",
    "tokio_rustls",
    "webpki",
    "tower",
];

/// Logs to stderr, as `format` says, at the level `REMEDIATOR_LOG` gives (see `log_filter`).
pub fn init(format: LogFormat) {
    let spec = std::env::var("REMEDIATOR_LOG").ok();
    let (filter, warning) = log_filter(spec.as_deref());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Human => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    if let Some(warning) = warning {
        tracing::warn!("{warning}");
    }
}

/// The filter for `REMEDIATOR_LOG` (`info` when unset or invalid, with a warning then): the
/// given directives, and `<target>=off` for each [`WIRE_TARGETS`] entry the spec does not name.
/// EnvFilter lets the most specific target win, so `aws_smithy_runtime=trace` still turns that
/// crate on under `aws=off`.
fn log_filter(spec: Option<&str>) -> (tracing_subscriber::EnvFilter, Option<String>) {
    use tracing_subscriber::EnvFilter;
    let (spec, warning) = match spec.map(str::trim).filter(|s| !s.is_empty()) {
        None => ("info", None),
        Some(spec) => match EnvFilter::try_new(spec) {
            Ok(_) => (spec, None),
            Err(e) => (
                "info",
                Some(format!(
                    "REMEDIATOR_LOG is not a valid filter ({}); logging at info",
                    crate::quote::excerpt(&e.to_string(), crate::quote::MAX_CHARS)
                )),
            ),
        },
    };
    let off: String = wire_targets_off(spec)
        .into_iter()
        .map(|target| format!(",{target}=off"))
        .collect();
    (EnvFilter::new(format!("{spec}{off}")), warning)
}

/// The [`WIRE_TARGETS`] that `spec` does not name as a directive's target.
fn wire_targets_off(spec: &str) -> Vec<&'static str> {
    let named: Vec<&str> = spec
        .split(',')
        .map(|d| d.split(['[', '=']).next().unwrap_or_default().trim())
        .collect();
    WIRE_TARGETS
        .iter()
        .copied()
        .filter(|t| !named.contains(t))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{WIRE_TARGETS, log_filter, wire_targets_off};

    #[test]
    fn wire_targets_stay_off_unless_a_directive_names_them() {
        assert_eq!(wire_targets_off("trace"), WIRE_TARGETS);
        assert_eq!(wire_targets_off("debug,remediator=trace"), WIRE_TARGETS);
        // A module inside a target leaves the target's `off` in place: the more specific
        // directive wins for that module only.
        assert_eq!(
            wire_targets_off("trace,aws_smithy_runtime=trace"),
            WIRE_TARGETS
        );
        assert_eq!(
            wire_targets_off("info, aws=debug,hyper[conn]=trace,rustls"),
            ["h2", "tokio_rustls", "webpki", "tower"]
        );
    }

    #[test]
    fn the_filter_adds_the_wire_targets_off_and_falls_back_to_info() {
        let (filter, warning) = log_filter(Some(" trace,hyper=debug, "));
        let text = filter.to_string();
        assert!(warning.is_none());
        assert!(
            text.contains("aws=off") && text.contains("tower=off"),
            "{text}"
        );
        assert!(
            text.contains("hyper=debug") && !text.contains("hyper=off"),
            "{text}"
        );
        let (filter, warning) = log_filter(Some("info,aws=loud"));
        assert!(warning.is_some_and(|w| w.starts_with("REMEDIATOR_LOG is not a valid filter")));
        assert!(filter.to_string().contains("aws=off"), "{filter}");
        assert!(log_filter(None).1.is_none());
    }
}
