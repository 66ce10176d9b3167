//! AWS's own naming rules for every name a policy gives or derives, so a name AWS would refuse
//! (or one carrying path separators, shell metacharacters or escapes) is refused by `check`
//! instead of reaching an API call, a log line or a terminal.
//!
//! Each function returns, when the name breaks its rule, what is wrong as a phrase to follow the
//! quoted name (``"`x;y` is not a Lambda function name: …"``); callers add the field.

/// DynamoDB table names: 3–255 characters of `A-Z a-z 0-9 _ - .` (DynamoDB developer guide,
/// "Supported data types and naming rules").
pub const TABLE_NAME_CHARS: (usize, usize) = (3, 255);
/// Lambda function names: 1–64 characters of `A-Z a-z 0-9 _ -` (Lambda API reference,
/// CreateFunction, `FunctionName`).
pub const FUNCTION_NAME_MAX: usize = 64;
/// SQS queue names: 1–80 characters of `A-Z a-z 0-9 _ -` (SQS API reference, CreateQueue,
/// `QueueName`; a FIFO queue's `.fifo` suffix counts).
pub const QUEUE_NAME_MAX: usize = 80;
/// SNS topic names: 1–256 characters of `A-Z a-z 0-9 _ -`, `.fifo` allowed at the end (SNS API
/// reference, CreateTopic, `Name`).
pub const TOPIC_NAME_MAX: usize = 256;
/// ElastiCache cluster ids: 1–50 letters, digits or hyphens, starting with a letter, neither
/// ending with a hyphen nor holding two in a row; stored in lowercase (ElastiCache API reference,
/// CreateCacheCluster, `CacheClusterId`).
pub const CACHE_CLUSTER_ID_MAX: usize = 50;
/// BOSS ingest job ids are database integer ids: at most the 20 digits of a u64. The length is
/// reserved in every queue name derived from the domain.
pub const JOB_ID_MAX: usize = 20;
/// The longest function short name the controller derives by default (`tileIngestLambda`,
/// `tileUploadLambda`), whose full name `<short>-<domain with dashes>` must fit Lambda's 64.
const LONGEST_DEFAULT_FUNCTION: usize = "tileIngestLambda".len();
/// The longest stack domain: `tileIngestLambda-<domain>` fits Lambda's 64 characters (47), and
/// then every queue derived for a job of up to 20 digits fits SQS's 80 (the longest,
/// `<domain>-<job>-index-dlq`, is 47 + 31 = 78).
pub const DOMAIN_MAX: usize = FUNCTION_NAME_MAX - LONGEST_DEFAULT_FUNCTION - 1;

const _: () = assert!(DOMAIN_MAX + JOB_ID_MAX + "--index-dlq".len() <= QUEUE_NAME_MAX);

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-'
}

fn length(name: &str, low: usize, high: usize, what: &str) -> Result<(), String> {
    let n = name.chars().count();
    if n < low || n > high {
        let s = if n == 1 { "" } else { "s" };
        return Err(format!(
            "is {n} character{s} long; {what} has {low} to {high}"
        ));
    }
    Ok(())
}

/// A full DynamoDB table name, e.g. `tileindex.bossdb.boss`.
///
/// # Errors
/// The rule the name breaks.
pub fn table_name(name: &str) -> Result<(), String> {
    dynamodb_name(name, "table")
}

/// A DynamoDB secondary index name: the table-name rule (same guide, same section).
///
/// # Errors
/// The rule the name breaks.
pub fn index_name(name: &str) -> Result<(), String> {
    dynamodb_name(name, "index")
}

fn dynamodb_name(name: &str, what: &str) -> Result<(), String> {
    let (low, high) = TABLE_NAME_CHARS;
    length(name, low, high, &format!("a DynamoDB {what} name"))?;
    if !name.chars().all(|c| is_name_char(c) || c == '.') {
        return Err(format!(
            "is not a DynamoDB {what} name: only A-Z a-z 0-9 _ - . are allowed"
        ));
    }
    Ok(())
}

/// A short name that becomes part of a derived name (a table's `tileindex`, a function's
/// `tileIngestLambda`): `A-Z a-z 0-9 _ -`, at least one.
///
/// # Errors
/// The rule the name breaks.
pub fn short_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".into());
    }
    if !name.chars().all(is_name_char) {
        return Err("has characters outside A-Z a-z 0-9 _ -".into());
    }
    Ok(())
}

/// A full Lambda function name, e.g. `tileIngestLambda-bossdb-boss`.
///
/// # Errors
/// The rule the name breaks.
pub fn function_name(name: &str) -> Result<(), String> {
    length(name, 1, FUNCTION_NAME_MAX, "a Lambda function name")?;
    if !name.chars().all(is_name_char) {
        return Err("is not a Lambda function name: only A-Z a-z 0-9 _ - are allowed".into());
    }
    Ok(())
}

/// A Lambda function named on the command line: a function name, or its ARN
/// (`arn:aws:lambda:<region>:<account>:function:<name>[:<version or alias>]`).
///
/// # Errors
/// The rule the name breaks.
pub fn function_name_or_arn(name: &str) -> Result<(), String> {
    let Some(rest) = name.strip_prefix("arn:") else {
        return function_name(name);
    };
    let parts: Vec<&str> = rest.split(':').collect();
    let ok = matches!(parts.as_slice(),
        [partition, "lambda", region_part, account, "function", function, qualifier @ ..]
            if partition_ok(partition)
                && region(region_part).is_ok()
                && account_ok(account)
                && function_name(function).is_ok()
                && qualifier.len() <= 1
                && qualifier.iter().all(|q| length(q, 1, 128, "").is_ok() && q.chars().all(is_name_char)));
    if ok {
        Ok(())
    } else {
        Err("is not a Lambda function ARN (arn:aws:lambda:<region>:<12-digit account>:function:<name>)".into())
    }
}

/// An SQS queue name, e.g. `bossdb-boss-ingest-42`.
///
/// # Errors
/// The rule the name breaks.
pub fn queue_name(name: &str) -> Result<(), String> {
    length(name, 1, QUEUE_NAME_MAX, "an SQS queue name")?;
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    if base.is_empty() || !base.chars().all(is_name_char) {
        return Err(
            "is not an SQS queue name: only A-Z a-z 0-9 _ - (and a .fifo ending) are allowed"
                .into(),
        );
    }
    Ok(())
}

/// A BOSS ingest job id as it appears in queue names: 1–20 of `A-Z a-z 0-9 _ -`.
///
/// # Errors
/// The rule the id breaks.
pub fn job_id(job: &str) -> Result<(), String> {
    length(job, 1, JOB_ID_MAX, "a job id")?;
    if !job.chars().all(is_name_char) {
        return Err(
            "is not a job id: only A-Z a-z 0-9 _ - are allowed (BOSS job ids are numbers)".into(),
        );
    }
    Ok(())
}

/// An AWS region: `us-east-1`, `eu-central-2`, `us-gov-west-1`, `cn-north-1`, `us-iso-east-1`,
/// `eu-isoe-west-1`: two letters, an optional `gov` or `iso…` part, a direction, a number.
///
/// # Errors
/// The rule the region breaks.
pub fn region(name: &str) -> Result<(), String> {
    let parts: Vec<&str> = name.split('-').collect();
    let lower = |p: &str| !p.is_empty() && p.chars().all(|c| c.is_ascii_lowercase());
    let number = |p: &str| {
        (1..=2).contains(&p.len()) && p.chars().all(|c| c.is_ascii_digit()) && !p.starts_with('0')
    };
    let area = |p: &str| p.len() == 2 && lower(p);
    let ok = match parts.as_slice() {
        [a, direction, n] => area(a) && lower(direction) && number(n),
        [a, special, direction, n] => {
            area(a)
                && (*special == "gov" || special.starts_with("iso"))
                && lower(special)
                && lower(direction)
                && number(n)
        }
        _ => false,
    };
    if ok && name.len() <= 25 {
        Ok(())
    } else {
        Err("is not an AWS region (like us-east-1, us-gov-west-1, cn-north-1)".into())
    }
}

fn partition_ok(p: &str) -> bool {
    p == "aws"
        || p.strip_prefix("aws-").is_some_and(|rest| {
            !rest.is_empty()
                && rest.len() <= 16
                && rest.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        })
}

fn account_ok(a: &str) -> bool {
    a.len() == 12 && a.chars().all(|c| c.is_ascii_digit())
}

/// An SNS topic ARN: `arn:aws[-<partition>]:sns:<region>:<12-digit account>:<name>`.
///
/// # Errors
/// The rule the ARN breaks.
pub fn sns_topic_arn(arn: &str) -> Result<(), String> {
    let parts: Vec<&str> = arn.split(':').collect();
    let [head, partition, service, region_part, account, name] = parts.as_slice() else {
        return Err(
            "is not an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<name>)".into(),
        );
    };
    if *head != "arn" || !partition_ok(partition) || *service != "sns" {
        return Err(
            "is not an SNS topic ARN (arn:aws:sns:<region>:<12-digit account>:<name>)".into(),
        );
    }
    if region(region_part).is_err() {
        return Err("names no AWS region (like us-east-1) after `sns:`".into());
    }
    if !account_ok(account) {
        return Err("has no 12-digit account id after the region".into());
    }
    let base = name.strip_suffix(".fifo").unwrap_or(name);
    let n = name.chars().count();
    if base.is_empty() || n > TOPIC_NAME_MAX || !base.chars().all(is_name_char) {
        return Err(format!(
            "ends in no SNS topic name: 1 to {TOPIC_NAME_MAX} of A-Z a-z 0-9 _ - (and may end in .fifo)"
        ));
    }
    Ok(())
}

/// An ElastiCache cluster id, as in the `CacheClusterId` dimension of its metrics.
///
/// # Errors
/// The rule the id breaks.
pub fn cache_cluster_id(id: &str) -> Result<(), String> {
    length(id, 1, CACHE_CLUSTER_ID_MAX, "an ElastiCache cluster id")?;
    let ok = id.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !id.ends_with('-')
        && !id.contains("--");
    if ok {
        Ok(())
    } else {
        Err("is not an ElastiCache cluster id: lowercase letters, digits and single hyphens, starting with a letter and not ending with a hyphen".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_of_every_partition_pass_and_tricks_do_not() {
        for good in [
            "us-east-1",
            "eu-central-2",
            "ap-southeast-5",
            "us-gov-west-1",
            "cn-north-1",
            "us-iso-east-1",
            "us-isob-east-1",
            "eu-isoe-west-1",
            "il-central-1",
        ] {
            assert!(region(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "us-east",
            "US-EAST-1",
            "us-east-1; rm -rf /",
            "../../etc",
            "us-east-01",
            "us-east-100",
            "useast1",
            "us-foo-east-1",
            "us-east-1\n",
        ] {
            assert!(region(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn topic_arns_follow_sns_rules() {
        for good in [
            "arn:aws:sns:us-east-1:123456789012:local-boss-alerts",
            "arn:aws-us-gov:sns:us-gov-west-1:123456789012:alerts.fifo",
            "arn:aws-cn:sns:cn-north-1:123456789012:a_b-C",
        ] {
            assert!(sns_topic_arn(good).is_ok(), "{good}");
        }
        let long = format!("arn:aws:sns:us-east-1:123456789012:{}", "a".repeat(257));
        for bad in [
            "not-an-arn",
            "arn:aws:sqs:us-east-1:123456789012:x",
            "arn:aws:sns:us-east-1:1234:x",
            "arn:aws:sns:us-east-1:123456789012:",
            "arn:aws:sns:us-east-1:123456789012:a b",
            "arn:aws:sns:nowhere:123456789012:x",
            "arn:evil:sns:us-east-1:123456789012:x",
            long.as_str(),
        ] {
            assert!(sns_topic_arn(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_follow_their_services_rules() {
        assert!(table_name("tileindex.bossdb.boss").is_ok());
        assert!(table_name("ab").is_err());
        assert!(table_name(&"a".repeat(256)).is_err());
        assert!(table_name("a\u{1b}[31mb.x").is_err());
        assert!(function_name(&"f".repeat(64)).is_ok());
        assert!(function_name(&"f".repeat(65)).is_err());
        assert!(function_name("../x").is_err());
        assert!(function_name("x;id").is_err());
        assert!(
            function_name_or_arn("arn:aws:lambda:us-east-1:123456789012:function:f:live").is_ok()
        );
        assert!(function_name_or_arn("arn:aws:lambda:us-east-1:1:function:f").is_err());
        assert!(queue_name("bossdb-boss-ingest-42").is_ok());
        assert!(queue_name(&"q".repeat(81)).is_err());
        assert!(queue_name(".fifo").is_err());
        assert!(cache_cluster_id("boss-redis-0001-001").is_ok());
        for bad in ["1abc", "a--b", "a-", "Abc", &"a".repeat(51)] {
            assert!(cache_cluster_id(bad).is_err(), "{bad}");
        }
        assert!(job_id("42").is_ok() && job_id("4/2").is_err() && job_id("").is_err());
    }

    #[test]
    fn the_longest_domain_fits_every_derived_name() {
        let domain = "d".repeat(DOMAIN_MAX);
        let job = "9".repeat(JOB_ID_MAX);
        assert!(function_name(&format!("tileIngestLambda-{domain}")).is_ok());
        assert!(function_name(&format!("tileUploadLambda-{domain}")).is_ok());
        for queue in [
            format!("{domain}-ingest-{job}"),
            format!("{domain}-upload-{job}"),
            format!("{domain}-{job}-index-dlq"),
            format!("Deadletter{domain}"),
        ] {
            assert!(queue_name(&queue).is_ok(), "{queue}");
        }
    }
}
