//! Reading a TOML file into a serde mirror while collecting every problem with its place.
//!
//! Policies and scenarios are both read this way: syntax errors, unknown keys (all of them, not
//! just the first) and type errors are reported with file, line, column and the field path; the
//! semantic checks that follow use the same `Problem` type, so one report lists everything.

mod check;
mod controls;
mod position;

pub use check::Checker;
pub use controls::{escape, excerpt, is_control};

use serde::de::DeserializeOwned;
use std::fmt;
use std::io::Read as _;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

/// A TOML integer of any size. Raw mirrors take numbers as `Whole`, so a value too large for
/// its field (`write = 4294967296`, `18446744073709551615`) is reported with the field's range
/// alongside every other problem, instead of ending deserialization as a type error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Whole(pub i128);

impl<'de> serde::Deserialize<'de> for Whole {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Whole;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Whole, E> {
                Ok(Whole(v.into()))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Whole, E> {
                Ok(Whole(v.into()))
            }
            fn visit_i128<E>(self, v: i128) -> Result<Whole, E> {
                Ok(Whole(v))
            }
            fn visit_u128<E: serde::de::Error>(self, v: u128) -> Result<Whole, E> {
                i128::try_from(v)
                    .map(Whole)
                    .map_err(|_| E::custom("the integer is too large"))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

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

/// Control characters in the file name, field or message (which may quote the operator's
/// values) are escaped: a report never writes them raw.
impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = self.file.display().to_string();
        write!(f, "{}:{}:{}: ", escape(&file), self.line, self.column)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", escape(&self.field))?;
        }
        write!(f, "{}", escape(&self.message))
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
    positions: std::sync::OnceLock<position::Positions>,
}

impl<'a> Source<'a> {
    #[must_use]
    pub fn new(path: &'a Path, text: &'a str) -> Self {
        let tree = DeTable::parse(text).ok();
        Self {
            path,
            text,
            tree,
            positions: std::sync::OnceLock::new(),
        }
    }

    /// A problem about the whole file (no field), at its first line.
    #[must_use]
    pub fn file_problem(&self, message: impl Into<String>) -> Problem {
        file_problem(self.path, message)
    }

    /// A problem at a byte span of the file.
    #[must_use]
    pub fn problem_at(
        &self,
        span: Range<usize>,
        field: &str,
        message: impl Into<String>,
    ) -> Problem {
        let (line, column) = self
            .positions
            .get_or_init(|| position::Positions::new(self.text))
            .line_column(self.text, span.start);
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
        let segments: Vec<&str> = field.split('.').collect();
        let mut i = 0;
        while i < segments.len() {
            let found: Option<(Range<usize>, &Spanned<DeValue<'_>>, usize)> =
                if let Some(items) = array {
                    segments[i]
                        .parse::<usize>()
                        .ok()
                        .and_then(|n| items.get(n))
                        .map(|v| (v.span(), v, 1))
                } else {
                    // A quoted key may itself hold dots (`[tables."a.b"]`): try the longest
                    // run of segments that names a key.
                    (1..=segments.len() - i).rev().find_map(|n| {
                        let key = segments[i..i + n].join(".");
                        table
                            .get_key_value(key.as_str())
                            .map(|(k, v)| (k.span(), v, n))
                    })
                };
            let Some((key_span, value, used)) = found else {
                return best;
            };
            best = Some((key_span, value.span()));
            array = None;
            match value.get_ref() {
                DeValue::Table(t) => table = t,
                DeValue::Array(a) => array = Some(a),
                _ => {}
            }
            i += used;
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

/// The largest policy or scenario file read: the shipped ones are under 10 KiB, and a larger
/// file is refused before parsing (a 50 MB policy took 28 s and 4.4 GB to reject).
pub const MAX_INPUT_BYTES: u64 = 1 << 20;

fn file_problem(path: &Path, message: impl Into<String>) -> Problem {
    Problem {
        file: path.to_path_buf(),
        line: 0,
        column: 0,
        field: String::new(),
        message: message.into(),
    }
}

fn too_large(path: &Path, size: &str) -> Problems {
    Problems(vec![file_problem(
        path,
        format!(
            "the file is {size} bytes; at most {MAX_INPUT_BYTES} (1 MiB) is read: a policy or \
             scenario is a few kilobytes"
        ),
    )])
}

/// Checks that text handed in directly (not read by [`read`]) is within [`MAX_INPUT_BYTES`].
///
/// # Errors
/// The text is larger.
pub fn check_size(path: &Path, text: &str) -> Result<(), Problems> {
    match u64::try_from(text.len()) {
        Ok(n) if n <= MAX_INPUT_BYTES => Ok(()),
        _ => Err(too_large(path, &text.len().to_string())),
    }
}

/// Reads a file for parsing, turning IO failures into a problem that names the file. At most
/// [`MAX_INPUT_BYTES`] are read: the size is checked first, and the read stops one byte past
/// the limit (a FIFO or a growing file reports no honest size).
///
/// # Errors
/// The file cannot be read, is larger than the limit, or is not UTF-8.
pub fn read(path: &Path) -> Result<String, Problems> {
    let cannot =
        |e: std::io::Error| Problems(vec![file_problem(path, format!("cannot read file: {e}"))]);
    let file = std::fs::File::open(path).map_err(cannot)?;
    let size = file.metadata().map_err(cannot)?.len();
    if size > MAX_INPUT_BYTES {
        return Err(too_large(path, &size.to_string()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_INPUT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if u64::try_from(bytes.len()).map_or(true, |n| n > MAX_INPUT_BYTES) {
        return Err(too_large(path, &format!("more than {MAX_INPUT_BYTES}")));
    }
    String::from_utf8(bytes).map_err(|e| {
        Problems(vec![file_problem(
            path,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        )])
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_over_the_limit_is_refused_before_reading() {
        let dir = std::env::temp_dir().join(format!("remediator-source-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("big.toml");
        let size = usize::try_from(MAX_INPUT_BYTES).unwrap_or(usize::MAX) + 1;
        std::fs::write(&path, "#".repeat(size)).unwrap_or_else(|e| panic!("{e}"));
        let err = read(&path).err().map(|p| p.to_string()).unwrap_or_default();
        assert!(err.contains("at most 1048576"), "{err}");
        std::fs::write(&path, "a = \"\u{e9}\"\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(read(&path).is_ok());
        std::fs::write(&path, [b'a', 0xff]).unwrap_or_else(|e| panic!("{e}"));
        let err = read(&path).err().map(|p| p.to_string()).unwrap_or_default();
        assert!(err.contains("not UTF-8"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn problems_never_print_control_characters() {
        let p = Problem {
            file: PathBuf::from("p.toml"),
            line: 1,
            column: 2,
            field: "tables.a\u{1b}[31m".into(),
            message: "`a\u{1b}[31m` is bad\r\nforged".into(),
        };
        let shown = p.to_string();
        assert!(!shown.chars().any(is_control), "{shown:?}");
        assert!(shown.contains("\\u{1b}[31m"), "{shown}");
    }
}
