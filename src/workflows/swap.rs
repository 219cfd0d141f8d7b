//! Swapping or renaming indexes: fence every index the swap names, wait
//! until no router can still write under the old names, then flip the
//! mappings in one commit (DESIGN section 6, physical indexes). The nodes
//! are never touched, so the fence is up for one round of router
//! acknowledgements and one commit.

use super::{Cluster, PausePoints};
use crate::state::workflows::{Phase, Workflow};

/// Carries out `w`'s current step and commits the move to its next phase.
pub async fn step<C: Cluster>(c: &C, pauses: &PausePoints, w: &Workflow) -> Result<(), String> {
    let Some(to) = w.next_phase() else {
        return Ok(());
    };
    pauses.before(w.phase).await;
    let mut advance = super::advance(w, to);
    advance.note = match w.phase {
        Phase::Fence => "writes to the indexes are fenced".into(),
        Phase::WaitRouters => super::wait_for_routers(c, w).await?,
        Phase::Flip => flip_note(c, w),
        _ => return Ok(()),
    };
    super::commit(c, advance).await
}

/// What the flip will come to; the state machine checks again as it applies.
fn flip_note<C: Cluster>(c: &C, w: &Workflow) -> String {
    match c.read(|s| crate::state::commands::check_flip(s, w)) {
        Ok(()) => "flipped; the fence is lifted".into(),
        Err(e) => format!("not flipped ({}); the fence is lifted", e.message),
    }
}
