//! The `remediator` command line: one module per subcommand, each returning its exit status;
//! here, parsing, logging, and how errors become exit codes (`anyhow` lives only in this
//! binary).

mod check;
mod halt;
mod init;
mod pause;
mod plan;
mod redrive;
mod run;
mod signals;
mod simulate;
mod status;
mod support;

use clap::Parser;
use remediator::cli::{Cli, Command};
use remediator::source::Problems;
use std::io::Write as _;
use std::process::ExitCode;
use support::{BadInput, EXIT_BAD_INPUT};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Help and version: clap's own rendering on stdout.
        Err(e) if !e.use_stderr() => e.exit(),
        // clap quotes the refused value: its control characters are escaped, never written.
        Err(e) => {
            let text = e.render().to_string();
            let mut stderr = std::io::stderr().lock();
            for line in text.trim_end().lines() {
                // A closed stderr is no reason to panic.
                let _ = writeln!(stderr, "{}", remediator::source::escape(line));
            }
            return ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(EXIT_BAD_INPUT));
        }
    };
    remediator::logging::init(cli.log_format);
    match execute(cli.command) {
        Ok(code) => code,
        Err(e) => {
            if let Some(problems) = e.downcast_ref::<Problems>() {
                eprint!("error: {problems}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
            if e.is::<BadInput>() || untrusted_state(&e) {
                eprintln!("error: {e}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// A state file that is damaged or holds values no controller could have written: bad input,
/// like a bad policy (exit 2, so a service manager can be told not to restart on it).
fn untrusted_state(e: &anyhow::Error) -> bool {
    use remediator::controller::ControllerError;
    use remediator::state::StateError;
    let state =
        e.downcast_ref::<StateError>()
            .or_else(|| match e.downcast_ref::<ControllerError>() {
                Some(ControllerError::State(s)) => Some(s),
                _ => None,
            });
    matches!(
        state,
        Some(StateError::Corrupt { .. } | StateError::Invalid { .. })
    )
}

fn execute(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Check(args) => check::execute(args),
        Command::Run(args) => run::execute(args),
        Command::Plan(args) => plan::execute(args),
        Command::Redrive(args) => redrive::execute(args),
        Command::Signals(args) => signals::execute(args),
        Command::Init(args) => init::execute(args),
        Command::Halt(args) => halt::halt(args),
        Command::Resume(args) => halt::resume(args),
        Command::Status(args) => status::execute(args),
        Command::Pause(args) => pause::execute(args),
        Command::Simulate(args) => simulate::execute(args),
    }
}
