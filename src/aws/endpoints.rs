//! Where the SDK's endpoint variables send a re-drive's Invoke calls. Against an emulator the
//! ingest lambda usually lives elsewhere than the rest (the loopback lambda beside moto): with
//! `AWS_ENDPOINT_URL` set and `AWS_ENDPOINT_URL_LAMBDA` forgotten, every invocation goes to the
//! emulator's own Lambda, which drains nothing, and the re-drive gives up minutes later with no
//! word about why. One WARN line at the start of a re-drive names the variable.

use crate::webhook::WebhookUrl;

/// The SDK's endpoint for every service.
pub const ENDPOINT_VARIABLE: &str = "AWS_ENDPOINT_URL";
/// The SDK's endpoint for Lambda alone; it wins over [`ENDPOINT_VARIABLE`].
pub const LAMBDA_ENDPOINT_VARIABLE: &str = "AWS_ENDPOINT_URL_LAMBDA";
/// `true` makes the SDK ignore both.
const IGNORE_VARIABLE: &str = "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS";

/// The warning for a re-drive whose Invoke calls go to the general endpoint because no Lambda
/// endpoint is set; `None` when Lambda has its own endpoint, when there is no general one (AWS
/// itself), or when the SDK is told to ignore both. `var` reads one environment variable.
#[must_use]
pub fn lambda_endpoint_hint(var: impl Fn(&str) -> Option<String>) -> Option<String> {
    let set = |name: &str| var(name).filter(|v| !v.trim().is_empty());
    if set(IGNORE_VARIABLE).is_some_and(|v| v.trim().eq_ignore_ascii_case("true")) {
        return None;
    }
    let general = set(ENDPOINT_VARIABLE)?;
    if set(LAMBDA_ENDPOINT_VARIABLE).is_some() {
        return None;
    }
    // An endpoint may carry credentials in its URL: only scheme://host[:port] is shown.
    let shown = WebhookUrl::parse(general.trim()).map_or_else(
        |_| format!("the endpoint in {ENDPOINT_VARIABLE}"),
        |url| url.redacted(),
    );
    Some(format!(
        "{ENDPOINT_VARIABLE} is set and {LAMBDA_ENDPOINT_VARIABLE} is not: this re-drive's \
         Invoke calls go to {shown} too. Against moto that is moto's own Lambda, which drains \
         nothing; export {LAMBDA_ENDPOINT_VARIABLE}=<the ingest lambda's endpoint> (the loopback \
         example prints the line) if the lambda lives elsewhere"
    ))
}

/// Logs [`lambda_endpoint_hint`] for this process's environment at WARN. Called where a
/// command starts what re-drives: `remediator redrive`, and `run` when it may start re-drives.
pub fn warn_lambda_endpoint() {
    if let Some(hint) = lambda_endpoint_hint(|name| std::env::var(name).ok()) {
        tracing::warn!("{hint}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hint(vars: &[(&str, &str)]) -> Option<String> {
        lambda_endpoint_hint(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_string())
        })
    }

    #[test]
    fn a_general_endpoint_without_a_lambda_one_is_named() {
        let text = hint(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:5010")]).expect("a hint");
        assert!(text.contains("AWS_ENDPOINT_URL_LAMBDA is not"), "{text}");
        assert!(text.contains("go to http://127.0.0.1:5010 too"), "{text}");
    }

    #[test]
    fn no_hint_for_aws_itself_a_lambda_endpoint_or_ignored_endpoints() {
        assert_eq!(hint(&[]), None);
        assert_eq!(
            hint(&[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:5010"),
                ("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:40123"),
            ]),
            None
        );
        assert_eq!(
            hint(&[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:5010"),
                ("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "true"),
            ]),
            None
        );
        // Only the Lambda endpoint: nothing else is redirected.
        assert_eq!(
            hint(&[("AWS_ENDPOINT_URL_LAMBDA", "http://127.0.0.1:40123")]),
            None
        );
    }

    #[test]
    fn an_empty_lambda_endpoint_counts_as_unset_and_credentials_in_the_url_are_not_shown() {
        let text = hint(&[
            (
                "AWS_ENDPOINT_URL",
                "https://user:secret@emulator.internal:4566/x",
            ),
            ("AWS_ENDPOINT_URL_LAMBDA", " "),
        ])
        .expect("a hint");
        assert!(
            text.contains("https://emulator.internal:4566 too"),
            "{text}"
        );
        assert!(!text.contains("secret"), "{text}");
    }
}
