//! Client certificates as credentials (mutual TLS): the identities a verified certificate
//! carries, and the binding names an operator writes (`keys create --client-cert`).
//!
//! The TLS layer (rustls, `server.tls_client_ca_file`) has already verified the chain; this
//! only reads who the certificate says it is. An identity is typed so that a DNS name cannot
//! stand for a common name of the same spelling: `cn:<subject common name>`,
//! `dns:<DNS subject alternative name>` (lower case) or `uri:<URI subject alternative
//! name>` (a SPIFFE id, say). A subject with more than one common name has no `cn:`
//! identity.

use std::sync::Arc;

use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
use x509_parser::extensions::GeneralName;

/// The identities of the verified client certificate of the connection a request came on;
/// `None` without TLS or without a client certificate.
pub fn peer_identities(extensions: &http::Extensions) -> Option<Vec<String>> {
    let info = extensions.get::<TlsConnectInfo<TcpConnectInfo>>()?;
    let certs: Arc<Vec<_>> = info.peer_certs()?;
    // The end-entity certificate comes first; the rest is its chain.
    let leaf = certs.first()?;
    Some(identities(leaf.as_ref()))
}

/// The typed identities of a DER certificate (empty when it does not parse).
pub fn identities(der: &[u8]) -> Vec<String> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(der) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    // A subject with several common names is ambiguous (a CA that copies a request's subject
    // as it is could be made to add one): none of them counts.
    let cns: Vec<_> = cert.subject().iter_common_name().collect();
    if let [cn] = cns.as_slice() {
        if let Ok(cn) = cn.as_str() {
            out.push(format!("cn:{cn}"));
        }
    }
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => out.push(format!("dns:{}", d.to_ascii_lowercase())),
                GeneralName::URI(u) => out.push(format!("uri:{u}")),
                _ => {}
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// A binding name as an operator writes it, checked and normalised (DNS names in lower
/// case); the error says what is expected.
pub fn parse_binding(s: &str) -> Result<String, String> {
    let s = s.trim();
    let (kind, value) = s.split_once(':').unwrap_or(("", s));
    let value = value.trim();
    if value.is_empty() || value.chars().any(char::is_control) {
        return Err(format!(
            "{s:?}: expected cn:<common name>, dns:<DNS name> or uri:<URI> of the client \
             certificate"
        ));
    }
    match kind {
        "cn" | "uri" => Ok(format!("{kind}:{value}")),
        "dns" => Ok(format!("dns:{}", value.to_ascii_lowercase())),
        _ => Err(format!(
            "{s:?}: a client certificate is named cn:<common name>, dns:<DNS name> or \
             uri:<URI>"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_names_are_typed_and_normalised() {
        assert_eq!(
            parse_binding(" cn:acme-connector ").unwrap(),
            "cn:acme-connector"
        );
        assert_eq!(
            parse_binding("dns:CRM.Acme.example").unwrap(),
            "dns:crm.acme.example"
        );
        assert_eq!(
            parse_binding("uri:spiffe://acme/crm-sync").unwrap(),
            "uri:spiffe://acme/crm-sync"
        );
        for bad in ["acme-connector", "cn:", "email:a@b.c", "cn:a\nb", ""] {
            assert!(parse_binding(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn garbage_is_no_identity() {
        assert!(identities(b"not a certificate").is_empty());
    }
}
