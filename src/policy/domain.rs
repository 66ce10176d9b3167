//! The stack domain and every BOSS resource name derived from it (see `shared/boss.md`, "Names").

use super::names::{DOMAIN_MAX, FUNCTION_NAME_MAX, QUEUE_NAME_MAX};
use serde::Serialize;
use std::fmt;

/// A BOSS stack domain such as `production.boss` or `bossdb.boss`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Domain(String);

impl Domain {
    /// Accepts lowercase dotted names (`production.boss`) short enough that every name derived
    /// from them fits AWS's limits ([`DOMAIN_MAX`]).
    ///
    /// # Errors
    /// A message saying what is wrong with the name.
    pub fn new(name: &str) -> Result<Self, String> {
        let ok_chars = name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-');
        if name.is_empty() {
            return Err("must not be empty".into());
        }
        if !ok_chars || name.starts_with('.') || name.ends_with('.') || name.contains("..") {
            return Err(format!(
                "`{}` is not a stack domain: use lowercase dotted names like `production.boss`",
                crate::source::excerpt(name)
            ));
        }
        if name.len() > DOMAIN_MAX {
            return Err(format!(
                "is {} characters long; a stack domain has at most {DOMAIN_MAX}, so that the \
                 names derived from it fit AWS's limits (`tileIngestLambda-<domain>` within \
                 Lambda's {FUNCTION_NAME_MAX}, `<domain>-<job>-index-dlq` within SQS's \
                 {QUEUE_NAME_MAX})",
                name.len()
            ));
        }
        if !name.contains('.') {
            return Err(format!(
                "`{name}` has no dot; BOSS domains look like `production.boss`"
            ));
        }
        Ok(Self(name.to_string()))
    }

    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `tileindex` → `tileindex.production.boss`.
    #[must_use]
    pub fn table(&self, short: &str) -> String {
        format!("{short}.{}", self.0)
    }

    /// `production.boss` → `production-boss`, the prefix of per-job queues.
    #[must_use]
    pub fn dashed(&self) -> String {
        self.0.replace('.', "-")
    }

    /// `tileIngestLambda` → `tileIngestLambda-production-boss`.
    #[must_use]
    pub fn function(&self, short: &str) -> String {
        format!("{short}-{}", self.dashed())
    }

    /// `production.boss` → `ProductionBoss`, used by the static queues.
    #[must_use]
    pub fn capitalised(&self) -> String {
        self.0
            .split(['.', '-'])
            .map(|part| {
                let mut chars = part.chars();
                chars.next().map_or_else(String::new, |first| {
                    first.to_ascii_uppercase().to_string() + chars.as_str()
                })
            })
            .collect()
    }

    /// Prefix of every job's ingest queue: `production-boss-ingest-`.
    #[must_use]
    pub fn ingest_queue_prefix(&self) -> String {
        format!("{}-ingest-", self.dashed())
    }

    /// `production-boss-ingest-42`: the chunks waiting for tileIngestLambda (no dead-letter queue).
    #[must_use]
    pub fn ingest_queue(&self, job: &str) -> String {
        format!("{}{job}", self.ingest_queue_prefix())
    }

    /// `production-boss-upload-42`: tiles the ingest client has still to upload.
    #[must_use]
    pub fn upload_queue(&self, job: &str) -> String {
        format!("{}-upload-{job}", self.dashed())
    }

    /// `production-boss-42-index`: uploaded tiles waiting for tileUploadLambda.
    #[must_use]
    pub fn index_queue(&self, job: &str) -> String {
        format!("{}-{job}-index", self.dashed())
    }

    /// The job of an ingest queue of this domain, from its name or URL.
    #[must_use]
    pub fn job_of_ingest_queue<'q>(&self, queue: &'q str) -> Option<&'q str> {
        let name = queue.rsplit('/').next().unwrap_or(queue);
        name.strip_prefix(&self.ingest_queue_prefix())
            .filter(|job| !job.is_empty())
    }

    /// The domain whose ingest queue this is (`production-boss-ingest-42` → `production.boss`),
    /// for a manual re-drive named by queue without a policy. The dashed form is all the names
    /// derive from, so the dotted guess is only used for display.
    #[must_use]
    pub fn of_ingest_queue(queue: &str) -> Option<(Self, String)> {
        let name = queue.rsplit('/').next().unwrap_or(queue);
        let (dashed, job) = name.split_once("-ingest-")?;
        let domain = Self::new(&dashed.replace('-', ".")).ok()?;
        (!job.is_empty()).then(|| (domain, job.to_string()))
    }

    /// `DeadletterProductionBoss`: page-out failures, the sign of imminent write locks.
    #[must_use]
    pub fn deadletter_queue(&self) -> String {
        format!("Deadletter{}", self.capitalised())
    }
}

impl fmt::Display for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_derive_from_the_domain_as_boss_does() {
        let d = Domain::new("production.boss").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.table("tileindex"), "tileindex.production.boss");
        assert_eq!(
            d.function("tileIngestLambda"),
            "tileIngestLambda-production-boss"
        );
        assert_eq!(d.ingest_queue_prefix(), "production-boss-ingest-");
        assert_eq!(d.deadletter_queue(), "DeadletterProductionBoss");
        assert_eq!(d.ingest_queue("42"), "production-boss-ingest-42");
        assert_eq!(d.upload_queue("42"), "production-boss-upload-42");
        assert_eq!(d.index_queue("42"), "production-boss-42-index");
        assert_eq!(
            d.job_of_ingest_queue(
                "https://sqs.us-east-1.amazonaws.com/1/production-boss-ingest-42"
            ),
            Some("42")
        );
        assert_eq!(d.job_of_ingest_queue("bossdb-boss-ingest-42"), None);
        let (guessed, job) = Domain::of_ingest_queue("production-boss-ingest-7")
            .unwrap_or_else(|| panic!("not an ingest queue"));
        assert_eq!(
            (guessed.dashed().as_str(), job.as_str()),
            ("production-boss", "7")
        );
    }

    #[test]
    fn malformed_domains_are_refused() {
        for bad in [
            "",
            "Production.Boss",
            "boss",
            ".boss",
            "a..b",
            "prod boss.x",
            "a\u{1b}[31m.boss",
            &format!("{}.boss", "x".repeat(300)),
            &format!("{}.boss", "x".repeat(DOMAIN_MAX - 4)),
        ] {
            assert!(Domain::new(bad).is_err(), "{bad} accepted");
        }
    }
}
