//! `miroir-ctl`: the operator CLI, a thin gRPC client of the Admin service.
//!
//! # Layout
//! - [`cli`]: flags and subcommands.
//! - [`commands`]: one function per subcommand family.
//! - [`workflows`]: listing and following workflows.
//! - [`index_check`]: what the nodes hold, against the shard maps.
//! - [`tombstones`]: the deletes the coordinators keep.
//! - [`anti_entropy`]: passes, their schedule and findings, the copies behind.
//! - [`output`]: tables and JSON.

mod anti_entropy;
pub mod cli;
mod commands;
mod index_check;
mod migrate;
mod output;
mod tombstones;
mod workflows;

use std::process::ExitCode;
use std::time::Duration;

use crate::control::{client_tls, ClientAuth, ControlClient, ControlError, Dialer};
pub use cli::Cli;

/// Exit codes scripts can rely on.
pub mod exit {
    pub const OK: u8 = 0;
    /// The cluster refused the request.
    pub const REFUSED: u8 = 1;
    /// Wrong usage (clap uses this too).
    pub const USAGE: u8 = 2;
    /// No coordinator or leader reachable: retry later.
    pub const UNAVAILABLE: u8 = 3;
}

/// The typed client of the coordinator named by `--coordinator`, and how to print.
pub struct Ctl {
    control: ControlClient,
    json: bool,
}

/// Runs one command and returns the process exit code.
pub async fn run(cli: Cli) -> ExitCode {
    let json = cli.json;
    match connect(&cli) {
        Ok(ctl) => match commands::dispatch(&ctl, cli.command).await {
            Ok(()) => ExitCode::from(exit::OK),
            Err(e) => report(json, &e),
        },
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::from(exit::USAGE)
        }
    }
}

fn connect(cli: &Cli) -> Result<Ctl, String> {
    let tls = match &cli.tls_ca {
        Some(p) => {
            let pem = std::fs::read(p).map_err(|e| format!("cannot read {}: {e}", p.display()))?;
            Some(client_tls(&pem))
        }
        None => None,
    };
    let auth = ClientAuth::new(cli.admin_key.as_deref())?;
    let control = ControlClient::new(
        std::slice::from_ref(&cli.coordinator),
        Dialer::new(tls, auth),
        String::new(),
    )
    .map_err(|e| format!("invalid coordinator address `{}`: {e}", cli.coordinator))?
    .with_timeout(Duration::from_secs(cli.timeout.max(1)));
    Ok(Ctl {
        control,
        json: cli.json,
    })
}

/// The error on stderr, named by its gRPC code, and the exit code for its kind.
fn report(json: bool, e: &ControlError) -> ExitCode {
    let (name, code) = match e {
        ControlError::Unreachable(_) | ControlError::Unavailable(_) => {
            ("Unavailable", exit::UNAVAILABLE)
        }
        ControlError::Timeout(_) => ("DeadlineExceeded", exit::UNAVAILABLE),
        ControlError::NotFound(_) => ("NotFound", exit::REFUSED),
        ControlError::AlreadyExists(_) => ("AlreadyExists", exit::REFUSED),
        ControlError::InvalidArgument(_) => ("InvalidArgument", exit::REFUSED),
        ControlError::FailedPrecondition(_) => ("FailedPrecondition", exit::REFUSED),
        ControlError::Unauthenticated(_) => ("Unauthenticated", exit::REFUSED),
        ControlError::Malformed(_) | ControlError::Other(_) => ("Internal", exit::REFUSED),
    };
    let message = match e {
        ControlError::Unreachable(m) => {
            format!("cannot reach the coordinator: {m} (is it running? see --coordinator)")
        }
        ControlError::Malformed(_) => e.to_string(),
        other => other.detail().to_string(),
    };
    if json {
        let v = serde_json::json!({ "error": { "code": name, "message": message } });
        eprintln!("{v}");
    } else {
        eprintln!("error ({name}): {message}");
    }
    ExitCode::from(code)
}
