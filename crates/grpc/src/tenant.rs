//! Where the tenant of a request is decided.
//!
//! With authentication on (the default), the tenant is the caller's key's: a request whose
//! `tenant_id` field or `x-tenant-id` header names another tenant is refused with
//! PERMISSION_DENIED before anything is read or appended. Both may be left empty.
//!
//! With `auth.mode = none` (a laptop), there is no key: the tenant is the `tenant_id` field,
//! or the `x-tenant-id` header when the field is empty; when both are set they must agree.

use leadledger_api::ApiError;
use leadledger_domain::{validate, Violations};
use tonic::metadata::MetadataMap;
use tonic::Request;

use crate::auth::Caller;

/// The metadata header naming the tenant.
pub const HEADER: &str = "x-tenant-id";

/// Decides the tenant of a request from its caller (if authenticated), metadata and field.
pub fn resolve<T>(request: &Request<T>, requested: &str) -> Result<String, ApiError> {
    resolve_parts(
        request.extensions().get::<Caller>(),
        request.metadata(),
        requested,
    )
}

/// [`resolve`] from a request's parts (a stream keeps them after taking its body).
pub fn resolve_parts(
    caller: Option<&Caller>,
    metadata: &MetadataMap,
    requested: &str,
) -> Result<String, ApiError> {
    let header = metadata
        .get(HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if let Some(caller) = caller {
        for (what, named) in [("tenant_id", requested), (HEADER, header)] {
            check_named(caller, what, named)?;
        }
        return Ok(caller.tenant.clone());
    }
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

/// Refuses a request (or an event inside it, `what` naming where) that names a tenant other
/// than its caller's; an empty name is the caller's tenant.
pub fn check_named(caller: &Caller, what: &str, named: &str) -> Result<(), ApiError> {
    if named.is_empty() || named == caller.tenant {
        Ok(())
    } else {
        Err(ApiError::PermissionDenied(format!(
            "{what} names tenant {named:?}, but API key llk_{} belongs to tenant {:?}; \
             nothing was done",
            caller.key_id, caller.tenant
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Scope;

    #[test]
    fn without_a_key_field_or_header_must_agree() {
        let mut md = MetadataMap::new();
        assert!(resolve_parts(None, &md, "").is_err());
        assert_eq!(resolve_parts(None, &md, "acme").unwrap(), "acme");
        md.insert(HEADER, "acme".parse().unwrap());
        assert_eq!(resolve_parts(None, &md, "").unwrap(), "acme");
        assert_eq!(resolve_parts(None, &md, "acme").unwrap(), "acme");
        assert!(resolve_parts(None, &md, "globex").is_err());
        assert!(resolve_parts(None, &MetadataMap::new(), "bad tenant!").is_err());
    }

    #[test]
    fn with_a_key_the_tenant_is_the_keys() {
        let caller = Caller {
            tenant: "acme".into(),
            scopes: vec![Scope::Query],
            key_id: "0123456789ab".into(),
        };
        let mut md = MetadataMap::new();
        assert_eq!(resolve_parts(Some(&caller), &md, "").unwrap(), "acme");
        assert_eq!(resolve_parts(Some(&caller), &md, "acme").unwrap(), "acme");
        let e = resolve_parts(Some(&caller), &md, "globex").unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied);
        md.insert(HEADER, "globex".parse().unwrap());
        let e = resolve_parts(Some(&caller), &md, "").unwrap_err();
        assert_eq!(e.code(), tonic::Code::PermissionDenied);
        assert!(e.to_string().contains(HEADER), "{e}");
    }
}
