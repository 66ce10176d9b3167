//! Memory between runs: cooldowns, action counts and escalations survive restarts and
//! successive `run --once` invocations, so the guardrails count across them.
//!
//! One trait, so a shared durable store for replicas can replace the local file later.

use crate::memory::Memory;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::io::Write as _;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot read state file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A damaged state file is never silently replaced: that would reset every cooldown.
    #[error(
        "state file {path} is not a remediator state file ({message}); move it aside to start with an empty memory"
    )]
    Corrupt { path: PathBuf, message: String },
    /// Remembered values no controller could have written, or times beyond the clock skew
    /// tolerated: the controller refuses to start rather than crash-loop or act on them.
    #[error(
        "{store} holds values that cannot be trusted: {}; fix or move it aside to start with an empty memory",
        problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
    )]
    Invalid {
        store: String,
        problems: Vec<crate::memory::validate::Problem>,
    },
    #[error("cannot write state file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub trait StateStore {
    /// What the store is, for messages (`state file /var/lib/remediator/state.json`).
    fn name(&self) -> String {
        "the state store".to_string()
    }
    /// The memory saved last, or an empty one if nothing was ever saved.
    fn load(&self) -> impl Future<Output = Result<Memory, StateError>> + Send;
    fn save(&self, memory: &Memory) -> impl Future<Output = Result<(), StateError>> + Send;
}

/// The version of the file layout, checked on load.
const VERSION: u32 = 1;

#[derive(Serialize, Deserialize)]
struct StateFile {
    version: u32,
    memory: Memory,
}

/// A local JSON file, replaced atomically (write to a sibling, then rename) so a crash mid-write
/// leaves the previous state intact.
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

    fn load_sync(&self) -> Result<Memory, StateError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Memory::default()),
            Err(source) => {
                return Err(StateError::Read {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let file: StateFile = serde_json::from_str(&text).map_err(|e| StateError::Corrupt {
            path: self.path.clone(),
            message: format!("line {}, column {}: {e}", e.line(), e.column()),
        })?;
        if file.version != VERSION {
            return Err(StateError::Corrupt {
                path: self.path.clone(),
                message: format!("version {} where {VERSION} is expected", file.version),
            });
        }
        Ok(file.memory)
    }

    fn save_sync(&self, memory: &Memory) -> Result<(), StateError> {
        let write_err = |source| StateError::Write {
            path: self.path.clone(),
            source,
        };
        let file = StateFile {
            version: VERSION,
            memory: memory.clone(),
        };
        let text =
            serde_json::to_string_pretty(&file).map_err(|e| write_err(std::io::Error::other(e)))?;
        let mut tmp_name = self.path.as_os_str().to_owned();
        tmp_name.push(".tmp");
        let tmp = PathBuf::from(tmp_name);
        let mut f = std::fs::File::create(&tmp).map_err(write_err)?;
        f.write_all(text.as_bytes()).map_err(write_err)?;
        f.sync_all().map_err(write_err)?;
        std::fs::rename(&tmp, &self.path).map_err(write_err)
    }
}

impl StateStore for FileState {
    fn name(&self) -> String {
        format!("state file {}", self.path.display())
    }

    async fn load(&self) -> Result<Memory, StateError> {
        self.load_sync()
    }

    async fn save(&self, memory: &Memory) -> Result<(), StateError> {
        self.save_sync(memory)
    }
}
