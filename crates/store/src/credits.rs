//! The credits projection: precomputed attribution credits (`migrations/0002_attribution.sql`).
//!
//! The core projector queues every lead whose timeline changed in `attribution_dirty`,
//! inside its own transaction. [`step`] drains that queue in REPEATABLE READ transactions:
//! one snapshot gives the core checkpoints, the queued leads and their timelines, so when a
//! step empties the queue its credits reflect exactly the log up to those checkpoints, which
//! it then stores as the `attribution` projection's checkpoints (the consistency-token
//! position of attribution queries). A lead's change also changes the account-level credits
//! of its colleagues, so a step recomputes every lead of the accounts it touches, compares
//! with the stored rows and writes only what changed, with the totals moved by
//! "new − old".
//!
//! One worker at a time: the caller holds [`LOCK_KEY`] as a session advisory lock on the
//! connection it passes in (see `leadledger_workers::credits`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use leadledger_attribution::account::{self, AccountKey};
use leadledger_attribution::precompute::{
    lead_credits, ConversionRow, CreditRow, LeadCredits, ModelSet, Totals, LEVELS,
};
use leadledger_attribution::{journey, ConversionKind, Journey};
use leadledger_domain::Event;
use sqlx::{Acquire, PgConnection, Postgres, Transaction};

use crate::checkpoints::{self, CORE};
use crate::StoreError;

/// The projection name of the credits in `projector_checkpoints`.
pub const PROJECTION: &str = "attribution";

/// Notified at the commit of a step that moved the credits' checkpoints.
pub const NOTIFY_CHANNEL: &str = "leadledger_attributed";

/// The session advisory lock that elects the one credits worker.
pub const LOCK_KEY: i64 = 0x6c6c_6174_7472;

/// What a step did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepOutcome {
    /// Distinct leads taken from the queue.
    pub queued: usize,
    /// Leads recomputed (the queued ones and their account colleagues).
    pub recomputed: usize,
    /// Leads whose stored credits changed.
    pub changed: usize,
    /// The queue was empty after this step and the checkpoints were brought level.
    pub caught_up: bool,
}

/// Makes sure the stored credits were computed with `set`; if not (first start, changed
/// configuration), clears them and queues every lead. Returns whether it did.
pub async fn ensure_model_set(conn: &mut PgConnection, set: &ModelSet) -> Result<bool, StoreError> {
    let stored: Option<String> =
        sqlx::query_scalar("SELECT fingerprint FROM attribution_state WHERE singleton")
            .fetch_optional(&mut *conn)
            .await?;
    if stored.as_deref() == Some(set.fingerprint().as_str()) {
        return Ok(false);
    }
    rebuild(conn, set).await?;
    Ok(true)
}

/// Clears every credit and queues every lead: the next steps re-project all credits from
/// the timelines (which are themselves the log's).
pub async fn rebuild(conn: &mut PgConnection, set: &ModelSet) -> Result<(), StoreError> {
    let mut tx = conn.begin().await?;
    sqlx::query(
        "TRUNCATE attribution_conversions, attribution_credits, attribution_totals, \
         attribution_period_totals, attribution_accounts, attribution_dirty",
    )
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM projector_checkpoints WHERE projection = $1")
        .bind(PROJECTION)
        .execute(&mut *tx)
        .await?;
    let names: Vec<&str> = set.models.iter().map(|(n, _)| n.as_str()).collect();
    sqlx::query(
        "INSERT INTO attribution_state (singleton, fingerprint, models) VALUES (true, $1, $2) \
         ON CONFLICT (singleton) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, \
         models = EXCLUDED.models",
    )
    .bind(set.fingerprint())
    .bind(&names)
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "INSERT INTO attribution_dirty (tenant_id, lead_id) \
         SELECT tenant_id, lead_id FROM leads ORDER BY tenant_id, lead_id",
    )
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Asks the running worker to re-project every credit: it finds no stored model set and
/// rebuilds as on a configuration change.
pub async fn request_rebuild(conn: &mut PgConnection) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM attribution_state")
        .execute(conn)
        .await?;
    Ok(())
}

/// Whether the credits are level with the core projection on `topic`: a model set is
/// stored, nothing is queued and the checkpoints agree.
pub async fn level(conn: &mut PgConnection, topic: &str) -> Result<bool, StoreError> {
    let state: Option<String> =
        sqlx::query_scalar("SELECT fingerprint FROM attribution_state WHERE singleton")
            .fetch_optional(&mut *conn)
            .await?;
    if state.is_none() || queued(&mut *conn).await? > 0 {
        return Ok(false);
    }
    let core = checkpoints::load(&mut *conn, CORE, topic).await?;
    let mine = checkpoints::load(&mut *conn, PROJECTION, topic).await?;
    Ok(core == mine)
}

/// Leads still queued (0 when the credits are level with the core projection).
pub async fn queued(conn: &mut PgConnection) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar("SELECT count(*) FROM attribution_dirty")
        .fetch_one(conn)
        .await?)
}

/// Takes up to `limit` queued rows, recomputes their leads and colleagues, and, when the
/// queue is empty afterwards, moves the credits' checkpoints on `topic` to the core ones.
pub async fn step(
    conn: &mut PgConnection,
    set: &ModelSet,
    topic: &str,
    limit: i64,
) -> Result<StepOutcome, StoreError> {
    step_into(conn, set, topic, limit, None).await
}

/// Totals per tenant, gathered in memory by a bulk rebuild ([`step_into`]).
pub type BulkTotals = BTreeMap<String, Totals>;

/// [`step`], except that with `bulk` the totals' changes are added there instead of being
/// written, and the checkpoints are left alone: a rebuild writes every total once at the
/// end ([`write_bulk_totals`]) instead of upserting the same cells batch after batch.
pub async fn step_into(
    conn: &mut PgConnection,
    set: &ModelSet,
    topic: &str,
    limit: i64,
    mut bulk: Option<&mut BulkTotals>,
) -> Result<StepOutcome, StoreError> {
    let mut tx = conn.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        .execute(&mut *tx)
        .await?;
    // As for the core projection: a lost tail transaction is recomputed from the queue.
    sqlx::query("SET LOCAL synchronous_commit = off")
        .execute(&mut *tx)
        .await?;
    let core = checkpoints::load(&mut *tx, CORE, topic).await?;
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, tenant_id, lead_id FROM attribution_dirty ORDER BY id LIMIT $1")
            .bind(limit)
            .fetch_all(&mut *tx)
            .await?;
    let mut out = StepOutcome {
        caught_up: (rows.len() as i64) < limit,
        ..Default::default()
    };
    if !rows.is_empty() {
        let dirty: BTreeSet<(String, String)> = rows
            .iter()
            .map(|(_, t, l)| (t.clone(), l.clone()))
            .collect();
        out.queued = dirty.len();
        (out.recomputed, out.changed) =
            recompute(&mut tx, set, &dirty, bulk.as_deref_mut()).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
        sqlx::query("DELETE FROM attribution_dirty WHERE id = ANY($1)")
            .bind(&ids)
            .execute(&mut *tx)
            .await?;
    }
    if out.caught_up && bulk.is_none() {
        let mine = checkpoints::load(&mut *tx, PROJECTION, topic).await?;
        if mine != core && !core.is_empty() {
            let (parts, offs): (Vec<i32>, Vec<i64>) = core.iter().map(|(p, o)| (*p, *o)).unzip();
            sqlx::query(
                "INSERT INTO projector_checkpoints (projection, topic, partition, next_offset) \
                 SELECT $1, $2, p, o FROM UNNEST($3::int4[], $4::int8[]) AS c(p, o) \
                 ON CONFLICT (projection, topic, partition) \
                 DO UPDATE SET next_offset = EXCLUDED.next_offset",
            )
            .bind(PROJECTION)
            .bind(topic)
            .bind(&parts)
            .bind(&offs)
            .execute(&mut *tx)
            .await?;
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(NOTIFY_CHANNEL)
                .bind(topic)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(out)
}

type LeadKey = (String, String);

fn key_text(k: &AccountKey) -> String {
    match k {
        AccountKey::Domain(d) => format!("domain:{d}"),
        AccountKey::Lead(l) => format!("lead:{l}"),
    }
}

/// Recomputes `dirty` and their colleagues; returns (recomputed, changed).
async fn recompute(
    tx: &mut Transaction<'_, Postgres>,
    set: &ModelSet,
    dirty: &BTreeSet<LeadKey>,
    bulk: Option<&mut BulkTotals>,
) -> Result<(usize, usize), StoreError> {
    let mut journeys = load_journeys(tx, dirty).await?;
    // Colleagues' account-level paths change only when a lead's touchpoints or account do
    // (a stage change does not): only then are they recomputed, under the stored key (where
    // the lead was) and the new one (where it is).
    let stored: HashMap<LeadKey, (String, i64)> =
        stored_keys(tx, dirty).await?.into_iter().collect();
    // `keys`: accounts whose members are recomputed; `current`: the dirty leads' own
    // accounts, whose members are read (a lead's account-level path needs them) but not
    // recomputed unless their account is in `keys` too.
    let mut keys: BTreeSet<(String, String)> = BTreeSet::new();
    let mut current: BTreeSet<(String, String)> = BTreeSet::new();
    for (lead, j) in &journeys {
        let k = key_text(&account::key_of(j));
        if k.starts_with("domain:") {
            current.insert((lead.0.clone(), k.clone()));
        }
        let before = stored.get(lead);
        if before.is_some_and(|(bk, bh)| *bk == k && *bh == touches_fingerprint(j)) {
            continue;
        }
        for key in before.map(|(bk, _)| bk.clone()).into_iter().chain([k]) {
            if key.starts_with("domain:") {
                keys.insert((lead.0.clone(), key));
            }
        }
    }
    let targets: BTreeSet<LeadKey> = members_of(tx, &keys)
        .await?
        .into_iter()
        .chain(dirty.iter().cloned())
        .collect();
    let readers: BTreeSet<(String, String)> = current.difference(&keys).cloned().collect();
    let missing: BTreeSet<LeadKey> = members_of(tx, &readers)
        .await?
        .into_iter()
        .chain(targets.iter().cloned())
        .filter(|m| !journeys.contains_key(m))
        .collect();
    journeys.extend(load_journeys(tx, &missing).await?);

    // Group by current account.
    let mut accounts: BTreeMap<(String, AccountKey), Vec<&Journey>> = BTreeMap::new();
    for ((t, _), j) in &journeys {
        accounts
            .entry((t.clone(), account::key_of(j)))
            .or_default()
            .push(j);
    }
    let mut fresh: BTreeMap<LeadKey, LeadCredits> = BTreeMap::new();
    for ((t, key), members) in &accounts {
        for j in members {
            if !targets.contains(&(t.clone(), j.lead_id.clone())) {
                continue;
            }
            let colleagues: &[&Journey] = match key {
                AccountKey::Domain(_) => members,
                AccountKey::Lead(_) => &[],
            };
            let mut rows = lead_credits(set, j, colleagues);
            rows.conversions.sort();
            rows.credits.sort();
            fresh.insert((t.clone(), j.lead_id.clone()), rows);
        }
    }
    let old = stored_rows(tx, &targets).await?;

    let mut totals: BTreeMap<String, Totals> = BTreeMap::new();
    let mut changed: Vec<(&LeadKey, &LeadCredits)> = Vec::new();
    let empty = LeadCredits::default();
    for (lead, new) in &fresh {
        let before = old.get(lead).unwrap_or(&empty);
        if before == new {
            continue;
        }
        let t = totals.entry(lead.0.clone()).or_default();
        t.add(set, before, -1);
        t.add(set, new, 1);
        changed.push((lead, new));
    }
    write_rows(tx, &changed).await?;
    match bulk {
        Some(sink) => {
            for (tenant, t) in totals {
                let into = sink.entry(tenant).or_default();
                for (k, v) in t.credits {
                    let cell = into.credits.entry(k).or_insert_with(|| vec![0; v.len()]);
                    for (a, b) in cell.iter_mut().zip(v) {
                        *a += b;
                    }
                }
                for (k, v) in t.periods {
                    let p = into.periods.entry(k).or_default();
                    p.conversions += v.conversions;
                    p.unattributed += v.unattributed;
                    p.value_minor += v.value_minor;
                }
            }
        }
        None => write_totals(tx, set.models.len(), totals).await?,
    }
    let accounts_rows: Vec<(&str, &str, String, i64)> = journeys
        .iter()
        .filter(|(k, _)| dirty.contains(*k))
        .map(|((t, l), j)| {
            (
                t.as_str(),
                l.as_str(),
                key_text(&account::key_of(j)),
                touches_fingerprint(j),
            )
        })
        .collect();
    write_accounts(tx, &accounts_rows).await?;
    Ok((fresh.len(), changed.len()))
}

fn unzip_leads(leads: &BTreeSet<LeadKey>) -> (Vec<&str>, Vec<&str>) {
    leads.iter().map(|(t, l)| (t.as_str(), l.as_str())).unzip()
}

async fn load_journeys(
    tx: &mut Transaction<'_, Postgres>,
    leads: &BTreeSet<LeadKey>,
) -> Result<HashMap<LeadKey, Journey>, StoreError> {
    if leads.is_empty() {
        return Ok(HashMap::new());
    }
    let (tenants, ids) = unzip_leads(leads);
    let stored = crate::timeline::of_leads(&mut **tx, &tenants, &ids, &Default::default()).await?;
    let mut events: HashMap<LeadKey, Vec<Event>> = HashMap::new();
    for r in stored {
        let key = (r.event.tenant_id.clone(), r.event.lead_id.clone());
        events.entry(key).or_default().push(r.event);
    }
    Ok(events
        .into_iter()
        .map(|(k, evs)| (k, journey(&evs)))
        .collect())
}

/// FNV-1a over the lead's touchpoints (stable across builds, unlike `DefaultHasher`): a
/// changed fingerprint means its colleagues' account-level paths may have changed.
fn touches_fingerprint(j: &Journey) -> i64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        h ^= 0xff;
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    for t in &j.path.touches {
        eat(t.event_id.as_bytes());
        eat(&t.at.timestamp_micros().to_le_bytes());
        eat(t.channel.as_bytes());
        eat(t.campaign.as_bytes());
        eat(t.keyword.as_bytes());
    }
    h as i64
}

async fn stored_keys(
    tx: &mut Transaction<'_, Postgres>,
    leads: &BTreeSet<LeadKey>,
) -> Result<Vec<(LeadKey, (String, i64))>, StoreError> {
    let (tenants, ids) = unzip_leads(leads);
    let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
        "SELECT a.tenant_id, a.lead_id, a.account_key, a.touches FROM attribution_accounts a \
         JOIN UNNEST($1::text[], $2::text[]) AS d(tenant_id, lead_id) \
           ON a.tenant_id = d.tenant_id AND a.lead_id = d.lead_id",
    )
    .bind(&tenants)
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(t, l, k, h)| ((t, l), (k, h)))
        .collect())
}

async fn members_of(
    tx: &mut Transaction<'_, Postgres>,
    keys: &BTreeSet<(String, String)>,
) -> Result<Vec<LeadKey>, StoreError> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let (tenants, ks): (Vec<&str>, Vec<&str>) =
        keys.iter().map(|(t, k)| (t.as_str(), k.as_str())).unzip();
    Ok(sqlx::query_as(
        "SELECT a.tenant_id, a.lead_id FROM attribution_accounts a \
         JOIN UNNEST($1::text[], $2::text[]) AS d(tenant_id, account_key) \
           ON a.tenant_id = d.tenant_id AND a.account_key = d.account_key",
    )
    .bind(&tenants)
    .bind(&ks)
    .fetch_all(&mut **tx)
    .await?)
}

fn kind_of(s: &str) -> Result<ConversionKind, StoreError> {
    ConversionKind::ALL
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| StoreError::Corrupt(format!("attribution conversion {s:?}")))
}

fn level_of(s: &str) -> Result<&'static str, StoreError> {
    LEVELS
        .into_iter()
        .find(|l| *l == s)
        .ok_or_else(|| StoreError::Corrupt(format!("attribution level {s:?}")))
}

type ConversionSqlRow = (
    String,
    String,
    String,
    String,
    DateTime<Utc>,
    i64,
    String,
    Option<DateTime<Utc>>,
    String,
    String,
    String,
    i16,
);

type CreditSqlRow = (
    String,
    String,
    String,
    String,
    i16,
    uuid::Uuid,
    String,
    DateTime<Utc>,
    String,
    String,
    String,
    Vec<i64>,
);

async fn stored_rows(
    tx: &mut Transaction<'_, Postgres>,
    leads: &BTreeSet<LeadKey>,
) -> Result<HashMap<LeadKey, LeadCredits>, StoreError> {
    let (tenants, ids) = unzip_leads(leads);
    let convs: Vec<ConversionSqlRow> = sqlx::query_as(
        "SELECT c.tenant_id, c.lead_id, c.conversion, c.level, c.converted_at, c.value_minor, \
                c.currency, c.captured_at, c.region, c.industry, c.segment, c.touches \
         FROM attribution_conversions c \
         JOIN UNNEST($1::text[], $2::text[]) AS d(tenant_id, lead_id) \
           ON c.tenant_id = d.tenant_id AND c.lead_id = d.lead_id",
    )
    .bind(&tenants)
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    let credits: Vec<CreditSqlRow> = sqlx::query_as(
        "SELECT c.tenant_id, c.lead_id, c.conversion, c.level, c.touch_index, c.touch_event_id, \
                c.touch_lead_id, c.touch_at, c.channel, c.campaign, c.keyword, c.credits \
         FROM attribution_credits c \
         JOIN UNNEST($1::text[], $2::text[]) AS d(tenant_id, lead_id) \
           ON c.tenant_id = d.tenant_id AND c.lead_id = d.lead_id",
    )
    .bind(&tenants)
    .bind(&ids)
    .fetch_all(&mut **tx)
    .await?;
    let mut out: HashMap<LeadKey, LeadCredits> = HashMap::new();
    for (t, l, conv, level, at, value, currency, captured, region, industry, segment, n) in convs {
        out.entry((t, l.clone()))
            .or_default()
            .conversions
            .push(ConversionRow {
                lead_id: l,
                kind: kind_of(&conv)?,
                level: level_of(&level)?,
                converted_at: at,
                value_minor: value,
                currency,
                captured_at: captured,
                region,
                industry,
                segment,
                touches: n as u16,
            });
    }
    for (t, l, conv, level, index, event, touch_lead, at, channel, campaign, keyword, amounts) in
        credits
    {
        out.entry((t, l.clone()))
            .or_default()
            .credits
            .push(CreditRow {
                lead_id: l,
                kind: kind_of(&conv)?,
                level: level_of(&level)?,
                index: index as u16,
                touch_event_id: event,
                touch_lead_id: touch_lead,
                touch_at: at,
                channel,
                campaign,
                keyword,
                credits: amounts,
            });
    }
    for rows in out.values_mut() {
        rows.conversions.sort();
        rows.credits.sort();
    }
    Ok(out)
}

async fn write_rows(
    tx: &mut Transaction<'_, Postgres>,
    changed: &[(&LeadKey, &LeadCredits)],
) -> Result<(), StoreError> {
    if changed.is_empty() {
        return Ok(());
    }
    let (tenants, leads): (Vec<&str>, Vec<&str>) = changed
        .iter()
        .map(|((t, l), _)| (t.as_str(), l.as_str()))
        .unzip();
    for table in ["attribution_conversions", "attribution_credits"] {
        sqlx::query(&format!(
            "DELETE FROM {table} t USING UNNEST($1::text[], $2::text[]) AS d(tenant_id, lead_id) \
             WHERE t.tenant_id = d.tenant_id AND t.lead_id = d.lead_id"
        ))
        .bind(&tenants)
        .bind(&leads)
        .execute(&mut **tx)
        .await?;
    }
    let mut c = ConversionColumns::default();
    let mut k = CreditColumns::default();
    for ((tenant, _), rows) in changed {
        for r in &rows.conversions {
            c.push(tenant, r);
        }
        for r in &rows.credits {
            k.push(tenant, r);
        }
    }
    if !c.tenant.is_empty() {
        sqlx::query(
            "INSERT INTO attribution_conversions (tenant_id, lead_id, conversion, level, \
               converted_at, value_minor, currency, captured_at, region, industry, segment, \
               touches) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], \
               $5::timestamptz[], $6::int8[], $7::text[], $8::timestamptz[], $9::text[], \
               $10::text[], $11::text[], $12::int2[])",
        )
        .bind(&c.tenant)
        .bind(&c.lead)
        .bind(&c.conversion)
        .bind(&c.level)
        .bind(&c.at)
        .bind(&c.value)
        .bind(&c.currency)
        .bind(&c.captured)
        .bind(&c.region)
        .bind(&c.industry)
        .bind(&c.segment)
        .bind(&c.touches)
        .execute(&mut **tx)
        .await?;
    }
    if !k.tenant.is_empty() {
        // Arrays of arrays must be rectangular in PostgreSQL: the credits travel as array
        // literals and are cast back.
        sqlx::query(
            "INSERT INTO attribution_credits (tenant_id, lead_id, conversion, level, \
               touch_index, touch_event_id, touch_lead_id, touch_at, channel, campaign, \
               keyword, credits) \
             SELECT t, l, c, v, i, e, tl, a, ch, ca, kw, cr::int8[] \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::int2[], \
               $6::uuid[], $7::text[], $8::timestamptz[], $9::text[], $10::text[], \
               $11::text[], $12::text[]) AS r(t, l, c, v, i, e, tl, a, ch, ca, kw, cr)",
        )
        .bind(&k.tenant)
        .bind(&k.lead)
        .bind(&k.conversion)
        .bind(&k.level)
        .bind(&k.index)
        .bind(&k.event)
        .bind(&k.touch_lead)
        .bind(&k.at)
        .bind(&k.channel)
        .bind(&k.campaign)
        .bind(&k.keyword)
        .bind(&k.credits)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[derive(Default)]
struct ConversionColumns<'a> {
    tenant: Vec<&'a str>,
    lead: Vec<&'a str>,
    conversion: Vec<&'static str>,
    level: Vec<&'static str>,
    at: Vec<DateTime<Utc>>,
    value: Vec<i64>,
    currency: Vec<&'a str>,
    captured: Vec<Option<DateTime<Utc>>>,
    region: Vec<&'a str>,
    industry: Vec<&'a str>,
    segment: Vec<&'a str>,
    touches: Vec<i16>,
}

impl<'a> ConversionColumns<'a> {
    fn push(&mut self, tenant: &'a str, r: &'a ConversionRow) {
        self.tenant.push(tenant);
        self.lead.push(&r.lead_id);
        self.conversion.push(r.kind.as_str());
        self.level.push(r.level);
        self.at.push(r.converted_at);
        self.value.push(r.value_minor);
        self.currency.push(&r.currency);
        self.captured.push(r.captured_at);
        self.region.push(&r.region);
        self.industry.push(&r.industry);
        self.segment.push(&r.segment);
        self.touches.push(r.touches as i16);
    }
}

#[derive(Default)]
struct CreditColumns<'a> {
    tenant: Vec<&'a str>,
    lead: Vec<&'a str>,
    conversion: Vec<&'static str>,
    level: Vec<&'static str>,
    index: Vec<i16>,
    event: Vec<uuid::Uuid>,
    touch_lead: Vec<&'a str>,
    at: Vec<DateTime<Utc>>,
    channel: Vec<&'a str>,
    campaign: Vec<&'a str>,
    keyword: Vec<&'a str>,
    credits: Vec<String>,
}

impl<'a> CreditColumns<'a> {
    fn push(&mut self, tenant: &'a str, r: &'a CreditRow) {
        self.tenant.push(tenant);
        self.lead.push(&r.lead_id);
        self.conversion.push(r.kind.as_str());
        self.level.push(r.level);
        self.index.push(r.index as i16);
        self.event.push(r.touch_event_id);
        self.touch_lead.push(&r.touch_lead_id);
        self.at.push(r.touch_at);
        self.channel.push(&r.channel);
        self.campaign.push(&r.campaign);
        self.keyword.push(&r.keyword);
        self.credits.push(array_literal(&r.credits));
    }
}

/// Writes the totals a bulk rebuild gathered, in chunks (one transaction each: until the
/// credits' checkpoints are stored again, a token waits anyway).
pub async fn write_bulk_totals(
    conn: &mut PgConnection,
    models: usize,
    totals: BulkTotals,
) -> Result<(), StoreError> {
    const CHUNK: usize = 20_000;
    for (tenant, t) in totals {
        let credits: Vec<_> = t.credits.into_iter().collect();
        for part in credits.chunks(CHUNK) {
            let mut one = Totals::default();
            one.credits.extend(part.iter().cloned());
            let mut tx = conn.begin().await?;
            write_totals(&mut tx, models, BTreeMap::from([(tenant.clone(), one)])).await?;
            tx.commit().await?;
        }
        let periods: Vec<_> = t.periods.into_iter().collect();
        for part in periods.chunks(CHUNK) {
            let mut one = Totals::default();
            one.periods.extend(part.iter().cloned());
            let mut tx = conn.begin().await?;
            write_totals(&mut tx, models, BTreeMap::from([(tenant.clone(), one)])).await?;
            tx.commit().await?;
        }
    }
    Ok(())
}

async fn write_totals(
    tx: &mut Transaction<'_, Postgres>,
    models: usize,
    mut totals: BTreeMap<String, Totals>,
) -> Result<(), StoreError> {
    let mut t = TotalColumns::default();
    let mut p = PeriodColumns::default();
    for (tenant, tot) in totals.iter_mut() {
        tot.prune();
        for (k, v) in &tot.credits {
            t.tenant.push(tenant.clone());
            t.level.push(k.level);
            t.conversion.push(k.kind.as_str());
            t.basis.push(k.basis.as_str());
            t.dimension.push(k.dimension.as_str());
            t.day.push(k.day);
            t.currency.push(k.currency.clone());
            t.value.push(k.value.clone());
            t.credits.push(array_literal(v));
        }
        for (k, v) in &tot.periods {
            p.tenant.push(tenant.clone());
            p.level.push(k.level);
            p.conversion.push(k.kind.as_str());
            p.basis.push(k.basis.as_str());
            p.day.push(k.day);
            p.currency.push(k.currency.clone());
            p.conversions.push(v.conversions);
            p.unattributed.push(v.unattributed);
            p.value.push(v.value_minor);
        }
    }
    if !t.tenant.is_empty() {
        // Element-wise sum written out (ARRAY[a[1] + b[1], ...]): far cheaper for the server
        // than unnesting both arrays per conflicting row.
        let add = (1..=models)
            .map(|i| format!("attribution_totals.credits[{i}] + EXCLUDED.credits[{i}]"))
            .collect::<Vec<_>>()
            .join(", ");
        let add = format!("ARRAY[{add}]");
        // Rows in key order (BTreeMap): concurrent writers could not deadlock on them.
        let sql = format!(
            "INSERT INTO attribution_totals (tenant_id, level, conversion, basis, dimension, \
               day, currency, value, credits) \
             SELECT t, l, c, b, d, y, cu, v, cr::int8[] \
             FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], \
               $6::date[], $7::text[], $8::text[], $9::text[]) \
               AS r(t, l, c, b, d, y, cu, v, cr) \
             ON CONFLICT (tenant_id, level, conversion, basis, dimension, day, currency, value) \
             DO UPDATE SET credits = {add}",
        );
        sqlx::query(&sql)
            .bind(&t.tenant)
            .bind(&t.level)
            .bind(&t.conversion)
            .bind(&t.basis)
            .bind(&t.dimension)
            .bind(&t.day)
            .bind(&t.currency)
            .bind(&t.value)
            .bind(&t.credits)
            .execute(&mut **tx)
            .await?;
    }
    if !p.tenant.is_empty() {
        sqlx::query(
            "INSERT INTO attribution_period_totals (tenant_id, level, conversion, basis, day, \
               currency, conversions, unattributed, value_minor) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::text[], $5::date[], \
               $6::text[], $7::int8[], $8::int8[], $9::int8[]) \
             ON CONFLICT (tenant_id, level, conversion, basis, day, currency) DO UPDATE SET \
               conversions = attribution_period_totals.conversions + EXCLUDED.conversions, \
               unattributed = attribution_period_totals.unattributed + EXCLUDED.unattributed, \
               value_minor = attribution_period_totals.value_minor + EXCLUDED.value_minor",
        )
        .bind(&p.tenant)
        .bind(&p.level)
        .bind(&p.conversion)
        .bind(&p.basis)
        .bind(&p.day)
        .bind(&p.currency)
        .bind(&p.conversions)
        .bind(&p.unattributed)
        .bind(&p.value)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[derive(Default)]
struct TotalColumns {
    tenant: Vec<String>,
    level: Vec<&'static str>,
    conversion: Vec<&'static str>,
    basis: Vec<&'static str>,
    dimension: Vec<&'static str>,
    day: Vec<chrono::NaiveDate>,
    currency: Vec<String>,
    value: Vec<String>,
    credits: Vec<String>,
}

/// `{1,2,3}`: arrays of arrays must be rectangular in PostgreSQL, so per-row arrays travel
/// as literals and are cast back.
fn array_literal(v: &[i64]) -> String {
    let parts: Vec<String> = v.iter().map(i64::to_string).collect();
    format!("{{{}}}", parts.join(","))
}

#[derive(Default)]
struct PeriodColumns {
    tenant: Vec<String>,
    level: Vec<&'static str>,
    conversion: Vec<&'static str>,
    basis: Vec<&'static str>,
    day: Vec<chrono::NaiveDate>,
    currency: Vec<String>,
    conversions: Vec<i64>,
    unattributed: Vec<i64>,
    value: Vec<i64>,
}

async fn write_accounts(
    tx: &mut Transaction<'_, Postgres>,
    rows: &[(&str, &str, String, i64)],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let tenants: Vec<&str> = rows.iter().map(|r| r.0).collect();
    let leads: Vec<&str> = rows.iter().map(|r| r.1).collect();
    let keys: Vec<&str> = rows.iter().map(|r| r.2.as_str()).collect();
    let hashes: Vec<i64> = rows.iter().map(|r| r.3).collect();
    sqlx::query(
        "INSERT INTO attribution_accounts (tenant_id, lead_id, account_key, touches) \
         SELECT * FROM UNNEST($1::text[], $2::text[], $3::text[], $4::int8[]) \
         ON CONFLICT (tenant_id, lead_id) DO UPDATE SET account_key = EXCLUDED.account_key, \
           touches = EXCLUDED.touches",
    )
    .bind(&tenants)
    .bind(&leads)
    .bind(&keys)
    .bind(&hashes)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A precomputed report's coordinates.
#[derive(Debug, Clone)]
pub struct Report<'a> {
    pub tenant: &'a str,
    /// `contact` or `account`.
    pub level: &'a str,
    /// `mql`, `sql`, `poc`, `signed` or `revenue`.
    pub conversion: &'a str,
    pub model: &'a str,
    /// `captured` or `converted`.
    pub basis: &'a str,
    /// `channel`, `campaign`, `keyword`, `region`, `industry` or `segment`.
    pub dimension: &'a str,
    /// `''` for counts.
    pub currency: &'a str,
    /// First UTC day, inclusive.
    pub from: Option<chrono::NaiveDate>,
    /// UTC day after the period.
    pub to: Option<chrono::NaiveDate>,
}

/// Credit per dimension value (values whose credit nets to 0 left out), and the period's
/// (conversions, unattributed); `None` when the stored credits do not hold the model (the
/// credits worker runs with another model set than the caller's).
pub async fn report(
    pool: &sqlx::PgPool,
    r: &Report<'_>,
) -> Result<Option<(Vec<(String, i64)>, i64, i64)>, StoreError> {
    let stored: Option<Option<i32>> =
        sqlx::query_scalar("SELECT array_position(models, $1) FROM attribution_state")
            .bind(r.model)
            .fetch_optional(pool)
            .await?;
    if stored.flatten().is_none() {
        return Ok(None);
    }
    let groups: Vec<(String, i64)> = sqlx::query_as(
        "SELECT value, sum(credits[m.i])::int8 AS credit \
         FROM attribution_totals, \
              (SELECT array_position(models, $4) AS i FROM attribution_state) m \
         WHERE tenant_id = $1 AND level = $2 AND conversion = $3 AND basis = $5 \
           AND dimension = $6 AND currency = $7 \
           AND ($8::date IS NULL OR day >= $8) AND ($9::date IS NULL OR day < $9) \
         GROUP BY value HAVING sum(credits[m.i]) <> 0",
    )
    .bind(r.tenant)
    .bind(r.level)
    .bind(r.conversion)
    .bind(r.model)
    .bind(r.basis)
    .bind(r.dimension)
    .bind(r.currency)
    .bind(r.from)
    .bind(r.to)
    .fetch_all(pool)
    .await?;
    let (conversions, unattributed): (i64, i64) = sqlx::query_as(
        "SELECT coalesce(sum(conversions), 0)::int8, coalesce(sum(unattributed), 0)::int8 \
         FROM attribution_period_totals \
         WHERE tenant_id = $1 AND level = $2 AND conversion = $3 AND basis = $4 \
           AND currency = $5 \
           AND ($6::date IS NULL OR day >= $6) AND ($7::date IS NULL OR day < $7)",
    )
    .bind(r.tenant)
    .bind(r.level)
    .bind(r.conversion)
    .bind(r.basis)
    .bind(r.currency)
    .bind(r.from)
    .bind(r.to)
    .fetch_one(pool)
    .await?;
    Ok(Some((groups, conversions, unattributed)))
}
