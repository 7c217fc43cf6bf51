//! W3C trace context as it rides in a record (the event's `trace.traceparent`, and the
//! `traceparent` header when headers are on), so one trace id follows a fact from the request
//! that appended it to the batch that projected it.

use rand::Rng;

/// A `traceparent` for work done on behalf of `incoming`: a child of it when it is a valid
/// `traceparent`, otherwise a new trace (work the service starts itself, such as an SLA
/// alert, passes `None`).
pub fn child_or_new(incoming: Option<&str>) -> String {
    let mut rng = rand::thread_rng();
    let span_id: u64 = rng.gen::<u64>().max(1);
    match incoming.filter(|s| is_valid(s)) {
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
        let parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let tp = child_or_new(Some(parent));
        assert!(is_valid(&tp));
        assert_eq!(trace_id(&tp), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_ne!(tp, parent);
    }

    #[test]
    fn starts_a_trace_otherwise() {
        for incoming in [None, Some("00-not-a-trace"), Some("")] {
            let tp = child_or_new(incoming);
            assert!(is_valid(&tp), "{tp}");
        }
    }
}
