//! Arbitrary TOML values, written as TOML text, and a shipped file with one field replaced.

use proptest::prelude::*;
use proptest::sample::Index;

/// The marker put where the arbitrary value goes, then replaced in the text.
const MARK: &str = "\"__FUZZ__\"";

pub fn toml_float(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf".into() } else { "-inf".into() }
    } else {
        format!("{v:e}")
    }
}

pub fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Numbers at and around every edge: zero, signs, the u32/i64/u64 limits, tiny and huge floats.
pub fn edge_number() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "0",
            "-0",
            "1",
            "-1",
            "2",
            "9",
            "10",
            "99",
            "100",
            "1000",
            "1001",
            "40000",
            "1000000",
            "1000001",
            "4294967295",
            "4294967296",
            "9223372036854775807",
            "-9223372036854775808",
            "18446744073709551615",
            "99999999999999999999999",
            "0.0",
            "-0.0",
            "1e-19",
            "1e-300",
            "5e-324",
            "0.01",
            "0.009",
            "10000",
            "10000.5",
            "1e300",
            "1.7976931348623157e308",
            "1e400",
            "nan",
            "-nan",
            "inf",
            "+inf",
            "-inf",
            "0.5",
            "0.99",
            "1.0",
            "1.5",
            "4.0",
            "4.01",
        ])
        .prop_map(String::from),
        any::<i64>().prop_map(|v| v.to_string()),
        any::<u64>().prop_map(|v| v.to_string()),
        any::<f64>().prop_map(toml_float),
    ]
}

/// Durations from nothing to forever, including forms humantime refuses.
pub fn edge_duration() -> impl Strategy<Value = String> {
    let amount = prop_oneof![
        prop::sample::select(vec![
            "0",
            "1",
            "9",
            "10",
            "59",
            "60",
            "99",
            "100",
            "999",
            "30",
            "31",
            "720",
            "2592000",
            "2592001",
            "99999999999",
            "18446744073709551615",
            "-1",
            "1.5",
            "",
        ])
        .prop_map(String::from),
        any::<u64>().prop_map(|v| v.to_string()),
    ];
    let unit = prop::sample::select(vec![
        "ns", "us", "ms", "s", "m", "min", "h", "d", "days", "w", "M", "y", "", "x",
    ]);
    (amount, unit, prop::option::of(("[ 0-9a-z]{0,6}",))).prop_map(|(n, u, extra)| {
        let tail = extra.map_or_else(String::new, |(e,)| e);
        toml_string(&format!("{n}{u}{tail}"))
    })
}

/// Strings with control characters, path traversal, shell metacharacters, huge lengths.
pub fn edge_string() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>().prop_map(|s| toml_string(&s)),
        "[ -~]{0,80}".prop_map(|s| toml_string(&s)),
        prop::sample::select(vec![
            "",
            "a",
            "x.boss",
            "local.boss",
            "us-east-1",
            "us-gov-west-1",
            "../../etc/passwd",
            "$(reboot)",
            "a;b|c",
            "a\u{1b}[31mb",
            "a\r\nb",
            "\u{202e}abc",
            "a\u{0}b",
            "tileIngestLambda",
            "arn:aws:sns:us-east-1:123456789012:t",
            "enforce",
            "dry-run",
            "reserved-concurrency",
            "on-demand",
            "provisioned",
            "read",
            "write",
        ])
        .prop_map(toml_string),
        (1usize..400).prop_map(|n| toml_string(&"x".repeat(n))),
    ]
}

/// Any TOML value: scalars of every type, arrays, inline tables, dates.
pub fn any_value() -> impl Strategy<Value = String> {
    let scalar = prop_oneof![
        4 => edge_number(),
        3 => edge_duration(),
        3 => edge_string(),
        1 => any::<bool>().prop_map(|b| b.to_string()),
        1 => Just("1979-05-27T07:32:00Z".to_string()),
    ];
    prop_oneof![
        6 => scalar.clone(),
        1 => prop::collection::vec(scalar.clone(), 0..4).prop_map(|v| format!("[{}]", v.join(", "))),
        1 => scalar.prop_map(|v| format!("{{ x = {v} }}")),
    ]
}

// ---- One field of a shipped file replaced ----

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Item(usize),
}

/// Every leaf of a TOML table (scalars and array items), as paths.
fn leaves(value: &toml::Value, path: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                path.push(Step::Key(k.clone()));
                leaves(v, path, out);
                path.pop();
            }
        }
        toml::Value::Array(items) => {
            out.push(path.clone());
            for (i, v) in items.iter().enumerate() {
                path.push(Step::Item(i));
                leaves(v, path, out);
                path.pop();
            }
        }
        _ => out.push(path.clone()),
    }
}

fn slot<'v>(value: &'v mut toml::Value, path: &[Step]) -> Option<&'v mut toml::Value> {
    let Some((first, rest)) = path.split_first() else {
        return Some(value);
    };
    let next = match (value, first) {
        (toml::Value::Table(t), Step::Key(k)) => t.get_mut(k)?,
        (toml::Value::Array(a), Step::Item(i)) => a.get_mut(*i)?,
        _ => return None,
    };
    slot(next, rest)
}

/// `text` with the leaf chosen by `which` (or, with `add`, a new key beside it) replaced by
/// `value` (TOML text).
pub fn mutate(text: &str, which: Index, add: bool, value: &str) -> String {
    let mut root = toml::Value::Table(text.parse::<toml::Table>().unwrap_or_default());
    let mut all = Vec::new();
    leaves(&root, &mut Vec::new(), &mut all);
    let mut path = all[which.index(all.len())].clone();
    if add {
        path.pop();
        path.push(Step::Key("fuzzed_key".into()));
        if let Some(toml::Value::Table(t)) = slot(&mut root, &path[..path.len() - 1]) {
            t.insert("fuzzed_key".into(), toml::Value::String("__FUZZ__".into()));
        }
    } else if let Some(leaf) = slot(&mut root, &path) {
        *leaf = toml::Value::String("__FUZZ__".into());
    }
    toml::to_string(&root)
        .unwrap_or_default()
        .replacen(MARK, value, 1)
}

/// Values of each type, plausible and at the edges: a replaced field keeps its type, so more
/// of these get past the type check and reach the bounds.
#[derive(Debug, Clone)]
pub struct Typed {
    number: String,
    duration: String,
    text: String,
    flag: bool,
}

pub fn typed() -> impl Strategy<Value = Typed> {
    let number = prop_oneof![
        edge_number(),
        (0u64..2_000_000).prop_map(|v| v.to_string()),
        (0.0f64..5.0).prop_map(toml_float),
        (0.0f64..200_000.0).prop_map(toml_float),
    ];
    let unit = prop::sample::select(vec!["ms", "s", "m", "h", "d"]);
    let duration = prop_oneof![
        edge_duration(),
        (1u64..4000, unit).prop_map(|(n, u)| toml_string(&format!("{n}{u}"))),
    ];
    (number, duration, edge_string(), any::<bool>()).prop_map(|(number, duration, text, flag)| {
        Typed {
            number,
            duration,
            text,
            flag,
        }
    })
}

/// `text` with the leaf chosen by `which` replaced by a value of its own type.
pub fn retype(text: &str, which: Index, value: &Typed) -> String {
    let root = toml::Value::Table(text.parse::<toml::Table>().unwrap_or_default());
    let mut all = Vec::new();
    leaves(&root, &mut Vec::new(), &mut all);
    let path = &all[which.index(all.len())];
    let mut copy = root.clone();
    let replacement = match slot(&mut copy, path) {
        Some(toml::Value::Integer(_) | toml::Value::Float(_)) => value.number.clone(),
        Some(toml::Value::Boolean(_)) => value.flag.to_string(),
        Some(toml::Value::String(s)) if humantime::parse_duration(s).is_ok() => {
            value.duration.clone()
        }
        _ => value.text.clone(),
    };
    mutate(text, which, false, &replacement)
}
