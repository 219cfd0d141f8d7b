//! Renames and swaps of indexes: a client uid names a physical index through
//! its shard map, so both are a fenced flip of that mapping (DESIGN section 6,
//! physical indexes). Nothing moves on the nodes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::meili::index_swap::{self, Swap};
use crate::state::command::{CommandResponse, CommandResult};
use crate::state::error::CommandError;
use crate::state::ids::{IndexUid, TaskUid};
use crate::state::shard_map::Fence;
use crate::state::task_kind::TaskKind;
use crate::state::tasks::{TaskRecord, TaskStatus};
use crate::state::workflows::{Workflow, WorkflowKind};
use crate::state::ClusterState;

/// Starts an index swap (`POST /swap-indexes`) or a rename (`PATCH
/// /indexes/{uid}` with a new uid), and records the client's task, which
/// the leader finishes at the flip. Whether the indexes exist is checked at
/// the flip, as Meilisearch checks when it processes the task.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StartIndexSwap {
    pub swaps: Vec<Swap>,
    /// A task uid the proposing router holds, recorded as the client's task.
    pub task: TaskUid,
    /// Asked as `PATCH /indexes/{lhs}`: exactly one swap, a rename.
    pub rename_by_update: bool,
    /// The primary key the same `PATCH` set (shown in the task's details).
    pub primary_key: Option<String>,
    pub at_ms: u64,
}

impl StartIndexSwap {
    pub fn validate(&self) -> Result<(), CommandError> {
        if self.swaps.is_empty() {
            return Err(CommandError::invalid(
                "an index swap names at least one pair of indexes",
            ));
        }
        for s in &self.swaps {
            IndexUid::parse(&s.lhs)?;
            // A rename names a new uid: the rules of a new index's uid.
            match s.rename {
                true => IndexUid::parse_new(&s.rhs)?,
                false => IndexUid::parse(&s.rhs)?,
            };
        }
        index_swap::no_duplicates(&self.swaps).map_err(|e| CommandError::invalid(e.message))?;
        if self.rename_by_update && !(self.swaps.len() == 1 && self.swaps[0].rename) {
            return Err(CommandError::invalid(
                "a rename through an index update is exactly one renaming swap",
            ));
        }
        Ok(())
    }

    pub fn apply(self, state: &mut ClusterState) -> CommandResult {
        let t = self.task;
        if t.0 >= state.tasks.next_uid || state.tasks.records.contains_key(&t) {
            return Err(CommandError::precondition(format!(
                "task uid {t} is not a free uid of this router: allocate a block first"
            )));
        }
        let first = IndexUid(self.swaps[0].lhs.clone());
        let w = state.workflows.start(
            WorkflowKind::IndexSwap,
            first.clone(),
            String::new(),
            Some(t),
            self.at_ms,
        );
        w.swaps = self.swaps.clone();
        w.rename_by_update = self.rename_by_update;
        let id = w.id;
        let (index_uid, kind, details) = match self.rename_by_update {
            true => {
                let s = &self.swaps[0];
                let details =
                    index_swap::rename_details(&s.lhs, &s.rhs, self.primary_key.as_deref());
                (first.0, TaskKind::IndexUpdate, details)
            }
            // A swap is about no one index: Meilisearch shows `indexUid: null`.
            false => (
                String::new(),
                TaskKind::IndexSwap,
                index_swap::swap_details(&self.swaps),
            ),
        };
        let record = TaskRecord {
            uid: t,
            index_uid,
            kind,
            status: TaskStatus::Enqueued,
            node_tasks: vec![],
            error: None,
            enqueued_at_ms: self.at_ms,
            finished_at_ms: None,
            details: details.to_string(),
            workflow: Some(id),
            custom_metadata: None,
            misses: vec![],
        };
        state.tasks.records.insert(t, record);
        let w = state.workflows.get(id).expect("just started").clone();
        Ok(CommandResponse::Workflow(Box::new(w)))
    }
}

/// The flip of swap workflow `w`, with the fence up and every router past
/// it: checks what Meilisearch checks when it processes the task, then
/// either moves every pair's index record, shard map and tombstones to their
/// new uids (each map under a new epoch, unfenced) and gives the tasks
/// recorded so far the uids their documents now live under, or changes
/// nothing but lifting the fence. Finishes the workflow's tasks either way.
pub(super) fn flip(state: &mut ClusterState, w: &Workflow, at_ms: u64) {
    let outcome = match check_flip(state, w) {
        Err(e) => {
            for uid in w.indexes() {
                unfence(state, &uid);
            }
            Err(e.to_json().to_string())
        }
        Ok(()) => {
            let moves = moves(&w.swaps);
            move_indexes(state, &moves);
            let renamed: BTreeMap<&str, &str> = moves
                .iter()
                .map(|(f, t)| (f.0.as_str(), t.0.as_str()))
                .collect();
            for r in state.tasks.records.values_mut() {
                if w.tasks.contains(&r.uid) {
                    continue;
                }
                if let Some(to) = renamed.get(r.index_uid.as_str()) {
                    r.index_uid = to.to_string();
                }
            }
            Ok(())
        }
    };
    for t in &w.tasks {
        let Some(r) = state.tasks.records.get_mut(t) else {
            continue;
        };
        r.finished_at_ms = Some(at_ms);
        match &outcome {
            Ok(()) => r.status = TaskStatus::Succeeded,
            Err(e) => {
                r.status = TaskStatus::Failed;
                r.error = Some(e.clone());
            }
        }
        // Routers fire webhooks; one of them takes these.
        if !state.webhooks.is_empty() {
            state.webhook_outbox.insert(*t);
        }
    }
}

/// What Meilisearch's processing of swap `w`'s task would find wrong in
/// `state`: the route's own checks for a rename, the swap's otherwise.
pub fn check_flip(state: &ClusterState, w: &Workflow) -> Result<(), crate::meili::MeiliError> {
    let exists = |uid: &str| state.indexes.contains_key(&IndexUid(uid.to_string()));
    match w.rename_by_update {
        true => index_swap::check_rename(&w.swaps[0].lhs, &w.swaps[0].rhs, exists),
        false => index_swap::check(&w.swaps, exists),
    }
}

/// Every (old uid, new uid) move: both ways for a swap, one way for a rename.
fn moves(swaps: &[Swap]) -> Vec<(IndexUid, IndexUid)> {
    let mut all = vec![];
    for s in swaps.iter().filter(|s| s.lhs != s.rhs) {
        let (lhs, rhs) = (IndexUid(s.lhs.clone()), IndexUid(s.rhs.clone()));
        all.push((lhs.clone(), rhs.clone()));
        if !s.rename {
            all.push((rhs, lhs));
        }
    }
    all
}

/// Takes every moved index out first, then puts each back under its new
/// uid, so that a swap's two sides never overwrite each other.
fn move_indexes(state: &mut ClusterState, moves: &[(IndexUid, IndexUid)]) {
    let mut taken = vec![];
    for (from, to) in moves {
        let index = state.indexes.remove(from);
        let map = state.shard_maps.remove(from);
        match (index, map) {
            (Some(index), Some(map)) => taken.push((from.clone(), to.clone(), index, map)),
            // Checked to exist before; never leave one without the other.
            (index, map) => {
                if let Some(i) = index {
                    state.indexes.insert(from.clone(), i);
                }
                if let Some(m) = map {
                    state.shard_maps.insert(from.clone(), m);
                }
            }
        }
    }
    for (from, to, mut index, mut map) in taken {
        // The name on the nodes stays; only the uid that reaches it moves.
        index.physical = index.physical();
        map.physical = map.physical().to_string();
        // The old uid's next creation must not take this physical name.
        let last = state.generations.entry(from).or_default();
        *last = (*last).max(index.generation);
        index.uid = to.clone();
        map.index = to.clone();
        map.epoch = state.next_epoch();
        for a in &mut map.shards {
            a.fence = Fence::Open;
        }
        state.indexes.insert(to.clone(), index);
        state.shard_maps.insert(to, map);
    }
    state.tombstones.rename(moves);
    state.behind.rename(moves);
    // Cursors and last results named the old mapping: start afresh.
    for (from, to) in moves {
        state.anti_entropy.forget(from);
        state.anti_entropy.forget(to);
    }
}

/// Lifts the fence of `uid`'s map under a new epoch (nothing else changes).
fn unfence(state: &mut ClusterState, uid: &IndexUid) {
    if !state.shard_maps.contains_key(uid) {
        return;
    }
    let epoch = state.next_epoch();
    let map = state.shard_maps.get_mut(uid).expect("checked above");
    map.epoch = epoch;
    for a in &mut map.shards {
        a.fence = Fence::Open;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::commands::{
        AddNode, AdvanceWorkflow, AllocateTaskIds, CommitTasks, CreateIndex, StartIndexDeletion,
    };
    use crate::state::tombstones::{Deleted, Tombstone};
    use crate::state::workflows::{StepRef, WorkflowId};
    use crate::state::{Command, GroupId, NodeId, Version};

    fn uid(s: &str) -> IndexUid {
        IndexUid(s.into())
    }

    fn apply(s: &mut ClusterState, c: Command) -> CommandResponse {
        c.apply(s).unwrap()
    }

    /// Two nodes, indexes `a` and `b`, task uids 0..100 handed out, and a
    /// finished write task and a tombstone on `a`.
    fn cluster() -> ClusterState {
        let mut s = ClusterState::default();
        for n in ["n1", "n2"] {
            let add = AddNode {
                id: NodeId(n.into()),
                address: format!("http://{n}:7700"),
                group: GroupId(0),
            };
            apply(&mut s, Command::AddNode(add));
        }
        for i in ["a", "b"] {
            let create = CreateIndex {
                uid: uid(i),
                primary_key: Some("id".into()),
                shards: Some(4),
                replication_factor: Some(1),
                created_at_ms: 1,
            };
            apply(&mut s, Command::CreateIndex(create));
        }
        let block = AllocateTaskIds {
            router: "r".into(),
            count: 100,
        };
        apply(&mut s, Command::AllocateTaskIds(block));
        let write = TaskRecord {
            uid: TaskUid(0),
            index_uid: "a".into(),
            kind: TaskKind::DocumentAdditionOrUpdate,
            status: TaskStatus::Succeeded,
            node_tasks: vec![],
            error: None,
            enqueued_at_ms: 1,
            finished_at_ms: Some(2),
            details: "{}".into(),
            workflow: None,
            custom_metadata: None,
            misses: vec![],
        };
        apply(
            &mut s,
            Command::CommitTasks(CommitTasks { tasks: vec![write] }),
        );
        let t = Tombstone {
            version: Version(7),
            task: None,
            deleted: Deleted::All,
        };
        s.tombstones.record(&uid("a"), t);
        s
    }

    fn start(
        s: &mut ClusterState,
        swaps: &[(&str, &str, bool)],
        task: u64,
        by_update: bool,
    ) -> WorkflowId {
        let swaps = swaps
            .iter()
            .map(|(l, r, rename)| Swap {
                lhs: l.to_string(),
                rhs: r.to_string(),
                rename: *rename,
            })
            .collect();
        let start = StartIndexSwap {
            swaps,
            task: TaskUid(task),
            rename_by_update: by_update,
            primary_key: None,
            at_ms: 10,
        };
        match apply(s, Command::StartIndexSwap(start)) {
            CommandResponse::Workflow(w) => w.id,
            other => panic!("{other:?}"),
        }
    }

    /// Moves workflow `id` one phase on, as the leader's step would.
    fn step(s: &mut ClusterState, id: WorkflowId) {
        let w = s.workflows.get(id).unwrap().clone();
        let advance = AdvanceWorkflow {
            step: StepRef {
                id,
                step: w.step,
                to: w.next_phase().unwrap(),
            },
            at_ms: 20,
            note: String::new(),
            deleted_documents: 0,
            swept_later: vec![],
            written_documents: 0,
        };
        apply(s, Command::AdvanceWorkflow(advance));
    }

    fn finish(s: &mut ClusterState, id: WorkflowId) {
        while !s.workflows.get(id).unwrap().is_done() {
            step(s, id);
        }
    }

    fn physical(s: &ClusterState, i: &str) -> (String, String) {
        (
            s.indexes[&uid(i)].physical(),
            s.shard_maps[&uid(i)].physical().to_string(),
        )
    }

    /// A swap fences both maps, then exchanges them in one step: each uid
    /// reaches the other's physical index, unfenced under a newer epoch than
    /// the fence's, with its tombstones; tasks recorded before it name the
    /// uid their documents now live under, and the swap's task succeeds.
    #[test]
    fn a_swap_exchanges_the_physical_indexes() {
        let mut s = cluster();
        let id = start(&mut s, &[("a", "b", false)], 1, false);
        assert_eq!(s.tasks.records[&TaskUid(1)].index_uid, "", "indexUid null");
        step(&mut s, id);
        let fence = s.workflows.get(id).unwrap().fence_epoch.unwrap();
        for i in ["a", "b"] {
            let m = &s.shard_maps[&uid(i)];
            assert!(
                m.shards.iter().all(|a| a.fence == Fence::Fenced),
                "{i} not fenced"
            );
            assert!(m.epoch <= fence);
        }
        assert_eq!(physical(&s, "a").0, "a", "nothing moves before the flip");
        finish(&mut s, id);
        assert_eq!(physical(&s, "a"), ("b".into(), "b".into()));
        assert_eq!(physical(&s, "b"), ("a".into(), "a".into()));
        for i in ["a", "b"] {
            let m = &s.shard_maps[&uid(i)];
            assert_eq!(m.index, uid(i));
            assert!(m.epoch > fence && m.shards.iter().all(|a| a.fence == Fence::Open));
            assert_eq!(s.indexes[&uid(i)].uid, uid(i));
        }
        assert_eq!(
            s.tasks.records[&TaskUid(0)].index_uid,
            "b",
            "history rewritten"
        );
        let t = &s.tasks.records[&TaskUid(1)];
        assert_eq!(
            (t.status, t.kind),
            (TaskStatus::Succeeded, TaskKind::IndexSwap)
        );
        assert_eq!(s.tombstones.counts(&uid("b")).records, 1);
        assert_eq!(s.tombstones.counts(&uid("a")).records, 0);
    }

    /// A rename moves the uid to the same physical index and frees the old
    /// uid, whose next creation takes a new physical name.
    #[test]
    fn a_rename_keeps_the_physical_index() {
        let mut s = cluster();
        let id = start(&mut s, &[("a", "c", true)], 1, true);
        finish(&mut s, id);
        assert!(!s.indexes.contains_key(&uid("a")) && !s.shard_maps.contains_key(&uid("a")));
        assert_eq!(physical(&s, "c"), ("a".into(), "a".into()));
        let t = &s.tasks.records[&TaskUid(1)];
        assert_eq!(
            (t.status, t.kind),
            (TaskStatus::Succeeded, TaskKind::IndexUpdate)
        );
        assert_eq!(t.index_uid, "a", "the rename's own task keeps the old uid");
        let details: serde_json::Value = serde_json::from_str(&t.details).unwrap();
        assert_eq!(details["newIndexUid"], "c");
        assert_eq!(s.tasks.records[&TaskUid(0)].index_uid, "c");
        let again = CreateIndex {
            uid: uid("a"),
            primary_key: None,
            shards: Some(1),
            replication_factor: Some(1),
            created_at_ms: 30,
        };
        apply(&mut s, Command::CreateIndex(again));
        assert_eq!(physical(&s, "a").0, "a__miroir_g2");
    }

    /// What Meilisearch refuses when it processes the task fails the task
    /// with its error, lifts the fence and changes nothing else.
    #[test]
    fn a_refused_flip_changes_nothing_but_the_fence() {
        type Pairs<'a> = &'a [(&'a str, &'a str, bool)];
        let cases: [(Pairs, bool, &str, &str); 4] = [
            (&[("a", "b", true)], true, "index_already_exists", "Index `b` already exists."),
            (&[("zz", "c", true)], true, "index_not_found", "Index `zz` not found."),
            (&[("a", "zz", false)], false, "index_not_found", "Index `zz` not found."),
            (
                &[("a", "b", true)],
                false,
                "index_already_exists",
                "Cannot rename `a` to `b` as the index already exists. Hint: You can remove `b` first and then do your remove.",
            ),
        ];
        for (swaps, by_update, code, message) in cases {
            let mut s = cluster();
            let before = (s.indexes.clone(), s.tasks.records[&TaskUid(0)].clone());
            let id = start(&mut s, swaps, 1, by_update);
            finish(&mut s, id);
            let t = &s.tasks.records[&TaskUid(1)];
            assert_eq!(t.status, TaskStatus::Failed);
            let e: serde_json::Value = serde_json::from_str(t.error.as_ref().unwrap()).unwrap();
            assert_eq!(
                (e["code"].as_str().unwrap(), e["message"].as_str().unwrap()),
                (code, message)
            );
            assert_eq!(
                before,
                (s.indexes.clone(), s.tasks.records[&TaskUid(0)].clone())
            );
            for m in s.shard_maps.values() {
                assert!(
                    m.shards.iter().all(|a| a.fence == Fence::Open),
                    "left fenced"
                );
            }
        }
    }

    /// A deletion asked while a swap of its index runs waits for it, and
    /// deletes the physical index the uid reaches when its fence goes up.
    #[test]
    fn a_deletion_after_a_swap_deletes_what_the_uid_then_names() {
        let mut s = cluster();
        let swap = start(&mut s, &[("a", "b", false)], 1, false);
        let delete = StartIndexDeletion {
            uid: uid("a"),
            task: Some(TaskUid(2)),
            at_ms: 11,
        };
        let del = match apply(&mut s, Command::StartIndexDeletion(delete)) {
            CommandResponse::Workflow(w) => w.id,
            other => panic!("{other:?}"),
        };
        let waiting = s.workflows.get(del).unwrap().clone();
        assert_eq!(s.workflows.waits_for(&waiting).map(|w| w.id), Some(swap));
        finish(&mut s, swap);
        assert!(s.workflows.waits_for(&waiting).is_none());
        step(&mut s, del);
        assert_eq!(s.workflows.get(del).unwrap().physical(), "b");
    }

    /// Requests no processing could make sense of are refused before they
    /// are proposed, and change nothing.
    #[test]
    fn malformed_swaps_are_refused() {
        let swap = |l: &str, r: &str, rename| Swap {
            lhs: l.into(),
            rhs: r.into(),
            rename,
        };
        let bad = [
            (vec![], false),
            (vec![swap("a", "a", false)], false),
            (vec![swap("a", "b", false), swap("b", "c", false)], false),
            (vec![swap("a", "b", false)], true),
            (vec![swap("a", "c", true), swap("d", "e", true)], true),
            (vec![swap("a", "x__miroir_g2", true)], false),
            (vec![swap("a", "bad uid", false)], false),
        ];
        for (swaps, by_update) in bad {
            let mut s = cluster();
            let before = s.clone();
            let start = StartIndexSwap {
                swaps: swaps.clone(),
                task: TaskUid(1),
                rename_by_update: by_update,
                primary_key: None,
                at_ms: 10,
            };
            assert!(
                Command::StartIndexSwap(start).apply(&mut s).is_err(),
                "{swaps:?}"
            );
            assert_eq!(s, before);
        }
        let mut s = cluster();
        let taken = StartIndexSwap {
            swaps: vec![swap("a", "b", false)],
            task: TaskUid(0),
            rename_by_update: false,
            primary_key: None,
            at_ms: 10,
        };
        assert!(
            Command::StartIndexSwap(taken).apply(&mut s).is_err(),
            "a used task uid"
        );
    }

    /// A router's later update of a task it recorded before a flip does
    /// not move the task back to the uid it was first recorded on.
    #[test]
    fn a_late_status_update_keeps_the_swapped_uid() {
        let mut s = cluster();
        let mut late = s.tasks.records[&TaskUid(0)].clone();
        late.status = TaskStatus::Enqueued;
        late.uid = TaskUid(5);
        apply(
            &mut s,
            Command::CommitTasks(CommitTasks {
                tasks: vec![late.clone()],
            }),
        );
        let id = start(&mut s, &[("a", "b", false)], 1, false);
        finish(&mut s, id);
        late.status = TaskStatus::Succeeded;
        apply(
            &mut s,
            Command::CommitTasks(CommitTasks { tasks: vec![late] }),
        );
        assert_eq!(s.tasks.records[&TaskUid(5)].index_uid, "b");
    }
}
