//! `miroir-router`: the Meilisearch-compatible front door of a Miroir cluster.

use clap::Parser;
use miroir::logging::{self, LogFormat};
use miroir::router::{self, RouterArgs};
use tokio_util::sync::CancellationToken;

/// A stateless Miroir router: speaks Meilisearch's HTTP API, follows the shard
/// maps the coordinators stream, fans searches out to the nodes and merges them.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(flatten)]
    args: RouterArgs,
    /// Log as text or JSON lines (filter with RUST_LOG).
    #[arg(long, env = "MIROIR_LOG_FORMAT", value_enum, default_value_t)]
    log_format: LogFormat,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    logging::init(matches!(cli.log_format, LogFormat::Json));
    let listener = tokio::net::TcpListener::bind(cli.args.listen).await?;
    let shutdown = CancellationToken::new();
    tokio::spawn(logging::stop_on_signal(shutdown.clone()));
    router::run(cli.args, listener, shutdown).await?;
    Ok(())
}
