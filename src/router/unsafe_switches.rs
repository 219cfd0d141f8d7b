//! TEST-ONLY switches that remove one safety mechanism each, so that the
//! partition suite (jepsen/) can show its checkers notice. Hidden flags, off
//! by default; a router started with one logs a warning.

/// Which mechanisms are switched off.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UnsafeSwitches {
    /// Count a node's failed write as an acknowledgement (breaks I1).
    pub ack_failed_writes: bool,
    /// Write without a live lease, and count replies however late (breaks I2).
    pub ignore_lease: bool,
}

impl UnsafeSwitches {
    pub fn any(&self) -> bool {
        self.ack_failed_writes || self.ignore_lease
    }
}
