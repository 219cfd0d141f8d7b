//! What can go wrong when calling the coordinators, classified once, at the
//! edge, from tonic's status.

use tonic::{Code, Status};

/// A failed call to the coordinators. Only [`ControlError::Unreachable`]
/// makes the client try another coordinator: every other kind means one
/// answered, and a request is never sent twice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("no coordinator could be reached ({0}); check that they run and that the addresses are right")]
    Unreachable(String),
    #[error("the coordinators cannot serve this now ({0}); retry shortly (a leader may be being elected)")]
    Unavailable(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("already exists: {0}")]
    AlreadyExists(String),
    #[error("invalid request: {0}")]
    InvalidArgument(String),
    #[error("refused in the cluster's current state: {0}")]
    FailedPrecondition(String),
    #[error("refused by the coordinators ({0}); check the admin key (MIROIR_ADMIN_KEY)")]
    Unauthenticated(String),
    #[error("the coordinators did not answer in time ({0}); retry, or check their health")]
    Timeout(String),
    #[error("a coordinator sent a reply this client cannot read ({0}); check that routers, miroir-ctl and coordinators run the same version")]
    Malformed(String),
    #[error("the coordinators failed the request: {0}")]
    Other(String),
}

impl ControlError {
    /// The coordinators' own words, without the advice around them.
    pub fn detail(&self) -> &str {
        match self {
            ControlError::Unreachable(m)
            | ControlError::Unavailable(m)
            | ControlError::NotFound(m)
            | ControlError::AlreadyExists(m)
            | ControlError::InvalidArgument(m)
            | ControlError::FailedPrecondition(m)
            | ControlError::Unauthenticated(m)
            | ControlError::Timeout(m)
            | ControlError::Malformed(m)
            | ControlError::Other(m) => m,
        }
    }

    /// A reply that does not convert into the domain's types.
    pub fn malformed(e: impl std::fmt::Display) -> Self {
        ControlError::Malformed(e.to_string())
    }
}

/// True when the call never reached a coordinator: tonic reports a failed
/// connect as `Unavailable` whose source chain holds its `ConnectError`
/// (a coordinator that answered `Unavailable` itself has no such source).
pub fn never_reached(s: &Status) -> bool {
    if s.code() != Code::Unavailable {
        return false;
    }
    let mut source = std::error::Error::source(s);
    while let Some(e) = source {
        if e.is::<tonic::ConnectError>() {
            return true;
        }
        source = e.source();
    }
    false
}

impl From<Status> for ControlError {
    fn from(s: Status) -> Self {
        let m = s.message().to_string();
        match s.code() {
            _ if never_reached(&s) => ControlError::Unreachable(m),
            Code::Unavailable => ControlError::Unavailable(m),
            Code::NotFound => ControlError::NotFound(m),
            Code::AlreadyExists => ControlError::AlreadyExists(m),
            Code::InvalidArgument | Code::OutOfRange => ControlError::InvalidArgument(m),
            Code::FailedPrecondition | Code::Aborted => ControlError::FailedPrecondition(m),
            Code::Unauthenticated | Code::PermissionDenied => ControlError::Unauthenticated(m),
            Code::DeadlineExceeded | Code::Cancelled => ControlError::Timeout(m),
            _ => ControlError::Other(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connect failure (as tonic builds it) is the one kind that fails over;
    /// a coordinator's own `Unavailable`, even one that says "connect", is not.
    #[test]
    fn only_a_failed_connect_is_unreachable() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        let connect: Box<dyn std::error::Error + Send + Sync> =
            Box::new(tonic::ConnectError(Box::new(io)));
        let s = Status::from_error(connect);
        assert_eq!(s.code(), Code::Unavailable);
        assert!(matches!(
            ControlError::from(s),
            ControlError::Unreachable(_)
        ));
        let said = Status::unavailable("cannot connect to the leader");
        assert!(matches!(
            ControlError::from(said),
            ControlError::Unavailable(_)
        ));
    }

    /// Each code lands in its kind, with the coordinator's words kept.
    #[test]
    fn codes_map_to_kinds() {
        let e = ControlError::from(Status::not_found("index `a`"));
        assert_eq!(e, ControlError::NotFound("index `a`".into()));
        assert_eq!(e.detail(), "index `a`");
        assert!(matches!(
            ControlError::from(Status::failed_precondition("pk set")),
            ControlError::FailedPrecondition(_)
        ));
        assert!(matches!(
            ControlError::from(Status::permission_denied("no")),
            ControlError::Unauthenticated(_)
        ));
        assert!(matches!(
            ControlError::from(Status::deadline_exceeded("slow")),
            ControlError::Timeout(_)
        ));
        assert!(matches!(
            ControlError::from(Status::internal("boom")),
            ControlError::Other(_)
        ));
    }
}
