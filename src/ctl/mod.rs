//! `miroir-ctl`: the operator CLI, a thin gRPC client of the Admin service.
//!
//! # Layout
//! - [`cli`]: flags and subcommands.
//! - [`commands`]: one function per subcommand family.
//! - [`output`]: tables and JSON.

pub mod cli;
mod commands;
mod output;

use std::process::ExitCode;
use std::time::Duration;

use tonic::transport::Channel;

use crate::control::{client_tls, ClientAuth, Dialer};
use crate::pb::v1::admin_client::AdminClient;
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

/// A connected client plus the settings every request needs.
pub struct Ctl {
    admin: AdminClient<Channel>,
    auth: ClientAuth,
    timeout: Duration,
    json: bool,
}

impl Ctl {
    pub fn request<T>(&self, msg: T) -> tonic::Request<T> {
        let mut r = tonic::Request::new(msg);
        r.set_timeout(self.timeout);
        self.auth.apply(&mut r);
        r
    }
}

/// Runs one command and returns the process exit code.
pub async fn run(cli: Cli) -> ExitCode {
    let json = cli.json;
    match connect(&cli) {
        Ok(mut ctl) => match commands::dispatch(&mut ctl, cli.command).await {
            Ok(()) => ExitCode::from(exit::OK),
            Err(status) => report(json, &status),
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
    let channel = Dialer::new(tls, auth.clone())
        .channel(&cli.coordinator)
        .map_err(|e| format!("invalid coordinator address `{}`: {e}", cli.coordinator))?;
    Ok(Ctl {
        admin: AdminClient::new(channel),
        auth,
        timeout: Duration::from_secs(cli.timeout.max(1)),
        json: cli.json,
    })
}

fn report(json: bool, status: &tonic::Status) -> ExitCode {
    let code = match status.code() {
        tonic::Code::Unavailable | tonic::Code::DeadlineExceeded | tonic::Code::Cancelled => {
            exit::UNAVAILABLE
        }
        _ => exit::REFUSED,
    };
    let name = format!("{:?}", status.code());
    let message = match status.code() {
        tonic::Code::Unavailable if crate::control::error::never_reached(status) => {
            format!(
                "cannot reach the coordinator: {} (is it running? see --coordinator)",
                status.message()
            )
        }
        _ => status.message().to_string(),
    };
    if json {
        let v = serde_json::json!({ "error": { "code": name, "message": message } });
        eprintln!("{v}");
    } else {
        eprintln!("error ({name}): {message}");
    }
    ExitCode::from(code)
}
