//! TLS on the hops leadledger owns (issue 15): the gRPC server over TLS (rustls), with and
//! without client certificates, a client certificate bound to a tenant as the credential, and PostgreSQL over TLS (`sslmode=verify-full`) against a
//! private cluster started with a certificate of a test CA. Certificates are made with the
//! `openssl` command for each run.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use leadledger_api::pb::{self, query_service_client::QueryServiceClient};
use leadledger_e2e::process::{postgres_user, test_dir, Postgres};
use leadledger_e2e::{fresh_database, unique};
use leadledger_grpc::auth::{key, Gate, GateConfig, KeyRing};
use leadledger_grpc::context::ReadContext;
use leadledger_grpc::server::{serve, Services};
use leadledger_store::Store;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity, ServerTlsConfig};

/// A CA, a server certificate for `localhost` / `127.0.0.1` and client certificates, in
/// `dir`: `ca.pem`, `server.pem`/`server.key`, `client.pem`/`client.key` (CN
/// acme-connector), `partner.*` (CN partner-box, a URI and a DNS name), `stranger.*` (CN
/// nobody).
fn make_certs(dir: &Path) -> anyhow::Result<()> {
    let openssl = |args: &[&str]| -> anyhow::Result<()> {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()?;
        anyhow::ensure!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Ok(())
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let mut ca = vec![
        "req",
        "-x509",
        "-days",
        "2",
        "-subj",
        "/CN=leadledger test CA",
    ];
    ca.extend(ec);
    ca.extend(["-keyout", "ca.key", "-out", "ca.pem"]);
    openssl(&ca)?;
    for (name, cn, ext) in [
        (
            "server",
            "localhost",
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        ),
        ("client", "acme-connector", "extendedKeyUsage=clientAuth\n"),
        (
            "partner",
            "partner-box",
            "subjectAltName=URI:spiffe://partner.example/crm-sync,DNS:CRM.Partner.example\nextendedKeyUsage=clientAuth\n",
        ),
        ("stranger", "nobody", "extendedKeyUsage=clientAuth\n"),
    ] {
        std::fs::write(
            dir.join(format!("{name}.ext")),
            format!("basicConstraints=CA:FALSE\n{ext}"),
        )?;
        let subj = format!("/CN={cn}");
        let (key, csr) = (format!("{name}.key"), format!("{name}.csr"));
        let mut req = vec!["req", "-subj", subj.as_str()];
        req.extend(ec);
        req.extend(["-keyout", key.as_str(), "-out", csr.as_str()]);
        openssl(&req)?;
        let (pem, extfile) = (format!("{name}.pem"), format!("{name}.ext"));
        openssl(&[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-out",
            &pem,
            "-extfile",
            &extfile,
        ])?;
    }
    Ok(())
}

fn certs_dir(tag: &str) -> anyhow::Result<PathBuf> {
    let root = std::env::temp_dir().join("leadledger-tls");
    let dir = test_dir(&root.display().to_string(), &format!("{tag}-{}", unique()))?;
    make_certs(&dir)?;
    Ok(dir)
}

fn read(dir: &Path, f: &str) -> anyhow::Result<Vec<u8>> {
    Ok(std::fs::read(dir.join(f))?)
}

/// A query server over TLS (`client_ca`: mutual TLS) on a fresh database; returns its port,
/// its stop token and the database URL.
async fn tls_server(
    dir: &Path,
    client_ca: bool,
) -> anyhow::Result<(u16, CancellationToken, String)> {
    let (port, stop, url, _) = tls_server_gated(dir, client_ca, false).await?;
    Ok((port, stop, url))
}

/// [`tls_server`], with the authentication gate when `gated` (its key ring is returned, to
/// reload after a revocation).
async fn tls_server_gated(
    dir: &Path,
    client_ca: bool,
    gated: bool,
) -> anyhow::Result<(u16, CancellationToken, String, Option<KeyRing>)> {
    let (url, store) = fresh_database("tls").await?;
    let ring = if gated {
        store.migrate().await?;
        Some(KeyRing::load(store.clone(), Duration::from_secs(3600)).await?)
    } else {
        None
    };
    let mut tls = ServerTlsConfig::new().identity(Identity::from_pem(
        read(dir, "server.pem")?,
        read(dir, "server.key")?,
    ));
    if client_ca {
        tls = tls.client_ca_root(Certificate::from_pem(read(dir, "ca.pem")?));
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    let services = Services {
        query: Some(ReadContext::new(store, "tls.events")),
        tls: Some(tls),
        auth: ring.clone().map(|r| Gate::new(r, GateConfig::default())),
        ..Default::default()
    };
    let stop = CancellationToken::new();
    let s = stop.clone();
    tokio::spawn(async move { serve(listener, services, s.cancelled_owned()).await });
    Ok((port, stop, url, ring))
}

async fn funnel(channel: Channel) -> Result<pb::FunnelResponse, tonic::Status> {
    funnel_of(channel, "acme", None).await
}

/// `Funnel` naming `tenant` (empty: none), with `key` as the bearer when given.
async fn funnel_of(
    channel: Channel,
    tenant: &str,
    key: Option<&str>,
) -> Result<pb::FunnelResponse, tonic::Status> {
    let mut request = tonic::Request::new(pb::FunnelRequest {
        tenant_id: tenant.into(),
        ..Default::default()
    });
    if let Some(key) = key {
        request.metadata_mut().insert(
            "authorization",
            format!("Bearer {key}").parse().expect("ascii key"),
        );
    }
    QueryServiceClient::new(channel)
        .funnel(request)
        .await
        .map(tonic::Response::into_inner)
}

async fn tls_channel(port: u16, tls: ClientTlsConfig) -> anyhow::Result<Channel> {
    Ok(Channel::from_shared(format!("https://127.0.0.1:{port}"))?
        .tls_config(tls.domain_name("localhost"))?
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_is_served_over_tls_and_plaintext_is_refused() -> anyhow::Result<()> {
    let dir = certs_dir("grpc")?;
    let (port, stop, url) = tls_server(&dir, false).await?;
    let ca = Certificate::from_pem(read(&dir, "ca.pem")?);
    let ch = tls_channel(port, ClientTlsConfig::new().ca_certificate(ca)).await?;
    funnel(ch).await?;
    // Plaintext gRPC to the TLS port fails.
    let plain = Channel::from_shared(format!("http://127.0.0.1:{port}"))?
        .connect()
        .await;
    if let Ok(ch) = plain {
        assert!(
            funnel(ch).await.is_err(),
            "plaintext answered on a TLS port"
        );
    }
    // A client that does not trust the CA cannot connect.
    let other = certs_dir("other")?;
    let stranger = Certificate::from_pem(read(&other, "ca.pem")?);
    let r = tls_channel(port, ClientTlsConfig::new().ca_certificate(stranger)).await;
    assert!(r.is_err(), "a client trusting another CA connected");
    stop.cancel();
    Store::drop_database(&url).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mutual_tls_needs_a_client_certificate_of_the_ca() -> anyhow::Result<()> {
    let dir = certs_dir("mtls")?;
    let (port, stop, url) = tls_server(&dir, true).await?;
    let ca = || -> anyhow::Result<Certificate> { Ok(Certificate::from_pem(read(&dir, "ca.pem")?)) };
    // Without a client certificate: the handshake or the first call fails.
    let without = tls_channel(port, ClientTlsConfig::new().ca_certificate(ca()?)).await;
    if let Ok(ch) = without {
        assert!(
            funnel(ch).await.is_err(),
            "served a client without a certificate"
        );
    }
    let identity = Identity::from_pem(read(&dir, "client.pem")?, read(&dir, "client.key")?);
    let with = tls_channel(
        port,
        ClientTlsConfig::new()
            .ca_certificate(ca()?)
            .identity(identity),
    )
    .await?;
    funnel(with).await?;
    stop.cancel();
    Store::drop_database(&url).await?;
    Ok(())
}

/// Stores a credential of `tenant` with `scopes`: a bearer key (returned) when `cert` is
/// empty, else a binding of that certificate identity (its id returned).
async fn credential(
    url: &str,
    tenant: &str,
    scopes: &[&str],
    cert: &str,
) -> anyhow::Result<String> {
    let store = Store::connect(url, 1).await?;
    let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
    let made = key::issue(
        &store,
        &key::Grant {
            tenant_id: tenant,
            name: "tls test",
            scopes: &scopes,
            expires_at: None,
            client_cert: cert,
        },
    )
    .await?;
    store.pool.close().await;
    Ok(if cert.is_empty() {
        made.key
    } else {
        made.key_id
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_certificate_bound_to_a_tenant_is_its_credential() -> anyhow::Result<()> {
    let dir = certs_dir("bound")?;
    let (port, stop, url, ring) = tls_server_gated(&dir, true, true).await?;
    let ring = ring.expect("gated");
    let ca = || -> anyhow::Result<Certificate> { Ok(Certificate::from_pem(read(&dir, "ca.pem")?)) };
    let as_client = |name: &str| -> anyhow::Result<ClientTlsConfig> {
        Ok(ClientTlsConfig::new()
            .ca_certificate(ca()?)
            .identity(Identity::from_pem(
                read(&dir, &format!("{name}.pem"))?,
                read(&dir, &format!("{name}.key"))?,
            )))
    };
    let acme = credential(&url, "acme", &["query"], "cn:acme-connector").await?;
    // Bound by a subject alternative name, written in another case than the certificate's.
    credential(&url, "beta", &["query"], "dns:crm.partner.example").await?;
    let beta_key = credential(&url, "beta", &["query"], "").await?;
    ring.reload().await?;

    // The certificate alone authenticates, as its tenant.
    let ch = tls_channel(port, as_client("client")?).await?;
    funnel_of(ch.clone(), "", None).await?;
    funnel_of(ch.clone(), "acme", None).await?;
    let other = funnel_of(ch.clone(), "beta", None)
        .await
        .expect_err("acme's cert named beta");
    assert_eq!(other.code(), tonic::Code::PermissionDenied, "{other:?}");
    // A key of another tenant on acme's connection: the two would speak for two tenants.
    let mixed = funnel_of(ch.clone(), "", Some(&beta_key))
        .await
        .expect_err("two tenants");
    assert_eq!(mixed.code(), tonic::Code::PermissionDenied, "{mixed:?}");
    assert!(mixed.message().contains("another tenant"), "{mixed:?}");

    let partner = tls_channel(port, as_client("partner")?).await?;
    funnel_of(partner.clone(), "beta", None).await?;
    funnel_of(partner, "", Some(&beta_key)).await?;

    // A certificate of the CA that no binding names is no credential without a key.
    let stranger = tls_channel(port, as_client("stranger")?).await?;
    let unbound = funnel_of(stranger.clone(), "", None)
        .await
        .expect_err("unbound");
    assert_eq!(unbound.code(), tonic::Code::Unauthenticated, "{unbound:?}");
    assert!(unbound.message().contains("cn:nobody"), "{unbound:?}");
    funnel_of(stranger, "", Some(&beta_key)).await?;

    // A binding's id is no bearer key (its secret was never shown, and it is refused by kind).
    let acme_id = &acme;
    let as_key = format!("llk_{acme_id}_{}", "0".repeat(64));
    let plain = tls_channel(port, as_client("stranger")?).await?;
    let e = funnel_of(plain.clone(), "", Some(&as_key))
        .await
        .expect_err("a binding id as a key");
    assert_eq!(e.code(), tonic::Code::Unauthenticated, "{e:?}");

    // A binding's scopes hold: `cn:nobody` may ingest, not query.
    credential(&url, "acme", &["ingest"], "cn:nobody").await?;
    // The partner's certificate is now matched by a second live binding (its URI): it would
    // name two tenants, so it names none.
    credential(
        &url,
        "gamma",
        &["query"],
        "uri:spiffe://partner.example/crm-sync",
    )
    .await?;
    ring.reload().await?;
    let scoped = funnel_of(plain, "", None)
        .await
        .expect_err("ingest-only binding");
    assert_eq!(scoped.code(), tonic::Code::PermissionDenied, "{scoped:?}");
    assert!(scoped.message().contains("`query` scope"), "{scoped:?}");
    let partner = tls_channel(port, as_client("partner")?).await?;
    let two = funnel_of(partner, "", None)
        .await
        .expect_err("two bindings");
    assert_eq!(two.code(), tonic::Code::Unauthenticated, "{two:?}");
    assert!(two.message().contains("matches 2 bindings"), "{two:?}");

    // Revoked: refused (after the ring's reload, every `auth.refresh_ms` in a server).
    let store = Store::connect(&url, 1).await?;
    assert!(leadledger_store::keys::revoke(&store.pool, &acme).await?);
    store.pool.close().await;
    ring.reload().await?;
    let revoked = funnel_of(ch, "", None).await.expect_err("revoked");
    assert_eq!(revoked.code(), tonic::Code::Unauthenticated, "{revoked:?}");
    assert!(revoked.message().contains("revoked"), "{revoked:?}");
    stop.cancel();
    Store::drop_database(&url).await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_store_reaches_postgres_over_verified_tls() -> anyhow::Result<()> {
    let dir = certs_dir("pg")?;
    // The server's key must belong to the user PostgreSQL runs as, readable by it alone.
    let (key, cert) = (dir.join("server.key"), dir.join("server.pem"));
    if let Some((uid, gid)) = postgres_user()? {
        for f in [&key, &cert, &dir] {
            std::os::unix::fs::chown(f, Some(uid), Some(gid))?;
        }
    }
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600))?;
    let mut pg = Postgres::start_with(
        &dir,
        &[
            "ssl=on".into(),
            format!("ssl_cert_file={}", cert.display()),
            format!("ssl_key_file={}", key.display()),
        ],
    )
    .await?;
    let ssl_of = |store: Store| async move {
        let on: bool =
            sqlx::query_scalar("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .fetch_one(&store.pool)
                .await?;
        store.pool.close().await;
        anyhow::Ok(on)
    };
    let base = pg.url("postgres");
    let ca = dir.join("ca.pem");
    let verified = format!("{base}?sslmode=verify-full&sslrootcert={}", ca.display());
    assert!(
        ssl_of(Store::connect(&verified, 1).await?).await?,
        "verify-full without TLS"
    );
    let required = format!("{base}?sslmode=require");
    assert!(
        ssl_of(Store::connect(&required, 1).await?).await?,
        "require without TLS"
    );
    let off = format!("{base}?sslmode=disable");
    assert!(
        !ssl_of(Store::connect(&off, 1).await?).await?,
        "the check cannot tell"
    );
    // Verification is real: another CA is refused.
    let other = certs_dir("pg-other")?;
    let wrong = format!(
        "{base}?sslmode=verify-full&sslrootcert={}",
        other.join("ca.pem").display()
    );
    assert!(
        Store::connect(&wrong, 1).await.is_err(),
        "verified against the wrong CA"
    );
    pg.kill9_server()?;
    Ok(())
}
