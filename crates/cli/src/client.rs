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

/// A channel to `addr` whose calls carry `key`. An `https://` address is reached over TLS,
/// trusting the CA in the PEM file `LEADLEDGER_TLS_CA_FILE` (the server's certificate or
/// its issuer); `LEADLEDGER_TLS_CLIENT_CERT_FILE` and `LEADLEDGER_TLS_CLIENT_KEY_FILE` add a
/// client certificate for a server that asks for one.
pub async fn connect(addr: &str, key: &BearerKey) -> anyhow::Result<KeyedChannel> {
    let mut endpoint = tonic::transport::Channel::from_shared(addr.to_string())
        .with_context(|| format!("{addr} is not a URI"))?;
    if addr.starts_with("https://") {
        endpoint = endpoint.tls_config(tls_from_env()?)?;
    }
    let channel = endpoint
        .connect()
        .await
        .with_context(|| format!("connecting to {addr}"))?;
    Ok(key.clone().on(channel))
}

fn tls_from_env() -> anyhow::Result<tonic::transport::ClientTlsConfig> {
    let file = |var: &str| -> anyhow::Result<Option<Vec<u8>>> {
        match std::env::var(var).ok().filter(|v| !v.is_empty()) {
            Some(p) => Ok(Some(
                std::fs::read(&p).with_context(|| format!("reading {var}={p}"))?,
            )),
            None => Ok(None),
        }
    };
    let ca = file("LEADLEDGER_TLS_CA_FILE")?
        .context("an https:// address needs LEADLEDGER_TLS_CA_FILE (the CA to trust)")?;
    let mut tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(ca));
    if let (Some(cert), Some(key)) = (
        file("LEADLEDGER_TLS_CLIENT_CERT_FILE")?,
        file("LEADLEDGER_TLS_CLIENT_KEY_FILE")?,
    ) {
        tls = tls.identity(tonic::transport::Identity::from_pem(cert, key));
    }
    Ok(tls)
}
