//! What Meilisearch accepts as an index uid.

/// Longest uid Meilisearch accepts, in bytes.
pub const MAX_LEN: usize = 400;

/// Meilisearch's rule: 1 to [`MAX_LEN`] bytes of `a-zA-Z0-9`, `-` and `_`.
pub fn is_valid(uid: &str) -> bool {
    !uid.is_empty()
        && uid.len() <= MAX_LEN
        && uid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    #[test]
    fn meilisearch_rule() {
        for ok in ["movies", "a-b_C9", "7", &"x".repeat(super::MAX_LEN)] {
            assert!(super::is_valid(ok), "{ok}");
        }
        for bad in ["", "a b", "é", "a.b", &"x".repeat(super::MAX_LEN + 1)] {
            assert!(!super::is_valid(bad), "{bad}");
        }
    }
}
