//! Typed readings of condition values: numbers, dates, IP addresses, booleans.
//!
//! On the wire every context value is a string, and each condition operator reads it in its own
//! domain. A context value is read in every domain once, when it is added to the request, so
//! that evaluation only compares.

use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use rust_decimal::Decimal;

/// An instant, in nanoseconds since the Unix epoch (UTC).
pub type Instant = i128;

/// A number as the numeric operators compare it: an exact decimal.
pub(crate) fn parse_number(text: &str) -> Option<Decimal> {
    let t = text.trim();
    // rust_decimal reads `1_000`; IAM numbers have no digit separators.
    if t.contains('_') {
        return None;
    }
    Decimal::from_str(t)
        .ok()
        .or_else(|| Decimal::from_scientific(t).ok())
}

/// A boolean as `Bool` and `Null` read it: `true` or `false` in any case.
pub(crate) fn parse_bool(text: &str) -> Option<bool> {
    if text.eq_ignore_ascii_case("true") {
        Some(true)
    } else if text.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// An IP address or CIDR range as `IpAddress` reads a policy value; a bare address is a single
/// host (`/32` or `/128`).
pub(crate) fn parse_ip_range(text: &str) -> Option<IpNet> {
    let t = text.trim();
    IpNet::from_str(t)
        .ok()
        .or_else(|| IpAddr::from_str(t).ok().map(IpNet::from))
}

/// An IP address as a request carries it.
pub(crate) fn parse_ip(text: &str) -> Option<IpAddr> {
    IpAddr::from_str(text.trim()).ok()
}

/// A date as the date operators read it: the W3C profiles of ISO 8601 (`YYYY-MM`,
/// `YYYY-MM-DD`, `YYYY-MM-DDThh:mm[:ss[.s]]TZD`, with `TZD` = `Z` or `±hh[:mm]`) or Unix
/// epoch seconds.
///
/// A value that contains neither `T` nor `-` is read as epoch seconds, which is how IAM's own
/// save-time check decides between the two forms (so `2019` is a time in 1970, not a year;
/// see docs/compatibility.md). Written by hand because no date crate accepts these partial
/// forms (`2019-07`) alongside epoch seconds.
pub fn parse_date(text: &str) -> Option<Instant> {
    let t = text.trim();
    if !t.bytes().any(|b| b == b'T' || b == b't' || b == b'-') {
        return parse_epoch(t);
    }
    let (date, time) = match t.find(['T', 't']) {
        Some(i) => (t.get(..i)?, Some(t.get(i + 1..)?)),
        None => (t, None),
    };
    let mut parts = date.split('-');
    let year: i16 = parts.next()?.parse().ok()?;
    let month: i8 = match parts.next() {
        Some(m) => two_digits(m)?,
        None => 1,
    };
    let day: i8 = match parts.next() {
        Some(d) => two_digits(d)?,
        None => 1,
    };
    if parts.next().is_some() {
        return None;
    }
    let (mut hour, mut minute, mut second, mut nanos, mut offset) = (0i8, 0i8, 0i8, 0i32, 0i32);
    if let Some(time) = time {
        let (clock, zone) = split_zone(time)?;
        offset = zone;
        let mut fields = clock.split(':');
        hour = fields.next()?.parse().ok()?;
        minute = two_digits(fields.next()?)?;
        if let Some(sec) = fields.next() {
            let (whole, frac) = match sec.split_once('.') {
                Some((w, f)) => (w, Some(f)),
                None => (sec, None),
            };
            second = two_digits(whole)?;
            if let Some(frac) = frac {
                if frac.is_empty() || frac.len() > 9 || !frac.bytes().all(|b| b.is_ascii_digit()) {
                    return None;
                }
                let digits: i32 = frac.parse().ok()?;
                nanos = digits * 10i32.pow(9 - u32::try_from(frac.len()).ok()?);
            }
        }
        if fields.next().is_some() {
            return None;
        }
    }
    let dt = jiff::civil::DateTime::new(year, month, day, hour, minute, second, nanos).ok()?;
    let ts = jiff::tz::Offset::UTC.to_timestamp(dt).ok()?;
    Some(ts.as_nanosecond() - i128::from(offset) * 1_000_000_000)
}

fn two_digits(s: &str) -> Option<i8> {
    if s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()) {
        s.parse().ok()
    } else {
        None
    }
}

/// Splits `hh:mm:ssZ` / `hh:mm+01:00` / `hh:mm-05` into the clock and the offset in seconds.
/// A time without a zone is read as UTC.
fn split_zone(time: &str) -> Option<(&str, i32)> {
    if let Some(clock) = time.strip_suffix(['Z', 'z']) {
        return Some((clock, 0));
    }
    let Some(i) = time.find(['+', '-']) else {
        return Some((time, 0));
    };
    let (clock, zone) = time.split_at(i);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let zone = zone.get(1..)?;
    let (h, m) = match zone.split_once(':') {
        Some((h, m)) => (h, m),
        None if zone.len() == 4 => (zone.get(..2)?, zone.get(2..)?),
        None => (zone, "00"),
    };
    let (h, m) = (two_digits(h)?, two_digits(m)?);
    if h > 23 || m > 59 {
        return None;
    }
    Some((clock, sign * (i32::from(h) * 3600 + i32::from(m) * 60)))
}

/// Epoch seconds, whole or with a fraction.
fn parse_epoch(t: &str) -> Option<Instant> {
    if t.contains('_') {
        return None;
    }
    let d = Decimal::from_str(t).ok()?;
    let nanos = d.checked_mul(Decimal::from(1_000_000_000u32))?.trunc();
    i128::try_from(nanos).ok()
}

/// One value of a context key, with its readings in each operator domain.
#[derive(Clone, Debug, PartialEq)]
pub struct Value {
    text: Box<str>,
    number: Option<Decimal>,
    date: Option<Instant>,
    ip: Option<IpAddr>,
    boolean: Option<bool>,
}

impl Value {
    /// A value from its text.
    pub fn new(text: impl Into<Box<str>>) -> Value {
        let text = text.into();
        Value {
            number: parse_number(&text),
            date: parse_date(&text),
            ip: parse_ip(&text),
            boolean: parse_bool(&text),
            text,
        }
    }

    /// The value as text.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub(crate) fn number(&self) -> Option<Decimal> {
        self.number
    }

    pub(crate) fn date(&self) -> Option<Instant> {
        self.date
    }

    pub(crate) fn ip(&self) -> Option<IpAddr> {
        self.ip
    }

    pub(crate) fn boolean(&self) -> Option<bool> {
        self.boolean
    }
}

impl From<&str> for Value {
    fn from(text: &str) -> Value {
        Value::new(text)
    }
}

impl From<String> for Value {
    fn from(text: String) -> Value {
        Value::new(text)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Value {
        Value::new(if b { "true" } else { "false" })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(t: &str) -> Option<i128> {
        parse_date(t).map(|n| n / 1_000_000_000)
    }

    #[test]
    fn dates_in_every_form() {
        assert_eq!(secs("2019-07-01T13:20:15Z"), Some(1_561_987_215));
        assert_eq!(secs("2019-07-01t13:20:15z"), Some(1_561_987_215));
        assert_eq!(secs("2019-07-01T15:20:15+02:00"), Some(1_561_987_215));
        assert_eq!(secs("2019-07-01T08:20:15-05:00"), Some(1_561_987_215));
        assert_eq!(secs("2019-07-01T13:20Z"), Some(1_561_987_200));
        assert_eq!(secs("2019-07-01"), Some(1_561_939_200));
        assert_eq!(secs("2019-07"), Some(1_561_939_200));
        assert_eq!(secs("1561987215"), Some(1_561_987_215));
        assert_eq!(
            parse_date("2016-12-13T21:20:37.593194+00:00").map(|n| n % 1_000_000_000),
            Some(593_194_000)
        );
        assert_eq!(secs("2019-02-30"), None);
        assert_eq!(secs("2019-13-01"), None);
        assert_eq!(secs("yesterday"), None);
        assert_eq!(secs("2019-07-01T25:00Z"), None);
    }

    #[test]
    fn ip_ranges() {
        let net = parse_ip_range("203.0.113.0/24");
        assert!(net.is_some_and(|n| n.contains(&"203.0.113.7".parse::<IpAddr>().unwrap())));
        let host = parse_ip_range("2001:db8::1");
        assert_eq!(host.map(|h| h.prefix_len()), Some(128));
        assert!(parse_ip_range("10.0.0.0/33").is_none());
    }

    #[test]
    fn numbers_are_exact() {
        assert_eq!(parse_number("0.1"), Decimal::from_str("0.10").ok());
        assert!(parse_number("1e3").is_some_and(|n| n == Decimal::from(1000)));
        assert!(parse_number("ten").is_none());
    }
}
