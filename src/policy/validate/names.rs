//! Validation of the names a policy gives: the domain, the region, table and function short
//! names (checked as the full names derived from the domain), the SNS topic and the Redis
//! clusters, each by its AWS service's own rules (`policy::names`).

use super::Checker;
use crate::policy::Domain;
use crate::policy::names;
use crate::source::excerpt;

impl Checker<'_, '_> {
    pub(super) fn domain(&mut self, text: &str) -> Option<Domain> {
        match Domain::new(text) {
            Ok(d) => Some(d),
            Err(e) => {
                self.fail("stack.domain", e);
                None
            }
        }
    }

    pub(super) fn region(&mut self, text: Option<&String>) -> Option<String> {
        let text = text?;
        match names::region(text) {
            Ok(()) => Some(text.clone()),
            Err(rule) => {
                self.fail("stack.region", format!("`{}` {rule}", excerpt(text)));
                None
            }
        }
    }

    /// The full table name `<short>.<domain>`; the short name is a key of `[tables]`.
    pub(super) fn table_name(&mut self, at: &str, short: &str, domain: Option<&Domain>) -> String {
        if let Err(rule) = names::short_name(short) {
            self.fail(
                at,
                format!(
                    "`{}` is not a table short name (like `tileindex`): it {rule}",
                    excerpt(short)
                ),
            );
            return short.to_string();
        }
        let Some(domain) = domain else {
            return short.to_string();
        };
        let full = domain.table(short);
        if let Err(rule) = names::table_name(&full) {
            self.fail(at, format!("the table name `{}` {rule}", excerpt(&full)));
        }
        full
    }

    /// The full function name `<short>-<domain with dashes>` of a short name given at `field`.
    pub(super) fn function(&mut self, field: &str, short: &str, domain: Option<&Domain>) -> String {
        if let Err(rule) = names::short_name(short) {
            self.fail(
                field,
                format!(
                    "`{}` is not a function short name (like `tileIngestLambda`): it {rule}",
                    excerpt(short)
                ),
            );
            return short.to_string();
        }
        let Some(domain) = domain else {
            return short.to_string();
        };
        let full = domain.function(short);
        if let Err(rule) = names::function_name(&full) {
            self.fail(
                field,
                format!(
                    "the function name `{}` (`<short>-<domain with dashes>`) {rule}",
                    excerpt(&full)
                ),
            );
        }
        full
    }

    pub(super) fn topic_arn(&mut self, arn: String) -> Option<String> {
        match names::sns_topic_arn(&arn) {
            Ok(()) => Some(arn),
            Err(rule) => {
                self.fail(
                    "signals.sns.topic_arn",
                    format!("`{}` {rule}", excerpt(&arn)),
                );
                None
            }
        }
    }

    pub(super) fn clusters(&mut self, ids: &[String]) {
        if ids.len() > crate::policy::bounds::MAX_LISTED {
            self.fail(
                "alarms.redis_clusters",
                format!(
                    "{} clusters; at most {} (each is read every tick)",
                    ids.len(),
                    crate::policy::bounds::MAX_LISTED
                ),
            );
        }
        for (i, id) in ids.iter().enumerate() {
            if let Err(rule) = names::cache_cluster_id(id) {
                self.fail(
                    &format!("alarms.redis_clusters.{i}"),
                    format!("`{}` {rule}", excerpt(id)),
                );
            }
        }
    }
}
