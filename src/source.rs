//! Reading a TOML file into a serde mirror while collecting every problem with its place.
//!
//! Policies and scenarios are both read this way: syntax errors, unknown keys (all of them, not
//! just the first) and type errors are reported with file, line, column and the field path; the
//! semantic checks that follow use the same `Problem` type, so one report lists everything.

use serde::de::DeserializeOwned;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// One thing wrong with an input file, placed so an operator can jump to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: PathBuf,
    pub line: usize,
    pub column: usize,
    /// Dotted path of the field, e.g. `tables.tileindex.write.ceiling`; empty for syntax errors.
    pub field: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.column)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        write!(f, "{}", self.message)
    }
}

/// Every problem found in one file, reported together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0.len();
        writeln!(f, "{n} problem{}:", if n == 1 { "" } else { "s" })?;
        for p in &self.0 {
            writeln!(f, "  {p}")?;
        }
        Ok(())
    }
}

/// The text of an input file plus what is needed to place problems in it.
#[derive(Debug)]
pub struct Source<'a> {
    pub path: &'a Path,
    pub text: &'a str,
    tree: Option<Spanned<DeTable<'a>>>,
}

impl<'a> Source<'a> {
    #[must_use]
    pub fn new(path: &'a Path, text: &'a str) -> Self {
        let tree = DeTable::parse(text).ok();
        Self { path, text, tree }
    }

    /// A problem at a byte span of the file.
    #[must_use]
    pub fn problem_at(
        &self,
        span: Range<usize>,
        field: &str,
        message: impl Into<String>,
    ) -> Problem {
        let (line, column) = line_column(self.text, span.start);
        Problem {
            file: self.path.to_path_buf(),
            line,
            column,
            field: field.to_string(),
            message: message.into(),
        }
    }

    /// A problem about a field, placed at the field's value (or at its table, or at the top of the
    /// file when the field is absent).
    #[must_use]
    pub fn problem(&self, field: &str, message: impl Into<String>) -> Problem {
        let span = self.span_of(field).unwrap_or(0..0);
        self.problem_at(span, field, message)
    }

    /// The span of the value at a dotted path, or of its nearest existing parent.
    #[must_use]
    pub fn span_of(&self, field: &str) -> Option<Range<usize>> {
        self.spans_of(field).map(|(_, value)| value)
    }

    /// Spans of the key and the value at a dotted path (or of the nearest existing parent).
    fn spans_of(&self, field: &str) -> Option<(Range<usize>, Range<usize>)> {
        let tree = self.tree.as_ref()?;
        let mut best = None;
        let mut table: &DeTable<'_> = tree.get_ref();
        let mut array: Option<&toml::de::DeArray<'_>> = None;
        for segment in field.split('.').filter(|s| !s.is_empty()) {
            let (key_span, value): (Range<usize>, &Spanned<DeValue<'_>>) =
                if let Some(items) = array {
                    match segment.parse::<usize>().ok().and_then(|i| items.get(i)) {
                        Some(v) => (v.span(), v),
                        None => return best,
                    }
                } else {
                    match table.get_key_value(segment) {
                        Some((k, v)) => (k.span(), v),
                        None => return best,
                    }
                };
            best = Some((key_span, value.span()));
            array = None;
            match value.get_ref() {
                DeValue::Table(t) => table = t,
                DeValue::Array(a) => array = Some(a),
                _ => {}
            }
        }
        best
    }

    /// The dotted path of the innermost key whose value covers `span` (used to name the field of
    /// a serde type error, which only carries a span).
    fn field_at(&self, span: &Range<usize>) -> String {
        fn covers(outer: &Range<usize>, inner: &Range<usize>) -> bool {
            outer.start <= inner.start && inner.end <= outer.end
        }
        // Standard tables' spans cover only their header, so descend into every table.
        fn walk(value: &Spanned<DeValue<'_>>, span: &Range<usize>, path: &mut Vec<String>) -> bool {
            let children: Vec<(String, &Spanned<DeValue<'_>>, Range<usize>)> = match value.get_ref()
            {
                DeValue::Table(t) => t
                    .iter()
                    .map(|(k, v)| (k.get_ref().to_string(), v, k.span()))
                    .collect(),
                DeValue::Array(a) => a
                    .iter()
                    .enumerate()
                    .map(|(i, v)| (i.to_string(), v, v.span()))
                    .collect(),
                _ => return false,
            };
            for (name, child, key_span) in children {
                path.push(name);
                if walk(child, span, path)
                    || covers(&child.span(), span)
                    || key_span.start == span.start
                {
                    return true;
                }
                path.pop();
            }
            false
        }
        let mut path = Vec::new();
        if let Some(tree) = &self.tree {
            let root = Spanned::new(tree.span(), DeValue::Table(tree.get_ref().clone()));
            walk(&root, span, &mut path);
        }
        path.join(".")
    }

    /// Deserializes the whole file into `T`, reporting syntax errors, every unknown key and the
    /// first type error (serde stops there) as problems.
    ///
    /// # Errors
    /// Returns all problems found when the file is not a valid `T`.
    pub fn deserialize<T: DeserializeOwned>(&self) -> Result<T, Problems> {
        let deserializer = match toml::Deserializer::parse(self.text) {
            Ok(d) => d,
            Err(e) => return Err(Problems(vec![self.toml_error(&e)])),
        };
        let mut unknown = Vec::new();
        let result: Result<T, _> = serde_ignored::deserialize(deserializer, |path| {
            // serde_ignored marks optional values with `?` segments; they are not TOML keys.
            let field = path
                .to_string()
                .split('.')
                .filter(|s| *s != "?")
                .collect::<Vec<_>>()
                .join(".");
            unknown.push(field);
        });
        let mut problems: Vec<Problem> = unknown
            .iter()
            .map(|field| {
                let key = field.rsplit('.').next().unwrap_or(field);
                let span = self.spans_of(field).map_or(0..0, |(key_span, _)| key_span);
                self.problem_at(span, field, format!("unknown key `{key}`"))
            })
            .collect();
        match result {
            Ok(value) if problems.is_empty() => Ok(value),
            Ok(_) => Err(Problems(problems)),
            Err(e) => {
                problems.push(self.toml_error(&e));
                Err(Problems(problems))
            }
        }
    }

    fn toml_error(&self, e: &toml::de::Error) -> Problem {
        let span = e.span().unwrap_or(0..0);
        let field = self.field_at(&span);
        let message = e
            .message()
            .trim()
            .replace("expected i64", "expected an integer")
            .replace("expected u64", "expected an integer")
            .replace("expected u32", "expected an integer")
            .replace("expected f64", "expected a number");
        self.problem_at(span, &field, message)
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

/// Reads a file for parsing, turning IO failures into a problem that names the file.
///
/// # Errors
/// The file cannot be read.
pub fn read(path: &Path) -> Result<String, Problems> {
    std::fs::read_to_string(path).map_err(|e| {
        Problems(vec![Problem {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            field: String::new(),
            message: format!("cannot read file: {e}"),
        }])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        assert_eq!(line_column("ab\ncd", 0), (1, 1));
        assert_eq!(line_column("ab\ncd", 4), (2, 2));
    }
}
