//! What a receiver checks: the signature of a notice, and when the next attempt is due.
//!
//! `Leadledger-Signature: v1=<hex>` where `<hex>` is HMAC-SHA256, keyed with the
//! subscription's secret, of `<Leadledger-Timestamp>.<body>` (the Unix seconds of the
//! attempt, a dot, the exact bytes of the body). A receiver recomputes it, compares in
//! constant time, and refuses a timestamp far from its own clock (replays).

use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The `Leadledger-Signature` value of `body` sent at `timestamp` (Unix seconds).
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Whether `header` is the signature of `body` at `timestamp` (constant-time comparison).
pub fn verify(secret: &str, timestamp: i64, body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.strip_prefix("v1=") else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// The wait before attempt `failed + 1` after `failed` failures: `base × 2^(failed−1)`,
/// at most `max`.
pub fn backoff(failed: u32, base: Duration, max: Duration) -> Duration {
    let factor = 2u32.saturating_pow(failed.saturating_sub(1).min(30));
    base.saturating_mul(factor).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        let body = br#"{"event_id":"e1"}"#;
        let sig = signature("s3cret", 1_767_225_600, body);
        let mut mac = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        mac.update(b"1767225600.{\"event_id\":\"e1\"}");
        assert_eq!(
            sig,
            format!("v1={}", hex::encode(mac.finalize().into_bytes()))
        );
        assert!(verify("s3cret", 1_767_225_600, body, &sig));
        assert!(
            !verify("s3cret", 1_767_225_601, body, &sig),
            "another timestamp"
        );
        assert!(
            !verify("other", 1_767_225_600, body, &sig),
            "another secret"
        );
        assert!(
            !verify("s3cret", 1_767_225_600, b"{}", &sig),
            "another body"
        );
        assert!(!verify("s3cret", 1_767_225_600, body, "v2=00"));
    }

    #[test]
    fn a_vector_computed_by_openssl() {
        // `printf '0.what do ya want for nothing?' | openssl dgst -sha256 -hmac Jefe`
        assert_eq!(
            signature("Jefe", 0, b"what do ya want for nothing?"),
            "v1=37f471929915ccd2cbbe79feb84ffcff4f2bb25e15fc41c2506687331ae179cc"
        );
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let s = Duration::from_secs;
        let b = |n| backoff(n, s(1), s(300));
        assert_eq!(
            [b(1), b(2), b(3), b(4), b(9), b(10), b(40)],
            [s(1), s(2), s(4), s(8), s(256), s(300), s(300)]
        );
    }
}
