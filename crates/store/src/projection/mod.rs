//! The projection transaction: the rows of a batch and its checkpoints, in ONE PostgreSQL
//! transaction.
//!
//! Either all of it commits or none of it does, so a crash anywhere leaves read models and
//! checkpoint consistent; the projector reads from the checkpoint on restart and nothing is
//! applied twice (the event-id primary key catches duplicates that arrive under different
//! offsets). What the rows are is decided by `leadledger_projection` (pure); this module only
//! reads what it needs and writes what it returns:
//!
//! 1. [`ProjectionTx::insert_events`]: the timeline rows; the events new to the read models.
//! 2. [`ProjectionTx::accounts`]: the batch's account facts (listings, rulings) applied to
//!    the accounts' holdings. [`ProjectionTx::identity`]: the batch's merge decisions, and the merged groups of the
//!    leads it touches (locked). [`ProjectionTx::timelines`], [`ProjectionTx::granted`]: the
//!    stored timelines of every lead of those groups, and their granted ownership requests.
//! 3. [`ProjectionTx::write`]: the rows `leadledger_projection::project` returned.
//! 4. [`ProjectionTx::move_checkpoints`], then [`ProjectionTx::commit`].
//!
//! # Layout
//! - `events`: `lead_events` rows.
//! - `leads`: `leads` rows, upserted as column arrays.
//! - `stages`, `clocks`, `decisions`: stage rows, SLA clocks, ownership decisions.
//! - `spend`: `marketing_spend` rows (the statement recorded last per period).
//! - `accounts`: `account_holdings` and `account_rulings` (target accounts, account rulings).
//! - `identity`: merged groups: their locks, the live merges, the merge decisions.
//! - `scrub`: clear contacts of erased leads taken out of their timeline rows.
//! - `funnel`: the funnel cells moved by a batch's deltas; rebuilding them from `leads`.
//! - `checkpoint`: moving the checkpoints, and noticing a database that lost commits.
//! - `sql/`: the static statements.

pub(crate) mod accounts;
mod checkpoint;
pub(crate) mod clocks;
pub(crate) mod decisions;
mod events;
mod funnel;
mod identity;
mod leads;
mod scrub;
mod spend;
mod stages;

use std::collections::{BTreeMap, HashSet};

use leadledger_projection::identity::{self as decide, LeadKey, Regroup};
use leadledger_projection::{Logged, Projected};
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use crate::StoreError;

pub use events::Record;
pub(crate) use leads::row_of;
use leads::{LeadRows, MatchKeyRows};

/// Writers for tests and benches that load read models without the projector (and check
/// the upsert against the table); not part of the store's API (feature `testing`).
#[cfg(feature = "testing")]
pub mod testing {
    pub use super::clocks::replace as replace_clocks;
    pub use super::funnel::rebuild as rebuild_funnel;
    pub use super::leads::{written_columns, LeadRows};
    pub use super::stages::replace as replace_stages;
}

const QUEUE_CREDITS: &str = include_str!("sql/queue_credits.sql");
const DELETE_LEADS: &str = include_str!("sql/delete_leads.sql");
const BEGIN: &str = include_str!("sql/begin.sql");
const BEGIN_ALONE: &str = include_str!("sql/begin_alone.sql");

/// One batch's transaction.
pub struct ProjectionTx {
    tx: Transaction<'static, Postgres>,
    /// Whether it holds the membership lock alone (it decides merges or links).
    alone: bool,
}

impl ProjectionTx {
    /// Starts the transaction; `deciding`: the batch holds merge intents or visitors' links
    /// (`Payload::is_identity`, `Payload::is_link`), so it takes the membership lock alone
    /// from the start.
    pub async fn begin(pool: &PgPool, deciding: bool) -> Result<Self, StoreError> {
        let mut tx = pool.begin().await?;
        // Safe for a projection: a crash can lose only whole recent transactions, each
        // together with its checkpoint (what is durable is always a prefix of the commit
        // order), and the projector re-applies them from the log. Saves a WAL flush per
        // batch, which is most of a small batch's latency. The check in `move_checkpoints` is
        // what makes the projector notice such a loss: its own view of the checkpoints is
        // ahead of the database's after the crash, and even on a fresh connection (the pool
        // replaces dead ones silently) the stored checkpoint is compared with it in the
        // transaction that would move it.
        // With it, the membership lock, shared or alone (one round trip for both; simple
        // query protocol: each statement sees what committed before it).
        sqlx::Executor::execute(&mut *tx, if deciding { BEGIN_ALONE } else { BEGIN }).await?;
        Ok(Self {
            tx,
            alone: deciding,
        })
    }

    /// Inserts the timeline rows of `records`; returns those new to the read models (in
    /// `records` order, the first copy of an id repeated in the batch).
    pub async fn insert_events<'r>(
        &mut self,
        records: &'r [Record],
    ) -> Result<Vec<&'r Record>, StoreError> {
        events::insert(&mut self.tx, records).await
    }

    /// The stored events of the leads `(tenants[i], leads[i])`, but those in `skip`.
    pub async fn timelines(
        &mut self,
        tenants: &[&str],
        leads: &[&str],
        skip: &HashSet<Uuid>,
    ) -> Result<Vec<Logged>, StoreError> {
        crate::timeline::of_leads(&mut *self.tx, tenants, leads, skip).await
    }

    /// Decides the identity intents and visitors' links among `new` (in log order, against
    /// the stored merges and links) and stores the decisions; then reads the groups of
    /// `touched` and of the leads and visitors the decisions moved, and locks the groups of
    /// more than one member. Returns the
    /// regrouping the projection folds by; `touched` gains every lead of those groups (whose
    /// stored events the batch must read).
    pub async fn identity(
        &mut self,
        new: &[&Logged],
        touched: &mut std::collections::BTreeSet<LeadKey>,
    ) -> Result<Regroup, StoreError> {
        let merging = new.iter().any(|r| r.event.payload.is_identity());
        let linking = new.iter().any(|r| r.event.payload.is_link());
        let deciding = merging || linking;
        let mut decisions = Vec::new();
        if deciding && !self.alone {
            // A link or merge changes a group's membership: the lock alone, which the batch
            // should have asked for at `begin`.
            identity::lock_alone(&mut self.tx).await?;
            self.alone = true;
        }
        if merging {
            let tenants: std::collections::BTreeSet<&str> = new
                .iter()
                .filter(|r| r.event.payload.is_identity())
                .map(|r| r.event.tenant_id.as_str())
                .collect();
            let tenants: Vec<&str> = tenants.into_iter().collect();
            let mut merges = identity::live(&mut self.tx, &tenants).await?;
            decisions.extend(decide::decide(new, &mut merges));
        }
        if linking {
            // Only the linked visitors' own links matter: a visitor's links share its
            // partition, and no link depends on another visitor's.
            let (tenants, visitors): (Vec<&str>, Vec<&str>) = new
                .iter()
                .filter(|r| r.event.payload.is_link())
                .map(|r| (r.event.tenant_id.as_str(), r.event.lead_id.as_str()))
                .unzip();
            let mut links = identity::links(&mut self.tx, &tenants, &visitors).await?;
            decisions.extend(decide::decide_links(new, &mut links));
        }
        if deciding {
            identity::write(&mut self.tx, &decisions).await?;
            for r in &decisions {
                for (lead, was, now) in &r.moves {
                    for l in [Some(lead), was.as_ref(), now.as_ref()]
                        .into_iter()
                        .flatten()
                    {
                        touched.insert((r.tenant.clone(), l.clone()));
                    }
                }
            }
        }
        let (tenants, leads): (Vec<&str>, Vec<&str>) = touched
            .iter()
            .map(|(t, l)| (t.as_str(), l.as_str()))
            .unzip();
        let groups = crate::identity::groups_with_links(&mut *self.tx, &tenants, &leads).await?;
        if !deciding && !groups.root.is_empty() {
            identity::lock_groups(
                &mut self.tx,
                groups
                    .root
                    .iter()
                    .map(|((t, _), s)| (t.as_str(), s.as_str())),
            )
            .await?;
        }
        for ((t, l), s) in &groups.root {
            touched.insert((t.clone(), l.clone()));
            touched.insert((t.clone(), s.clone()));
        }
        Ok(Regroup::new(groups.root, groups.via, &decisions))
    }

    /// Applies the account facts among `new` (target-account listings, account rulings on
    /// claims and assignments) in each account key's log order to the stored holdings, and
    /// writes the rulings and the changed holdings. Independent of the leads' rows.
    pub async fn accounts(&mut self, new: &[&Logged]) -> Result<(), StoreError> {
        let ids = leadledger_projection::accounts::accounts_of(new.iter().copied());
        if ids.is_empty() {
            return Ok(());
        }
        let mut holdings = accounts::holdings(&mut self.tx, &ids).await?;
        let rows = leadledger_projection::accounts::apply(new, &mut holdings);
        accounts::write(&mut self.tx, &rows).await
    }

    /// The bytes of the contacts' data keys among `ids` not destroyed.
    pub async fn contact_keys(
        &mut self,
        ids: &[Uuid],
    ) -> Result<std::collections::HashMap<Uuid, Vec<u8>>, StoreError> {
        crate::contact_keys::by_id(&mut *self.tx, ids).await
    }

    /// The granted ownership requests of the leads `(tenants[i], leads[i])`.
    pub async fn granted(
        &mut self,
        tenants: &[&str],
        leads: &[&str],
    ) -> Result<HashSet<Uuid>, StoreError> {
        decisions::granted(&mut self.tx, tenants, leads).await
    }

    /// Writes the rows of a batch: decisions first, then spend, the credits queue, `leads`, SLA
    /// clocks, funnel cells and stage rows (always in this order, and each in key order, so
    /// two projectors writing the same rows lock them in the same order).
    pub async fn write(&mut self, rows: &Projected) -> Result<(), StoreError> {
        decisions::insert(&mut self.tx, &rows.decisions).await?;
        spend::upsert(&mut self.tx, &rows.spend).await?;
        if rows.leads.is_empty() && rows.removed.is_empty() {
            return Ok(());
        }
        // Re-folded and removed leads alike: queued for credits, their clocks replaced.
        let (tenants, leads): (Vec<&str>, Vec<&str>) = rows
            .leads
            .iter()
            .map(|l| (l.tenant.as_str(), l.lead.as_str()))
            .chain(rows.removed.iter().map(|(t, l)| (t.as_str(), l.as_str())))
            .unzip();
        sqlx::query(QUEUE_CREDITS)
            .bind(&tenants)
            .bind(&leads)
            .execute(&mut *self.tx)
            .await?;
        let mut lead_rows = LeadRows::with_capacity(rows.leads.len());
        let mut keys = MatchKeyRows::default();
        for l in &rows.leads {
            lead_rows.push(&l.tenant, &l.lead, &l.state, &l.feedback);
            if l.contact_changed {
                keys.push(&l.tenant, &l.lead, &l.state);
            }
        }
        lead_rows.upsert(&mut self.tx).await?;
        keys.write(&mut self.tx).await?;
        if !rows.removed.is_empty() {
            let n = rows.leads.len();
            sqlx::query(DELETE_LEADS)
                .bind(&tenants[n..])
                .bind(&leads[n..])
                .execute(&mut *self.tx)
                .await?;
            // Their duplicate keys go with them.
            leads::delete_match_keys(&mut self.tx, &tenants[n..], &leads[n..]).await?;
        }
        clocks::replace(&mut self.tx, &tenants, &leads, &rows.clocks).await?;
        funnel::apply(&mut self.tx, &rows.funnel()).await?;
        stages::replace(&mut self.tx, &rows.stages).await?;
        // An erased group's clear captures, its merged leads' included.
        let (erased_tenants, erased): (Vec<&str>, Vec<&str>) = rows
            .leads
            .iter()
            .filter(|l| l.state.contact_erased_at.is_some())
            .flat_map(|l| {
                std::iter::once(l.lead.as_str())
                    .chain(l.merged.iter().map(String::as_str))
                    .map(|id| (l.tenant.as_str(), id))
            })
            .unzip();
        if !erased.is_empty() {
            scrub::erased(&mut self.tx, &erased_tenants, &erased).await?;
        }
        Ok(())
    }

    /// Moves the checkpoints of `projection` on `topic` to `next_offsets` (partition → next
    /// offset to read).
    ///
    /// `committed` holds, per partition of the batch, the checkpoint the caller last saw
    /// committed (where its records continue from). A stored checkpoint behind it means the
    /// database lost committed transactions since: [`StoreError::CheckpointBehind`] tells the
    /// caller to drop the transaction and read the partition again from the stored
    /// checkpoint. Without this check the batch would move the checkpoint over the lost
    /// records and they would never be applied. `batch_trace` is the batch span's W3C
    /// `traceparent`, kept with the checkpoints it moves (queries waiting on a token link
    /// to it).
    pub async fn move_checkpoints(
        &mut self,
        projection: &str,
        topic: &str,
        committed: &BTreeMap<i32, i64>,
        next_offsets: &BTreeMap<i32, i64>,
        batch_trace: Option<&str>,
    ) -> Result<(), StoreError> {
        checkpoint::move_to(
            &mut self.tx,
            projection,
            topic,
            committed,
            next_offsets,
            batch_trace,
        )
        .await
    }

    pub async fn commit(self) -> Result<(), StoreError> {
        self.tx.commit().await?;
        Ok(())
    }
}
