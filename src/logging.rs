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

/// The target each tick's journal record is logged under.
pub const JOURNAL_TARGET: &str = "remediator::journal";

/// Logs to stderr, as `format` says, at the level `REMEDIATOR_LOG` gives (see `log_filter`),
/// in colour only when stderr is a terminal (a file or a pipe gets plain text).
pub fn init(format: LogFormat) {
    use std::io::IsTerminal;
    let spec = std::env::var("REMEDIATOR_LOG").ok();
    let (filter, warning) = log_filter(spec.as_deref(), format);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
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
/// crate on under `aws=off`. The human log leaves the journal records out (one line per tick
/// says what happened; the records go to `--journal`) unless the spec names
/// [`JOURNAL_TARGET`]; the JSON log carries them, for a log group to keep.
fn log_filter(
    spec: Option<&str>,
    format: LogFormat,
) -> (tracing_subscriber::EnvFilter, Option<String>) {
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
    let mut off: String = wire_targets_off(spec)
        .into_iter()
        .map(|target| format!(",{target}=off"))
        .collect();
    if matches!(format, LogFormat::Human) && !spec.contains(JOURNAL_TARGET) {
        off.push_str(&format!(",{JOURNAL_TARGET}=off"));
    }
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
    use crate::cli::LogFormat;

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
        let (filter, warning) = log_filter(Some(" trace,hyper=debug, "), LogFormat::Json);
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
        let (filter, warning) = log_filter(Some("info,aws=loud"), LogFormat::Json);
        assert!(warning.is_some_and(|w| w.starts_with("REMEDIATOR_LOG is not a valid filter")));
        assert!(filter.to_string().contains("aws=off"), "{filter}");
        assert!(log_filter(None, LogFormat::Json).1.is_none());
    }

    #[test]
    fn the_human_log_leaves_the_journal_out_unless_asked() {
        let human = log_filter(None, LogFormat::Human).0.to_string();
        assert!(human.contains("remediator::journal=off"), "{human}");
        let json = log_filter(None, LogFormat::Json).0.to_string();
        assert!(!json.contains("remediator::journal"), "{json}");
        let asked = log_filter(Some("info,remediator::journal=info"), LogFormat::Human)
            .0
            .to_string();
        assert!(!asked.contains("remediator::journal=off"), "{asked}");
    }
}
