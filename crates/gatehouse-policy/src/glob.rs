//! The IAM wildcard matcher: `*` matches any run of characters (including none and including
//! `/` and `:`), `?` matches exactly one character; there are no other metacharacters.
//!
//! A pattern is compiled once into its `*`-separated segments. Matching places the first
//! segment at the start, the last at the end, and each middle segment at its leftmost
//! occurrence after the previous one. For globs with only `*` that greedy placement is exact,
//! so nothing is ever retried: a match costs at most one pass over the text per segment
//! (O(text x pattern) in the worst case, linear for a fixed pattern), and patterns such as
//! `a*a*a*a*b` cannot trigger the exponential backtracking of naive recursive matchers.
//! Segments without `?` are found with `memchr::memmem`.

/// A compiled wildcard pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob {
    segments: Vec<Segment>,
    leading_star: bool,
    trailing_star: bool,
    case_insensitive: bool,
}

#[derive(Clone, Debug, PartialEq, Eq)]
struct Segment {
    /// The pattern bytes; `None` stands for `?`.
    toks: Vec<Option<u8>>,
    /// The bytes when the segment has no `?`, for substring search.
    literal: Option<Vec<u8>>,
    /// How many characters the segment matches.
    chars: usize,
}

impl Segment {
    fn new(part: &str, case_insensitive: bool) -> Segment {
        let mut toks = Vec::with_capacity(part.len());
        let mut chars = 0;
        for c in part.chars() {
            chars += 1;
            if c == '?' {
                toks.push(None);
            } else {
                let mut buf = [0u8; 4];
                for &b in c.encode_utf8(&mut buf).as_bytes() {
                    toks.push(Some(if case_insensitive {
                        b.to_ascii_lowercase()
                    } else {
                        b
                    }));
                }
            }
        }
        let literal = toks.iter().copied().collect::<Option<Vec<u8>>>();
        Segment {
            toks,
            literal,
            chars,
        }
    }

    /// Matches the segment at byte `at` of `text`; returns the end offset.
    fn match_at(&self, text: &[u8], at: usize, ci: bool) -> Option<usize> {
        let mut i = at;
        for tok in &self.toks {
            let &b = text.get(i)?;
            match tok {
                Some(p) => {
                    let b = if ci { b.to_ascii_lowercase() } else { b };
                    if b != *p {
                        return None;
                    }
                    i += 1;
                }
                None => i += utf8_len(b),
            }
        }
        (i <= text.len()).then_some(i)
    }

    /// The leftmost match starting at or after `from`; returns (start, end).
    fn find(&self, text: &[u8], from: usize, ci: bool) -> Option<(usize, usize)> {
        if let (Some(lit), false) = (&self.literal, ci) {
            let hay = text.get(from..)?;
            let start = from + memchr::memmem::find(hay, lit)?;
            return Some((start, start + lit.len()));
        }
        let mut at = from;
        while at <= text.len() {
            if let Some(end) = self.match_at(text, at, ci) {
                return Some((at, end));
            }
            // Candidate starts are character boundaries.
            at += text.get(at).map_or(1, |&b| utf8_len(b));
        }
        None
    }
}

/// The length of the UTF-8 sequence that starts with byte `b`.
fn utf8_len(b: u8) -> usize {
    match b {
        0xF0..=0xFF => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

impl Glob {
    /// Compiles a case-sensitive pattern (resources, `StringLike`).
    pub fn new(pattern: &str) -> Glob {
        Glob::compile(pattern, false)
    }

    /// Compiles a pattern that ignores ASCII case (actions).
    pub fn new_case_insensitive(pattern: &str) -> Glob {
        Glob::compile(pattern, true)
    }

    fn compile(pattern: &str, case_insensitive: bool) -> Glob {
        let leading_star = pattern.starts_with('*');
        let trailing_star = pattern.ends_with('*') && !pattern.is_empty();
        let segments = pattern
            .split('*')
            .filter(|s| !s.is_empty())
            .map(|s| Segment::new(s, case_insensitive))
            .collect::<Vec<_>>();
        Glob {
            leading_star: leading_star || (segments.is_empty() && pattern.contains('*')),
            trailing_star,
            segments,
            case_insensitive,
        }
    }

    /// Whether the pattern has any wildcard.
    pub fn has_wildcard(&self) -> bool {
        self.leading_star
            || self.trailing_star
            || self.segments.len() > 1
            || self.segments.iter().any(|s| s.literal.is_none())
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        let text = text.as_bytes();
        let ci = self.case_insensitive;
        let n = self.segments.len();
        let mut pos = 0;
        let mut end = text.len();
        let mut middle = &self.segments[..];
        if !self.leading_star {
            let Some((first, rest)) = middle.split_first() else {
                return text.is_empty();
            };
            match first.match_at(text, 0, ci) {
                Some(e) => pos = e,
                None => return false,
            }
            if n == 1 && !self.trailing_star {
                return pos == text.len();
            }
            middle = rest;
        }
        if !self.trailing_star {
            let Some((last, rest)) = middle.split_last() else {
                return self.leading_star || pos == text.len();
            };
            // The last segment matches a fixed number of characters: find where they start.
            let Some(start) = nth_char_from_end(text, last.chars) else {
                return false;
            };
            if start < pos || last.match_at(text, start, ci) != Some(text.len()) {
                return false;
            }
            end = start;
            middle = rest;
        }
        let Some(window) = text.get(..end) else {
            return false;
        };
        for seg in middle {
            match seg.find(window, pos, ci) {
                Some((_, e)) => pos = e,
                None => return false,
            }
        }
        pos <= end
    }
}

/// The byte offset where the last `n` characters of `text` begin.
fn nth_char_from_end(text: &[u8], n: usize) -> Option<usize> {
    let mut i = text.len();
    for _ in 0..n {
        if i == 0 {
            return None;
        }
        i -= 1;
        while i > 0 && text.get(i).is_some_and(|&b| (0x80..0xC0).contains(&b)) {
            i -= 1;
        }
    }
    Some(i)
}

/// Matches `text` against `pattern` once, without keeping the compiled form.
pub fn glob_match(pattern: &str, text: &str) -> bool {
    Glob::new(pattern).matches(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A plain backtracking matcher, used as the reference the fast one is checked against.
    fn reference(p: &[char], t: &[char]) -> bool {
        match p.split_first() {
            None => t.is_empty(),
            Some(('*', rest)) => (0..=t.len()).any(|i| reference(rest, &t[i..])),
            Some(('?', rest)) => !t.is_empty() && reference(rest, &t[1..]),
            Some((c, rest)) => t.first() == Some(c) && reference(rest, &t[1..]),
        }
    }

    #[test]
    fn table() {
        let cases = [
            ("*", "", true),
            ("*", "anything:at/all", true),
            ("", "", true),
            ("", "a", false),
            ("s3:Get*", "s3:GetObject", true),
            ("s3:Get*", "s3:PutObject", false),
            ("ec2:Describe?pcs", "ec2:DescribeVpcs", true),
            ("ec2:Describe?pcs", "ec2:DescribeVVpcs", false),
            ("iam:*AccessKey*", "iam:CreateAccessKey", true),
            ("iam:*AccessKey*", "iam:ListAccessKeys", true),
            (
                "arn:aws:s3:::B/*/test/*",
                "arn:aws:s3:::B/1/2/test/3/object.jpg",
                true,
            ),
            (
                "arn:aws:s3:::B/*/test/*",
                "arn:aws:s3:::B//test/object.jpg",
                true,
            ),
            (
                "arn:aws:s3:::B/*/test/*",
                "arn:aws:s3:::B/test/object.jpg",
                false,
            ),
            (
                "arn:aws:s3:::B/*/test/*",
                "arn:aws:s3:::B/1-test/object.jpg",
                false,
            ),
            ("a*a", "a", false),
            ("a*a", "aa", true),
            ("?", "é", true),
            ("?é?", "aéb", true),
            ("*é", "café", true),
            ("**", "x", true),
            ("a*b*c", "abc", true),
            ("a*b*c", "acb", false),
        ];
        for (p, t, want) in cases {
            assert_eq!(Glob::new(p).matches(t), want, "{p:?} vs {t:?}");
        }
    }

    #[test]
    fn case_insensitive_for_actions() {
        let g = Glob::new_case_insensitive("IAM:List*");
        assert!(g.matches("iam:listaccesskeys"));
        assert!(g.matches("Iam:ListUsers"));
        assert!(!Glob::new("IAM:List*").matches("iam:ListUsers"));
    }

    #[test]
    fn pathological_pattern_is_fast_and_right() {
        let p = "a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        let t = "a".repeat(100_000);
        assert!(!Glob::new(p).matches(&t));
        let mut t2 = t.clone();
        t2.push('b');
        assert!(Glob::new(p).matches(&t2));
    }

    proptest::proptest! {
        #[test]
        fn agrees_with_reference(p in "[ab*?é]{0,8}", t in "[abé]{0,10}") {
            let pc: Vec<char> = p.chars().collect();
            let tc: Vec<char> = t.chars().collect();
            proptest::prop_assert_eq!(Glob::new(&p).matches(&t), reference(&pc, &tc), "{:?} {:?}", p, t);
        }
    }
}
