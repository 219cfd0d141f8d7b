//! Compiles `proto/` with protox (no system `protoc` needed) and keeps the
//! encoded descriptor set for gRPC server reflection.
use prost::Message;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let files = [
        "proto/miroir/v1/common.proto",
        "proto/miroir/v1/admin.proto",
        "proto/miroir/v1/router.proto",
        "proto/miroir/v1/raft.proto",
    ];
    for f in &files {
        println!("cargo:rerun-if-changed={f}");
    }
    let fds = protox::compile(files, ["proto"])?;
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("miroir_descriptor.bin"), fds.encode_to_vec())?;
    // The etcd baseline of the coordinator benchmark: client only.
    println!("cargo:rerun-if-changed=proto/bench/etcd_kv.proto");
    let etcd = protox::compile(["proto/bench/etcd_kv.proto"], ["proto"])?;
    tonic_prost_build::configure()
        .build_server(false)
        .compile_fds(etcd)?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // miroir-ctl prints any reply as JSON with --json.
        .type_attribute(".miroir.v1", "#[derive(serde::Serialize)]")
        .compile_fds(fds)?;
    Ok(())
}
