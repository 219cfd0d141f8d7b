//! Group commit: commands that arrive while a proposal is in flight are
//! committed together as one [`Command::Batch`] log entry, so that one log
//! append, one flush and one replication round serve many callers.

use tokio::sync::{mpsc, oneshot};

use super::error::AppError;
use super::typ::Raft;
use crate::state::{Command, CommandResponse};

/// Most commands in one log entry.
const MAX_BATCH: usize = 512;

type Reply = oneshot::Sender<Result<CommandResponse, AppError>>;

#[derive(Clone)]
pub struct Proposer {
    tx: mpsc::Sender<(Command, Reply)>,
}

impl Proposer {
    /// Starts the proposing task; it ends when every handle is dropped.
    pub fn start(raft: Raft) -> Self {
        let (tx, rx) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(run(raft, rx));
        Proposer { tx }
    }

    /// Commits `cmd` on this member, which must be the leader (callers
    /// receive `NotLeader` otherwise and forward).
    pub async fn propose(&self, cmd: Command) -> Result<CommandResponse, AppError> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send((cmd, reply))
            .await
            .map_err(|_| AppError::Unavailable("this coordinator is stopping".into()))?;
        rx.await
            .map_err(|_| AppError::Unavailable("this coordinator is stopping".into()))?
    }
}

/// One proposal in flight at a time; whatever queues up meanwhile forms the
/// next batch. A lone command is proposed as itself.
async fn run(raft: Raft, mut rx: mpsc::Receiver<(Command, Reply)>) {
    while let Some(first) = rx.recv().await {
        let mut cmds = vec![first.0];
        let mut replies = vec![first.1];
        while cmds.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok((c, r)) => {
                    cmds.push(c);
                    replies.push(r);
                }
                Err(_) => break,
            }
        }
        metrics::histogram!("miroir_coordinator_batch_commands").record(cmds.len() as f64);
        let single = cmds.len() == 1;
        let cmd = if single {
            cmds.pop().expect("one command")
        } else {
            Command::Batch(cmds)
        };
        let res = raft
            .client_write(cmd)
            .await
            .map_err(super::error::AppError::from_write_error)
            .and_then(|r| r.data.map_err(AppError::from));
        match (res, single) {
            (Ok(resp), true) => {
                let _ = replies.pop().expect("one reply").send(Ok(resp));
            }
            (Ok(CommandResponse::Batch(results)), false) => {
                for (reply, r) in replies.into_iter().zip(results) {
                    let _ = reply.send(r.map_err(AppError::from));
                }
            }
            (Ok(other), false) => {
                let e = AppError::Internal(format!("a batch produced {other:?}"));
                replies
                    .into_iter()
                    .for_each(|r| drop(r.send(Err(e.clone()))));
            }
            (Err(e), _) => replies
                .into_iter()
                .for_each(|r| drop(r.send(Err(e.clone())))),
        }
    }
}
