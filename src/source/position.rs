//! Byte offsets to 1-based line and column, fast enough for a file with thousands of problems.
//!
//! Counting from the start of the file for every problem is quadratic: a 1 MiB policy with tens
//! of thousands of bad entries would take minutes. Checkpoints every [`STRIDE`] bytes bound the
//! count to one stride, whatever the shape of the file (one long line included).

/// Bytes between checkpoints.
const STRIDE: usize = 1024;

/// Where a checkpoint sits: byte offset (on a char boundary), and its line and column.
#[derive(Debug, Clone, Copy)]
struct Checkpoint {
    offset: usize,
    line: usize,
    column: usize,
}

/// Checkpoints of one text.
#[derive(Debug)]
pub(super) struct Positions {
    checkpoints: Vec<Checkpoint>,
}

impl Positions {
    pub(super) fn new(text: &str) -> Self {
        let mut checkpoints = vec![Checkpoint {
            offset: 0,
            line: 1,
            column: 1,
        }];
        let (mut line, mut column) = (1, 1);
        let mut next = STRIDE;
        for (offset, c) in text.char_indices() {
            if offset >= next {
                checkpoints.push(Checkpoint {
                    offset,
                    line,
                    column,
                });
                next = offset + STRIDE;
            }
            if c == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        Self { checkpoints }
    }

    /// 1-based line and column (in characters) of a byte offset of `text`.
    pub(super) fn line_column(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let i = self
            .checkpoints
            .partition_point(|c| c.offset <= offset)
            .saturating_sub(1);
        let Checkpoint {
            offset: start,
            mut line,
            mut column,
        } = self.checkpoints[i];
        for (at, c) in text[start..].char_indices() {
            if start + at >= offset {
                break;
            }
            if c == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        (line, column)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain count from the start, as the reference.
    fn slow(text: &str, offset: usize) -> (usize, usize) {
        let before = &text[..offset];
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }

    #[test]
    fn agrees_with_counting_from_the_start() {
        let mut text = String::new();
        for i in 0..400 {
            text.push_str(&"é–x".repeat(i % 37));
            text.push('\n');
        }
        text.push_str(&"long line ".repeat(500));
        let positions = Positions::new(&text);
        for (offset, _) in text.char_indices().step_by(7) {
            assert_eq!(
                positions.line_column(&text, offset),
                slow(&text, offset),
                "{offset}"
            );
        }
        assert_eq!(
            positions.line_column(&text, text.len()),
            slow(&text, text.len())
        );
    }

    #[test]
    fn line_and_column_are_one_based() {
        let text = "ab\ncd";
        let p = Positions::new(text);
        assert_eq!(p.line_column(text, 0), (1, 1));
        assert_eq!(p.line_column(text, 4), (2, 2));
    }
}
