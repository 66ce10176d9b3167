//! Bad command lines through the real binary: every numeric flag is range-checked and every
//! name follows its AWS rule, refused with the flag and the allowed range, exit code 2, before
//! anything is read or called; nothing panics and no control character is written back.

mod common;

use std::process::Command;

/// Runs the binary with AWS pointed at a closed port, so a command line that is wrongly
/// accepted fails fast instead of reaching a real account.
fn run(args: &[&str]) -> common::Run {
    common::output(
        Command::new(env!("CARGO_BIN_EXE_remediator"))
            .args(args)
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("REMEDIATOR_POLICY"),
    )
}

/// The run was refused as bad input, naming `flag` and every part of `wanted`.
fn refused(run: &common::Run, flag: &str, wanted: &[&str], what: &str) {
    assert_eq!(run.code, 2, "{what}: {}", run.stderr);
    assert!(run.stdout.is_empty(), "{what}: {}", run.stdout);
    assert!(!run.stderr.contains("panicked"), "{what}: {}", run.stderr);
    assert!(
        !run.stderr.chars().any(|c| c.is_control() && c != '\n'),
        "{what}: a control character reached stderr: {:?}",
        run.stderr
    );
    assert!(run.stderr.contains(flag), "{what}: {}", run.stderr);
    for part in wanted {
        assert!(
            run.stderr.contains(part),
            "{what}: `{part}` in {}",
            run.stderr
        );
    }
}

const QUEUE: &str = "local-boss-ingest-1";
const POLICY: &str = "policies/local.toml";

#[test]
fn redrive_rates_outside_the_pacers_range_are_refused_with_the_range() {
    for rate in [
        "1e-19", "1e-300", "0.001", "0", "-1", "-0", "10001", "1e400", "inf", "NaN", "fast", "",
        "40/m",
    ] {
        let r = run(&["redrive", "--queue", QUEUE, "--rate", rate]);
        refused(&r, "--rate", &["0.01", "10000"], rate);
    }
}

#[test]
fn the_pacers_whole_range_is_accepted_by_the_parser() {
    // Without --policy, --job is refused for want of a domain: the rate itself was accepted.
    for rate in ["0.01", "0.01/s", "1", "10000", "10000/s"] {
        let r = run(&["redrive", "--job", "1", "--rate", rate]);
        assert_eq!(r.code, 2, "{rate}: {}", r.stderr);
        assert!(
            r.stderr.contains("--job needs --policy"),
            "{rate}: {}",
            r.stderr
        );
    }
}

#[test]
fn max_and_seed_outside_their_ranges_are_refused_with_the_range() {
    for max in ["0", "-1", "18446744073709551616", "1e3", "1.5", "many"] {
        let r = run(&["redrive", "--queue", QUEUE, "--rate", "10", "--max", max]);
        refused(&r, "--max", &["from 1 to 18446744073709551615"], max);
    }
    for seed in ["-1", "18446744073709551616", "1e3", "0x10", "seed"] {
        let r = run(&["simulate", "--seed", seed]);
        refused(&r, "--seed", &["from 0 to 18446744073709551615"], seed);
    }
    let r = common::remediator(["simulate", "--seed", "18446744073709551615"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("seed 18446744073709551615"),
        "{}",
        r.stdout
    );
}

#[test]
fn names_on_the_command_line_follow_aws_rules() {
    for (flag, value) in [
        ("--job", "1/../../etc"),
        ("--job", "1;reboot"),
        ("--job", "123456789012345678901"),
        ("--queue", "../../etc/passwd"),
        ("--queue", "q$(id)"),
        ("--queue", "ftp://example.com/123/q"),
        ("--queue", "https://sqs.us-east-1.amazonaws.com/123/q q"),
    ] {
        // With a policy, so that a job id wrongly accepted is not refused for want of one.
        let r = run(&["redrive", "--policy", POLICY, flag, value, "--rate", "10"]);
        refused(&r, flag, &[], value);
    }
    let long = "f".repeat(65);
    let functions: [(&str, &[&str]); 5] = [
        ("../x", &[]),
        ("x;id", &[]),
        ("", &[]),
        ("arn:aws:lambda:us-east-1:1:function:x", &[]),
        (&long, &["64"]),
    ];
    for (function, wanted) in functions {
        let r = run(&[
            "redrive",
            "--queue",
            QUEUE,
            "--rate",
            "10",
            "--function",
            function,
        ]);
        refused(&r, "--function", wanted, function);
    }
}

#[test]
fn control_characters_in_arguments_are_refused_and_never_echoed() {
    let policy = POLICY;
    for text in ["a\u{1b}[2Jb", "a\rforged", "bell\u{7}", "rtl\u{202e}"] {
        let r = run(&["pause", "ack", "--policy", policy, "--by", text]);
        refused(&r, "--by", &["control character"], text);
        let r = run(&["signals", "test", "--policy", policy, "--message", text]);
        refused(&r, "--message", &["control character"], text);
        let r = run(&["redrive", "--policy", policy, "--job", text, "--rate", "10"]);
        refused(&r, "--job", &[], text);
    }
}
