//! The IAM policy in `deploy/` grants exactly the AWS operations the adapters call.
//!
//! The operations are read from the source of `src/aws/` (see `iam/scan.rs`) and mapped to the
//! IAM actions they need; `deploy/iam-policy.json` must grant those and nothing else, and the
//! CloudFormation template's task policy must be the same document.

#[path = "iam/scan.rs"]
mod scan;

use scan::{Call, rust_files, scan, snippet};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

const ADAPTERS: &str = "src/aws";
const POLICY: &str = "deploy/iam-policy.json";
const TEMPLATE: &str = "deploy/remediator.yaml";
/// The template's resource that carries the policy, attached to the ECS task role.
const TEMPLATE_POLICY_RESOURCE: &str = "TaskPolicy";

/// Actions that IAM authorizes on no resource type (the Service Authorization Reference lists
/// none for them), so they can only be granted on `*`. Every other action must be scoped.
const RESOURCE_STAR_ONLY: &[&str] = &[
    "application-autoscaling:DescribeScalableTargets",
    "cloudwatch:GetMetricData",
    "lambda:GetAccountSettings",
    "lambda:ListEventSourceMappings",
    "sqs:ListQueues",
];

/// Placeholders the template's `Fn::Sub` resolves without a parameter of that name.
const PSEUDO_PARAMETERS: &[&str] = &["AWS::Partition", "AWS::Region", "AWS::AccountId"];

/// `${Dom}`: the domain with dashes, defined in the `Fn::Sub` of the template's policy.
const DOM_DEFINITION: &str = "- Dom: !Join ['-', !Split ['.', !Ref Domain]]";

/// Every SDK call of the adapters.
fn adapter_calls() -> Vec<Call> {
    let mut files = BTreeMap::new();
    rust_files(Path::new(ADAPTERS), &mut files);
    let calls = scan(&files)
        .unwrap_or_else(|errors| panic!("reading the adapters' AWS calls:\n{}", errors.join("\n")));
    assert!(
        !calls.is_empty(),
        "no SDK call found under {ADAPTERS}: the scan is broken"
    );
    calls
}

// ---------------------------------------------------------------------------------------------
// Reading the policy.

fn read_json(path: &str) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .unwrap_or_else(|| panic!("not a string: {v}"))
                    .to_string()
            })
            .collect(),
        None => Vec::new(),
        Some(other) => panic!("neither a string nor a list of strings: {other}"),
    }
}

fn statements(policy: &Value) -> &[Value] {
    policy["Statement"].as_array().map_or(&[], Vec::as_slice)
}

/// The actions the policy allows, each with the `Sid`s of the statements granting it.
fn granted(policy: &Value) -> BTreeMap<String, Vec<String>> {
    let mut granted: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for statement in statements(policy) {
        let sid = statement["Sid"].as_str().unwrap_or("(no Sid)").to_string();
        assert_eq!(
            statement["Effect"], "Allow",
            "{sid}: only Allow statements are expected"
        );
        assert!(
            statement.get("NotAction").is_none() && statement.get("NotResource").is_none(),
            "{sid}: NotAction / NotResource grant more than they name"
        );
        for action in strings(statement.get("Action")) {
            granted.entry(action).or_default().push(sid.clone());
        }
    }
    granted
}

/// One line per action a call needs that the policy does not grant.
fn ungranted(calls: &[Call], granted: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    calls
        .iter()
        .flat_map(|call| {
            call.actions
                .iter()
                .filter(|action| !granted.contains_key(*action))
                .map(move |action| {
                    format!(
                        "{} calls {} `{}`, which needs `{action}`: {POLICY} does not grant it \
                         (add it to the statement of its resources, and to the same document in \
                         {TEMPLATE})",
                        call.location, call.service, call.operation
                    )
                })
        })
        .collect()
}

/// One line per granted action that no call needs.
fn unneeded(calls: &[Call], granted: &BTreeMap<String, Vec<String>>) -> Vec<String> {
    let needed: BTreeSet<&String> = calls.iter().flat_map(|c| &c.actions).collect();
    granted
        .iter()
        .filter(|(action, _)| !needed.contains(action))
        .map(|(action, sids)| {
            format!(
                "{POLICY} grants `{action}` (statement {}) but no adapter under {ADAPTERS} \
                 calls it: least privilege, remove it",
                sids.join(", ")
            )
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The adapters and the policy.

#[test]
fn the_policy_grants_every_operation_the_adapters_call() {
    let missing = ungranted(&adapter_calls(), &granted(&read_json(POLICY)));
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

#[test]
fn the_policy_grants_nothing_the_adapters_do_not_call() {
    let extra = unneeded(&adapter_calls(), &granted(&read_json(POLICY)));
    assert!(extra.is_empty(), "{}", extra.join("\n"));
}

#[test]
fn the_scan_reads_the_calls_the_readme_lists() {
    // A floor under the scan: if it stopped seeing calls, both tests above could still agree
    // with a policy shrunk to match.
    let calls = adapter_calls();
    let found: BTreeSet<&str> = calls
        .iter()
        .flat_map(|c| c.actions.iter().map(String::as_str))
        .collect();
    for action in [
        "cloudwatch:GetMetricData",
        "dynamodb:DescribeTable",
        "dynamodb:UpdateTable",
        "dynamodb:ConditionCheckItem",
        "dynamodb:PutItem",
        "dynamodb:BatchGetItem",
        "application-autoscaling:RegisterScalableTarget",
        "sqs:ListQueues",
        "sqs:ReceiveMessage",
        "lambda:InvokeFunction",
        "lambda:GetAccountSettings",
        "sns:Publish",
    ] {
        assert!(
            found.contains(action),
            "the scan missed {action}: {calls:#?}"
        );
    }
}

#[test]
fn only_actions_without_resource_types_are_granted_on_every_resource() {
    let policy = read_json(POLICY);
    for statement in statements(&policy) {
        let sid = statement["Sid"].as_str().unwrap_or("(no Sid)");
        let actions = strings(statement.get("Action"));
        for action in &actions {
            assert!(
                !action.contains('*'),
                "{sid}: `{action}` is a wildcard; name each action"
            );
        }
        if strings(statement.get("Resource")).iter().any(|r| r == "*") {
            for action in &actions {
                assert!(
                    RESOURCE_STAR_ONLY.contains(&action.as_str()),
                    "{sid}: `{action}` is granted on `*` but IAM can scope it to a resource"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The template carries the same document.

/// The lines of the template's resource `name` (two spaces in, under `Resources:`).
fn template_resource<'t>(template: &'t str, name: &str) -> Vec<&'t str> {
    let header = format!("  {name}:");
    let mut lines = template.lines().skip_while(|l| l.trim_end() != header);
    let Some(first) = lines.next() else {
        panic!("{TEMPLATE} has no resource {name}");
    };
    std::iter::once(first)
        .chain(lines.take_while(|l| l.trim().is_empty() || l.starts_with("    ")))
        .collect()
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The policy the template's task policy carries: the block after `PolicyDocument: !Sub`,
/// with the line that follows it (the `Fn::Sub` variable map).
fn template_policy(template: &str) -> (Value, String) {
    let resource = template_resource(template, TEMPLATE_POLICY_RESOURCE);
    let at = resource
        .iter()
        .position(|l| l.trim() == "PolicyDocument: !Sub")
        .unwrap_or_else(|| panic!("{TEMPLATE_POLICY_RESOURCE} has no `PolicyDocument: !Sub`"));
    let block = resource[at + 1];
    assert_eq!(block.trim(), "- |", "the document is a literal block");
    let body: Vec<&str> = resource[at + 2..]
        .iter()
        .take_while(|l| l.trim().is_empty() || indent(l) > indent(block))
        .copied()
        .collect();
    let variables = resource
        .get(at + 2 + body.len())
        .map(|l| l.trim().to_string())
        .unwrap_or_default();
    let json = body.join("\n");
    let document = serde_json::from_str(&json)
        .unwrap_or_else(|e| panic!("{TEMPLATE} {TEMPLATE_POLICY_RESOURCE}: {e}\n{json}"));
    (document, variables)
}

/// The names of the template's parameters.
fn template_parameters(template: &str) -> BTreeSet<String> {
    template
        .lines()
        .skip_while(|l| *l != "Parameters:")
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with(' ') || l.starts_with('#'))
        .filter(|l| indent(l) == 2 && l.trim_end().ends_with(':'))
        .map(|l| l.trim().trim_end_matches(':').to_string())
        .collect()
}

#[test]
fn the_template_task_policy_is_the_policy_file() {
    let template = fs::read_to_string(TEMPLATE).unwrap_or_else(|e| panic!("{TEMPLATE}: {e}"));
    let (document, variables) = template_policy(&template);
    assert_eq!(
        document,
        read_json(POLICY),
        "{TEMPLATE}'s {TEMPLATE_POLICY_RESOURCE} differs from {POLICY}: keep them equal"
    );
    assert_eq!(variables, DOM_DEFINITION, "the Fn::Sub variable map");
    let roles = template_resource(&template, TEMPLATE_POLICY_RESOURCE).join("\n");
    assert!(
        roles.contains("- !Ref TaskRole"),
        "{TEMPLATE_POLICY_RESOURCE} is not attached to the task role"
    );
    // Every placeholder resolves: a pseudo parameter, `Dom`, or a parameter of the template.
    let parameters = template_parameters(&template);
    let text = fs::read_to_string(POLICY).unwrap_or_else(|e| panic!("{POLICY}: {e}"));
    for (at, _) in text.match_indices("${") {
        let name = text[at + 2..].split('}').next().unwrap_or_default();
        assert!(
            PSEUDO_PARAMETERS.contains(&name) || name == "Dom" || parameters.contains(name),
            "{POLICY}: `${{{name}}}` is neither a pseudo parameter, `Dom`, nor a parameter of \
             {TEMPLATE} ({parameters:?})"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// A call added to an adapter.

const NEW_CALL: &str = r#"
use aws_sdk_sqs::Client;

pub struct Acks {
    client: Client,
}

impl Acks {
    async fn ack(&self, url: &str, handle: &str) -> Result<(), String> {
        // self.client.purge_queue().queue_url(url).send() is only a comment,
        let _ = "self.client.purge_queue().send()"; // and this only a string.
        self.client
            .delete_message()
            .queue_url(url)
            .receipt_handle(handle)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}
"#;

#[test]
fn a_new_call_in_an_adapter_fails_the_policy_naming_its_action_and_file() {
    let calls = snippet(&[("src/aws/acks.rs", NEW_CALL)]).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        calls,
        vec![Call {
            service: "sqs".into(),
            operation: "delete_message".into(),
            actions: vec!["sqs:DeleteMessage".into()],
            location: "src/aws/acks.rs:13".into(),
        }]
    );
    // A policy of its own, so that the test does not depend on what deploy/ grants today.
    let policy = serde_json::json!({"Statement": [
        {"Sid": "Peek", "Effect": "Allow", "Action": "sqs:ReceiveMessage", "Resource": "*"}
    ]});
    let missing = ungranted(&calls, &granted(&policy));
    assert_eq!(missing.len(), 1, "{missing:?}");
    assert!(
        missing[0].contains("`sqs:DeleteMessage`") && missing[0].contains("src/aws/acks.rs:13"),
        "{}",
        missing[0]
    );
}
