//! `list-keys` paging over a FastEdge `key-value` `scan`, which returns every
//! matching key at once.
//!
//! The cursor is the offset of the page's first key in the sorted key list.
//! A store that changes between calls may skip or repeat keys, as
//! `wasi:keyvalue` allows.

use crate::error::KvError;

/// The most keys one page holds.
pub const PAGE_SIZE: usize = 1000;

/// One page of keys, and where the next starts (`None` on the last page).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The keys of this page, sorted.
    pub keys: Vec<String>,
    /// The cursor of the next page.
    pub cursor: Option<u64>,
}

/// The page of `keys` (in any order) that starts at `cursor`.
pub fn page(mut keys: Vec<String>, cursor: Option<u64>, size: usize) -> Result<Page, KvError> {
    let start = cursor.unwrap_or(0);
    let start = usize::try_from(start)
        .ok()
        .filter(|start| *start <= keys.len())
        .ok_or_else(|| KvError::Other(format!("list-keys cursor {start} is past the end")))?;
    keys.sort_unstable();
    keys.dedup();
    let end = start.saturating_add(size.max(1)).min(keys.len());
    let cursor = (end < keys.len()).then_some(end as u64);
    Ok(Page {
        keys: keys
            .get(start..end)
            .map(<[String]>::to_vec)
            .unwrap_or_default(),
        cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("k{i:03}")).collect()
    }

    #[test]
    fn pages_walk_the_sorted_keys() {
        let mut all = keys(5);
        all.reverse();
        let first = page(all.clone(), None, 2).unwrap();
        assert_eq!(first.keys, ["k000", "k001"]);
        assert_eq!(first.cursor, Some(2));
        let second = page(all.clone(), first.cursor, 2).unwrap();
        assert_eq!(second.keys, ["k002", "k003"]);
        let last = page(all, second.cursor, 2).unwrap();
        assert_eq!(last.keys, ["k004"]);
        assert_eq!(last.cursor, None);
    }

    #[test]
    fn an_empty_store_has_one_empty_page() {
        assert_eq!(
            page(Vec::new(), None, PAGE_SIZE).unwrap(),
            Page {
                keys: Vec::new(),
                cursor: None
            }
        );
    }

    #[test]
    fn a_cursor_past_the_end_is_an_error() {
        assert!(page(keys(3), Some(4), 2).is_err());
        assert!(page(keys(3), Some(u64::MAX), 2).is_err());
        assert_eq!(
            page(keys(3), Some(3), 2).unwrap().keys,
            Vec::<String>::new()
        );
    }
}
