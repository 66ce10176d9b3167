//! Policy files through the real binary: shipped policies pass `check`, and each bad policy in
//! `tests/bad_policies/` fails with exit code 2 and exactly the problems in its `.expected` file.

mod common;

use std::ffi::OsStr;
use std::path::Path;

fn check(path: &Path) -> (i32, String, String) {
    let run = common::remediator([OsStr::new("check"), path.as_os_str()]);
    (run.code, run.stdout, run.stderr)
}

#[test]
fn shipped_policies_are_valid() {
    for policy in ["policies/production.toml", "policies/local.toml"] {
        let (code, stdout, stderr) = check(Path::new(policy));
        assert_eq!(code, 0, "{policy}: {stderr}");
        assert!(stdout.contains("tileindex."), "{stdout}");
    }
}

#[test]
fn check_shows_the_policy_as_written_and_warns_of_a_pause_that_tells_nobody() {
    let (code, stdout, stderr) = check(Path::new("policies/production.toml"));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("mode enforce, interval 30s"), "{stdout}");
    // The shipped production policy leaves both channels off until the operator fills them in.
    assert!(
        stderr.contains("WARNING") && stderr.contains("a pause would ask nobody"),
        "{stderr}"
    );
    let run = common::remediator(["check", "policies/local.toml", "--output", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let json: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(json["controller"]["interval"], "30s", "{}", run.stdout);
    assert_eq!(json["controller"]["mode"], "enforce");
    assert!(!run.stderr.contains("WARNING"), "{}", run.stderr);
}

#[test]
fn production_policy_derives_names_from_its_domain() {
    let policy = remediator::policy::Policy::load(Path::new("policies/production.toml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = policy
        .tables
        .iter()
        .map(|t| t.table_name.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "idCount.bossdb.boss",
            "idIndex.bossdb.boss",
            "s3index.bossdb.boss",
            "tileindex.bossdb.boss"
        ]
    );
    assert!(
        policy
            .drift
            .functions
            .contains(&"tileIngestLambda-bossdb-boss".to_string()),
        "{:?}",
        policy.drift.functions
    );
}

#[test]
fn every_bad_policy_reports_all_its_problems_with_place_and_field() {
    let checked = common::every_bad_file("tests/bad_policies", "check");
    assert!(checked >= 12, "only {checked} bad policies found");
}

#[test]
fn a_missing_policy_file_is_named_in_the_error() {
    let (code, _, stderr) = check(Path::new("policies/does-not-exist.toml"));
    assert_eq!(code, 2);
    assert!(
        stderr.contains("policies/does-not-exist.toml") && stderr.contains("cannot read file"),
        "{stderr}"
    );
}

/// A scratch directory for one test.
fn scratch(name: &str) -> std::path::PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("policy-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

#[test]
fn a_policy_over_one_mebibyte_is_refused_before_parsing() {
    let dir = scratch("large");
    let path = dir.join("large.toml");
    // A valid policy padded with comments past 1 MiB: refused for its size alone, quickly.
    let mut text = std::fs::read_to_string("policies/local.toml").unwrap_or_else(|e| panic!("{e}"));
    while text.len() <= 1 << 20 {
        text.push_str("# padding padding padding padding padding padding padding padding\n");
    }
    std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    let started = std::time::Instant::now();
    let (code, stdout, stderr) = check(&path);
    assert_eq!(code, 2, "{stdout}{stderr}");
    assert!(
        stderr.contains("large.toml") && stderr.contains("at most 1048576 (1 MiB)"),
        "{stderr}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // The same policy without the padding is read and passes.
    let fits: String = text
        .lines()
        .take_while(|l| !l.starts_with("# padding"))
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&path, fits + "\n").unwrap_or_else(|e| panic!("{e}"));
    let (code, _, stderr) = check(&path);
    assert_eq!(code, 0, "{stderr}");
}

#[test]
fn a_policy_with_thousands_of_problems_is_reported_quickly() {
    // 1 MiB of bad table rules on one line: every problem placed, in seconds (placing each by
    // counting from the start of the file was quadratic).
    let dir = scratch("many");
    let path = dir.join("many.toml");
    let mut text = String::from("tables = {");
    let mut n = 0;
    while text.len() < (1 << 20) - 100 {
        text.push_str(&format!(
            " t{n} = {{ read = {{ floor = 0, ceiling = 0 }} }},"
        ));
        n += 1;
    }
    text.pop();
    text.push_str(" }\n[stack]\ndomain = \"test.boss\"\n[controller]\ninterval = \"30s\"\n");
    std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    let started = std::time::Instant::now();
    let (code, _, stderr) = check(&path);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("tables: ") && stderr.contains("at most 100"),
        "{}",
        &stderr[..stderr.len().min(2000)]
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "{:?}",
        started.elapsed()
    );
}
