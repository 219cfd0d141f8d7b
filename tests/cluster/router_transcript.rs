//! The recorded Meilisearch scenario replayed against a router over four
//! devnodes in two replica groups, and over three real Meilisearch nodes: the
//! router must answer like one Meilisearch server, apart from the differences
//! listed (and justified) here and in docs/router.md.

use super::fleet::{Fleet, Nodes, KEY};

#[path = "../support/transcript.rs"]
mod transcript;

/// Meilisearch orders equal-score hits, and document listings, by its
/// internal insertion order, which a sharded index does not have: a router
/// orders them by primary key. These steps must return the same documents,
/// in another order.
const TIE_ORDER: &[&str] = &[
    "search-empty-q",
    "search-filter",
    "search-filter-not-exists",
    "search-facets",
    "search-facets-star",
    "search-offset-limit",
    "search-page",
    "docs-after-deletes",
];

/// Other steps where a router may differ from the recording, with why.
const DIFFERENCES: &[(&str, &str)] = &[
    (
        "settings-get",
        "the scenario lists `_miroir_shard` among its filterable attributes; Miroir never shows its own field",
    ),
    ("settings-get-filterable", "as settings-get"),
    (
        "docs-fetch-bad-filter",
        "the error lists the filterable attributes, without Miroir's (as settings-get)",
    ),
    ("search-bad-filter", "as docs-fetch-bad-filter"),
    ("search-bad-sort", "the error lists the sortable attributes, without `_miroir_version`"),
    ("docs-delete-filter-bad:task", "as docs-fetch-bad-filter"),
];

/// Steps where a router over devnodes may differ too, because the devnode only
/// imitates Meilisearch there.
const DEVNODE_DIFFERENCES: &[(&str, &str)] = &[(
    "multi-search-federated",
    "`weightedRankingScore` is Meilisearch's exact ranking score, which the devnode only approximates",
)];

/// The ids of a step's hits (or listed documents), sorted.
fn ids_of(recording: &std::path::Path, step: &str) -> Vec<String> {
    let text = std::fs::read_to_string(recording).expect("read recording");
    let line = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("recording line"))
        .find(|v| v["step"] == step)
        .unwrap_or_else(|| panic!("step {step} missing from {recording:?}"));
    let body = &line["response"]["body"];
    let items = body["hits"]
        .as_array()
        .or(body["results"].as_array())
        .unwrap_or_else(|| panic!("step {step} has no hits: {body}"));
    let mut ids: Vec<String> = items.iter().map(|h| h["id"].to_string()).collect();
    ids.sort();
    ids
}

async fn recorded_router(nodes: Nodes) -> (Fleet, tempfile::TempDir, std::path::PathBuf) {
    let (groups, per_group) = if nodes.is_real() { (1, 3) } else { (2, 2) };
    let mut fleet = Fleet::start_on(nodes, groups, per_group).await;
    let url = fleet.start_router().await;
    let (dir, out) = tokio::task::spawn_blocking(move || transcript::record(&url, KEY))
        .await
        .expect("record.py");
    (fleet, dir, out)
}

/// A router answers the recorded scenario as one Meilisearch server did, apart
/// from the differences listed above.
async fn router_answers_like_meilisearch(nodes: Nodes) {
    let real = nodes.is_real();
    let (_fleet, _dir, actual) = recorded_router(nodes).await;
    let (_, report) = transcript::compare(&actual, false);
    let allowed = |s: &String| {
        DIFFERENCES.iter().any(|(step, _)| step == s)
            || (!real && DEVNODE_DIFFERENCES.iter().any(|(step, _)| step == s))
    };
    let unexpected: Vec<String> = transcript::differing_steps(&report)
        .into_iter()
        .filter(|s| !allowed(s))
        .filter(|s| !TIE_ORDER.contains(&s.as_str()))
        .collect();
    assert!(
        unexpected.is_empty(),
        "unexpected differences in {unexpected:?}:\n{report}"
    );
    assert!(report.contains(" steps match, "), "no summary:\n{report}");
    let expected = transcript::transcripts().join("meilisearch-1.50.0.jsonl");
    for step in TIE_ORDER {
        assert_eq!(
            ids_of(&actual, step),
            ids_of(&expected, step),
            "step {step} returned other documents"
        );
    }
}

crate::on_both_nodes!(router_answers_like_meilisearch);
