//! The run folder and its HTML report.
