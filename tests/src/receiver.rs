//! A bare HTTP/1.1 webhook receiver for tests: records every request (signature checked)
//! and answers by path, to play the receivers a webhook deliverer meets.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use leadledger_workers::webhooks::sign;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Hit {
    pub path: String,
    pub event_id: String,
    pub lead_id: String,
    pub kind: String,
    pub position: (i64, i64),
    pub signed: bool,
    /// The receiver answered 2xx.
    pub accepted: bool,
}

/// What a receiver got; `secret` checks the signatures.
pub struct Receiver {
    secret: String,
    hits: Mutex<Vec<Hit>>,
}

impl Receiver {
    pub fn new(secret: &str) -> Receiver {
        Receiver {
            secret: secret.to_string(),
            hits: Mutex::new(Vec::new()),
        }
    }

    /// Every request at `path`, in arrival order.
    pub fn hits(&self, path: &str) -> Vec<Hit> {
        let hits = self.hits.lock().unwrap();
        hits.iter().filter(|h| h.path == path).cloned().collect()
    }

    /// Those answered 2xx.
    pub fn accepted(&self, path: &str) -> Vec<Hit> {
        self.hits(path).into_iter().filter(|h| h.accepted).collect()
    }

    /// Attempts seen so far for `event_id` at `path`.
    pub fn tries(&self, path: &str, event_id: &str) -> usize {
        self.hits(path)
            .iter()
            .filter(|h| h.event_id == event_id)
            .count()
    }
}

/// A bare HTTP/1.1 receiver (one request per connection): `/ok` answers 200, `/flaky` 500
/// twice per notice then 200, `/slow` 200 after 300 ms, `/hang` the first attempt of each
/// notice after 2.5 s (past the 1 s timeout) and later ones at once, `/down` always 503.
pub async fn serve(listener: TcpListener, rx: Arc<Receiver>) {
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            return;
        };
        let rx = rx.clone();
        tokio::spawn(async move {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            let head_end = loop {
                let Ok(n) = sock.read(&mut chunk).await else {
                    return;
                };
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
                if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                    break i + 4;
                }
            };
            let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
            let header = |name: &str| {
                head.lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.trim()
                            .eq_ignore_ascii_case(name)
                            .then(|| v.trim().to_string())
                    })
                    .unwrap_or_default()
            };
            let len: usize = header("content-length").parse().unwrap_or(0);
            while buf.len() < head_end + len {
                let Ok(n) = sock.read(&mut chunk).await else {
                    return;
                };
                if n == 0 {
                    return;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = &buf[head_end..head_end + len];
            let path = head
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_string();
            let ts: i64 = header("leadledger-timestamp").parse().unwrap_or(0);
            let signed = sign::verify(&rx.secret, ts, body, &header("leadledger-signature"))
                && (Utc::now().timestamp() - ts).abs() < 300;
            let v: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
            let event_id = v["event_id"].as_str().unwrap_or_default().to_string();
            let idempotency_ok = header("idempotency-key") == event_id;
            let before = rx.tries(&path, &event_id);
            let (status, delay) = match path.as_str() {
                "/flaky" if before < 2 => ("500 Internal Server Error", 0),
                "/slow" => ("200 OK", 300),
                "/hang" if before == 0 => ("200 OK", 2500),
                "/down" => ("503 Service Unavailable", 0),
                _ => ("200 OK", 0),
            };
            let mut hit = Hit {
                path,
                event_id,
                lead_id: v["lead_id"].as_str().unwrap_or_default().to_string(),
                kind: v["kind"].as_str().unwrap_or_default().to_string(),
                position: (
                    v["position"]["partition"].as_i64().unwrap_or(-1),
                    v["position"]["offset"].as_i64().unwrap_or(-1),
                ),
                signed: signed && idempotency_ok,
                accepted: false,
            };
            // Counted as an attempt at once (before any delay), accepted once answered 2xx.
            let idx = {
                let mut hits = rx.hits.lock().unwrap();
                hits.push(hit.clone());
                hits.len() - 1
            };
            tokio::time::sleep(Duration::from_millis(delay)).await;
            let answer =
                format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            if sock.write_all(answer.as_bytes()).await.is_ok() && status.starts_with('2') {
                hit.accepted = true;
                rx.hits.lock().unwrap()[idx] = hit;
            }
        });
    }
}
