//! Checkers: each judges one property of a history.
