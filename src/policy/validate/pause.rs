//! Validation of the pause side of the policy: drift detection, the signals that tell people
//! (and the backend flow control that slows intake), and the runbook's other alarms.

use super::Checker;
use crate::policy::bounds::{
    MAX_BASELINE, MAX_FLOW_CONCURRENCY, MAX_LISTED, MAX_RATIO, MAX_WEBHOOK_TIMEOUT, MIN_BASELINE,
    MIN_DURATION,
};
use crate::policy::raw::{RawAlarms, RawDrift, RawSignals};
use crate::policy::{
    Alarms, Domain, Drift, FlowControl, FlowLever, Signals, Webhook, WebhookUrlIn,
};
use crate::source::excerpt;
use crate::webhook::WebhookUrl;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

const DEFAULT_FUNCTIONS: [&str; 3] = ["tileIngestLambda", "tileUploadLambda", "multiLambda"];

impl Checker<'_, '_> {
    pub(super) fn drift(&mut self, dr: Option<&RawDrift>, domain: Option<&Domain>) -> Drift {
        let shorts = dr
            .and_then(|d| d.functions.clone())
            .unwrap_or_else(|| DEFAULT_FUNCTIONS.map(String::from).to_vec());
        if shorts.is_empty() && dr.and_then(|d| d.enabled).unwrap_or(false) {
            self.fail("drift.functions", "name at least one function to watch");
        }
        if shorts.len() > MAX_LISTED {
            self.fail(
                "drift.functions",
                format!(
                    "{} functions; at most {MAX_LISTED} (each is read every tick)",
                    shorts.len()
                ),
            );
        }
        let given = dr.and_then(|d| d.functions.as_ref()).is_some();
        let full: Vec<String> = shorts
            .iter()
            .enumerate()
            .map(|(i, short)| {
                let field = if given {
                    format!("drift.functions.{i}")
                } else {
                    "drift.functions".to_string()
                };
                self.function(&field, short, domain)
            })
            .collect();
        let ratio = self.real(
            "drift.ratio",
            dr.and_then(|d| d.ratio),
            1.5,
            (1.0, MAX_RATIO),
            true,
            false,
        );
        let exit_ratio = self.real(
            "drift.exit_ratio",
            dr.and_then(|d| d.exit_ratio),
            1.2,
            (1.0, MAX_RATIO),
            true,
            false,
        );
        if exit_ratio >= ratio {
            self.fail(
                "drift.exit_ratio",
                format!(
                    "{exit_ratio} must be below drift.ratio ({ratio}) so pause and resume do not flap"
                ),
            );
        }
        let mut baselines = BTreeMap::new();
        for (short, text) in dr.and_then(|d| d.baseline.as_ref()).into_iter().flatten() {
            let field = format!("drift.baseline.{short}");
            let listed = shorts.iter().position(|s| s == short);
            if listed.is_none() {
                let names = shorts
                    .iter()
                    .take(10)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ");
                self.fail(
                    &field,
                    format!(
                        "`{}` is not one of drift.functions ({})",
                        excerpt(short),
                        excerpt(&names)
                    ),
                );
            }
            let d = self.duration_in(
                &field,
                Some(text.as_str()),
                Duration::ZERO,
                MIN_BASELINE,
                MAX_BASELINE,
                " (Lambda runs a function for at most 15 minutes)",
            );
            if let Some(i) = listed.filter(|_| !d.is_zero()) {
                baselines.insert(full[i].clone(), d);
            }
        }
        let mut functions = full;
        functions.sort();
        functions.dedup();
        let duration = |c: &mut Self, field: &str, value: Option<&String>, default: u64| {
            c.duration(field, value, Duration::from_secs(default))
        };
        Drift {
            enabled: dr.and_then(|d| d.enabled).unwrap_or(false),
            functions,
            ratio,
            exit_ratio,
            sustained_for: duration(
                self,
                "drift.sustained_for",
                dr.and_then(|d| d.sustained_for.as_ref()),
                300,
            ),
            min_pause: duration(
                self,
                "drift.min_pause",
                dr.and_then(|d| d.min_pause.as_ref()),
                900,
            ),
            renotify_every: duration(
                self,
                "drift.renotify_every",
                dr.and_then(|d| d.renotify_every.as_ref()),
                3600,
            ),
            alarm_after: duration(
                self,
                "drift.alarm_after",
                dr.and_then(|d| d.alarm_after.as_ref()),
                4 * 3600,
            ),
            baselines,
            learn_for: duration(
                self,
                "drift.learn_for",
                dr.and_then(|d| d.learn_for.as_ref()),
                900,
            ),
            concurrency_share: self.real(
                "drift.concurrency_share",
                dr.and_then(|d| d.concurrency_share),
                0.8,
                (0.0, 1.0),
                true,
                false,
            ),
        }
    }

    pub(super) fn signals(&mut self, s: Option<&RawSignals>, domain: Option<&Domain>) -> Signals {
        let sns = s
            .and_then(|s| s.sns.as_ref())
            .filter(|x| x.enabled.unwrap_or(true));
        let sns_topic_arn = sns.and_then(|x| {
            let arn = self.required("signals.sns.topic_arn", x.topic_arn.as_ref())?;
            self.topic_arn(arn)
        });
        // On when the table is there and `enabled` is not false. Its URL is checked even when
        // off: a secret written in a committed file has leaked whether it is used or not.
        let webhook = s.and_then(|s| s.webhook.as_ref()).and_then(|h| {
            let url = self.webhook_url(h.url.as_deref(), h.url_file.as_deref());
            let timeout = self.duration_in(
                "signals.webhook.timeout",
                h.timeout.as_deref(),
                Duration::from_secs(10),
                MIN_DURATION,
                MAX_WEBHOOK_TIMEOUT,
                " (the tick waits for the webhook)",
            );
            h.enabled
                .unwrap_or(true)
                .then_some(Webhook { url, timeout })
        });
        let fc = s
            .and_then(|s| s.flow_control.as_ref())
            .filter(|x| x.enabled.unwrap_or(false));
        let flow_control = fc.map(|f| {
            let lever = match f.lever.as_deref() {
                None | Some("event-source-mapping") => FlowLever::EventSourceMapping,
                Some("reserved-concurrency") => FlowLever::ReservedConcurrency,
                Some(other) => {
                    self.fail(
                        "signals.flow_control.lever",
                        format!(
                            "`{}` is not a lever: \"event-source-mapping\" or \"reserved-concurrency\"",
                            excerpt(other)
                        ),
                    );
                    FlowLever::EventSourceMapping
                }
            };
            // The mapping's target is tileUploadLambda (tile-index queue); reserved concurrency
            // is set on an ingest lambda (`shared/boss.md`, "Pausing performers").
            let default_function = match lever {
                FlowLever::EventSourceMapping => "tileUploadLambda",
                FlowLever::ReservedConcurrency => "tileIngestLambda",
            };
            let short = f.function.as_deref().unwrap_or(default_function);
            // Lambda accepts an event-source mapping's MaximumConcurrency from 2 to 1000;
            // reserved concurrency 0 would stop the function outright, so 1 is the floor here.
            let low = match lever {
                FlowLever::EventSourceMapping => 2,
                FlowLever::ReservedConcurrency => 1,
            };
            FlowControl {
                lever,
                function: self.function("signals.flow_control.function", short, domain),
                max_concurrency: self.whole(
                    "signals.flow_control.max_concurrency",
                    f.max_concurrency,
                    2,
                    low,
                    MAX_FLOW_CONCURRENCY,
                ),
            }
        });
        Signals {
            sns_topic_arn,
            webhook,
            flow_control,
        }
    }

    /// Where the policy says the webhook URL is: a file, or a URL that carries no secret (a
    /// policy may be committed). Problems name the field and never quote the URL.
    fn webhook_url(&mut self, url: Option<&str>, url_file: Option<&str>) -> Option<WebhookUrlIn> {
        const URL: &str = "signals.webhook.url";
        const URL_FILE: &str = "signals.webhook.url_file";
        let elsewhere = format!(
            "a policy may be committed, so give this URL in the environment variable {} or in a file named by url_file",
            crate::webhook::URL_VARIABLE
        );
        match (url, url_file) {
            (Some(_), Some(_)) => {
                self.fail(URL, "give url_file or url, not both");
                None
            }
            (Some(text), None) => match WebhookUrl::parse(text) {
                Ok(url) => match url.secret_shape() {
                    None => Some(WebhookUrlIn::Policy(url)),
                    Some(shape) => {
                        self.fail(URL, format!("the URL {shape}; {elsewhere}"));
                        None
                    }
                },
                Err(problem) => {
                    self.fail(URL, format!("the URL {problem}"));
                    None
                }
            },
            // A control character in the path is refused by the check of every string value.
            (None, Some(path)) if path.trim().is_empty() => {
                self.fail(URL_FILE, "is empty; name the file that holds the URL");
                None
            }
            (None, Some(path)) => Some(WebhookUrlIn::File(PathBuf::from(path))),
            (None, None) => None,
        }
    }

    pub(super) fn alarms(&mut self, a: Option<&RawAlarms>) -> Alarms {
        let redis_clusters = a.and_then(|a| a.redis_clusters.clone()).unwrap_or_default();
        self.clusters(&redis_clusters);
        Alarms {
            enabled: a.and_then(|a| a.enabled).unwrap_or(true),
            growing_for: self.duration(
                "alarms.growing_for",
                a.and_then(|a| a.growing_for.as_ref()),
                Duration::from_secs(600),
            ),
            redis_clusters,
            redis_cpu_ceiling: self.real(
                "alarms.redis_cpu_ceiling",
                a.and_then(|a| a.redis_cpu_ceiling),
                90.0,
                (0.0, 100.0),
                true,
                false,
            ),
        }
    }
}
