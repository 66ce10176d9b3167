//! Control characters in input files: found in every key and string value, refused with the
//! field named, and never echoed raw.
//!
//! An ANSI escape in a table name, a carriage return in a function name or a right-to-left
//! override in a domain would rewrite the operator's terminal, forge log lines or make a name
//! read as something else (Trojan Source, CVE-2021-42574). No AWS name and no duration needs
//! one, so every key and string of a policy or scenario is checked once, generically, and any
//! text shown back is escaped.

use super::{Problem, Source};
use std::borrow::Cow;
use std::fmt::Write as _;
use std::ops::Range;
use toml::Spanned;
use toml::de::DeValue;

/// Longest excerpt of an operator's value shown in a message, in characters.
const EXCERPT_CHARS: usize = 60;

/// Unicode control characters (category Cc: C0, DEL, C1) and the bidirectional formatting
/// characters that reorder how text is displayed.
#[must_use]
pub fn is_control(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// The text with every control character written as an escape (`\u{1b}`, `\n`), so it can be
/// printed to a terminal or a log safely.
#[must_use]
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if is_control(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// An operator's value as shown in a message: escaped, and cut to its first characters (with
/// its length) when long, so a 300-character name does not flood the report.
#[must_use]
pub fn excerpt(text: &str) -> String {
    let count = text.chars().count();
    if count <= EXCERPT_CHARS {
        return escape(text).into_owned();
    }
    let head: String = text.chars().take(EXCERPT_CHARS - 20).collect();
    format!("{}… ({count} characters)", escape(&head))
}

/// The first control character of `text` and its 1-based position in characters.
fn first_control(text: &str) -> Option<(usize, char)> {
    text.chars()
        .enumerate()
        .find(|(_, c)| is_control(*c))
        .map(|(i, c)| (i + 1, c))
}

fn message(what: &str, position: usize, c: char) -> String {
    format!(
        "{what} contains the control character U+{:04X} at character {position}: control \
         characters are refused in every key and string (they could rewrite a terminal or a log \
         line that shows the value)",
        u32::from(c)
    )
}

impl Source<'_> {
    /// A problem for every key and string value that holds a control character, naming its
    /// dotted field path; string values at the paths in `skip` are left to the code that owns
    /// them.
    #[must_use]
    pub fn control_characters(&self, skip: &[&str]) -> Vec<Problem> {
        let mut out = Vec::new();
        if let Some(tree) = &self.tree {
            let root = tree.get_ref();
            for (key, value) in root {
                self.walk_entry(key.get_ref(), key.span(), value, "", skip, &mut out);
            }
        }
        out
    }

    fn walk_entry(
        &self,
        key: &str,
        key_span: Range<usize>,
        value: &Spanned<DeValue<'_>>,
        parent: &str,
        skip: &[&str],
        out: &mut Vec<Problem>,
    ) {
        let path = if parent.is_empty() {
            key.to_string()
        } else {
            format!("{parent}.{key}")
        };
        if let Some((at, c)) = first_control(key) {
            out.push(self.problem_at(key_span, &path, message("the key", at, c)));
        }
        self.walk_value(value, &path, skip, out);
    }

    fn walk_value(
        &self,
        value: &Spanned<DeValue<'_>>,
        path: &str,
        skip: &[&str],
        out: &mut Vec<Problem>,
    ) {
        match value.get_ref() {
            DeValue::String(s) => {
                if let Some((at, c)) = first_control(s).filter(|_| !skip.contains(&path)) {
                    out.push(self.problem_at(value.span(), path, message("the value", at, c)));
                }
            }
            DeValue::Table(table) => {
                for (key, child) in table {
                    self.walk_entry(key.get_ref(), key.span(), child, path, skip, out);
                }
            }
            DeValue::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.walk_value(item, &format!("{path}.{i}"), skip, out);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn escapes_ansi_and_bidi_and_line_breaks() {
        assert_eq!(escape("a\u{1b}[31mb"), "a\\u{1b}[31mb");
        assert_eq!(escape("x\r\ny"), "x\\r\\ny");
        assert_eq!(escape("abc\u{202e}"), "abc\\u{202e}");
        assert_eq!(escape("plain – ok ≤"), "plain – ok ≤");
    }

    #[test]
    fn long_values_are_cut_with_their_length() {
        let long = "a".repeat(300);
        let shown = excerpt(&long);
        assert!(
            shown.contains("(300 characters)") && shown.len() < 80,
            "{shown}"
        );
    }

    #[test]
    fn control_characters_are_found_in_keys_strings_and_arrays() {
        let text = "[a]\n\"k\\u0007\" = 1\ns = \"x\\u001by\"\nlist = [\"ok\", \"b\\rad\"]\nfine = \"ok\"\n";
        let source = Source::new(Path::new("t.toml"), text);
        let mut fields: Vec<String> = source
            .control_characters(&[])
            .into_iter()
            .map(|p| p.field)
            .collect();
        fields.sort();
        assert_eq!(fields, ["a.k\u{7}", "a.list.1", "a.s"]);
        assert_eq!(source.control_characters(&["a.s"]).len(), 2);
    }
}
