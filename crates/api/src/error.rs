//! The error contract: every failure a client can see, and the gRPC code it maps to.
//!
//! | variant | code | when |
//! |---|---|---|
//! | `Invalid` | INVALID_ARGUMENT + `google.rpc.BadRequest` | a field violates a rule; nothing was appended |
//! | `NotFound` | NOT_FOUND | the lead does not exist for this tenant |
//! | `Refused` | FAILED_PRECONDITION + `google.rpc.ErrorInfo` | a command was decided and refused (e.g. the lead is owned by another rep); the metadata names why |
//! | `NotYetConsistent` | DEADLINE_EXCEEDED | the projection had not applied the consistency token before the deadline |
//! | `Unavailable` | UNAVAILABLE + `google.rpc.RetryInfo` | the log or the database cannot be reached, or the process sheds load; safe to retry (ids are idempotent) |
//! | `Unauthenticated` | UNAUTHENTICATED | no API key, or one that is malformed, unknown, revoked or expired |
//! | `PermissionDenied` | PERMISSION_DENIED | a valid key without the scope the RPC needs, or a request naming a tenant other than the key's |
//! | `Exhausted` | RESOURCE_EXHAUSTED + `google.rpc.RetryInfo` | the key is over its rate or concurrency limit; retry after the delay |
//! | `Internal` | INTERNAL | a bug: logged with its cause |
//!
//! Two refusals happen in tonic itself, before any service code runs: a request over the
//! 4 MiB message limit gets OUT_OF_RANGE, and the authentication gate answers
//! UNAUTHENTICATED / PERMISSION_DENIED / RESOURCE_EXHAUSTED (through this enum) before the
//! service sees the call. Bytes that are not valid protobuf get INVALID_ARGUMENT (the
//! services' codec maps tonic's decode error, see `leadledger_api::codec`).

use leadledger_domain::Violations;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The `google.rpc.ErrorInfo` domain of leadledger's errors.
pub const ERROR_DOMAIN: &str = "leadledger.dev";

/// An error a service returns to a client.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{message}")]
    Invalid {
        message: String,
        violations: Violations,
    },
    #[error("{0}")]
    NotFound(String),
    /// A decided refusal: `reason` is a stable UPPER_SNAKE code and `metadata` the facts a
    /// client acts on (e.g. `owner_rep_id`), carried as `google.rpc.ErrorInfo`.
    #[error("{message}")]
    Refused {
        message: String,
        reason: String,
        metadata: std::collections::HashMap<String, String>,
    },
    #[error("{0}")]
    NotYetConsistent(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
    #[error("{0}")]
    Unauthenticated(String),
    #[error("{0}")]
    PermissionDenied(String),
    /// Over a limit; `retry_after` is when the next call may pass.
    #[error("{message}")]
    Exhausted {
        message: String,
        retry_after: std::time::Duration,
    },
}

/// When an `UNAVAILABLE` call may be tried again: the `RetryInfo` every one carries.
pub const UNAVAILABLE_RETRY_AFTER: std::time::Duration = std::time::Duration::from_millis(500);

impl ApiError {
    /// An INVALID_ARGUMENT with one violation.
    pub fn invalid_field(field: impl Into<String>, description: impl Into<String>) -> Self {
        let mut v = Violations::default();
        v.add(field, description);
        Self::invalid(v)
    }

    /// An INVALID_ARGUMENT listing `violations` (must not be empty).
    pub fn invalid(violations: Violations) -> Self {
        let message = match violations.0.first() {
            Some(first) if violations.len() == 1 => {
                format!("invalid request: {}: {}", first.field, first.description)
            }
            Some(first) => format!(
                "invalid request: {}: {} (and {} more field violations)",
                first.field,
                first.description,
                violations.len() - 1
            ),
            None => "invalid request".to_string(),
        };
        Self::Invalid {
            message,
            violations,
        }
    }

    /// The gRPC code of this error.
    pub fn code(&self) -> Code {
        match self {
            ApiError::Invalid { .. } => Code::InvalidArgument,
            ApiError::NotFound(_) => Code::NotFound,
            ApiError::Refused { .. } => Code::FailedPrecondition,
            ApiError::NotYetConsistent(_) => Code::DeadlineExceeded,
            ApiError::Unavailable(_) => Code::Unavailable,
            ApiError::Internal(_) => Code::Internal,
            ApiError::Unauthenticated(_) => Code::Unauthenticated,
            ApiError::PermissionDenied(_) => Code::PermissionDenied,
            ApiError::Exhausted { .. } => Code::ResourceExhausted,
        }
    }
}

impl From<ApiError> for Status {
    fn from(e: ApiError) -> Status {
        let code = e.code();
        let message = e.to_string();
        match e {
            ApiError::Invalid { violations, .. } => {
                let mut details = ErrorDetails::new();
                for v in violations.0 {
                    details.add_bad_request_violation(v.field, v.description);
                }
                Status::with_error_details(code, message, details)
            }
            ApiError::Refused {
                reason, metadata, ..
            } => Status::with_error_details(
                code,
                message,
                ErrorDetails::with_error_info(reason, ERROR_DOMAIN, metadata),
            ),
            ApiError::Unavailable(_) => Status::with_error_details(
                code,
                message,
                ErrorDetails::with_retry_info(Some(UNAVAILABLE_RETRY_AFTER)),
            ),
            ApiError::Exhausted { retry_after, .. } => Status::with_error_details(
                code,
                message,
                ErrorDetails::with_retry_info(Some(retry_after)),
            ),
            _ => Status::new(code, message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_carries_bad_request_details() {
        let mut v = Violations::default();
        v.add("events[2].lead_id", "required");
        v.add(
            "events[3].payload.signed.currency",
            "must be an ISO 4217 code",
        );
        let status: Status = ApiError::invalid(v).into();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().contains("events[2].lead_id"));
        let details = status.get_error_details();
        let br = details.bad_request().expect("bad request details");
        assert_eq!(br.field_violations.len(), 2);
        assert_eq!(
            br.field_violations[1].field,
            "events[3].payload.signed.currency"
        );
    }

    #[test]
    fn refused_carries_error_info() {
        let status: Status = ApiError::Refused {
            message: "lead L-1 is already owned by rep `ann`".into(),
            reason: "OWNERSHIP_REFUSED".into(),
            metadata: [("owner_rep_id".to_string(), "ann".to_string())].into(),
        }
        .into();
        assert_eq!(status.code(), Code::FailedPrecondition);
        let details = status.get_error_details();
        let info = details.error_info().expect("error info");
        assert_eq!(info.reason, "OWNERSHIP_REFUSED");
        assert_eq!(info.domain, ERROR_DOMAIN);
        assert_eq!(info.metadata["owner_rep_id"], "ann");
    }

    #[test]
    fn unavailable_is_retryable() {
        let status: Status = ApiError::Unavailable("log down".into()).into();
        assert_eq!(status.code(), Code::Unavailable);
        assert!(status.get_error_details().retry_info().is_some());
    }
}
