//! Property tests of the input parsers: the policy and the scenario parser never panic, whatever
//! they are given (random bytes, random text, a shipped file with one field replaced by an
//! arbitrary value of arbitrary type), and whatever they accept lies within the bounds the
//! README documents (`policy::bounds`, `policy::names`, `sim::limits`). Their problems never
//! carry a raw control character.

mod props;

use props::values::{any_value, mutate, retype, typed};
use props::within::{policy_within_bounds, problems_are_clean, scenario_within_bounds};
use proptest::prelude::*;
use proptest::sample::Index;
use remediator::policy::Policy;
use remediator::sim::{Scenario, scenario::SHIPPED};
use std::path::Path;

const LOCAL: &str = include_str!("../policies/local.toml");
const PRODUCTION: &str = include_str!("../policies/production.toml");

/// `cases` per property, or `PROPTEST_CASES` when set (for a longer run by hand).
fn config(cases: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(cases);
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn check_policy(text: &str) {
    match Policy::parse(Path::new("fuzz.toml"), text) {
        Ok(policy) => policy_within_bounds(&policy),
        Err(problems) => problems_are_clean(&problems),
    }
}

fn check_scenario(text: &str) {
    match Scenario::parse(Path::new("fuzz.toml"), text) {
        Ok(scenario) => scenario_within_bounds(&scenario),
        Err(problems) => problems_are_clean(&problems),
    }
}

/// Random text built from TOML-looking lines, more likely to get past the syntax check.
fn tomlish() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "[stack]",
        "[controller]",
        "[redrive]",
        "[drift]",
        "[tables.t]",
        "[[tables]]",
        "[[workload]]",
        "[performers]",
        "[[functions]]",
        "domain",
        "interval",
        "rate",
        "name",
        "seed",
        "duration",
        "points",
        "read",
        "write",
        "units",
        "at",
    ]);
    prop::collection::vec((key, any_value()), 0..12).prop_map(|lines| {
        lines
            .into_iter()
            .map(|(k, v)| {
                if k.starts_with('[') {
                    k.to_string()
                } else {
                    format!("{k} = {v}")
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    })
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn policy_parser_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        check_policy(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn policy_parser_never_panics_on_text(text in any::<String>()) {
        check_policy(&text);
    }

    #[test]
    fn policy_parser_never_panics_on_toml_like_text(text in tomlish()) {
        check_policy(&text);
    }

    #[test]
    fn a_policy_with_one_field_replaced_is_refused_or_within_bounds(
        production in any::<bool>(),
        which in any::<Index>(),
        add in prop::bool::weighted(0.1),
        value in any_value(),
    ) {
        let base = if production { PRODUCTION } else { LOCAL };
        check_policy(&mutate(base, which, add, &value));
    }

    #[test]
    fn a_policy_with_one_field_retyped_is_refused_or_within_bounds(
        production in any::<bool>(),
        which in any::<Index>(),
        value in typed(),
    ) {
        let base = if production { PRODUCTION } else { LOCAL };
        check_policy(&retype(base, which, &value));
    }

    #[test]
    fn scenario_parser_never_panics_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        check_scenario(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn scenario_parser_never_panics_on_toml_like_text(text in tomlish()) {
        check_scenario(&text);
    }

    #[test]
    fn a_scenario_with_one_field_replaced_is_refused_or_within_bounds(
        shipped in 0..SHIPPED.len(),
        which in any::<Index>(),
        add in prop::bool::weighted(0.1),
        value in any_value(),
    ) {
        check_scenario(&mutate(SHIPPED[shipped].1, which, add, &value));
    }

    #[test]
    fn a_scenario_with_one_field_retyped_is_refused_or_within_bounds(
        shipped in 0..SHIPPED.len(),
        which in any::<Index>(),
        value in typed(),
    ) {
        check_scenario(&retype(SHIPPED[shipped].1, which, &value));
    }
}

#[test]
fn the_shipped_files_are_within_bounds() {
    check_policy(LOCAL);
    check_policy(PRODUCTION);
    for (name, _) in SHIPPED {
        // Loaded by name: a shipped scenario may read an embedded export file.
        let scenario = Scenario::load(name).unwrap_or_else(|e| panic!("{e}"));
        scenario_within_bounds(&scenario);
    }
}

#[test]
fn text_over_one_mebibyte_is_refused_by_both_parsers() {
    let text = format!("{LOCAL}{}", "#".repeat(1 << 20));
    let policy = Policy::parse(Path::new("big.toml"), &text)
        .err()
        .map(|p| p.to_string());
    assert!(policy.is_some_and(|p| p.contains("at most 1048576")));
    let scenario = Scenario::parse(Path::new("big.toml"), &text)
        .err()
        .map(|p| p.to_string());
    assert!(scenario.is_some_and(|p| p.contains("at most 1048576")));
}
