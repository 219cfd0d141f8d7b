use std::path::Path;
use std::process::Command;

use crate::util::*;

/// A throwaway CA and a certificate for 127.0.0.1 signed by it (openssl CLI).
fn make_certs(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(&[
        &["req", "-x509"],
        &ec[..],
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "1",
            "-subj",
            "/CN=miroir-test-ca",
        ],
    ]
    .concat());
    run(&[
        &["req"],
        &ec[..],
        &[
            "-keyout",
            "node.key",
            "-out",
            "node.csr",
            "-subj",
            "/CN=localhost",
        ],
    ]
    .concat());
    std::fs::write(
        dir.join("san.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    run(&[
        "x509",
        "-req",
        "-in",
        "node.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "node.pem",
        "-days",
        "1",
        "-extfile",
        "san.ext",
    ]);
}

/// With TLS on, members replicate over TLS, miroir-ctl works with the CA, and
/// a plaintext client is refused.
#[tokio::test(flavor = "multi_thread")]
async fn tls_cluster_serves_only_tls() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let p = |f: &str| certs.path().join(f).display().to_string();
    let (cert, key, ca) = (p("node.pem"), p("node.key"), p("ca.pem"));
    let c = Cluster::start_with(
        3,
        &["--tls-cert", &cert, "--tls-key", &key, "--tls-ca", &ca],
        None,
    );
    let tls_ctl = |args: &[&str]| c.ctl(1, &[&["--tls-ca", ca.as_str()], args].concat());
    // A write proves a leader was elected and replication works over TLS.
    eventually("a TLS write", || async {
        tls_ctl(&["config", "set", "user.tls", "on"])
            .status
            .success()
            .then_some(())
    })
    .await;
    let out = tls_ctl(&["--json", "cluster", "status"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let members = v["members"].as_array().unwrap();
    assert!(members.iter().all(|m| m["reachable"] == true), "{v}");
    let plain = c.ctl(1, &["--timeout", "3", "cluster", "status"]);
    assert!(!plain.status.success(), "a plaintext client was served");

    // A router reaches the coordinators over TLS too: a task lookup is
    // answered by them (404 for a task nobody made), not refused as unreachable.
    let port = free_port();
    let coordinators: Vec<String> = (1..=3).map(|id| c.addr(id)).collect();
    let log = std::fs::File::create(c.dir.path().join("router.log")).unwrap();
    let _router = KillOnDrop(
        Command::new(env!("CARGO_BIN_EXE_miroir-router"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(["--coordinators", &coordinators.join(",")])
            .args(["--tls-ca", &ca])
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let http = reqwest::Client::new();
    let status = eventually("the router to ask the coordinators over TLS", || async {
        let r = http
            .get(format!("http://127.0.0.1:{port}/tasks/4242"))
            .send()
            .await
            .ok()?;
        Some(r.status().as_u16()).filter(|s| *s != 503)
    })
    .await;
    assert_eq!(status, 404);
}

/// A process killed when the test ends, however it ends.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
