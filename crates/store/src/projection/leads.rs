//! The `leads` rows of folded leads, upserted as column arrays.
//!
//! Why arrays: the rows used to travel as one JSON document read back with
//! `jsonb_populate_recordset`, and parsing that JSON on the server was the second costliest
//! statement of a projection batch (~42 ms per 1 000 leads, docs/BENCHMARKS.md). Column
//! arrays are bound in binary and read with `UNNEST`, like every other insert of the batch.
//!
//! Each column is named once, beside the function that gives its value, in one of the typed
//! tables below: a name and a value can never drift apart.

use chrono::{DateTime, Utc};
use leadledger_domain::event::PocOutcome;
use leadledger_domain::identity::matching::MatchKeys;
use leadledger_domain::{LeadState, Stage};
use leadledger_projection::LeadFeedback;

use crate::leads::LeadRow;
use crate::StoreError;

type Ts = Option<DateTime<Utc>>;
/// A column's name and how its value comes from the folded lead.
type Column<T> = (&'static str, fn(&LeadState) -> T);

/// `text NOT NULL` columns.
const TEXT: &[Column<String>] = &[
    ("owner_team", |s| s.owner.team.clone()),
    ("owner_queue", |s| s.owner.queue.clone()),
    ("owner_rep_id", |s| s.owner.rep_id.clone()),
    ("owner_partner_id", |s| s.owner.partner_id.clone()),
    ("email", |s| s.contact.email.clone()),
    ("phone", |s| s.contact.phone.clone()),
    ("contact_name", |s| s.contact.name.clone()),
    ("contact_title", |s| s.contact.title.clone()),
    ("company_name", |s| s.company.name.clone()),
    ("company_domain", |s| s.company.domain.to_lowercase()),
    ("region", |s| s.company.region.clone()),
    ("industry", |s| s.company.industry.clone()),
    ("segment", |s| s.company.segment.as_str().to_string()),
    ("account_id", |s| s.company.account_id.clone()),
    ("contact_role", |s| {
        s.contact_role
            .map(|r| r.as_str().to_string())
            .unwrap_or_default()
    }),
    ("channel", |s| s.source.channel.clone()),
    ("campaign", |s| s.source.campaign.clone()),
    ("medium", |s| s.source.medium.clone()),
    ("keyword", |s| s.source.keyword.clone()),
    ("utm_source", |s| s.source.utm_source.clone()),
    ("utm_medium", |s| s.source.utm_medium.clone()),
    ("utm_campaign", |s| s.source.utm_campaign.clone()),
    ("utm_term", |s| s.source.utm_term.clone()),
    ("utm_content", |s| s.source.utm_content.clone()),
    ("landing_page", |s| s.source.landing_page.clone()),
    ("referrer", |s| s.source.referrer.clone()),
    ("offline_activity_id", |s| {
        s.source.offline_activity_id.clone()
    }),
    ("signed_currency", |s| s.signed_currency.clone()),
    ("poc_outcome", |s| {
        match s.poc_outcome {
            None => "",
            Some(PocOutcome::Success) => "success",
            Some(PocOutcome::Failure) => "failure",
            Some(PocOutcome::Abandoned) => "abandoned",
        }
        .to_string()
    }),
];

/// `timestamptz` columns (NULL when the lead has no such moment).
const TIMES: &[Column<Ts>] = &[
    ("captured_at", |s| s.captured_at),
    // First entry into each main-line stage.
    ("mql_at", |s| s.entered(Stage::Mql)),
    ("sql_at", |s| s.entered(Stage::Sql)),
    ("poc_at", |s| s.entered(Stage::Poc)),
    ("signed_at", |s| s.entered(Stage::Signed)),
    ("first_follow_up_at", |s| s.first_follow_up_at),
    ("last_event_at", |s| s.last_event_at),
    ("owner_since", |s| s.owner_since),
    ("contact_erased_at", |s| s.contact_erased_at),
    ("contact_role_at", |s| s.contact_role_at),
    ("primary_since", |s| s.primary_since),
];

/// `integer` columns.
#[allow(clippy::type_complexity)] // one use; `Column` takes no feedback
const INTS: &[(&str, fn(&LeadState, &LeadFeedback) -> u32)] = &[
    ("employees", |s, _| s.company.employees),
    ("event_count", |s, _| s.event_count),
    ("unknown_event_count", |s, _| s.unknown_count),
    ("touch_count", |s, _| s.touch_count),
    ("follow_up_count", |s, _| s.follow_up_count),
    ("feedback_required", |_, f| f.required),
    ("feedback_filled", |_, f| f.filled),
];

/// The one-of-a-kind columns, bound after the tables above in this order.
const OTHERS: &[&str] = &[
    "stage",
    "max_rank",
    "signed_amount_minor",
    "collected_amount_minor",
    "primary_contact",
    "account_key",
];

/// The `leads` row of a folded lead, as the queries read it back (`ListLeads` at a cut of
/// the log), from the same column tables the upsert writes.
pub(crate) fn row_of(tenant: &str, lead: &str, st: &LeadState, f: &LeadFeedback) -> LeadRow {
    let text = |name: &str| {
        TEXT.iter()
            .find(|(c, _)| *c == name)
            .map(|(_, value)| value(st))
            .unwrap_or_default()
    };
    let time = |name: &str| {
        TIMES
            .iter()
            .find(|(c, _)| *c == name)
            .and_then(|(_, v)| v(st))
    };
    let int = |name: &str| {
        INTS.iter()
            .find(|(c, _)| *c == name)
            .map_or(0, |(_, v)| i32::try_from(v(st, f)).unwrap_or(i32::MAX))
    };
    LeadRow {
        tenant_id: tenant.to_string(),
        lead_id: lead.to_string(),
        stage: st.stage.map(|s| s.as_str().to_string()),
        owner_team: text("owner_team"),
        owner_queue: text("owner_queue"),
        owner_rep_id: text("owner_rep_id"),
        owner_partner_id: text("owner_partner_id"),
        email: text("email"),
        phone: text("phone"),
        contact_name: text("contact_name"),
        contact_title: text("contact_title"),
        contact_erased_at: time("contact_erased_at"),
        company_name: text("company_name"),
        company_domain: text("company_domain"),
        region: text("region"),
        industry: text("industry"),
        segment: text("segment"),
        account_id: text("account_id"),
        account_key: st.account(lead).text(),
        contact_role: text("contact_role"),
        contact_role_at: time("contact_role_at"),
        primary_contact: st.primary_contact,
        primary_since: time("primary_since"),
        employees: int("employees"),
        channel: text("channel"),
        campaign: text("campaign"),
        medium: text("medium"),
        keyword: text("keyword"),
        utm_source: text("utm_source"),
        utm_medium: text("utm_medium"),
        utm_campaign: text("utm_campaign"),
        utm_term: text("utm_term"),
        utm_content: text("utm_content"),
        landing_page: text("landing_page"),
        referrer: text("referrer"),
        offline_activity_id: text("offline_activity_id"),
        captured_at: time("captured_at"),
        max_rank: i16::from(st.max_rank),
        signed_amount_minor: st.signed_amount_minor,
        signed_currency: text("signed_currency"),
        collected_amount_minor: st.collected_minor(),
        event_count: int("event_count"),
        last_event_at: time("last_event_at"),
        feedback_required: int("feedback_required"),
        feedback_filled: int("feedback_filled"),
    }
}

/// `leads` rows as column arrays, in the order [`LeadRows::upsert`] binds them.
#[derive(Debug)]
pub struct LeadRows {
    tenant: Vec<String>,
    lead: Vec<String>,
    text: Vec<Vec<String>>,
    times: Vec<Vec<Ts>>,
    ints: Vec<Vec<i32>>,
    stage: Vec<Option<&'static str>>,
    max_rank: Vec<i16>,
    amount: Vec<i64>,
    collected: Vec<i64>,
    primary: Vec<bool>,
    account: Vec<String>,
}

impl Default for LeadRows {
    fn default() -> Self {
        Self::with_capacity(0)
    }
}

impl LeadRows {
    pub fn with_capacity(n: usize) -> Self {
        LeadRows {
            tenant: Vec::with_capacity(n),
            lead: Vec::with_capacity(n),
            text: (0..TEXT.len()).map(|_| Vec::with_capacity(n)).collect(),
            times: (0..TIMES.len()).map(|_| Vec::with_capacity(n)).collect(),
            ints: (0..INTS.len()).map(|_| Vec::with_capacity(n)).collect(),
            stage: Vec::with_capacity(n),
            max_rank: Vec::with_capacity(n),
            amount: Vec::with_capacity(n),
            collected: Vec::with_capacity(n),
            primary: Vec::with_capacity(n),
            account: Vec::with_capacity(n),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.lead.is_empty()
    }

    /// Adds the row of a folded lead.
    pub fn push(&mut self, tenant: &str, lead: &str, st: &LeadState, feedback: &LeadFeedback) {
        self.tenant.push(tenant.to_string());
        self.lead.push(lead.to_string());
        for (col, (_, value)) in self.text.iter_mut().zip(TEXT) {
            col.push(value(st));
        }
        for (col, (_, value)) in self.times.iter_mut().zip(TIMES) {
            col.push(value(st));
        }
        for (col, (_, value)) in self.ints.iter_mut().zip(INTS) {
            // Counters and head counts; a value past i32 is clamped, not a failed batch.
            col.push(i32::try_from(value(st, feedback)).unwrap_or(i32::MAX));
        }
        self.stage.push(st.stage.map(|s| s.as_str()));
        self.max_rank.push(i16::from(st.max_rank));
        self.amount.push(st.signed_amount_minor);
        self.collected.push(st.collected_minor());
        self.primary.push(st.primary_contact);
        self.account.push(st.account(lead).text());
    }

    /// Inserts the rows, or replaces every column of the rows already there.
    pub async fn upsert(self, conn: &mut sqlx::PgConnection) -> Result<(), StoreError> {
        if self.is_empty() {
            return Ok(());
        }
        let mut q = sqlx::query(upsert_sql()).bind(self.tenant).bind(self.lead);
        for col in self.text {
            q = q.bind(col);
        }
        for col in self.times {
            q = q.bind(col);
        }
        for col in self.ints {
            q = q.bind(col);
        }
        q.bind(self.stage)
            .bind(self.max_rank)
            .bind(self.amount)
            .bind(self.collected)
            .bind(self.primary)
            .bind(self.account)
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// `INSERT INTO leads (…) SELECT * FROM UNNEST($1::text[], …) ON CONFLICT … DO UPDATE`,
/// with the columns and casts in the order [`LeadRows::upsert`] binds them.
fn upsert_sql() -> &'static str {
    // Dynamic SQL: built from the column lists, with one UNNEST parameter per column.
    static SQL: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    SQL.get_or_init(|| {
        let typed = ["tenant_id", "lead_id"]
            .into_iter()
            .chain(TEXT.iter().map(|(c, _)| *c))
            .map(|c| (c, "text"))
            .chain(TIMES.iter().map(|(c, _)| (*c, "timestamptz")))
            .chain(INTS.iter().map(|(c, _)| (*c, "int4")))
            .chain(
                OTHERS
                    .iter()
                    .copied()
                    .zip(["text", "int2", "int8", "int8", "bool", "text"]),
            );
        let (cols, params): (Vec<&str>, Vec<String>) = typed
            .enumerate()
            .map(|(i, (c, ty))| (c, format!("${}::{ty}[]", i + 1)))
            .unzip();
        let set: Vec<String> = cols[2..]
            .iter()
            .map(|c| format!("{c} = EXCLUDED.{c}"))
            .collect();
        format!(
            "INSERT INTO leads ({}) SELECT * FROM UNNEST({}) \
             ON CONFLICT (tenant_id, lead_id) DO UPDATE SET {}",
            cols.join(", "),
            params.join(", "),
            set.join(", ")
        )
    })
}

/// Every column of `leads` but the key, as the upsert writes them (for tests that check the
/// table and the upsert agree).
#[cfg(feature = "testing")]
pub fn written_columns() -> Vec<&'static str> {
    TEXT.iter()
        .map(|(c, _)| *c)
        .chain(TIMES.iter().map(|(c, _)| *c))
        .chain(INTS.iter().map(|(c, _)| *c))
        .chain(OTHERS.iter().copied())
        .collect()
}

const UPSERT_MATCH_KEYS: &str = include_str!("sql/upsert_match_keys.sql");
const DELETE_MATCH_KEYS: &str = include_str!("sql/delete_match_keys.sql");

/// The duplicate keys of leads whose contact may have changed (`lead_match_keys`), as column
/// arrays: written apart from `leads` so that the facts that change no contact (nearly all)
/// neither normalise it again nor touch the keys' indexes.
#[derive(Debug, Default)]
pub struct MatchKeyRows {
    tenant: Vec<String>,
    lead: Vec<String>,
    email: Vec<String>,
    phone: Vec<String>,
    name: Vec<String>,
    /// Leads left without a key (an erased contact): their rows are deleted.
    gone: (Vec<String>, Vec<String>),
}

impl MatchKeyRows {
    /// Adds a lead's keys (all empty: its row is deleted).
    pub fn push(&mut self, tenant: &str, lead: &str, st: &LeadState) {
        let c = &st.contact;
        let k = MatchKeys::of(&c.email, &c.phone, &c.name, &st.company.domain);
        if k == MatchKeys::default() {
            self.gone.0.push(tenant.to_string());
            self.gone.1.push(lead.to_string());
            return;
        }
        self.tenant.push(tenant.to_string());
        self.lead.push(lead.to_string());
        self.email.push(k.email);
        self.phone.push(k.phone);
        self.name.push(k.name_company);
    }

    /// Writes the keys: one statement, two when a lead lost its keys.
    pub async fn write(self, conn: &mut sqlx::PgConnection) -> Result<(), StoreError> {
        if !self.gone.1.is_empty() {
            let (t, l): (Vec<&str>, Vec<&str>) = self
                .gone
                .0
                .iter()
                .zip(&self.gone.1)
                .map(|(t, l)| (t.as_str(), l.as_str()))
                .unzip();
            delete_match_keys(&mut *conn, &t, &l).await?;
        }
        if self.lead.is_empty() {
            return Ok(());
        }
        sqlx::query(UPSERT_MATCH_KEYS)
            .bind(self.tenant)
            .bind(self.lead)
            .bind(self.email)
            .bind(self.phone)
            .bind(self.name)
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// Deletes the duplicate keys of `(tenants[i], leads[i])` (leads removed, or left without a key).
pub async fn delete_match_keys(
    conn: &mut sqlx::PgConnection,
    tenants: &[&str],
    leads: &[&str],
) -> Result<(), StoreError> {
    sqlx::query(DELETE_MATCH_KEYS)
        .bind(tenants)
        .bind(leads)
        .execute(conn)
        .await?;
    Ok(())
}
