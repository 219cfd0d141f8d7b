//! `X-Miroir-Epoch` on write and search answers: the shard-map epoch the
//! request was routed by; for a write, set once it was sent to nodes (so
//! also on a write that then failed). Operators use it to see which map a write followed; the
//! partition suite uses it to check that no router goes back in epoch and
//! none writes under an epoch whose lease has run out.

use std::cell::Cell;

use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;

pub const HEADER: &str = "x-miroir-epoch";

tokio::task_local! {
    static ROUTED: Cell<u64>;
}

/// Notes the epoch a write of the current request is routed by (the last
/// one wins when a request writes more than once).
pub fn note(epoch: u64) {
    let _ = ROUTED.try_with(|c| c.set(epoch));
}

/// Middleware: gives each request a place to note its epoch, and answers
/// with the header when something was noted.
pub async fn layer(req: Request, next: Next) -> Response {
    let (mut resp, epoch) = ROUTED
        .scope(Cell::new(0), async {
            let resp = next.run(req).await;
            (resp, ROUTED.with(Cell::get))
        })
        .await;
    if epoch > 0 {
        resp.headers_mut().insert(HEADER, HeaderValue::from(epoch));
    }
    resp
}
