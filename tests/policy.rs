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
    let mut checked = 0;
    let mut entries: Vec<_> = std::fs::read_dir("tests/bad_policies")
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
    {
        let expected = std::fs::read_to_string(path.with_extension("expected"))
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (code, stdout, stderr) = check(path);
        assert_eq!(code, 2, "{}: exit code; stderr: {stderr}", path.display());
        assert!(stdout.is_empty(), "{stdout}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        let reported: Vec<&str> = stderr.lines().skip(1).map(str::trim).collect();
        let wanted: Vec<&str> = expected
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        assert_eq!(reported, wanted, "{}", path.display());
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} bad policies found");
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
