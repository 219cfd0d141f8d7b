//! Routes that change an index: documents (writes and deletions), the index itself, settings.

pub mod documents;
pub mod indexes;
pub mod settings;
