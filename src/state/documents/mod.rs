//! What documents carry and what deletes leave behind (DESIGN section 6):
//! [`version`] for `_miroir_version`, [`tombstones`] for every delete.

pub mod tombstones;
pub mod version;
