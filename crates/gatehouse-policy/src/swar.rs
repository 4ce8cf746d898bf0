//! Byte searches for the parser and the validator, in safe Rust: sixteen bytes at a time with
//! the `wide` crate's portable SIMD vectors where the text is long enough, eight at a time in a
//! `u64` ("SIMD within a register") near the end, then byte by byte. The scanned strings are
//! short, where these beat both a byte loop and `memchr`'s set-up cost.

use wide::u8x16;

/// The sixteen bytes at `at` as a vector, if there are sixteen.
fn block_at(bytes: &[u8], at: usize) -> Option<u8x16> {
    let chunk: [u8; 16] = bytes.get(at..at + 16)?.try_into().ok()?;
    Some(u8x16::new(chunk))
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The eight bytes at `at` as a little-endian word, if there are eight.
pub(crate) fn word_at(bytes: &[u8], at: usize) -> Option<u64> {
    let chunk: [u8; 8] = bytes.get(at..at + 8)?.try_into().ok()?;
    Some(u64::from_le_bytes(chunk))
}

/// Marks (high bit of the byte) the bytes of `x` equal to `b`. The lowest mark is exact; marks
/// above a true one may be false, which is all a first-match search needs.
fn bytes_equal(x: u64, b: u8) -> u64 {
    let y = x ^ (ONES * u64::from(b));
    y.wrapping_sub(ONES) & !y & HIGHS
}

/// Marks the bytes of `x` below `n` (n <= 128), with the same exactness as [`bytes_equal`].
fn bytes_below(x: u64, n: u8) -> u64 {
    x.wrapping_sub(ONES * u64::from(n)) & !x & HIGHS
}

/// Marks exactly the bytes of `x` equal to `b` (no false marks: the low seven bits are added
/// without carrying into the next byte).
pub(crate) fn bytes_exactly_equal(x: u64, b: u8) -> u64 {
    const LOWS: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let y = x ^ (ONES * u64::from(b));
    !(((y & LOWS).wrapping_add(LOWS)) | y | LOWS)
}

/// The offset of the first byte at or after `from` that is not JSON whitespace, when the
/// whitespace there is made of spaces and line feeds (indentation); None when a tab, a carriage
/// return or a control byte comes first, for the caller to handle byte by byte.
pub(crate) fn skip_indentation(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(v) = block_at(bytes, i) {
        let spaces = v.simd_eq(u8x16::splat(b' ')) | v.simd_eq(u8x16::splat(b'\n'));
        let other = !spaces.to_bitmask() & 0xffff;
        if other != 0 {
            let k = other.trailing_zeros() as usize;
            // Stop on a token (above 0x20); anything else is the caller's business.
            return (bytes.get(i + k).is_some_and(|&b| b > 0x20)).then_some(i + k);
        }
        i += 16;
    }
    None
}

/// For a string of at least sixteen bytes: the length of its leading run of vendor bytes
/// (`[A-Za-z0-9.-]`) when that run ends within the first sixteen bytes, and whether a colon
/// stands right after it with no other colon in the whole string. None when the string is
/// shorter than sixteen bytes or the run is longer (the caller then checks byte by byte).
pub(crate) fn vendor_colon_name(bytes: &[u8]) -> Option<(usize, bool)> {
    let v = block_at(bytes, 0)?;
    let digit = (v - u8x16::splat(b'0')).simd_lt(u8x16::splat(10));
    let letter = ((v | u8x16::splat(0x20)) - u8x16::splat(b'a')).simd_lt(u8x16::splat(26));
    let vendor = digit | letter | v.simd_eq(u8x16::splat(b'-')) | v.simd_eq(u8x16::splat(b'.'));
    let others = !vendor.to_bitmask() & 0xffff;
    if others == 0 {
        return None;
    }
    let k = others.trailing_zeros() as usize;
    let colons = v.simd_eq(u8x16::splat(b':')).to_bitmask();
    let colon_after_vendor = colons & (1 << k) != 0;
    // No colon after that one: none left in this block, none in the rest.
    let later = colons & !((2u32 << k) - 1);
    let len = bytes.len();
    if !colon_after_vendor || later != 0 || len <= 16 {
        return Some((k, colon_after_vendor && later == 0));
    }
    Some((k, !holds_byte_after(bytes, 16, b':', k)))
}

/// Whether `bytes[from..]` holds `b` anywhere but at offset `except`, for slices at least
/// sixteen bytes long: whole blocks, then the last sixteen bytes as one block overlapping what
/// was already seen (masked off), never a byte loop.
fn holds_byte_after(bytes: &[u8], from: usize, b: u8, except: usize) -> bool {
    let len = bytes.len();
    let mut i = from;
    while let Some(v) = block_at(bytes, i) {
        let mut marks = v.simd_eq(u8x16::splat(b)).to_bitmask();
        if let Some(bit) = except.checked_sub(i).filter(|&bit| bit < 16) {
            marks &= !(1 << bit);
        }
        if marks != 0 {
            return true;
        }
        i += 16;
    }
    let Some(start) = len.checked_sub(16).filter(|_| i < len) else {
        return false;
    };
    let Some(v) = block_at(bytes, start) else {
        return false;
    };
    let mut marks = v.simd_eq(u8x16::splat(b)).to_bitmask() >> (i - start) << (i - start);
    if let Some(bit) = except.checked_sub(start).filter(|&bit| bit < 16) {
        marks &= !(1 << bit);
    }
    marks != 0
}

/// Whether every byte of `bytes` is an ASCII letter or digit, sixteen at a time (short slices
/// are padded with a letter).
pub(crate) fn all_alphanumeric(bytes: &[u8]) -> bool {
    let alphanumeric = |v: u8x16| {
        let digit = (v - u8x16::splat(b'0')).simd_lt(u8x16::splat(10));
        let letter = ((v | u8x16::splat(0x20)) - u8x16::splat(b'a')).simd_lt(u8x16::splat(26));
        (digit | letter).to_bitmask() == 0xffff
    };
    if let Some(padded) = pad16(bytes, b'a') {
        return alphanumeric(u8x16::new(padded));
    }
    let mut i = 0;
    while let Some(v) = block_at(bytes, i) {
        if !alphanumeric(v) {
            return false;
        }
        i += 16;
    }
    // The last sixteen bytes, overlapping what was seen.
    i == bytes.len()
        || bytes
            .len()
            .checked_sub(16)
            .and_then(|start| block_at(bytes, start))
            .is_some_and(alphanumeric)
}

/// `bytes` (shorter than sixteen) followed by `fill` up to sixteen bytes; None when `bytes` is
/// sixteen or longer. Built from two overlapping eight-byte loads rather than a copy of
/// variable length, which would be a call to `memcpy`.
pub(crate) fn pad16(bytes: &[u8], fill: u8) -> Option<[u8; 16]> {
    let len = bytes.len();
    if len >= 16 {
        return None;
    }
    let value = match (word_at(bytes, 0), len.checked_sub(8)) {
        (Some(lo), Some(hi_at)) => {
            let hi = word_at(bytes, hi_at)?;
            u128::from(lo) | (u128::from(hi) << (8 * hi_at))
        }
        _ => bytes
            .iter()
            .enumerate()
            .fold(0u128, |v, (i, &b)| v | (u128::from(b) << (8 * i))),
    };
    let kept = if len == 0 {
        0
    } else {
        u128::MAX >> (8 * (16 - len))
    };
    let filled = u128::from_le_bytes([fill; 16]);
    Some(((value & kept) | (filled & !kept)).to_le_bytes())
}

/// Marks exactly the bytes of `x` below `n` (n <= 128).
pub(crate) fn bytes_below_exact(x: u64, n: u8) -> u64 {
    const LOWS: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // Adding 128 - n to the low seven bits sets bit 7 exactly for bytes >= n (no carry leaves
    // the byte); bytes with bit 7 already set are >= 128 >= n.
    !((x & LOWS).wrapping_add(ONES * u64::from(128 - n)) | x) & HIGHS
}

/// Marks exactly the bytes of `x` above `n` (n < 128).
pub(crate) fn bytes_above_exact(x: u64, n: u8) -> u64 {
    !bytes_below_exact(x, n + 1) & HIGHS
}

/// The offset of the first byte at or after `from` that ends the plain part of a JSON string: a
/// quote, a backslash or a control character. Sixteen bytes at a time, then eight, then one:
/// string scanning is most of the parser's work, and short strings gain nothing from
/// `memchr`'s set-up.
pub(crate) fn find_string_special(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    while let Some(v) = block_at(bytes, i) {
        let marks = v.simd_eq(u8x16::splat(b'"'))
            | v.simd_eq(u8x16::splat(b'\\'))
            | v.simd_lt(u8x16::splat(0x20));
        let mask = marks.to_bitmask();
        if mask != 0 {
            return Some(i + mask.trailing_zeros() as usize);
        }
        i += 16;
    }
    while let Some(x) = word_at(bytes, i) {
        let marks = bytes_equal(x, b'"') | bytes_equal(x, b'\\') | bytes_below(x, 0x20);
        if marks != 0 {
            return Some(i + (marks.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    bytes
        .get(i..)?
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .map(|p| i + p)
}

/// Whether `bytes` holds `b` (for short slices, where `memchr`'s set-up dominates).
#[expect(
    clippy::manual_contains,
    reason = "the tail is under eight bytes; `contains` would call memchr for it"
)]
pub(crate) fn contains_byte(bytes: &[u8], b: u8) -> bool {
    let mut i = 0;
    while let Some(x) = word_at(bytes, i) {
        if bytes_exactly_equal(x, b) != 0 {
            return true;
        }
        i += 8;
    }
    bytes
        .get(i..)
        .is_some_and(|tail| tail.iter().any(|&c| c == b))
}

/// The offsets of the first `N` occurrences of `b` in `bytes`, and how many were found (at
/// most `N`: the search stops there).
pub(crate) fn first_positions<const N: usize>(bytes: &[u8], b: u8) -> ([usize; N], usize) {
    let mut found = Found { at: [0; N], n: 0 };
    let mut i = 0;
    while let Some(v) = block_at(bytes, i) {
        if !found.take(v.simd_eq(u8x16::splat(b)).to_bitmask().into(), i, 1) {
            return (found.at, found.n);
        }
        i += 16;
    }
    // What is left is shorter than a block: when the string is at least a block long, take its
    // last sixteen bytes as one block and keep the marks past `i`.
    let len = bytes.len();
    if i < len
        && let Some(start) = len.checked_sub(16)
        && let Some(v) = block_at(bytes, start)
    {
        let marks = v.simd_eq(u8x16::splat(b)).to_bitmask() >> (i - start) << (i - start);
        found.take(marks.into(), start, 1);
        return (found.at, found.n);
    }
    while let Some(x) = word_at(bytes, i) {
        if !found.take(bytes_exactly_equal(x, b), i, 8) {
            return (found.at, found.n);
        }
        i += 8;
    }
    for (j, &c) in bytes.get(i..).unwrap_or(&[]).iter().enumerate() {
        if c == b && !found.take(1, i + j, 1) {
            break;
        }
    }
    (found.at, found.n)
}

/// Positions found so far by [`first_positions`].
struct Found<const N: usize> {
    at: [usize; N],
    n: usize,
}

impl<const N: usize> Found<N> {
    /// Records the positions marked in `marks` (one bit every `stride` bits, the first standing
    /// for offset `base`); false once `N` are known.
    fn take(&mut self, mut marks: u64, base: usize, stride: u32) -> bool {
        while marks != 0 {
            let Some(slot) = self.at.get_mut(self.n) else {
                return false;
            };
            *slot = base + (marks.trailing_zeros() / stride) as usize;
            self.n += 1;
            marks &= marks - 1;
        }
        self.n < N
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swar_search_finds_the_first_special_byte() {
        for (text, want) in [
            ("abcdefgh\"", Some(8)),
            ("\"", Some(0)),
            ("abc\\defghijk\"", Some(3)),
            ("abcdefghijklmnop\u{1}\"", Some(16)),
            ("aaaaaaa\u{7f}\u{80}é\"", Some(12)),
            ("no end here at all", None),
            ("", None),
        ] {
            assert_eq!(find_string_special(text.as_bytes(), 0), want, "{text:?}");
        }
        // Every position, against a plain scan.
        let text = "ab\u{1f}cdefgh\\ijklmnopq\"rs";
        for from in 0..text.len() {
            let plain = text.as_bytes()[from..]
                .iter()
                .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
                .map(|p| p + from);
            assert_eq!(find_string_special(text.as_bytes(), from), plain, "{from}");
        }
    }

    #[test]
    fn exact_comparisons_mark_exactly() {
        for n in [0x20u8, 0x21, 0x7f, 0x01] {
            for base in 0..=255u8 {
                let bytes = [
                    base,
                    base.wrapping_add(1),
                    0,
                    0x20,
                    0x7f,
                    0x80,
                    0xff,
                    base.wrapping_sub(1),
                ];
                let x = u64::from_le_bytes(bytes);
                let below = bytes_below_exact(x, n);
                for (i, &b) in bytes.iter().enumerate() {
                    assert_eq!(below >> (i * 8 + 7) & 1 == 1, b < n, "{b:#x} < {n:#x}");
                    if n < 0x7f {
                        let above = bytes_above_exact(x, n);
                        assert_eq!(above >> (i * 8 + 7) & 1 == 1, b > n, "{b:#x} > {n:#x}");
                    }
                }
            }
        }
    }

    #[test]
    fn contains_byte_agrees_with_contains() {
        let text = "abcdefghijklmnopqrstuvwxyz:0123456789";
        for start in 0..text.len() {
            for end in start..=text.len() {
                let slice = &text.as_bytes()[start..end];
                assert_eq!(
                    contains_byte(slice, b':'),
                    slice.contains(&b':'),
                    "{start}..{end}"
                );
            }
        }
        assert!(!contains_byte(
            &[b'9', b';', 0xba, 0x3b, 0, 0, 0, 0, 0x3b],
            b':'
        ));
    }

    proptest::proptest! {
        #[test]
        fn all_alphanumeric_agrees_with_a_plain_check(text in "[a-zA-Z0-9_ :é]{0,40}") {
            let plain = text.bytes().all(|b| b.is_ascii_alphanumeric());
            proptest::prop_assert_eq!(all_alphanumeric(text.as_bytes()), plain, "{:?}", text);
        }
    }

    #[test]
    fn pad16_pads_every_length() {
        let text = b"abcdefghijklmnopq";
        for len in 0..16 {
            let mut want = [b'"'; 16];
            want[..len].copy_from_slice(&text[..len]);
            assert_eq!(pad16(&text[..len], b'"'), Some(want), "{len}");
        }
        assert_eq!(pad16(&text[..16], b'"'), None);
    }

    proptest::proptest! {
        #[test]
        fn vector_searches_agree_with_plain_scans(text in "[a-z:.*-]{0,70}") {
            let bytes = text.as_bytes();
            let plain: Vec<usize> = bytes.iter().enumerate().filter(|(_, b)| **b == b':').map(|(i, _)| i).collect();
            let (at, n) = first_positions::<64>(bytes, b':');
            proptest::prop_assert_eq!(&at[..n], &plain[..]);
            let (at, n) = first_positions::<3>(bytes, b':');
            proptest::prop_assert_eq!(&at[..n], &plain[..plain.len().min(3)]);
            if bytes.len() >= 16 {
                for from in [16, 17, 31, 32] {
                    for except in [0, 5, 15, 40] {
                        let expected = plain.iter().any(|&p| p >= from && p != except);
                        proptest::prop_assert_eq!(holds_byte_after(bytes, from, b':', except), expected);
                    }
                }
            }
        }
    }

    #[test]
    fn first_positions_agrees_with_a_plain_scan() {
        let text = "a:b::c\u{80}:défghijklmnop:q:r:::::::s";
        let plain: Vec<usize> = text
            .bytes()
            .enumerate()
            .filter(|(_, b)| *b == b':')
            .map(|(i, _)| i)
            .collect();
        let (at, n) = first_positions::<5>(text.as_bytes(), b':');
        assert_eq!(n, 5);
        assert_eq!(&at[..], &plain[..5]);
        let (at, n) = first_positions::<64>(text.as_bytes(), b':');
        assert_eq!(&at[..n], &plain[..]);
        assert_eq!(first_positions::<2>(b"abc", b':').1, 0);
        assert_eq!(
            first_positions::<2>(&[b'9', b';', 0xba, 0x3a], b':'),
            ([3, 0], 1)
        );
    }
}
