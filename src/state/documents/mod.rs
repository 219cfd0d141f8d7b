//! What documents carry and what deletes leave behind (DESIGN section 6):
//! [`version`] for `_miroir_version`, [`tombstones`] for every delete,
//! [`fingerprint`] for comparing copies.

pub mod fingerprint;
pub mod tombstones;
pub mod version;
