//! `miroir-jepsen`: see `miroir-jepsen --help` and docs/jepsen.md.

use clap::Parser as _;
use miroir_jepsen::cli::{Cli, Cmd};

fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    // Usage errors exit 3 (the harness was misused), not clap's 2, which
    // here means "unknown".
    let cli = Cli::try_parse().unwrap_or_else(|e| {
        let code = if e.use_stderr() { 3 } else { 0 };
        let _ = e.print();
        std::process::exit(code);
    });
    let code = match cli.command {
        Cmd::Run(args) => miroir_jepsen::commands::run(*args),
        Cmd::Check(args) => miroir_jepsen::commands::check(args),
        Cmd::Cleanup => miroir_jepsen::commands::cleanup(),
    };
    std::process::exit(code);
}
