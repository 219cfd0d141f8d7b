use crate::pb::v1;
use crate::state::tombstones::{Deleted, Tombstone};
use crate::state::{CommandError, TaskUid, Version};

impl From<&Tombstone> for v1::Tombstone {
    fn from(t: &Tombstone) -> Self {
        let deleted = match &t.deleted {
            Deleted::Ids(ids) => v1::tombstone::Deleted::Ids(v1::DeletedIds { ids: ids.clone() }),
            Deleted::Filter(f) => v1::tombstone::Deleted::Filter(f.clone()),
            Deleted::All => v1::tombstone::Deleted::All(true),
        };
        v1::Tombstone {
            version: t.version.0,
            task_uid: t.task.map_or(0, |t| t.0),
            deleted: Some(deleted),
            index: String::new(),
        }
    }
}

impl TryFrom<v1::Tombstone> for Tombstone {
    type Error = CommandError;

    fn try_from(t: v1::Tombstone) -> Result<Self, CommandError> {
        let deleted = match t.deleted {
            Some(v1::tombstone::Deleted::Ids(i)) => Deleted::Ids(i.ids),
            Some(v1::tombstone::Deleted::Filter(f)) => Deleted::Filter(f),
            Some(v1::tombstone::Deleted::All(true)) => Deleted::All,
            Some(v1::tombstone::Deleted::All(false)) | None => {
                return Err(CommandError::invalid(
                    "a tombstone names what it deleted: ids, a filter, or all",
                ))
            }
        };
        Ok(Tombstone {
            version: Version(t.version),
            task: (t.task_uid != 0).then_some(TaskUid(t.task_uid)),
            deleted,
        })
    }
}
