//! The state in a local JSON file, for one controller process and the commands beside it
//! (`status`, `pause`, `halt`). Every operation takes an exclusive lock on a sibling
//! `<file>.lock`, reads, changes and replaces the file atomically (write a sibling, then
//! rename), so a command writing between the controller's read and its write is never lost,
//! and a crash mid-write leaves the previous state intact. Replicas on several hosts need the
//! state table instead: a file cannot be shared between them.

use super::shared::{Bid, Claim, Fence, Halt, Lease, LeaseOutcome, NOTE_KEEP, Note, Shared};
use super::{StateError, StateStore};
use crate::memory::Memory;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The version of the file layout: 1 held the memory alone, 2 adds what is shared.
const LAYOUT: u32 = 2;

#[derive(Serialize, Deserialize)]
struct Document {
    version: u32,
    /// Bumped by every write of the memory.
    #[serde(default)]
    generation: u64,
    memory: Memory,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    lease: Option<Lease>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    halt: Option<Halt>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    notes: Vec<Note>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    claims: Vec<Claim>,
}

impl Default for Document {
    fn default() -> Self {
        Self {
            version: LAYOUT,
            generation: 0,
            memory: Memory::default(),
            lease: None,
            halt: None,
            notes: Vec::new(),
            claims: Vec::new(),
        }
    }
}

/// A local JSON file, locked for every operation.
#[derive(Debug, Clone)]
pub struct FileState {
    path: PathBuf,
}

impl FileState {
    #[must_use]
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    }

    /// Runs `f` on the document under the file's lock; writes it back if `f` says so.
    fn with_lock<T>(
        &self,
        f: impl FnOnce(&mut Document) -> Result<(T, bool), StateError>,
    ) -> Result<T, StateError> {
        let lock_path = self.sibling(".lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|source| StateError::Write {
                path: lock_path.clone(),
                source,
            })?;
        lock.lock().map_err(|source| StateError::Write {
            path: lock_path,
            source,
        })?;
        let mut doc = self.read_document()?;
        let (value, write) = f(&mut doc)?;
        if write {
            self.write_document(&doc)?;
        }
        // The lock is released when `lock` is dropped.
        drop(lock);
        Ok(value)
    }

    fn read_document(&self) -> Result<Document, StateError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Document::default()),
            Err(source) => {
                return Err(StateError::Read {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let doc: Document = serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
            path: self.path.clone(),
            message: format!("line {}, column {}: {e}", e.line(), e.column()),
        })?;
        if !(1..=LAYOUT).contains(&doc.version) {
            return Err(StateError::Corrupt {
                path: self.path.clone(),
                message: format!(
                    "layout version {} where 1 to {LAYOUT} is expected",
                    doc.version
                ),
            });
        }
        Ok(doc)
    }

    fn write_document(&self, doc: &Document) -> Result<(), StateError> {
        let write_err = |source| StateError::Write {
            path: self.path.clone(),
            source,
        };
        let text =
            serde_json::to_string_pretty(doc).map_err(|e| write_err(std::io::Error::other(e)))?;
        let tmp = self.sibling(&format!(".tmp.{}", std::process::id()));
        let mut f = std::fs::File::create(&tmp).map_err(write_err)?;
        f.write_all(text.as_bytes()).map_err(write_err)?;
        f.sync_all().map_err(write_err)?;
        std::fs::rename(&tmp, &self.path).map_err(write_err)
    }

    fn name_of(&self) -> String {
        format!("state file {}", self.path.display())
    }
}

impl StateStore for FileState {
    fn name(&self) -> String {
        self.name_of()
    }

    async fn read(&self) -> Result<Shared, StateError> {
        // Nothing was ever saved where not even the directory exists (and no lock can be
        // taken there): an empty memory, as for a missing file.
        if self
            .path
            .parent()
            .is_some_and(|d| !d.as_os_str().is_empty() && !d.exists())
        {
            return Ok(Shared::default());
        }
        self.with_lock(|doc| {
            Ok((
                Shared {
                    memory: doc.memory.clone(),
                    version: doc.generation,
                    lease: doc.lease.clone(),
                    halt: doc.halt.clone(),
                    notes: doc.notes.clone(),
                    claims: doc.claims.clone(),
                },
                false,
            ))
        })
    }

    async fn write(
        &self,
        memory: &Memory,
        version: u64,
        fence: Option<&Fence>,
    ) -> Result<u64, StateError> {
        self.with_lock(|doc| {
            if let Some(fence) = fence
                && !fence.admits(doc.lease.as_ref())
            {
                return Err(StateError::Fenced {
                    store: self.name_of(),
                    owner: fence.owner.clone(),
                    epoch: fence.epoch,
                });
            }
            if doc.generation != version {
                return Err(StateError::Conflict {
                    store: self.name_of(),
                    read: version,
                });
            }
            doc.version = LAYOUT;
            doc.generation += 1;
            doc.memory = memory.clone();
            Ok((doc.generation, true))
        })
    }

    async fn bid(&self, bid: &Bid) -> Result<LeaseOutcome, StateError> {
        self.with_lock(|doc| {
            let expires = bid.now.plus(bid.hold_for);
            match &mut doc.lease {
                Some(l) if l.owner == bid.owner && Some(l.epoch) == bid.epoch => {
                    l.expires = expires;
                    Ok((LeaseOutcome::Held(l.clone()), true))
                }
                Some(l) if l.live_at(bid.now) => Ok((LeaseOutcome::Follower(l.clone()), false)),
                held => {
                    let epoch = held.as_ref().map_or(0, |l| l.epoch) + 1;
                    let lease = Lease {
                        owner: bid.owner.clone(),
                        epoch,
                        expires,
                    };
                    *held = Some(lease.clone());
                    Ok((LeaseOutcome::Held(lease), true))
                }
            }
        })
    }

    async fn release(&self, lease: &Lease) -> Result<(), StateError> {
        self.with_lock(|doc| match &mut doc.lease {
            Some(l) if l.owner == lease.owner && l.epoch == lease.epoch => {
                l.expires = Timestamp(0);
                Ok(((), true))
            }
            _ => Ok(((), false)),
        })
    }

    async fn set_halt(&self, halt: Option<&Halt>) -> Result<(), StateError> {
        self.with_lock(|doc| {
            doc.halt = halt.cloned();
            Ok(((), true))
        })
    }

    async fn add_note(&self, note: &Note) -> Result<(), StateError> {
        self.with_lock(|doc| {
            doc.notes.retain(|n| note.at.since(n.at) < NOTE_KEEP);
            doc.notes.push(note.clone());
            Ok(((), true))
        })
    }

    async fn claim(&self, claim: &Claim, now: Timestamp) -> Result<(), StateError> {
        self.with_lock(|doc| {
            if let Some(other) = doc
                .claims
                .iter()
                .find(|c| c.queue == claim.queue && c.owner != claim.owner && c.live(now))
            {
                return Err(StateError::Claimed {
                    queue: other.queue.clone(),
                    owner: other.owner.clone(),
                    since: other.since,
                });
            }
            doc.claims.retain(|c| c.queue != claim.queue && c.live(now));
            doc.claims.push(claim.clone());
            Ok(((), true))
        })
    }

    async fn unclaim(&self, queue: &str, owner: &str) -> Result<(), StateError> {
        self.with_lock(|doc| {
            let before = doc.claims.len();
            doc.claims
                .retain(|c| !(c.queue == queue && c.owner == owner));
            let changed = doc.claims.len() != before;
            Ok(((), changed))
        })
    }
}
