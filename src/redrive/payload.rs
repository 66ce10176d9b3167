//! The payload tileIngestLambda expects from a direct invocation (`shared/boss.md`, "The
//! ingest pipeline today"): `{"ingest_job": <job id>, "chunk_key": <a chunk key of the job>}`.
//! The lambda uses only the collection, experiment, channel and resolution of the key and then
//! processes whatever message it receives, so one key read from the queue serves every call.

use serde_json::{Value, json};

/// Fields of `<md5>&<num_tiles>&<coll>&<exp>&<chan>&<res>&<x>&<y>&<z>&<t>`.
const CHUNK_KEY_FIELDS: usize = 10;

/// The chunk key in an ingest-queue message body: a JSON object with a `chunk_key` field (what
/// tileUploadLambda sends), or a bare key.
///
/// # Errors
/// What the body holds instead of a chunk key, for the operator.
pub fn chunk_key(body: &str) -> Result<String, String> {
    let candidate = match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(map)) => match map.get("chunk_key") {
            Some(Value::String(key)) => key.clone(),
            _ => return Err("the message is JSON without a string `chunk_key` field".into()),
        },
        Ok(Value::String(key)) => key,
        _ => body.trim().to_string(),
    };
    let fields = candidate.split('&').count();
    if fields == CHUNK_KEY_FIELDS && !candidate.contains(char::is_whitespace) {
        Ok(candidate)
    } else {
        let shown: String = candidate.chars().take(80).collect();
        Err(format!(
            "`{shown}` is not a chunk key (expected {CHUNK_KEY_FIELDS} fields separated by &, found {fields})"
        ))
    }
}

/// The invocation payload. BOSS job ids are integers; a job named otherwise is sent as text.
#[must_use]
pub fn payload(job: &str, chunk_key: &str) -> Vec<u8> {
    let job = job.parse::<u64>().map_or_else(|_| json!(job), |n| json!(n));
    json!({ "ingest_job": job, "chunk_key": chunk_key })
        .to_string()
        .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "a1b2&16&1&2&3&0&4&5&6&0";

    #[test]
    fn chunk_key_from_json_or_bare() {
        let body = format!(r#"{{"chunk_key": "{KEY}", "ingest_job": 7}}"#);
        assert_eq!(chunk_key(&body).as_deref(), Ok(KEY));
        assert_eq!(chunk_key(KEY).as_deref(), Ok(KEY));
        assert!(chunk_key(r#"{"tile": 1}"#).is_err());
        assert!(chunk_key("hello").is_err());
    }

    #[test]
    fn payload_has_numeric_job_and_key() {
        let v: Value = serde_json::from_slice(&payload("7", KEY)).unwrap_or_default();
        assert_eq!(v, json!({"ingest_job": 7, "chunk_key": KEY}));
    }
}
