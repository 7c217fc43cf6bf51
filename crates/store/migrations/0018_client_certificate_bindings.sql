-- A credential may be a client certificate instead of a bearer key (mutual TLS): the
-- identity of the certificate it is bound to, `cn:<subject common name>`,
-- `dns:<DNS subject alternative name>` or `uri:<URI subject alternative name>`
-- (docs/SECURITY.md). Empty for a bearer key. Such a row's secret hash is of a secret never
-- shown to anyone, so it cannot be used as a bearer key either. Online: a constant default.
ALTER TABLE api_keys ADD COLUMN client_cert text NOT NULL DEFAULT '';

-- One live binding per certificate identity: a certificate must name one tenant.
CREATE UNIQUE INDEX api_keys_live_client_cert ON api_keys (client_cert)
    WHERE client_cert <> '' AND revoked_at IS NULL;
