//! Where the tenant of a request is decided: the one place to change when tenants are bound
//! to the caller's credentials.
//!
//! Today the tenant is the request's `tenant_id` field, or the `x-tenant-id` metadata header
//! when the field is empty; when both are set they must agree.

use leadledger_api::ApiError;
use leadledger_domain::{validate, Violations};
use tonic::metadata::MetadataMap;

/// The metadata header naming the tenant.
pub const HEADER: &str = "x-tenant-id";

/// Decides the tenant of a request.
pub fn resolve(metadata: &MetadataMap, requested: &str) -> Result<String, ApiError> {
    let header = metadata
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let tenant = match (requested, header) {
        ("", h) => h,
        (r, "") => r,
        (r, h) if r == h => r,
        _ => {
            return Err(ApiError::invalid_field(
                "tenant_id",
                format!("does not match the {HEADER} header"),
            ))
        }
    };
    let mut v = Violations::default();
    validate::tenant_id(&mut v, "tenant_id", tenant);
    if v.is_empty() {
        Ok(tenant.to_string())
    } else {
        Err(ApiError::invalid(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_or_header_must_agree() {
        let mut md = MetadataMap::new();
        assert!(resolve(&md, "").is_err());
        assert_eq!(resolve(&md, "acme").unwrap(), "acme");
        md.insert(HEADER, "acme".parse().unwrap());
        assert_eq!(resolve(&md, "").unwrap(), "acme");
        assert_eq!(resolve(&md, "acme").unwrap(), "acme");
        assert!(resolve(&md, "globex").is_err());
        assert!(resolve(&MetadataMap::new(), "bad tenant!").is_err());
    }
}
