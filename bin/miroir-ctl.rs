//! `miroir-ctl`: operate a Miroir cluster over gRPC.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    miroir::logging::init(false);
    miroir::ctl::run(miroir::ctl::Cli::parse()).await
}
