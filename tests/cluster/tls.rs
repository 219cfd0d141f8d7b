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
}
