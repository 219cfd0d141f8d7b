//! `miroir-jepsen`: see `miroir-jepsen --help` and docs/jepsen.md.

use clap::Parser;
use miroir_jepsen::cli::{Cli, Cmd};

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let code = match cli.command {
        Cmd::Run(args) => miroir_jepsen::commands::run(args),
        Cmd::Check(args) => miroir_jepsen::commands::check(args),
        Cmd::Cleanup => miroir_jepsen::commands::cleanup(),
    };
    std::process::exit(code);
}
