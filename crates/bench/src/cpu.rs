//! CPU time spent by a phase (issue 20: "user + system time of the leadledger process and of
//! the PostgreSQL backends it used, from /proc"), read from Linux's `/proc/<pid>/stat`.
//!
//! - The bench process: the difference of its own user + system time across the phase. It
//!   hosts what the phase measures (the in-process ingest server, the projector) and the
//!   phase's own driver (the gRPC client of ingest; the checkpoint poll of the projector).
//! - PostgreSQL: every backend connected to the phase's database (a fresh one per phase), its
//!   user + system time since it started, read before the phase's pool is closed. A backend
//!   that closed during the phase is not counted (the pools keep theirs for 10 minutes).
//!
//! `/proc` counts in clock ticks of `USER_HZ`, which Linux fixes at 100 on every mainstream
//! architecture (it is part of the ABI): a resolution of 10 ms, small beside phases of
//! seconds. Off Linux every figure is `None`.

use std::time::Duration;

use sqlx::PgPool;

/// Linux's `USER_HZ`: the unit of the times in `/proc/<pid>/stat`.
const USER_HZ: u64 = 100;

/// User + system CPU time of process `pid` so far.
pub fn of_pid(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat(&stat)
}

/// User + system CPU time of this process so far.
pub fn of_self() -> Option<Duration> {
    of_pid(std::process::id())
}

/// This process's CPU time since `before` (a reading of [`of_self`]).
pub fn since(before: Option<Duration>) -> Option<Duration> {
    of_self()
        .zip(before)
        .map(|(after, before)| after.saturating_sub(before))
}

/// Fields 14 (utime) and 15 (stime) of a `/proc/<pid>/stat` line. The second field (the
/// command) is in parentheses and may hold spaces, so fields are counted after its last `)`.
fn parse_stat(stat: &str) -> Option<Duration> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // After the command: field 3 (state) is the first; utime and stime are fields 14, 15.
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis((utime + stime) * 1000 / USER_HZ))
}

/// User + system CPU time of the PostgreSQL backends connected to database `db` now (read
/// through `admin`, any connection of the same server; the server must run on this machine).
pub async fn backends_of(admin: &PgPool, db: &str) -> Option<Duration> {
    let pids: Vec<i32> = sqlx::query_scalar(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
    )
    .bind(db)
    .fetch_all(admin)
    .await
    .ok()?;
    let mut total = Duration::ZERO;
    for pid in pids {
        total += of_pid(u32::try_from(pid).ok()?)?;
    }
    Some(total)
}

/// CPU per event, in microseconds.
pub fn per_event(cpu: Option<Duration>, events: usize) -> Option<f64> {
    cpu.map(|c| c.as_secs_f64() * 1e6 / events.max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_with_spaces_in_the_command_parses() {
        let line = "4242 (tokio runtime w) S 1 4242 4242 0 -1 4194560 3316 0 0 0 \
                    250 37 0 0 20 0 9 0 81919 2289856512 26434 18446744073709551615";
        assert_eq!(parse_stat(line), Some(Duration::from_millis(2870)));
        assert_eq!(parse_stat("garbage"), None);
        assert_eq!(per_event(Some(Duration::from_secs(1)), 1000), Some(1000.0));
    }
}
