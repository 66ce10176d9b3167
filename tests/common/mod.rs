//! Helpers shared by the integration tests that run the real binary.

use std::ffi::OsStr;
use std::process::Command;

/// What one run of the binary left behind.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs the `remediator` binary built for this test run with `args`.
pub fn remediator<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    output(Command::new(env!("CARGO_BIN_EXE_remediator")).args(args))
}

/// Runs a prepared command of the binary to completion.
pub fn output(cmd: &mut Command) -> Run {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running remediator: {e}"));
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}
