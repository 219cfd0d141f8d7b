//! Generated gRPC types (package `miroir.v1`) and their conversions to and
//! from the domain types in [`crate::state`]. Generated types stop at the
//! service edge; handlers call `.into()` and work with domain types.

#[allow(clippy::all, missing_docs)]
pub mod v1 {
    tonic::include_proto!("miroir.v1");
}

/// A client for the few calls of etcd's v3 API that the coordinator
/// benchmark needs for its side-by-side etcd baseline. Not used by Miroir.
#[doc(hidden)]
#[allow(clippy::all, missing_docs)]
pub mod etcd {
    tonic::include_proto!("etcdserverpb");
}

mod convert;

/// The encoded descriptors of every Miroir proto, served by gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/miroir_descriptor.bin"));
