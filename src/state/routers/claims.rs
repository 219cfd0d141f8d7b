//! Which router process holds each router id. A router names itself with an
//! id (its lease is kept under it) and, at every start, a new random
//! instance; the instance that last claimed an id is recorded here, so that
//! every leader, including one elected since, can refuse a second process
//! under a live router's id (DESIGN section 6).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::state::error::CommandError;
use crate::state::version::Version;

/// Claims kept; the oldest is forgotten beyond this (routers started with a
/// random id leave one behind per start).
pub const MAX_CLAIMS: usize = 10_000;
const MAX_ID: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub instance: String,
    /// Orders claims, so the oldest can be forgotten first.
    pub seq: u64,
    /// The lowest document version this instance may issue (see
    /// [`crate::state::version::ClockGrant::floor_for_claim`]).
    #[serde(default)]
    pub floor: Version,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouterClaims {
    claims: BTreeMap<String, Claim>,
    next_seq: u64,
}

impl RouterClaims {
    /// The instance holding `router`, if any.
    pub fn holder(&self, router: &str) -> Option<&str> {
        self.claims.get(router).map(|c| c.instance.as_str())
    }

    /// The version floor the holder of `router` was claimed with.
    pub fn floor(&self, router: &str) -> Version {
        self.claims.get(router).map_or(Version::ZERO, |c| c.floor)
    }

    /// Records `instance` as the holder of `router`, if the holder is still
    /// `expected` (compare-and-set: two racing claims cannot both win).
    pub fn claim(
        &mut self,
        router: &str,
        instance: &str,
        expected: Option<&str>,
        floor: Version,
    ) -> Result<(), CommandError> {
        let current = self.holder(router);
        if current != expected {
            return Err(CommandError::exists(format!(
                "router id `{router}` was claimed by another router process meanwhile: \
                 give each router its own --router-id"
            )));
        }
        self.next_seq += 1;
        let claim = Claim {
            instance: instance.to_string(),
            seq: self.next_seq,
            floor,
        };
        self.claims.insert(router.to_string(), claim);
        if self.claims.len() > MAX_CLAIMS {
            let oldest = self
                .claims
                .iter()
                .min_by_key(|(_, c)| c.seq)
                .map(|(id, _)| id.clone());
            if let Some(id) = oldest {
                self.claims.remove(&id);
            }
        }
        Ok(())
    }

    pub fn len(&self) -> usize {
        self.claims.len()
    }

    pub fn is_empty(&self) -> bool {
        self.claims.is_empty()
    }
}

/// A router id is 1 to 128 printable characters.
pub fn validate_router_id(id: &str) -> Result<(), CommandError> {
    if id.is_empty() || id.len() > MAX_ID || id.contains(char::is_control) {
        return Err(CommandError::invalid(format!(
            "invalid router id `{id}`: a router id is 1 to {MAX_ID} printable characters"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A claim is a compare-and-set on the holder; the oldest claims are
    /// forgotten beyond the bound.
    #[test]
    fn claims_compare_and_set() {
        let mut c = RouterClaims::default();
        c.claim("r", "a", None, Version(7)).unwrap();
        assert_eq!(c.floor("r"), Version(7));
        assert_eq!(c.holder("r"), Some("a"));
        assert!(
            c.claim("r", "b", None, Version(8)).is_err(),
            "lost race must fail"
        );
        c.claim("r", "b", Some("a"), Version(9)).unwrap();
        assert_eq!(c.holder("r"), Some("b"));
        for i in 0..MAX_CLAIMS {
            c.claim(&format!("x{i}"), "i", None, Version::ZERO).unwrap();
        }
        assert_eq!(c.len(), MAX_CLAIMS);
        assert_eq!(c.holder("r"), None, "the oldest claim is forgotten");
        assert!(validate_router_id("").is_err());
        assert!(validate_router_id("router-1").is_ok());
    }
}
