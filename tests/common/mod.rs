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

/// Runs `remediator <command> <file>` on every `*.toml` in `dir`: each fails with exit code 2 and
/// exactly the problems in its `.expected` file (file, line, column, field), writes nothing to
/// stdout, does not panic, and writes no control character back. Returns how many were run.
#[allow(dead_code)] // Used by the policy and simulate tests, not by every test sharing this module.
pub fn every_bad_file(dir: &str, command: &str) -> usize {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    entries.sort();
    for path in &entries {
        let shown = path.display();
        let expected = std::fs::read_to_string(path.with_extension("expected"))
            .unwrap_or_else(|e| panic!("{shown}: {e}"));
        let run = remediator([OsStr::new(command), path.as_os_str()]);
        let stderr = &run.stderr;
        assert_eq!(run.code, 2, "{shown}: exit code; stderr: {stderr}");
        assert!(run.stdout.is_empty(), "{shown}: {}", run.stdout);
        assert!(!stderr.contains("panicked"), "{shown}: {stderr}");
        assert!(
            !stderr.chars().any(|c| c.is_control() && c != '\n'),
            "{shown}: a control character reached stderr: {stderr:?}"
        );
        let reported: Vec<&str> = stderr.lines().skip(1).map(str::trim).collect();
        let wanted: Vec<&str> = expected
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(reported, wanted, "{shown}");
    }
    entries.len()
}
