//! leadledger's gRPC API: the generated code, the proto ↔ domain conversion and the error
//! contract. Services (in `leadledger-services`) stay thin because everything a transport
//! must agree on lives here.
//!
//! # Layout
//! - [`pb`]: code generated from `proto/leadledger/v1` (messages, clients, servers) and the
//!   descriptor set served by reflection.
//! - [`codec`]: prost's codec, with undecodable bytes answered as INVALID_ARGUMENT.
//! - [`convert`]: proto → domain (collecting field violations) and domain → proto.
//! - [`record`]: the log's record value and the one decoder of it into a domain event.
//! - [`sealed`]: a contact sealed with its lead's data key, and opened again.
//! - [`error`]: [`ApiError`], the one error type services return, and its mapping to
//!   `tonic::Status` with `google.rpc` details.

#![forbid(unsafe_code)]

pub mod codec;
pub mod convert;
pub mod error;
pub mod record;
pub mod sealed;

pub use error::ApiError;

/// Generated code for `leadledger.v1`.
#[allow(clippy::all, clippy::pedantic, missing_docs)]
pub mod pb {
    tonic::include_proto!("leadledger.v1");

    /// Encoded `FileDescriptorSet` of the API, for the reflection service.
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        tonic::include_file_descriptor_set!("leadledger_descriptor");
}
