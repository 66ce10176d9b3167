//! The queues of the simulated ingest jobs as SQS shows them: names, depths and a peek.

use super::{
    DEFAULT_VISIBILITY, INDEX_VISIBILITY, INGEST_VISIBILITY, Jobs, Phase, SimJob,
    UPLOAD_VISIBILITY, hash,
};
use crate::domain::observed::QueueDepth;
use std::time::Duration;

/// One of a job's queues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Upload,
    Ingest,
    Index,
    IndexDlq,
    Error,
}

const KINDS: [Kind; 5] = [
    Kind::Upload,
    Kind::Ingest,
    Kind::Index,
    Kind::IndexDlq,
    Kind::Error,
];

impl SimJob {
    fn queue_name(&self, dashed: &str, kind: Kind) -> String {
        let id = self.spec.id;
        match kind {
            Kind::Upload => format!("{dashed}-upload-{id}"),
            Kind::Ingest => format!("{dashed}-ingest-{id}"),
            Kind::Index => format!("{dashed}-{id}-index"),
            Kind::IndexDlq => format!("{dashed}-{id}-index-dlq"),
            Kind::Error => format!("{dashed}-{id}-error"),
        }
    }

    /// (visible, in flight, visibility timeout) of one queue.
    fn counts(&self, kind: Kind) -> (u64, u64, u64) {
        match kind {
            Kind::Upload => (self.upload_left, self.uploading, UPLOAD_VISIBILITY),
            Kind::Ingest => (
                0,
                self.ingesting.iter().map(|(_, n)| n).sum(),
                INGEST_VISIBILITY,
            ),
            Kind::Index => (
                self.visible.iter().sum(),
                self.returning.iter().map(|(_, _, n)| n).sum(),
                INDEX_VISIBILITY,
            ),
            Kind::IndexDlq => (self.dead, 0, DEFAULT_VISIBILITY),
            Kind::Error => (0, 0, DEFAULT_VISIBILITY),
        }
    }
}

impl Jobs {
    /// Names of the queues that exist now, sorted.
    #[must_use]
    pub fn queue_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .jobs
            .iter()
            .filter(|j| j.phase == Phase::Running)
            .flat_map(|j| KINDS.map(|k| j.queue_name(&self.dashed, k)))
            .collect();
        names.sort();
        names
    }

    fn find(&self, name: &str) -> Option<(&SimJob, Kind)> {
        self.jobs
            .iter()
            .filter(|j| j.phase == Phase::Running)
            .find_map(|j| {
                KINDS
                    .into_iter()
                    .find(|k| j.queue_name(&self.dashed, *k) == name)
                    .map(|k| (j, k))
            })
    }

    /// GetQueueAttributes of an existing queue by name; `url` is echoed back.
    #[must_use]
    pub fn depth(&self, name: &str, url: &str) -> Option<QueueDepth> {
        let (job, kind) = self.find(name)?;
        let (visible, in_flight, timeout) = job.counts(kind);
        Some(QueueDepth {
            name: name.to_string(),
            url: url.to_string(),
            visible,
            in_flight,
            delayed: 0,
            visibility_timeout: Some(Duration::from_secs(timeout)),
        })
    }

    /// The body of a visible message of an existing queue (`Some(None)`: none visible), shaped
    /// as BOSS's: upload and tile-index messages carry the job, its chunk key and a tile key;
    /// chunk keys are `<md5>&<num_tiles>&<coll>&<exp>&<chan>&<res>&<x>&<y>&<z>&<t>`.
    #[must_use]
    pub fn peek(&self, name: &str) -> Option<Option<String>> {
        let (job, kind) = self.find(name)?;
        if job.counts(kind).0 == 0 {
            return Some(None);
        }
        let id = job.spec.id;
        let h = hash(&[self.seed, id, job.indexed]);
        let chunk = format!("{h:016x}{:016x}&16&1&{id}&1&0&0&0&0&0", hash(&[h]));
        let tile = format!("{:016x}&1&{id}&1&0&0&0&0&0&0", hash(&[h, 1]));
        Some(Some(match kind {
            Kind::Ingest => format!(r#"{{"chunk_key":"{chunk}","ingest_job":{id}}}"#),
            _ => format!(r#"{{"job_id":{id},"chunk_key":"{chunk}","tile_key":"{tile}"}}"#),
        }))
    }
}
