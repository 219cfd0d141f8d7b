//! The attributes Miroir keeps on documents for itself.
//!
//! - [`reserved`]: which they are, and keeping them in the nodes' settings.
//! - [`hidden`]: leaving them out of Meilisearch's error messages.

pub mod hidden;
pub mod reserved;
