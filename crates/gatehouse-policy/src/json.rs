//! A JSON reader over policy text that hands out byte spans.
//!
//! Written by hand rather than taken from serde_json because the parser needs three things no
//! JSON crate gives together: the span of every key and value (for line:column errors), the
//! detection of duplicate keys (serde_json keeps the last one silently), and a count of the
//! whitespace between tokens (IAM's size quotas exclude it). It is a plain recursive-descent
//! reader of RFC 8259 JSON, with one deliberate exception: a `\u` escape of an unpaired
//! surrogate (`"\ud800"`), which RFC 8259 leaves "unpredictable", is rejected, since it can be
//! no character of a policy. The policy grammar on top of it lives in `parse.rs`.

use std::borrow::Cow;

use crate::span::Span;
use crate::swar::{
    bytes_above_exact, bytes_below_exact, bytes_exactly_equal, find_string_special, word_at,
};

/// How deep a value may nest before the reader gives up (policies need about 6 levels).
pub(crate) const MAX_DEPTH: usize = 64;

/// A fatal JSON error: the text is not JSON, so reading stops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct JsonError {
    pub message: &'static str,
    pub offset: usize,
}

pub(crate) type JsonResult<T> = Result<T, JsonError>;

/// The JSON type of the value at the reader's position.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Object => "an object",
            Kind::Array => "an array",
            Kind::String => "a string",
            Kind::Number => "a number",
            Kind::Bool => "a boolean",
            Kind::Null => "null",
        }
    }
}

pub(crate) struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// Bytes of whitespace skipped between tokens so far.
    pub whitespace: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(text: &'a str) -> Reader<'a> {
        Reader {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            whitespace: 0,
        }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    fn err<T>(&self, message: &'static str) -> JsonResult<T> {
        Err(JsonError {
            message,
            offset: self.pos,
        })
    }

    pub(crate) fn peek_byte(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    /// Consumes `b` if it is next.
    pub(crate) fn eat_byte(&mut self, b: u8) -> bool {
        if self.bytes.get(self.pos) == Some(&b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// Consumes `b` or fails with `message`.
    pub(crate) fn expect_byte(&mut self, b: u8, message: &'static str) -> JsonResult<()> {
        if self.eat_byte(b) {
            Ok(())
        } else {
            self.err(message)
        }
    }

    pub(crate) fn error_here(&self, message: &'static str) -> JsonError {
        JsonError {
            message,
            offset: self.pos,
        }
    }

    /// Skips whitespace. Most calls find none, so that check is inlined and the loop is not.
    #[inline]
    pub(crate) fn skip_ws(&mut self) {
        if let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.skip_ws_run();
        }
    }

    #[inline(never)]
    fn skip_ws_run(&mut self) {
        let start = self.pos;
        if let Some(end) = crate::swar::skip_indentation(self.bytes, self.pos) {
            self.pos = end;
            self.whitespace += end - start;
            return;
        }
        // Eight bytes at a time while the run is made of spaces and line feeds (indentation);
        // a word holding a tab, a carriage return or another control byte is done byte by byte.
        while let Some(x) = word_at(self.bytes, self.pos) {
            let controls = bytes_below_exact(x, 0x20);
            if controls & !bytes_exactly_equal(x, b'\n') != 0 {
                break;
            }
            let stop = bytes_above_exact(x, 0x20);
            if stop != 0 {
                self.pos += (stop.trailing_zeros() / 8) as usize;
                self.whitespace += self.pos - start;
                return;
            }
            self.pos += 8;
        }
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
        self.whitespace += self.pos - start;
    }

    /// Skips whitespace and tells what kind of value starts here.
    #[inline]
    pub(crate) fn peek_kind(&mut self) -> JsonResult<Kind> {
        self.skip_ws();
        match self.bytes.get(self.pos) {
            Some(b'{') => Ok(Kind::Object),
            Some(b'[') => Ok(Kind::Array),
            Some(b'"') => Ok(Kind::String),
            Some(b'-' | b'0'..=b'9') => Ok(Kind::Number),
            Some(b't' | b'f') => Ok(Kind::Bool),
            Some(b'n') => Ok(Kind::Null),
            Some(_) => self.err("expected a JSON value"),
            None => self.err("unexpected end of text, expected a JSON value"),
        }
    }

    /// True when only whitespace is left.
    pub(crate) fn at_end(&mut self) -> bool {
        self.skip_ws();
        self.pos >= self.bytes.len()
    }

    /// Reads a string at the current position (after `peek_kind` said `String`). The common
    /// case, a string without escapes, is small enough to inline; the rest is out of line.
    #[inline]
    pub(crate) fn string(&mut self) -> JsonResult<(Cow<'a, str>, Span)> {
        let start = self.pos;
        if self.bytes.get(self.pos) != Some(&b'"') {
            return self.err("expected a string");
        }
        self.pos += 1;
        let body = self.pos;
        // Fast path: no escapes, so the string borrows from the text.
        let Some(stop) = find_string_special(self.bytes, body) else {
            self.pos = self.bytes.len();
            return self.err("unterminated string");
        };
        self.pos = stop;
        match self.bytes.get(stop) {
            Some(b'"') => {
                let s = self.text.get(body..self.pos).unwrap_or("");
                self.pos += 1;
                Ok((Cow::Borrowed(s), Span::new(start, self.pos)))
            }
            Some(b'\\') => self.escaped_string(start, body),
            _ => self.err("control character in string"),
        }
    }

    /// The rest of a string that holds escapes, from its first backslash: decoded into an
    /// owned string.
    #[cold]
    #[inline(never)]
    fn escaped_string(&mut self, start: usize, body: usize) -> JsonResult<(Cow<'a, str>, Span)> {
        let mut out = String::from(self.text.get(body..self.pos).unwrap_or(""));
        loop {
            match self.bytes.get(self.pos) {
                Some(b'"') => {
                    self.pos += 1;
                    return Ok((Cow::Owned(out), Span::new(start, self.pos)));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = match self.bytes.get(self.pos) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            let c = self.unicode_escape()?;
                            out.push(c);
                            continue;
                        }
                        _ => return self.err("invalid escape in string"),
                    };
                    out.push(c);
                    self.pos += 1;
                }
                Some(&b) if b < 0x20 => return self.err("control character in string"),
                Some(_) => {
                    // Copy a run of ordinary characters at once; runs end on ASCII bytes, so
                    // the slice boundaries are character boundaries.
                    let run = self.pos;
                    while let Some(&b) = self.bytes.get(self.pos) {
                        if b == b'"' || b == b'\\' || b < 0x20 {
                            break;
                        }
                        self.pos += 1;
                    }
                    out.push_str(self.text.get(run..self.pos).unwrap_or(""));
                }
                None => return self.err("unterminated string"),
            }
        }
    }

    /// Reads the four hex digits after `\u` (and a low surrogate after a high one).
    fn unicode_escape(&mut self) -> JsonResult<char> {
        let hi = self.hex4()?;
        if (0xD800..0xDC00).contains(&hi) {
            if self.bytes.get(self.pos) != Some(&b'\\')
                || self.bytes.get(self.pos + 1) != Some(&b'u')
            {
                return self.err("unpaired surrogate in \\u escape");
            }
            self.pos += 2;
            let lo = self.hex4()?;
            if !(0xDC00..0xE000).contains(&lo) {
                return self.err("unpaired surrogate in \\u escape");
            }
            let code = 0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00);
            return char::from_u32(code).map_or_else(|| self.err("invalid \\u escape"), Ok);
        }
        char::from_u32(hi).map_or_else(|| self.err("unpaired surrogate in \\u escape"), Ok)
    }

    fn hex4(&mut self) -> JsonResult<u32> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.bytes.get(self.pos) {
                Some(&b) => (b as char).to_digit(16),
                None => None,
            };
            match d {
                Some(d) => v = v * 16 + d,
                None => return self.err("invalid \\u escape"),
            }
            self.pos += 1;
        }
        Ok(v)
    }

    /// Reads a number and returns its text.
    pub(crate) fn number(&mut self) -> JsonResult<(&'a str, Span)> {
        let start = self.pos;
        if self.bytes.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        match self.bytes.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return self.err("invalid number"),
        }
        if self.bytes.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if !matches!(self.bytes.get(self.pos), Some(b'0'..=b'9')) {
                return self.err("invalid number");
            }
            self.digits();
        }
        if let Some(b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.bytes.get(self.pos) {
                self.pos += 1;
            }
            if !matches!(self.bytes.get(self.pos), Some(b'0'..=b'9')) {
                return self.err("invalid number");
            }
            self.digits();
        }
        let text = self.text.get(start..self.pos).unwrap_or("");
        Ok((text, Span::new(start, self.pos)))
    }

    fn digits(&mut self) {
        while let Some(b'0'..=b'9') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    /// Reads `true` or `false`.
    pub(crate) fn boolean(&mut self) -> JsonResult<(bool, Span)> {
        let start = self.pos;
        if self.bytes.get(self.pos..self.pos + 4) == Some(b"true") {
            self.pos += 4;
            Ok((true, Span::new(start, self.pos)))
        } else if self.bytes.get(self.pos..self.pos + 5) == Some(b"false") {
            self.pos += 5;
            Ok((false, Span::new(start, self.pos)))
        } else {
            self.err("invalid literal")
        }
    }

    /// Reads `null`.
    pub(crate) fn null(&mut self) -> JsonResult<Span> {
        let start = self.pos;
        if self.bytes.get(self.pos..self.pos + 4) == Some(b"null") {
            self.pos += 4;
            Ok(Span::new(start, self.pos))
        } else {
            self.err("invalid literal")
        }
    }

    /// Skips one whole value of any kind, checking that it is JSON. Returns its span.
    pub(crate) fn skip_value(&mut self, depth: usize) -> JsonResult<Span> {
        if depth > MAX_DEPTH {
            return self.err("value nests too deeply");
        }
        let kind = self.peek_kind()?;
        let start = self.pos;
        match kind {
            Kind::String => {
                self.string()?;
            }
            Kind::Number => {
                self.number()?;
            }
            Kind::Bool => {
                self.boolean()?;
            }
            Kind::Null => {
                self.null()?;
            }
            Kind::Array => {
                let mut array = ArrayCursor::start(self)?;
                while array.next(self)? {
                    self.skip_value(depth + 1)?;
                }
            }
            Kind::Object => {
                let mut object = ObjectCursor::start(self)?;
                while object.next_key(self)?.is_some() {
                    self.skip_value(depth + 1)?;
                }
            }
        }
        Ok(Span::new(start, self.pos))
    }
}

/// Walks the members of an object one at a time, so the caller keeps its own state (the
/// parser's error list) at hand between members.
pub(crate) struct ObjectCursor {
    start: usize,
    first: bool,
    /// How many members or elements have been met so far.
    pub(crate) count: usize,
}

impl ObjectCursor {
    pub(crate) fn start(r: &mut Reader<'_>) -> JsonResult<ObjectCursor> {
        r.skip_ws();
        let start = r.pos();
        r.expect_byte(b'{', "expected '{'")?;
        Ok(ObjectCursor {
            start,
            first: true,
            count: 0,
        })
    }

    /// The next key, with the reader at its value; None after the closing brace.
    pub(crate) fn next_key<'a>(
        &mut self,
        r: &mut Reader<'a>,
    ) -> JsonResult<Option<(Cow<'a, str>, Span)>> {
        r.skip_ws();
        if self.first {
            self.first = false;
            if r.eat_byte(b'}') {
                return Ok(None);
            }
        } else if r.eat_byte(b',') {
            r.skip_ws();
        } else if r.eat_byte(b'}') {
            return Ok(None);
        } else {
            return Err(r.error_here("expected ',' or '}' in object"));
        }
        if r.peek_byte() != Some(b'"') {
            return Err(r.error_here("expected a string key in object"));
        }
        let (key, span) = r.string()?;
        r.skip_ws();
        r.expect_byte(b':', "expected ':' after object key")?;
        // Every caller reads or skips the value next, which checks that one is there.
        self.count += 1;
        Ok(Some((key, span)))
    }

    pub(crate) fn finish(&self, r: &Reader<'_>) -> Span {
        Span::new(self.start, r.pos())
    }
}

/// Walks the elements of an array one at a time (see [`ObjectCursor`]).
pub(crate) struct ArrayCursor {
    first: bool,
    /// How many members or elements have been met so far.
    pub(crate) count: usize,
}

impl ArrayCursor {
    pub(crate) fn start(r: &mut Reader<'_>) -> JsonResult<ArrayCursor> {
        r.skip_ws();
        r.expect_byte(b'[', "expected '['")?;
        Ok(ArrayCursor {
            first: true,
            count: 0,
        })
    }

    /// Moves to the next element; false after the closing bracket.
    pub(crate) fn next(&mut self, r: &mut Reader<'_>) -> JsonResult<bool> {
        r.skip_ws();
        if self.first {
            self.first = false;
            if r.eat_byte(b']') {
                return Ok(false);
            }
        } else if r.eat_byte(b',') {
        } else if r.eat_byte(b']') {
            return Ok(false);
        } else {
            return Err(r.error_here("expected ',' or ']' in array"));
        }
        // Every caller reads or skips the element next, which checks that one is there.
        self.count += 1;
        Ok(true)
    }
}

/// Remembers the keys of one object to report duplicates. Objects in policies are small, so
/// the first keys sit in an inline array (no allocation per object); a large object moves to a
/// hash set so hostile input stays linear.
#[derive(Default)]
pub(crate) struct KeySet<'a> {
    small: [Cow<'a, str>; KeySet::INLINE],
    len: usize,
    large: Option<std::collections::HashSet<Cow<'a, str>>>,
}

impl<'a> KeySet<'a> {
    const INLINE: usize = 4;

    /// Records `key`; false when it was already there.
    pub(crate) fn insert(&mut self, key: Cow<'a, str>) -> bool {
        if let Some(set) = &mut self.large {
            return set.insert(key);
        }
        let seen = self.small.get(..self.len).unwrap_or(&[]);
        if seen.contains(&key) {
            return false;
        }
        match self.small.get_mut(self.len) {
            Some(slot) => {
                *slot = key;
                self.len += 1;
            }
            None => {
                let mut set: std::collections::HashSet<_> =
                    self.small.iter_mut().map(std::mem::take).collect();
                set.insert(key);
                self.large = Some(set);
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skip(text: &str) -> JsonResult<Span> {
        let mut r = Reader::new(text);
        let span = r.skip_value(0)?;
        if !r.at_end() {
            return Err(JsonError {
                message: "trailing",
                offset: r.pos(),
            });
        }
        Ok(span)
    }

    #[test]
    fn accepts_json() {
        for ok in [
            "{}",
            "[]",
            r#"{"a": [1, -2.5e10, true, false, null, "x\u00e9\ud83d\ude00\n"]}"#,
            " \"s\" ",
            "0",
            "-0.0",
        ] {
            assert!(skip(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_non_json() {
        for bad in [
            "",
            "{",
            "{\"a\" 1}",
            "[1,]",
            "{\"a\":1,}",
            "01",
            "1.",
            "tru",
            "\"\\x\"",
            "\"\\ud800\"",
            "\"a\nb\"",
            "{} x",
            "'a'",
            "[\"unterminated",
        ] {
            assert!(skip(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let text = "[".repeat(100_000);
        assert!(skip(&text).is_err());
    }

    #[test]
    fn decodes_escapes() {
        let mut r = Reader::new(r#""a\"b\\c\/\u0041\ud83d\ude00""#);
        let (s, _) = r.string().unwrap();
        assert_eq!(s, "a\"b\\c/A😀");
    }

    #[test]
    fn counts_whitespace_between_tokens() {
        let mut r = Reader::new("{ \"a b\" :\n [ 1 ] }");
        r.skip_value(0).unwrap();
        assert_eq!(r.whitespace, 7);
    }

    #[test]
    fn keyset_switches_to_hashing() {
        let keys: Vec<String> = (0..40).map(|i| format!("k{i}")).collect();
        let mut set = KeySet::default();
        for k in &keys {
            assert!(set.insert(Cow::Borrowed(k.as_str())));
        }
        for k in &keys {
            assert!(!set.insert(Cow::Borrowed(k.as_str())));
        }
    }
}
