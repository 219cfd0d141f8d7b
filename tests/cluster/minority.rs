use crate::util::*;

/// A paused (SIGSTOP) follower does not block the majority, and catches up
/// when it is resumed.
#[tokio::test(flavor = "multi_thread")]
async fn paused_minority_does_not_block_majority() {
    let mut c = Cluster::start(3);
    let leader = c.leader().await;
    let victim = (1..=3).find(|id| *id != leader).unwrap();
    c.pause(victim);
    let mut w = Writer::new("p");
    w.write_acked(&c, 40).await;
    c.resume(victim);
    let commit = c.status(leader).await.unwrap().commit_index.unwrap();
    c.wait_applied(victim, commit).await;
    assert_all_present(&c, victim, &w.acked).await;
}

/// A killed follower does not block the majority either, and catches up on restart.
#[tokio::test(flavor = "multi_thread")]
async fn killed_minority_catches_up_on_restart() {
    let mut c = Cluster::start(3);
    let leader = c.leader().await;
    let victim = (1..=3).find(|id| *id != leader).unwrap();
    c.kill(victim);
    let mut w = Writer::new("k");
    w.write_acked(&c, 40).await;
    c.spawn(victim);
    assert_all_present(&c, victim, &w.acked).await;
}
