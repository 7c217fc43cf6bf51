//! W3C trace context from gRPC metadata: the `traceparent` a request's work continues
//! (`leadledger_log::trace` carries it on into the log and the projector).

use tonic::metadata::MetadataMap;

pub use leadledger_log::trace::{is_valid, trace_id};

/// The `traceparent` for work done on behalf of a request: a child of the caller's trace
/// when it sent a valid `traceparent`, otherwise a new trace.
pub fn traceparent(metadata: &MetadataMap) -> String {
    leadledger_log::trace::child_or_new(metadata.get("traceparent").and_then(|v| v.to_str().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continues_the_caller_s_trace() {
        let mut md = MetadataMap::new();
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        md.insert("traceparent", parent.parse().unwrap());
        let tp = traceparent(&md);
        assert!(is_valid(&tp));
        assert_eq!(trace_id(&tp), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert!(is_valid(&traceparent(&MetadataMap::new())));
    }
}
