//! The Admin service's anti-entropy calls: starting a pass, and the status operators watch
//! (schedule, running pass, last passes, behind copies).

use tonic::{Response, Status};

use crate::coordinator::app::App;
use crate::coordinator::error::AppError;
use crate::pb::v1::*;
use crate::state::commands::StartAntiEntropy;
use crate::state::repair::pass::PassMode;
use crate::state::workflows::WorkflowKind;
use crate::state::{Command, CommandResponse, IndexUid};

pub async fn run(app: &App, r: RunAntiEntropyRequest) -> Result<Response<Workflow>, Status> {
    let index = IndexUid::parse(&r.index).map_err(AppError::from)?;
    let mode = match r.mode.as_str() {
        "" => PassMode::Verify,
        m => PassMode::parse(m).map_err(AppError::from)?,
    };
    let cmd = Command::StartAntiEntropy(StartAntiEntropy {
        index,
        shards: (!r.shards.is_empty()).then_some(r.shards),
        mode,
        scheduled: false,
        at_ms: crate::workflows::now_ms(),
    });
    match app.propose(cmd).await? {
        CommandResponse::Workflow(w) => Ok(Response::new((&*w).into())),
        other => Err(Status::internal(format!("unexpected response {other:?}"))),
    }
}

pub async fn status(app: &App) -> Result<Response<AntiEntropyStatusResponse>, Status> {
    let now = crate::workflows::now_ms();
    let r = app
        .read(|s| {
            let schedule = s.settings.schedule();
            let log = &s.anti_entropy;
            let alert_ms = s.settings.int("repair_behind_alert_s") * 1000;
            let behind: Vec<BehindCopy> = s
                .behind
                .all()
                .map(|b| BehindCopy {
                    repair: s.workflows.repairing(&b.index, &b.node).map(|w| w.id.0),
                    index: b.index.0,
                    node: b.node.0,
                    shard: b.shard.0,
                    since_version: b.behind.since.0,
                    marked_at_ms: b.behind.marked_at_ms,
                    reason: b.behind.reason.describe(),
                })
                .collect();
            AntiEntropyStatusResponse {
                schedule: schedule.expression().to_string(),
                next_round_ms: schedule.next_after(log.last_round_ms.unwrap_or(now).max(now)),
                auto_repair: s.settings.on("anti_entropy_auto_repair"),
                round: log.round.iter().map(|i| i.0.clone()).collect(),
                running: s
                    .workflows
                    .running()
                    .find(|w| w.kind == WorkflowKind::AntiEntropy)
                    .map(Into::into),
                last: log
                    .last
                    .iter()
                    .map(|(i, l)| LastPass {
                        index: i.0.clone(),
                        workflow: l.workflow.0,
                        finished_at_ms: l.finished_at_ms,
                        mode: l.mode.as_str().into(),
                        counts: Some((&l.counts).into()),
                        dirty_streak: l.dirty_streak,
                    })
                    .collect(),
                behind_too_long: behind
                    .iter()
                    .filter(|b| now.saturating_sub(b.marked_at_ms) > alert_ms)
                    .count() as u64,
                behind,
            }
        })
        .await?;
    Ok(Response::new(r))
}
