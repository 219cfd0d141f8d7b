//! The attributes Miroir keeps on the nodes' documents for itself. Clients may neither write nor
//! see them, and no client index may use one as its primary key.

/// Every document carries its shard here; every node makes it filterable at index creation.
pub const SHARD_FIELD: &str = "_miroir_shard";

/// Prefix of every attribute Miroir reserves.
pub const RESERVED_PREFIX: &str = "_miroir";

/// Whether an attribute name is Miroir's.
pub fn is_reserved(attribute: &str) -> bool {
    attribute.starts_with(RESERVED_PREFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_names() {
        assert!(is_reserved(SHARD_FIELD) && is_reserved("_miroir_version"));
        assert!(!is_reserved("_rankingScore") && !is_reserved("miroir"));
    }
}
