//! What a task does, by Meilisearch's `type` names (camelCase), spelled in
//! this one place.

use serde::{Deserialize, Serialize};

use crate::state::error::CommandError;

/// Stored under the same camelCase names, so records written when the kind
/// was a plain string read back unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TaskKind {
    DocumentAdditionOrUpdate,
    DocumentEdition,
    DocumentDeletion,
    SettingsUpdate,
    IndexCreation,
    IndexUpdate,
    IndexDeletion,
    IndexSwap,
    TaskCancelation,
    TaskDeletion,
    DumpCreation,
    SnapshotCreation,
    IndexCompaction,
}

impl TaskKind {
    pub const ALL: [TaskKind; 13] = [
        TaskKind::DocumentAdditionOrUpdate,
        TaskKind::DocumentEdition,
        TaskKind::DocumentDeletion,
        TaskKind::SettingsUpdate,
        TaskKind::IndexCreation,
        TaskKind::IndexUpdate,
        TaskKind::IndexDeletion,
        TaskKind::IndexSwap,
        TaskKind::TaskCancelation,
        TaskKind::TaskDeletion,
        TaskKind::DumpCreation,
        TaskKind::SnapshotCreation,
        TaskKind::IndexCompaction,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskKind::DocumentAdditionOrUpdate => "documentAdditionOrUpdate",
            TaskKind::DocumentEdition => "documentEdition",
            TaskKind::DocumentDeletion => "documentDeletion",
            TaskKind::SettingsUpdate => "settingsUpdate",
            TaskKind::IndexCreation => "indexCreation",
            TaskKind::IndexUpdate => "indexUpdate",
            TaskKind::IndexDeletion => "indexDeletion",
            TaskKind::IndexSwap => "indexSwap",
            TaskKind::TaskCancelation => "taskCancelation",
            TaskKind::TaskDeletion => "taskDeletion",
            TaskKind::DumpCreation => "dumpCreation",
            TaskKind::SnapshotCreation => "snapshotCreation",
            TaskKind::IndexCompaction => "indexCompaction",
        }
    }

    pub fn parse(s: &str) -> Result<Self, CommandError> {
        TaskKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| CommandError::invalid(format!("unknown task type `{s}`")))
    }
}

impl std::fmt::Display for TaskKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind parses back from its name; other names are refused.
    #[test]
    fn names_round_trip() {
        for k in TaskKind::ALL {
            assert_eq!(TaskKind::parse(k.as_str()).unwrap(), k);
        }
        assert_eq!(TaskKind::IndexDeletion.as_str(), "indexDeletion");
        assert!(TaskKind::parse("IndexDeletion").is_err());
        assert!(TaskKind::parse("").is_err());
    }

    /// The stored form is Meilisearch's name, as when the kind was a string.
    #[test]
    fn stored_as_its_name() {
        for k in TaskKind::ALL {
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            assert_eq!(serde_json::from_str::<TaskKind>(&json).unwrap(), k);
        }
    }
}
