//! Connecting leadledger's own clients (`simulate`, `report`) to a server, with the API key
//! from `--api-key`, `--api-key-file` or `LEADLEDGER_API_KEY`.

use std::path::Path;

use anyhow::Context;
use leadledger_grpc::auth::client::{BearerKey, KeyedChannel};

/// The key a client command sends: the flag, else the file, else none (`auth.mode = none`).
pub fn key(flag: Option<&str>, file: Option<&Path>) -> anyhow::Result<BearerKey> {
    let key = match (flag, file) {
        (Some(k), _) => k.to_string(),
        (None, Some(p)) => std::fs::read_to_string(p)
            .with_context(|| format!("reading the API key from {}", p.display()))?,
        (None, None) => String::new(),
    };
    BearerKey::new(&key).map_err(|e| anyhow::anyhow!("{e}"))
}

/// A channel to `addr` whose calls carry `key`.
pub async fn connect(addr: &str, key: &BearerKey) -> anyhow::Result<KeyedChannel> {
    let channel = tonic::transport::Channel::from_shared(addr.to_string())
        .with_context(|| format!("{addr} is not a URI"))?
        .connect()
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    Ok(key.clone().on(channel))
}
