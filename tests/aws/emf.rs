//! The controller's own metrics: `run` prints one CloudWatch Embedded Metric Format object per
//! line on stdout. Checked against the specification (the `_aws` metadata, directives, target
//! members, units, limits) on the binary's real output, and for what the figures say.

use super::{domain, policy, run_once, scratch, strs, throttled_stack};
use serde_json::Value;

/// The units the EMF specification (and CloudWatch's MetricDatum) allows.
const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// One directive: its namespace, dimension names and metric names.
type Directive = (String, Vec<String>, Vec<String>);

/// Checks one line against the EMF specification; returns its directives, or why it is not
/// valid EMF.
fn validate(line: &str) -> Result<Vec<Directive>, String> {
    let root: Value = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let root = root.as_object().ok_or("not a JSON object")?;
    let meta = root["_aws"].as_object().ok_or("no _aws object")?;
    let ts = meta
        .get("Timestamp")
        .and_then(Value::as_u64)
        .ok_or("_aws.Timestamp is not a non-negative integer")?;
    // Milliseconds since the epoch, not seconds: after 2020, before 2100.
    if !(1_577_836_800_000..4_102_444_800_000).contains(&ts) {
        return Err(format!("_aws.Timestamp {ts} is not epoch milliseconds"));
    }
    let directives = meta
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .ok_or("_aws.CloudWatchMetrics is not an array")?;
    let mut out = Vec::new();
    for d in directives {
        let ns = d["Namespace"].as_str().ok_or("Namespace is not a string")?;
        if ns.is_empty() || ns.len() > 255 {
            return Err(format!("Namespace `{ns}` is not 1-255 characters"));
        }
        let sets = d["Dimensions"]
            .as_array()
            .ok_or("Dimensions is not an array")?;
        let mut dims = Vec::new();
        for set in sets {
            let set = set.as_array().ok_or("a dimension set is not an array")?;
            if set.len() > 30 {
                return Err("more than 30 dimensions in a set".into());
            }
            for name in set {
                let name = name.as_str().ok_or("a dimension name is not a string")?;
                match root.get(name) {
                    Some(Value::String(v)) if !v.is_empty() && v.len() <= 1024 => {}
                    other => {
                        return Err(format!("dimension {name}: target member {other:?}"));
                    }
                }
                dims.push(name.to_string());
            }
        }
        let metrics = d["Metrics"].as_array().ok_or("Metrics is not an array")?;
        if metrics.len() > 100 {
            return Err("more than 100 metrics in a directive".into());
        }
        let mut names = Vec::new();
        for m in metrics {
            let name = m["Name"].as_str().ok_or("a metric Name is not a string")?;
            if name.is_empty() || name.len() > 255 {
                return Err(format!("metric name `{name}` is not 1-255 characters"));
            }
            if let Some(unit) = m.get("Unit") {
                let unit = unit.as_str().ok_or("a Unit is not a string")?;
                if !UNITS.contains(&unit) {
                    return Err(format!("{name}: unit `{unit}` is not an EMF unit"));
                }
            }
            match root.get(name) {
                Some(Value::Number(_)) => {}
                Some(Value::Array(values))
                    if values.len() <= 100 && values.iter().all(Value::is_number) => {}
                other => return Err(format!("metric {name}: target member {other:?}")),
            }
            names.push(name.to_string());
        }
        out.push((ns.to_string(), dims, names));
    }
    Ok(out)
}

#[test]
fn the_validator_refuses_what_cloudwatch_would_drop() {
    let good = r#"{"_aws":{"Timestamp":1764800000000,"CloudWatchMetrics":[{"Namespace":"N","Dimensions":[["Domain"]],"Metrics":[{"Name":"Ticks","Unit":"Count"}]}]},"Domain":"d","Ticks":1}"#;
    assert!(validate(good).is_ok());
    for bad in [
        good.replace("1764800000000", "1764800000"),
        good.replace(r#""Ticks":1}"#, r#""Ticks":"1"}"#),
        good.replace(r#""Domain":"d","#, ""),
        good.replace(r#""Unit":"Count""#, r#""Unit":"Things""#),
    ] {
        assert!(validate(&bad).is_err(), "{bad}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_once_prints_valid_emf_lines_that_count_what_it_did() {
    let dir = scratch("emf");
    let d = domain("emf");
    let _stack = throttled_stack(&d).await;
    let policy = policy(&dir, &d);
    let state = strs(&dir, "state.json");
    let run = run_once(&policy, &state);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut lines = Vec::new();
    for line in run.stdout.lines() {
        let directives = validate(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(directives.len(), 1, "{line}");
        let value: Value = serde_json::from_str(line).expect("JSON");
        lines.push((directives.into_iter().next().expect("one"), value));
    }
    assert!(
        !lines.is_empty(),
        "no EMF on stdout; stderr: {}",
        run.stderr
    );
    for ((ns, dims, _), v) in &lines {
        assert_eq!(ns, "BOSS/Remediator");
        assert_eq!(dims[0], "Domain");
        assert_eq!(v["Domain"], d.as_str());
    }
    let (_, tick) = lines
        .iter()
        .find(|((_, dims, _), _)| dims.len() == 1)
        .expect("the tick's line");
    assert_eq!(tick["Ticks"], 1.0);
    assert_eq!(tick["LeaseHeld"], 1.0, "the only replica leads");
    assert_eq!(tick["Halted"], 0.0);
    assert_eq!(tick["Paused"], 0.0);
    assert!(
        tick["ActionsApplied"].as_f64().unwrap_or(0.0) >= 1.0,
        "{tick}"
    );
    assert!(tick["TickDuration"].as_f64().unwrap_or(0.0) > 0.0, "{tick}");
    // One line per action kind: the raise of tileindex (table and GSI in one UpdateTable).
    let raises = lines
        .iter()
        .find(|(_, v)| v["Kind"] == "raise-capacity")
        .map(|(_, v)| v["Actions"].as_f64().unwrap_or(0.0));
    assert!(raises.is_some_and(|n| n >= 1.0), "{}", run.stdout);
    // The log stays on stderr: nothing else on stdout, and no colour codes in a pipe.
    assert!(
        !run.stderr.contains('\u{1b}'),
        "ANSI codes in a pipe: {}",
        run.stderr
    );
    assert!(
        !run.stderr.contains(r#""actions":["#),
        "the journal record is not in the human log: {}",
        run.stderr
    );
}
