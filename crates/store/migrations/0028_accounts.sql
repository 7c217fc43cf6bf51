-- Accounts and buying committees (issue 18 item 4, docs/IDENTITY.md "Accounts and buying
-- committees"): each lead's account and its contact's role, written by the projector from
-- the folded lead (`leadledger_domain::account`).
--
-- `account_id` is the source system's (`Company.account_id`); `account_key` the account the
-- lead is in: `account:<id>` for an explicit id, else `domain:<d>` for its employer's domain,
-- else `lead:<id>` (an account on its own: free mail, no domain), as attribution names them
-- (`attribution_accounts.account_key`). `primary_contact` is what the lead's latest
-- `ContactRoleAssigned` says; `primary_since` when it was last made primary.
ALTER TABLE leads
    ADD COLUMN account_id      text        NOT NULL DEFAULT '',
    ADD COLUMN account_key     text        NOT NULL DEFAULT '',
    ADD COLUMN contact_role    text        NOT NULL DEFAULT '',
    ADD COLUMN contact_role_at timestamptz,
    ADD COLUMN primary_contact boolean     NOT NULL DEFAULT false,
    ADD COLUMN primary_since   timestamptz;

-- Leads projected before this migration: the credits worker has already computed their
-- accounts with the same rules (`attribution_accounts`); no lead had an explicit account id
-- or a role then. A lead the worker had not reached is `lead:<id>` until its next fact, or
-- `leadledger rebuild`. Every row is rewritten once (before the index exists, so only the
-- table's other indexes take the new versions).
UPDATE leads l SET account_key = coalesce(
    (SELECT a.account_key FROM attribution_accounts a
     WHERE a.tenant_id = l.tenant_id AND a.lead_id = l.lead_id),
    'lead:' || l.lead_id);

-- An account's leads (`QueryService.GetAccount`, `bi.account_contacts`).
CREATE INDEX leads_by_account ON leads (tenant_id, account_key, lead_id);
