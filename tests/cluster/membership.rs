use miroir::pb::v1::*;

use crate::util::*;

fn voters(s: &ClusterStatusResponse) -> Vec<u64> {
    s.members
        .iter()
        .filter(|m| m.role == "voter")
        .map(|m| m.id)
        .collect()
}

/// Grow 3 -> 4 -> 5 and shrink back to 3 while writes continue. Member 4
/// joins after the leader purged its log, so it can only catch up from a
/// snapshot. No acknowledged write is lost.
#[tokio::test(flavor = "multi_thread")]
async fn grow_to_five_and_shrink_back_under_writes() {
    let mut c = Cluster::start_with(3, &["--snapshot-every", "20", "--keep-logs", "0"], None);
    let leader = c.leader().await;
    let mut w = Writer::new("pre");
    w.write_acked(&c, 60).await;
    let purged = eventually("the leader to purge its log", || async {
        let s = c.status(leader).await?;
        s.members
            .iter()
            .find(|m| m.id == leader)?
            .purged_index
            .filter(|p| *p > 0)
    })
    .await;

    let addrs: Vec<String> = (1..=3).map(|id| c.addr(id)).collect();
    let bg = BackgroundWriter::start(addrs, "during");

    let addr4 = c.spawn_new(4);
    let out = c.ctl(
        1,
        &["cluster", "add-member", "--id", "4", "--address", &addr4],
    );
    assert!(
        out.status.success(),
        "add-member 4: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(voters(&c.status(1).await.unwrap()), vec![1, 2, 3, 4]);
    // Member 4 learns its own membership as the log reaches it.
    let me = eventually("member 4 to see itself as a voter", || async {
        let s = c.status(4).await?;
        (voters(&s) == vec![1, 2, 3, 4])
            .then(|| s.members.into_iter().find(|m| m.id == 4))
            .flatten()
    })
    .await;
    assert!(
        me.snapshot_index.unwrap_or(0) >= purged,
        "member 4 did not install a snapshot: {me:?}"
    );

    let addr5 = c.spawn_new(5);
    let mut a = c.admin(2).await;
    a.add_member(c.req(AddMemberRequest {
        id: 5,
        address: addr5,
        learner_only: false,
    }))
    .await
    .unwrap();
    assert_eq!(voters(&c.status(2).await.unwrap()), vec![1, 2, 3, 4, 5]);

    for id in [4, 5] {
        a.remove_member(c.req(RemoveMemberRequest { id }))
            .await
            .unwrap();
    }
    // Member 2 applies the last removal when the log reaches it (it may
    // not be the one that committed it).
    let s = eventually("member 2 to apply both removals", || async {
        let s = c.status(2).await?;
        (voters(&s) == vec![1, 2, 3]).then_some(s)
    })
    .await;
    assert_eq!(s.members.len(), 3, "removed members linger as learners");

    let during = bg.stop().await;
    assert!(
        !during.is_empty(),
        "no write succeeded during the membership changes"
    );
    let leader = c.leader().await;
    assert_all_present(&c, leader, &w.acked).await;
    assert_all_present(&c, leader, &during).await;
}

/// Leadership moves to the requested voter; a learner cannot be made leader.
#[tokio::test(flavor = "multi_thread")]
async fn transfer_leadership() {
    let mut c = Cluster::start(3);
    let leader = c.leader().await;
    let target = (1..=3).find(|id| *id != leader).unwrap();
    let out = c.ctl(
        leader,
        &["cluster", "transfer-leader", "--to", &target.to_string()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(c.leader().await, target);

    let addr4 = c.spawn_new(4);
    let out = c.ctl(
        1,
        &[
            "cluster",
            "add-member",
            "--id",
            "4",
            "--address",
            &addr4,
            "--learner",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = c.ctl(1, &["cluster", "transfer-leader", "--to", "4"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a learner was accepted as leader"
    );
    assert_eq!(c.leader().await, target);
}
