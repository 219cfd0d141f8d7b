//! `miroir-devnode`: an in-memory Meilisearch stand-in for tests and demos.

use std::net::SocketAddr;

use clap::Parser;
use miroir::devnode::{self, DevnodeConfig};
use miroir::logging::{self, LogFormat};
use tokio_util::sync::CancellationToken;

/// An in-memory stand-in for Meilisearch, for tests and demos only: not for production.
///
/// It answers the subset of the Meilisearch 1.50 HTTP API that Miroir uses (indexes, settings,
/// documents, search, multi-search, facet search, tasks, keys, stats), keeps everything in memory,
/// and only approximates Meilisearch's ranking. Production uses real Meilisearch.
///
///   miroir-devnode --listen 127.0.0.1:7700 --master-key devkey
#[derive(Parser)]
#[command(version, verbatim_doc_comment)]
struct Cli {
    /// Address to serve the Meilisearch API on.
    #[arg(long, env = "MIROIR_DEVNODE_LISTEN", default_value = "127.0.0.1:7700")]
    listen: SocketAddr,
    /// Master key; without one every route is open, as in Meilisearch.
    #[arg(long, env = "MEILI_MASTER_KEY", hide_env_values = true)]
    master_key: Option<String>,
    /// Let each task wait this long in the queue before it runs (milliseconds), as a busy
    /// Meilisearch would; for tests that must see writes enqueued but not yet applied.
    #[arg(long, env = "MIROIR_DEVNODE_TASK_DELAY_MS", default_value_t = 0)]
    task_delay_ms: u64,
    /// Log as text or JSON lines (filter with RUST_LOG).
    #[arg(long, env = "MIROIR_LOG_FORMAT", value_enum, default_value_t)]
    log_format: LogFormat,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    logging::init(matches!(cli.log_format, LogFormat::Json));
    let config = DevnodeConfig {
        master_key: cli.master_key,
        task_delay: std::time::Duration::from_millis(cli.task_delay_ms),
        ..DevnodeConfig::default()
    };
    let listener = tokio::net::TcpListener::bind(cli.listen).await?;
    let shutdown = CancellationToken::new();
    tokio::spawn(logging::stop_on_signal(shutdown.clone()));
    devnode::run(config, listener, shutdown).await?;
    Ok(())
}
