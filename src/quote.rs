//! Text from outside the process, quoted in our own messages: a service's error message, a
//! webhook's response body, a library's error chain. Each is put on one line, cut short, and
//! made inert (control and invisible formatting characters escaped), so an upstream answer can
//! neither flood a log nor rewrite the terminal that shows it.
//!
//! The AWS adapters and the webhook client both quote through here. An operator's own value
//! echoed back in a problem report is [`crate::source::excerpt`]'s job instead.

/// How much of an upstream text is quoted, in characters.
pub const MAX_CHARS: usize = 200;

/// The cause chain on one line, each cause once, control characters escaped, e.g. "dispatch
/// failure: io error: client error (Connect): tcp connect error: Connection refused (os error
/// 111)".
#[must_use]
pub fn one_line(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    excerpt(&parts.join(": "), usize::MAX)
}

/// `text` made safe for one log line: whitespace runs become one space, control and invisible
/// formatting characters (bidi overrides, zero-width) are escaped as `\u{..}`, and at most `max`
/// characters are kept, `…` marking a cut.
#[must_use]
pub fn excerpt(text: &str, max: usize) -> String {
    let mut out = String::new();
    let mut kept = 0;
    let words = text.split_whitespace();
    for (i, word) in words.enumerate() {
        let units = (i > 0)
            .then(|| " ".to_string())
            .into_iter()
            .chain(word.chars().map(|c| {
                if crate::source::is_control(c) || zero_width(c) {
                    c.escape_unicode().to_string()
                } else {
                    c.to_string()
                }
            }));
        for unit in units {
            let n = unit.chars().count();
            if kept + n > max {
                out.push('…');
                return out;
            }
            out.push_str(&unit);
            kept += n;
        }
    }
    out
}

/// Zero-width characters and the byte-order mark: beside the controls and bidi characters of
/// [`crate::source::is_control`], they hide text from a reader without showing themselves.
fn zero_width(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200D}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::excerpt;

    #[test]
    fn an_excerpt_is_one_short_inert_line() {
        assert_eq!(excerpt("  a\n\tb  ", 200), "a b");
        assert_eq!(excerpt("red \u{1b}[31m!", 200), "red \\u{1b}[31m!");
        assert_eq!(excerpt("\u{202e}evil", 200), "\\u{202e}evil");
        assert_eq!(
            excerpt("zero\u{200b}width\u{feff}", 200),
            "zero\\u{200b}width\\u{feff}"
        );
        assert_eq!(excerpt("abcdef", 3), "abc…");
        assert_eq!(excerpt("ab \u{7}", 4), "ab …");
        assert_eq!(excerpt(&"é".repeat(300), 200).chars().count(), 201);
    }
}
