//! Compiled patterns: wildcards, policy variables and ARNs.
//!
//! A pattern is compiled once into tokens: literal bytes, `*`, `?`, and policy variables
//! (`${aws:username}`, `${key, 'default'}`). The escapes `${*}`, `${?}` and `${$}` become
//! literal bytes, so they never act as wildcards. Patterns without variables take a fast path:
//! `*` alone, an exact literal, a literal prefix, or the precompiled [`Glob`] of the policy
//! crate. Patterns with variables are resolved against the request into a short list of atoms
//! on the stack and matched by a backtracking glob over those atoms, so matching never
//! allocates.

use gatehouse_policy::Glob;
use smallvec::SmallVec;

#[cfg(test)]
use crate::request::Context;
use crate::request::{Lookup, Values};

/// One token of a compiled pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Lit(Box<[u8]>),
    Star,
    One,
    Var {
        /// The key in lower case.
        key: Box<str>,
        default: Option<Box<str>>,
    },
}

/// A resolved token.
#[derive(Clone, Copy, Debug)]
enum Atom<'a> {
    Lit(&'a [u8]),
    Star,
    One,
}

/// How a pattern without variables is matched.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Fast {
    Any,
    Exact(Box<[u8]>),
    Prefix(Box<[u8]>),
    Glob(Box<Glob>),
    /// Has variables or escaped wildcards: resolve the tokens, then match.
    Tokens,
}

/// Whether `*` and `?` are wildcards in a pattern.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wildcards {
    Yes,
    No,
}

/// A compiled pattern.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Pattern {
    toks: Box<[Tok]>,
    fast: Fast,
}

/// The variables a pattern refers to, as they resolve for one request.
#[allow(clippy::large_enum_variant)] // Lives on the stack for one match; never stored.
enum Resolved<'a> {
    /// Every variable has a value (or a default).
    Atoms(SmallVec<[Atom<'a>; 8]>),
    /// A variable without a value and without a default: the pattern matches nothing.
    Unresolved,
}

impl Pattern {
    /// Compiles `text`. Variables are read only when `variables` is true (policy Version
    /// 2012-10-17, in places where AWS allows them).
    pub(crate) fn compile(text: &str, variables: bool, wildcards: Wildcards) -> Pattern {
        // The common shapes (`s3:GetObject`, `s3:Get*`, `*`) without tokenizing: compiling
        // AWS's large managed policies is mostly these.
        let bytes = text.as_bytes();
        let special = |b: &u8| {
            (wildcards == Wildcards::Yes && (*b == b'*' || *b == b'?')) || (variables && *b == b'$')
        };
        match bytes.iter().position(special) {
            None => {
                let lit: Box<[u8]> = bytes.into();
                return Pattern {
                    toks: if lit.is_empty() {
                        Box::new([])
                    } else {
                        Box::new([Tok::Lit(lit.clone())])
                    },
                    fast: Fast::Exact(lit),
                };
            }
            Some(i) if i + 1 == bytes.len() && bytes.get(i) == Some(&b'*') => {
                let lit: Box<[u8]> = bytes.get(..i).unwrap_or_default().into();
                let toks: Box<[Tok]> = if lit.is_empty() {
                    Box::new([Tok::Star])
                } else {
                    Box::new([Tok::Lit(lit.clone()), Tok::Star])
                };
                let fast = if lit.is_empty() {
                    Fast::Any
                } else {
                    Fast::Prefix(lit)
                };
                return Pattern { toks, fast };
            }
            _ => {}
        }
        let toks = tokenize(text, variables, wildcards);
        Pattern::from_toks(toks)
    }

    fn from_toks(toks: Vec<Tok>) -> Pattern {
        let has_var = toks.iter().any(|t| matches!(t, Tok::Var { .. }));
        let fast = if has_var {
            Fast::Tokens
        } else {
            match toks.as_slice() {
                [] => Fast::Exact(Box::new([])),
                [Tok::Star] => Fast::Any,
                [Tok::Lit(l)] => Fast::Exact(l.clone()),
                [Tok::Lit(l), Tok::Star] => Fast::Prefix(l.clone()),
                _ => {
                    // The policy crate's glob knows no escapes: use it only when every
                    // literal is free of `*` and `?`.
                    let plain = toks.iter().all(|t| match t {
                        Tok::Lit(l) => !l.iter().any(|&b| b == b'*' || b == b'?'),
                        _ => true,
                    });
                    match (plain, render(&toks)) {
                        (true, Some(text)) => Fast::Glob(Box::new(Glob::new(&text))),
                        _ => Fast::Tokens,
                    }
                }
            }
        };
        Pattern {
            toks: toks.into_boxed_slice(),
            fast,
        }
    }

    /// Whether the pattern is `*` alone.
    pub(crate) fn is_any(&self) -> bool {
        self.fast == Fast::Any
    }

    /// The keys of the variables the pattern refers to (lower case).
    pub(crate) fn variable_keys(&self) -> impl Iterator<Item = &str> {
        self.toks.iter().filter_map(|t| match t {
            Tok::Var { key, .. } => Some(&**key),
            _ => None,
        })
    }

    /// Resolves the variables against the context.
    fn resolve<'a>(&'a self, ctx: &'a dyn Lookup) -> Resolved<'a> {
        let mut atoms = SmallVec::new();
        for t in self.toks.iter() {
            atoms.push(match t {
                Tok::Lit(l) => Atom::Lit(l),
                Tok::Star => Atom::Star,
                Tok::One => Atom::One,
                Tok::Var { key, default } => match (ctx.lookup(key), default) {
                    (Some(Values::Single(v)), _) => Atom::Lit(v.text().as_bytes()),
                    (_, Some(d)) => Atom::Lit(d.as_bytes()),
                    (_, None) => return Resolved::Unresolved,
                },
            });
        }
        Resolved::Atoms(atoms)
    }

    /// Whether `text` matches. Returns `None` when a variable has no value.
    pub(crate) fn matches(&self, text: &str, ctx: &dyn Lookup) -> Option<bool> {
        let t = text.as_bytes();
        Some(match &self.fast {
            Fast::Any => true,
            Fast::Exact(l) => **l == *t,
            Fast::Prefix(l) => t.starts_with(l),
            Fast::Glob(g) => g.matches(text),
            Fast::Tokens => match self.resolve(ctx) {
                Resolved::Atoms(atoms) => glob_atoms(&atoms, t),
                Resolved::Unresolved => return None,
            },
        })
    }

    /// Whether `text` equals the pattern with its variables substituted (`*` and `?` are
    /// literal). Returns `None` when a variable has no value.
    pub(crate) fn equals(&self, text: &str, ctx: &dyn Lookup, ignore_case: bool) -> Option<bool> {
        let atoms = match &self.fast {
            Fast::Exact(l) => {
                return Some(eq_text(l, text.as_bytes(), ignore_case));
            }
            _ => match self.resolve(ctx) {
                Resolved::Atoms(a) => a,
                Resolved::Unresolved => return None,
            },
        };
        // Tokens compiled without wildcards are all literals; join them on the stack.
        let mut joined: SmallVec<[u8; 128]> = SmallVec::new();
        for a in &atoms {
            match a {
                Atom::Lit(l) => joined.extend_from_slice(l),
                Atom::Star => joined.push(b'*'),
                Atom::One => joined.push(b'?'),
            }
        }
        Some(eq_text(&joined, text.as_bytes(), ignore_case))
    }

    /// The pattern written back with its variables (for explanations).
    pub(crate) fn resolved_text(&self, ctx: &dyn Lookup) -> Option<String> {
        match self.resolve(ctx) {
            Resolved::Atoms(atoms) => {
                let mut out = Vec::new();
                for a in atoms {
                    match a {
                        Atom::Lit(l) => out.extend_from_slice(l),
                        Atom::Star => out.push(b'*'),
                        Atom::One => out.push(b'?'),
                    }
                }
                Some(String::from_utf8_lossy(&out).into_owned())
            }
            Resolved::Unresolved => None,
        }
    }
}

/// Compares two texts exactly or ignoring case (Unicode-aware when either is not ASCII).
fn eq_text(a: &[u8], b: &[u8], ignore_case: bool) -> bool {
    if !ignore_case {
        return a == b;
    }
    if a.is_ascii() && b.is_ascii() {
        return a.eq_ignore_ascii_case(b);
    }
    match (std::str::from_utf8(a), std::str::from_utf8(b)) {
        (Ok(a), Ok(b)) => a
            .chars()
            .flat_map(char::to_lowercase)
            .eq(b.chars().flat_map(char::to_lowercase)),
        _ => false,
    }
}

/// The pattern text for tokens without variables.
fn render(toks: &[Tok]) -> Option<String> {
    let mut out = Vec::new();
    for t in toks {
        match t {
            Tok::Lit(l) => out.extend_from_slice(l),
            Tok::Star => out.push(b'*'),
            Tok::One => out.push(b'?'),
            Tok::Var { .. } => return None,
        }
    }
    String::from_utf8(out).ok()
}

/// Splits text into tokens. With `variables`, `${...}` is read as a variable or an escape;
/// text that is not a well-formed variable stays literal.
fn tokenize(text: &str, variables: bool, wildcards: Wildcards) -> Vec<Tok> {
    let mut toks: Vec<Tok> = Vec::new();
    let mut lit: Vec<u8> = Vec::new();
    let flush = |lit: &mut Vec<u8>, toks: &mut Vec<Tok>| {
        if !lit.is_empty() {
            toks.push(Tok::Lit(std::mem::take(lit).into_boxed_slice()));
        }
    };
    let special = |b: &u8| {
        (wildcards == Wildcards::Yes && (*b == b'*' || *b == b'?')) || (variables && *b == b'$')
    };
    let bytes = text.as_bytes();
    let mut at = 0;
    // Literal runs are copied whole; the special bytes are ASCII, so runs end on characters.
    while let Some(rest) = bytes.get(at..).filter(|r| !r.is_empty()) {
        let run = rest.iter().position(special).unwrap_or(rest.len());
        lit.extend_from_slice(rest.get(..run).unwrap_or_default());
        at += run;
        match bytes.get(at) {
            None => break,
            Some(b'$') => {
                let rest = text.get(at..).unwrap_or("");
                if rest.starts_with("${")
                    && let Some(end) = rest.find('}')
                    && let Some(tok) = read_variable(rest.get(2..end).unwrap_or(""))
                {
                    match tok {
                        Tok::Lit(l) => lit.extend_from_slice(&l),
                        other => {
                            flush(&mut lit, &mut toks);
                            toks.push(other);
                        }
                    }
                    at += end + 1;
                } else {
                    lit.push(b'$');
                    at += 1;
                }
            }
            Some(b'*') => {
                flush(&mut lit, &mut toks);
                // Consecutive stars are one star.
                if toks.last() != Some(&Tok::Star) {
                    toks.push(Tok::Star);
                }
                at += 1;
            }
            Some(_) => {
                flush(&mut lit, &mut toks);
                toks.push(Tok::One);
                at += 1;
            }
        }
    }
    flush(&mut lit, &mut toks);
    toks
}

/// Reads the inside of `${...}`: an escape, or a key with an optional `'default'`.
fn read_variable(inner: &str) -> Option<Tok> {
    match inner {
        "*" | "?" | "$" => return Some(Tok::Lit(inner.as_bytes().into())),
        _ => {}
    }
    let (key, default) = match inner.split_once(',') {
        Some((key, d)) => {
            let d = d.trim();
            let d = d.strip_prefix('\'')?.strip_suffix('\'')?;
            (key.trim(), Some(d.into()))
        }
        None => (inner.trim(), None),
    };
    let valid = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":/._-@+=".contains(&b));
    valid.then(|| Tok::Var {
        key: key.to_ascii_lowercase().into(),
        default,
    })
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

/// Matches text against resolved atoms: `*` any run, `?` one character, literals exactly.
///
/// The iterative algorithm that backtracks only to the last `*`: a later `*` can absorb
/// anything an earlier one could, so earlier choices never need revisiting. Worst case
/// O(text x pattern); no recursion, no allocation.
fn glob_atoms(atoms: &[Atom<'_>], text: &[u8]) -> bool {
    // A pattern position is (atom index, byte offset in a literal).
    let norm = |mut p: (usize, usize)| {
        while let Some(Atom::Lit(l)) = atoms.get(p.0) {
            if p.1 < l.len() {
                break;
            }
            p = (p.0 + 1, 0);
        }
        p
    };
    let mut p = norm((0, 0));
    let mut t = 0usize;
    let mut star: Option<((usize, usize), usize)> = None;
    loop {
        let step = match (atoms.get(p.0), text.get(t)) {
            (Some(Atom::Star), _) => {
                p = norm((p.0 + 1, 0));
                star = Some((p, t));
                continue;
            }
            (None, None) => return true,
            (Some(Atom::One), Some(&b)) => {
                t += utf8_len(b);
                p = norm((p.0 + 1, 0));
                true
            }
            (Some(Atom::Lit(l)), Some(&b)) if l.get(p.1) == Some(&b) => {
                t += 1;
                p = norm((p.0, p.1 + 1));
                true
            }
            _ => false,
        };
        if step {
            continue;
        }
        // Mismatch: let the last star absorb one more character.
        match star {
            Some((sp, st)) if st < text.len() => {
                let st = st + text.get(st).map_or(1, |&b| utf8_len(b));
                star = Some((sp, st));
                p = sp;
                t = st;
            }
            _ => return false,
        }
    }
}

/// A pattern for an ARN, split into its colon-separated fields.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ArnPattern {
    text: Box<str>,
    /// The whole pattern, for resources that are not ARNs.
    whole: Pattern,
    /// One pattern per field; the last holds the rest of the text (with its colons).
    fields: Vec<Pattern>,
    /// For resource patterns whose fields before the last are all literal (the common
    /// `arn:aws:s3:::bucket/*`): those fields with their colons, so that matching is one prefix
    /// comparison and the last field's pattern.
    literal_prefix: Option<Box<[u8]>>,
}

impl ArnPattern {
    /// Compiles an ARN pattern: a `Resource` / `NotResource` entry or an `Arn*` condition
    /// value. Variables (when the policy's version has them) are read in every field: AWS's
    /// own managed policies put `${aws:PrincipalAccount}` in the account field. The text is
    /// split into fields at the colons outside variables; the sixth field keeps its colons.
    pub(crate) fn compile(text: &str, variables: bool) -> ArnPattern {
        let toks = tokenize(text, variables, Wildcards::Yes);
        let whole = Pattern::from_toks(toks.clone());
        let mut fields: Vec<Vec<Tok>> = vec![Vec::new()];
        for t in toks {
            match t {
                Tok::Lit(l) if fields.len() < 6 && l.contains(&b':') => {
                    let mut rest: &[u8] = &l;
                    while let Some(i) = rest.iter().position(|&b| b == b':') {
                        if fields.len() >= 6 {
                            break;
                        }
                        let (piece, after) = rest.split_at(i);
                        if !piece.is_empty()
                            && let Some(f) = fields.last_mut()
                        {
                            f.push(Tok::Lit(piece.into()));
                        }
                        fields.push(Vec::new());
                        rest = after.get(1..).unwrap_or(&[]);
                    }
                    if !rest.is_empty()
                        && let Some(f) = fields.last_mut()
                    {
                        f.push(Tok::Lit(rest.into()));
                    }
                }
                other => {
                    if let Some(f) = fields.last_mut() {
                        f.push(other);
                    }
                }
            }
        }
        let fields: Vec<Pattern> = fields
            .into_iter()
            .map(merge_lits)
            .map(Pattern::from_toks)
            .collect();
        let literal_prefix = (fields.len() >= 2
            && fields
                .iter()
                .take(fields.len() - 1)
                .all(|f| matches!(f.fast, Fast::Exact(_))))
        .then(|| {
            let mut prefix = Vec::new();
            for f in fields.iter().take(fields.len() - 1) {
                if let Fast::Exact(l) = &f.fast {
                    prefix.extend_from_slice(l);
                }
                prefix.push(b':');
            }
            prefix.into_boxed_slice()
        });
        ArnPattern {
            text: text.into(),
            whole,
            fields,
            literal_prefix,
        }
    }

    /// The pattern as written.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// Whether the pattern is `*`.
    pub(crate) fn is_any(&self) -> bool {
        self.whole.is_any()
    }

    pub(crate) fn whole(&self) -> &Pattern {
        &self.whole
    }

    pub(crate) fn fields(&self) -> &[Pattern] {
        &self.fields
    }

    /// Resource-element matching: field by field, where the pattern's last field matches the
    /// rest of the ARN (so a trailing `*` spans colons) and a `*` inside an earlier field does
    /// not cross a colon. A resource that is not an ARN is matched as a whole. `None` when a
    /// variable has no value.
    pub(crate) fn matches_resource(&self, resource: &str, ctx: &dyn Lookup) -> Option<bool> {
        if self.whole.is_any() {
            return Some(true);
        }
        if let (Some(prefix), Some(last)) = (&self.literal_prefix, self.fields.last()) {
            return match resource.as_bytes().starts_with(prefix) {
                true => last.matches(resource.get(prefix.len()..).unwrap_or(""), ctx),
                false => Some(false),
            };
        }
        let starts = field_starts(resource);
        if starts.len() < 6 || self.fields.len() < 2 {
            return self.whole.matches(resource, ctx);
        }
        self.matches_fields(resource, &starts, ctx)
    }

    /// `ArnLike` / `ArnEquals` matching: the value must be an ARN (six fields); the pattern's
    /// fields match the value's one by one, a wildcard never crossing a colon, except that the
    /// pattern's last field takes the rest of the value (so `*` and `arn:aws:*` match any ARN,
    /// and a variable holding a whole ARN compares with the whole value).
    pub(crate) fn matches_arn(&self, value: &str, ctx: &dyn Lookup) -> Option<bool> {
        let starts = field_starts(value);
        if starts.len() != 6 {
            return Some(false);
        }
        self.matches_fields(value, &starts, ctx)
    }

    fn matches_fields(&self, text: &str, starts: &[usize], ctx: &dyn Lookup) -> Option<bool> {
        let n = self.fields.len();
        for (i, f) in self.fields.iter().enumerate() {
            let Some(&start) = starts.get(i) else {
                return Some(false);
            };
            let field = if i + 1 == n {
                text.get(start..)
            } else {
                starts
                    .get(i + 1)
                    .and_then(|&next| text.get(start..next - 1))
            };
            match f.matches(field.unwrap_or(""), ctx) {
                Some(true) => {}
                other => return other,
            }
        }
        Some(true)
    }
}

fn merge_lits(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out: Vec<Tok> = Vec::with_capacity(toks.len());
    for t in toks {
        match (out.last_mut(), t) {
            (Some(Tok::Lit(prev)), Tok::Lit(l)) => {
                let mut v = prev.to_vec();
                v.extend_from_slice(&l);
                *prev = v.into_boxed_slice();
            }
            (_, t) => out.push(t),
        }
    }
    out
}

/// Byte offsets where the first six colon-separated fields of `text` start.
fn field_starts(text: &str) -> SmallVec<[usize; 6]> {
    let mut starts = SmallVec::new();
    starts.push(0);
    for (i, b) in text.bytes().enumerate() {
        if starts.len() == 6 {
            break;
        }
        if b == b':' {
            starts.push(i + 1);
        }
    }
    starts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pat: &str, text: &str) -> bool {
        Pattern::compile(pat, true, Wildcards::Yes)
            .matches(text, &Context::new())
            .unwrap_or(false)
    }

    fn res(pat: &str, text: &str) -> bool {
        ArnPattern::compile(pat, true)
            .matches_resource(text, &Context::new())
            .unwrap_or(false)
    }

    #[test]
    fn globs() {
        assert!(m("*", ""));
        assert!(m("a*b", "axxb"));
        assert!(m("a?c", "abc"));
        assert!(!m("a?c", "ac"));
        assert!(m("${*}x", "*x"));
        assert!(!m("${*}x", "ax"));
        assert!(m("a${?}*", "a?zz"));
        assert!(m("a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaab"));
        assert!(!m("a*a*a*a*b", "aaaaaaaaaaaaaaaaaaaaa"));
        assert!(m("é?x", "éüx"));
    }

    #[test]
    fn variables_resolve() {
        let mut ctx = Context::new();
        ctx.set("aws:username", "bob");
        let p = Pattern::compile("home/${aws:username}/*", true, Wildcards::Yes);
        assert_eq!(p.matches("home/bob/x", &ctx), Some(true));
        assert_eq!(p.matches("home/al/x", &ctx), Some(false));
        assert_eq!(p.matches("home/bob/x", &Context::new()), None);
        let d = Pattern::compile("t-${aws:PrincipalTag/team, 'all'}", true, Wildcards::Yes);
        assert_eq!(d.matches("t-all", &Context::new()), Some(true));
        let literal = Pattern::compile("home/${aws:username}", false, Wildcards::Yes);
        assert_eq!(literal.matches("home/${aws:username}", &ctx), Some(true));
    }

    #[test]
    fn resources_field_wise() {
        assert!(res(
            "arn:aws:s3:::B/*/test/*",
            "arn:aws:s3:::B/1/2/test/3/object.jpg"
        ));
        assert!(res(
            "arn:aws:s3:::B/*/test/*",
            "arn:aws:s3:::B//test/object.jpg"
        ));
        assert!(!res(
            "arn:aws:s3:::B/*/test/*",
            "arn:aws:s3:::B/test/object.jpg"
        ));
        assert!(res(
            "arn:aws:logs:*:*:*",
            "arn:aws:logs:us-east-1:1:log-group:g:log-stream:s"
        ));
        assert!(res(
            "arn:aws:ec2:*",
            "arn:aws:ec2:us-east-1:111122223333:instance/i-1"
        ));
        assert!(!res(
            "arn:aws:ec2:us-*-1:111122223333:instance/*",
            "arn:aws:ec2:us-east:x-1:111122223333:instance/i"
        ));
        assert!(!res("arn:aws:s3:::b", "arn:aws:s3:::B"));
    }

    #[test]
    fn variables_in_every_arn_field() {
        let mut ctx = Context::new();
        ctx.set("aws:PrincipalAccount", "111122223333");
        ctx.set("aws:PrincipalArn", "arn:aws:iam::111122223333:role/app");
        let kms = ArnPattern::compile("arn:*:kms:*:${aws:PrincipalAccount}:key/*", true);
        assert_eq!(
            kms.matches_resource("arn:aws:kms:us-east-1:111122223333:key/k1", &ctx),
            Some(true)
        );
        assert_eq!(
            kms.matches_resource("arn:aws:kms:us-east-1:444455556666:key/k1", &ctx),
            Some(false)
        );
        let whole = ArnPattern::compile("${aws:PrincipalArn}", true);
        assert_eq!(
            whole.matches_arn("arn:aws:iam::111122223333:role/app", &ctx),
            Some(true)
        );
        assert_eq!(
            whole.matches_arn("arn:aws:iam::111122223333:role/other", &ctx),
            Some(false)
        );
        for any in ["*", "arn:aws:*"] {
            let p = ArnPattern::compile(any, true);
            assert_eq!(p.matches_arn("arn:aws:s3:::b/k", &ctx), Some(true), "{any}");
            assert_eq!(p.matches_arn("not-an-arn", &ctx), Some(false), "{any}");
        }
    }

    #[test]
    fn arn_condition_does_not_cross_colons() {
        let p = ArnPattern::compile("arn:aws:someservice:*:111122223333:finance/*", true);
        let v = "arn:aws:someservice:us-east-2:999999999999:store/abc:111122223333:finance/document.txt";
        assert_eq!(p.matches_arn(v, &Context::new()), Some(false));
        assert!(m("arn:aws:someservice:*:111122223333:finance/*", v));
        let mut ctx = Context::new();
        ctx.set("aws:PrincipalAccount", "111122223333");
        let p = ArnPattern::compile("arn:aws:iam::${aws:PrincipalAccount}:role/*", true);
        assert_eq!(
            p.matches_arn("arn:aws:iam::111122223333:role/x", &ctx),
            Some(true)
        );
    }
}
