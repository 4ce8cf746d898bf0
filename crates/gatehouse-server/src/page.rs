//! `Marker` / `MaxItems` / `IsTruncated` (iam-api.md §1.5): MaxItems 1-1,000, 100 when absent;
//! the marker is opaque to clients (here the position of the next item) and is sent exactly
//! when the list is truncated.

use crate::xml::Element;

/// A bad `Marker` or `MaxItems`, with the ValidationError message.
#[derive(Debug)]
pub struct PageError(pub String);

/// One page of a list.
pub struct Page<'a, T> {
    /// The items on this page.
    pub items: &'a [T],
    /// The marker of the next page, when there is one.
    pub next: Option<String>,
}

impl<T> Page<'_, T> {
    /// Writes `IsTruncated` and, when truncated, `Marker`.
    pub fn write(&self, out: &mut Element) {
        out.boolean("IsTruncated", self.next.is_some());
        if let Some(m) = &self.next {
            out.text("Marker", m);
        }
    }
}

/// Cuts one page out of the whole list.
pub fn page<'a, T>(
    all: &'a [T],
    marker: Option<&str>,
    max_items: Option<&str>,
) -> Result<Page<'a, T>, PageError> {
    let max = match max_items {
        None => 100,
        Some(m) => match m.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => n,
            _ => {
                return Err(PageError(format!(
                    "1 validation error detected: Value '{m}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000"
                )));
            }
        },
    };
    let start = match marker {
        None => 0,
        Some(m) => m
            .strip_prefix("gh-")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n <= all.len())
            .ok_or_else(|| PageError(format!("Invalid Marker: {m}")))?,
    };
    let end = start.saturating_add(max).min(all.len());
    Ok(Page {
        items: all.get(start..end).unwrap_or(&[]),
        next: (end < all.len()).then(|| format!("gh-{end}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages() {
        let all: Vec<u32> = (0..250).collect();
        let p = page(&all, None, None).unwrap();
        assert_eq!((p.items.len(), p.next.as_deref()), (100, Some("gh-100")));
        let p = page(&all, Some("gh-200"), Some("100")).unwrap();
        assert_eq!((p.items.len(), p.next.as_deref()), (50, None));
        assert!(page(&all, Some("zz"), None).is_err());
        assert!(page(&all, None, Some("0")).is_err());
        assert!(page(&all, None, Some("1001")).is_err());
    }
}
