//! Locations in policy text: byte spans on every element, turned into 1-based line:column
//! only when a person needs to read them.
//!
//! Spans are where an element is, not what it says: two [`Spanned`] values are equal when their
//! contents are, wherever they stood. That is what lets "print, then parse" give an equal model.

use std::fmt;

/// A byte range `start..end` into the policy text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Span {
    /// Offset of the first byte.
    pub start: u32,
    /// Offset one past the last byte.
    pub end: u32,
}

impl Span {
    /// A span from `start` to `end` (byte offsets).
    pub fn new(start: usize, end: usize) -> Span {
        Span {
            start: clamp(start),
            end: clamp(end),
        }
    }

    /// An empty span at `at`.
    pub fn at(at: usize) -> Span {
        Span::new(at, at)
    }
}

fn clamp(offset: usize) -> u32 {
    u32::try_from(offset).unwrap_or(u32::MAX)
}

/// A value with the span of text it came from. Equality ignores the span.
#[derive(Clone, Debug)]
pub struct Spanned<T> {
    /// The value.
    pub node: T,
    /// Where it was written.
    pub span: Span,
}

impl<T> Spanned<T> {
    /// Wraps `node` with `span`.
    pub fn new(node: T, span: Span) -> Spanned<T> {
        Spanned { node, span }
    }

    /// Wraps `node` with an empty span, for values built by code rather than parsed.
    pub fn unlocated(node: T) -> Spanned<T> {
        Spanned {
            node,
            span: Span::default(),
        }
    }
}

impl<T: PartialEq> PartialEq for Spanned<T> {
    fn eq(&self, other: &Self) -> bool {
        self.node == other.node
    }
}

impl<T: Eq> Eq for Spanned<T> {}

impl<T> std::ops::Deref for Spanned<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.node
    }
}

/// The number of characters of `text` (its length in bytes when it is ASCII, as policies
/// almost always are).
pub(crate) fn char_count(text: &str) -> usize {
    if text.is_ascii() {
        text.len()
    } else {
        text.chars().count()
    }
}

/// A 1-based line and column; the column counts characters, not bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    /// Line number, from 1.
    pub line: u32,
    /// Column number in characters, from 1.
    pub column: u32,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// Maps byte offsets of one text to line:column. Built once per text, on demand: the parser
/// itself only records byte offsets, so valid documents never pay for line bookkeeping.
#[derive(Clone, Debug)]
pub struct LineIndex<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    /// Indexes the line starts of `text`.
    pub fn new(text: &'a str) -> LineIndex<'a> {
        // A line ends at `\n`, `\r\n` or a lone `\r` (all JSON whitespace), as editors count.
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        line_starts.extend(
            memchr::memchr2_iter(b'\n', b'\r', bytes)
                .filter(|&i| !(bytes.get(i) == Some(&b'\r') && bytes.get(i + 1) == Some(&b'\n')))
                .map(|i| i + 1),
        );
        LineIndex { text, line_starts }
    }

    /// The line:column of byte `offset` (clamped to the text).
    pub fn locate(&self, offset: u32) -> Location {
        let offset = (offset as usize).min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset).max(1);
        let start = self.line_starts.get(line - 1).copied().unwrap_or(0);
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        Location {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column + 1).unwrap_or(u32::MAX),
        }
    }

    /// The whole text of the line holding byte `offset`, without its line break.
    pub fn line_text(&self, offset: u32) -> &'a str {
        let loc = self.locate(offset);
        let start = self
            .line_starts
            .get(loc.line as usize - 1)
            .copied()
            .unwrap_or(0);
        let end = self
            .line_starts
            .get(loc.line as usize)
            .map_or(self.text.len(), |&e| e.saturating_sub(1));
        let line = self.text.get(start..end.max(start)).unwrap_or("");
        line.strip_suffix('\r').unwrap_or(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locates_lines_and_character_columns() {
        let text = "{\n  \"é\": 1,\n  \"x\"\n}";
        let idx = LineIndex::new(text);
        assert_eq!(idx.locate(0), Location { line: 1, column: 1 });
        assert_eq!(idx.locate(2), Location { line: 2, column: 1 });
        // "é" is two bytes: the colon after `"é"` is at character column 6.
        let colon = text.find(':').unwrap() as u32;
        assert_eq!(idx.locate(colon), Location { line: 2, column: 6 });
        assert_eq!(idx.line_text(colon), "  \"é\": 1,");
        assert_eq!(idx.locate(u32::MAX).line, 4);
    }

    #[test]
    fn carriage_returns_end_lines_too() {
        let text = "{\r\n\"a\": 1,\r\"b\": 2}";
        let idx = LineIndex::new(text);
        let b = text.find("\"b").unwrap() as u32;
        assert_eq!(idx.locate(b), Location { line: 3, column: 1 });
        let a = text.find("\"a").unwrap() as u32;
        assert_eq!(idx.locate(a), Location { line: 2, column: 1 });
        assert_eq!(idx.line_text(a), "\"a\": 1,");
    }
}
