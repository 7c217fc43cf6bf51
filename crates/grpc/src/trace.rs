//! W3C trace context carried from gRPC metadata into Kafka headers and on to the projector,
//! so one trace id follows a fact from the request that appended it to the batch that
//! projected it.

use rand::Rng;
use tonic::metadata::MetadataMap;

/// The `traceparent` for work done on behalf of a request: a child of the caller's trace
/// when it sent a valid `traceparent`, otherwise a new trace.
pub fn traceparent(metadata: &MetadataMap) -> String {
    let mut rng = rand::thread_rng();
    let span_id: u64 = rng.gen::<u64>().max(1);
    let incoming = metadata
        .get("traceparent")
        .and_then(|v| v.to_str().ok())
        .filter(|s| is_valid(s));
    match incoming {
        Some(tp) => format!("00-{}-{span_id:016x}-{}", &tp[3..35], &tp[53..55]),
        None => {
            let trace_id: u128 = rng.gen::<u128>().max(1);
            format!("00-{trace_id:032x}-{span_id:016x}-01")
        }
    }
}

/// The trace id part of a `traceparent` (empty if malformed).
pub fn trace_id(tp: &str) -> &str {
    if is_valid(tp) {
        &tp[3..35]
    } else {
        ""
    }
}

/// `00-<32 hex>-<16 hex>-<2 hex>`, ids not all zero.
pub fn is_valid(tp: &str) -> bool {
    let b = tp.as_bytes();
    tp.len() == 55
        && tp.starts_with("00-")
        && b[35] == b'-'
        && b[52] == b'-'
        && tp[3..35].bytes().all(|c| c.is_ascii_hexdigit())
        && tp[36..52].bytes().all(|c| c.is_ascii_hexdigit())
        && tp[53..55].bytes().all(|c| c.is_ascii_hexdigit())
        && &tp[3..35] != "00000000000000000000000000000000"
        && &tp[36..52] != "0000000000000000"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continues_an_incoming_trace() {
        let mut md = MetadataMap::new();
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        md.insert("traceparent", parent.parse().unwrap());
        let tp = traceparent(&md);
        assert!(is_valid(&tp));
        assert_eq!(trace_id(&tp), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_ne!(tp, parent);
    }

    #[test]
    fn starts_a_trace_otherwise() {
        let tp = traceparent(&MetadataMap::new());
        assert!(is_valid(&tp), "{tp}");
    }
}
