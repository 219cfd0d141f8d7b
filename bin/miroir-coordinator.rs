//! `miroir-coordinator`: one member of the Raft-replicated control plane.

use clap::Parser;
use miroir::coordinator::{self, CoordinatorArgs};
use miroir::logging::{self, LogFormat};
use tokio_util::sync::CancellationToken;

/// A Miroir coordinator: holds topology, shard maps, migrations and the task
/// registry in a Raft log on sled, and serves the Admin and Router gRPC APIs.
///
/// First start of a 3-member cluster (each member gets its own --id and --data-dir):
///   miroir-coordinator --id 1 --data-dir /var/lib/miroir --listen 0.0.0.0:7701 \
///     --peers 1=c1:7701,2=c2:7701,3=c3:7701
/// In a StatefulSet, use --service (the headless service) instead of --id/--peers.
#[derive(Parser)]
#[command(version, verbatim_doc_comment)]
struct Cli {
    #[command(flatten)]
    args: CoordinatorArgs,
    /// Log as text or JSON lines (filter with RUST_LOG).
    #[arg(long, env = "MIROIR_LOG_FORMAT", value_enum, default_value_t)]
    log_format: LogFormat,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    logging::init(matches!(cli.log_format, LogFormat::Json));
    let metrics_addr = cli.args.metrics_listen;
    let listen = cli.args.listen;
    let config = cli.args.into_config()?;
    let listener = tokio::net::TcpListener::bind(listen).await?;
    let metrics = match metrics_addr {
        Some(a) => Some(tokio::net::TcpListener::bind(a).await?),
        None => None,
    };
    let shutdown = CancellationToken::new();
    tokio::spawn(logging::stop_on_signal(shutdown.clone()));
    coordinator::run(config, listener, metrics, shutdown).await?;
    Ok(())
}
