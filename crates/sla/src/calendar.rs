//! Business calendars: which instants are working time for a tenant, and arithmetic on it.
//!
//! An SLA such as "follow up within 24 business hours" only makes sense against the tenant's
//! own working week: its time zone, its working hours (possibly split around lunch), its public
//! holidays and — in China — its make-up working days (调休), Saturdays or Sundays worked to
//! bridge a holiday.
//!
//! # The rule
//! An instant is **working time** when the tenant's wall clock, at that instant, shows a time
//! inside one of the working intervals of the local date it shows, and that date is a working
//! date. A date is a working date when it is a make-up day (it then uses
//! [`CalendarSpec::makeup_hours`]) or, failing that, not a holiday (it then uses its weekday's
//! intervals).
//!
//! Everything else follows from that one rule, including daylight-saving time:
//! - on a spring-forward day the skipped wall-clock hour does not exist, so a shift over it is
//!   an hour shorter in real time;
//! - on a fall-back day the repeated wall-clock hour happens twice, so a shift over it is an
//!   hour longer (the person is at work for both);
//! - shifts that do not touch the transition (09:00–18:00 in New York or Berlin, where clocks
//!   change at night) are unaffected, but their UTC instants move by the offset change.
//!
//! Intervals never cross midnight: a night shift 22:00–06:00 must be written as 22:00–24:00 on
//! one day and 00:00–06:00 on the next. `24:00` is accepted as the end of a day.
//!
//! # Layout
//! - [`WorkInterval`]: one `[start, end)` wall-clock interval of a day.
//! - [`CalendarSpec`]: the plain, unvalidated description; [`CalendarSpec::build`] checks it.
//! - [`BusinessCalendar`]: a validated calendar with [`BusinessCalendar::working_duration`],
//!   [`BusinessCalendar::add_working`] and [`BusinessCalendar::is_working`].
//! - private helpers: offset pieces (spans of constant UTC offset, found by probing the tz
//!   database hourly and bisecting to the second) and per-date working segments in UTC,
//!   computed once per date (`memo`).

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;

use memo::{DayMemo, Segments};

const DAY_SECS: u32 = 86_400;

/// An invalid calendar, naming the offending setting (`calendar.hours.mon[1]`, …).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct CalendarError {
    pub field: String,
    pub message: String,
}

impl CalendarError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        CalendarError {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// One working interval of a day, `[start, end)` in local wall-clock time, as seconds since
/// local midnight (`end` may be 86 400, i.e. `24:00`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WorkInterval {
    start: u32,
    end: u32,
}

impl WorkInterval {
    /// An interval from `start` to `end` seconds after local midnight; `None` unless
    /// `start < end <= 86_400`.
    pub fn from_secs(start: u32, end: u32) -> Option<WorkInterval> {
        (start < end && end <= DAY_SECS).then_some(WorkInterval { start, end })
    }

    /// An interval from `h1:m1` to `h2:m2` (`24:00` allowed as the end).
    pub fn hm(h1: u32, m1: u32, h2: u32, m2: u32) -> Option<WorkInterval> {
        if m1 >= 60 || m2 >= 60 {
            return None;
        }
        WorkInterval::from_secs(h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60)
    }

    /// Parses `"09:00-18:00"` (an en dash `–` is accepted too).
    pub fn parse(s: &str) -> Result<WorkInterval, String> {
        let bad = || format!("`{s}` is not an interval like \"09:00-18:00\"");
        let (a, b) = s.split_once(['-', '–']).ok_or_else(bad)?;
        let start = parse_hm(a.trim()).ok_or_else(bad)?;
        let end = parse_hm(b.trim()).ok_or_else(bad)?;
        WorkInterval::from_secs(start, end).ok_or_else(|| {
            format!(
                "`{s}`: the start must be before the end, within one day (no crossing midnight)"
            )
        })
    }

    pub fn start_secs(self) -> u32 {
        self.start
    }

    pub fn end_secs(self) -> u32 {
        self.end
    }

    /// Wall-clock length (real length may differ on a DST day).
    pub fn len(self) -> Duration {
        Duration::seconds(i64::from(self.end - self.start))
    }

    /// Never true: an interval always has `start < end`. (For clippy's `len` convention.)
    pub fn is_empty(self) -> bool {
        false
    }
}

impl fmt::Display for WorkInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hm = |s: u32| format!("{:02}:{:02}", s / 3600, s % 3600 / 60);
        write!(f, "{}-{}", hm(self.start), hm(self.end))
    }
}

/// `HH:MM` with `00:00..=24:00`.
fn parse_hm(s: &str) -> Option<u32> {
    let (h, m) = s.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    let secs = h * 3600 + m * 60;
    (m < 60 && secs <= DAY_SECS).then_some(secs)
}

/// Weekday keys in configuration and error messages, Monday first.
pub const WEEKDAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// An unvalidated calendar description. [`CalendarSpec::build`] turns it into a
/// [`BusinessCalendar`] or says what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarSpec {
    pub tz: Tz,
    /// Working intervals per weekday, Monday first. Order within a day does not matter.
    pub week: [Vec<WorkInterval>; 7],
    /// Dates (local) with no working time, whatever their weekday.
    pub holidays: BTreeSet<NaiveDate>,
    /// Make-up working days (调休): dates worked although their weekday is not (or is) a
    /// working day.
    pub makeup_days: BTreeSet<NaiveDate>,
    /// Hours of a make-up day; `None`: Monday's hours (or the first working weekday's).
    pub makeup_hours: Option<Vec<WorkInterval>>,
}

impl CalendarSpec {
    /// Monday–Friday 09:00–18:00 in `tz`, no holidays.
    pub fn standard(tz: Tz) -> CalendarSpec {
        let day = vec![WorkInterval::hm(9, 0, 18, 0).expect("valid")];
        CalendarSpec {
            tz,
            week: [
                day.clone(),
                day.clone(),
                day.clone(),
                day.clone(),
                day,
                Vec::new(),
                Vec::new(),
            ],
            holidays: BTreeSet::new(),
            makeup_days: BTreeSet::new(),
            makeup_hours: None,
        }
    }

    /// Validates: intervals of a day must not overlap, the week must have some working time
    /// (otherwise a business-time clock could never come due), and no date may be both a
    /// holiday and a make-up day.
    pub fn build(self) -> Result<BusinessCalendar, CalendarError> {
        let mut week: [Vec<WorkInterval>; 7] = Default::default();
        for (i, day) in self.week.into_iter().enumerate() {
            week[i] = normalise(day, &format!("calendar.hours.{}", WEEKDAY_KEYS[i]))?;
        }
        if week.iter().all(Vec::is_empty) {
            return Err(CalendarError::new(
                "calendar.hours",
                "no working hours on any weekday: business-time clocks could never come due",
            ));
        }
        if let Some(d) = self.holidays.intersection(&self.makeup_days).next() {
            return Err(CalendarError::new(
                "calendar.makeup_workdays",
                format!("{d} is also listed as a holiday"),
            ));
        }
        let makeup_hours = match self.makeup_hours {
            Some(h) => {
                let h = normalise(h, "calendar.makeup_hours")?;
                if h.is_empty() && !self.makeup_days.is_empty() {
                    return Err(CalendarError::new(
                        "calendar.makeup_hours",
                        "make-up days need working hours",
                    ));
                }
                h
            }
            None => week
                .iter()
                .find(|d| !d.is_empty())
                .cloned()
                .unwrap_or_default(),
        };
        Ok(BusinessCalendar {
            tz: self.tz,
            week,
            holidays: self.holidays,
            makeup_days: self.makeup_days,
            makeup_hours,
            memo: DayMemo::default(),
        })
    }
}

/// Sorts a day's intervals and rejects overlaps (touching intervals are fine).
fn normalise(mut day: Vec<WorkInterval>, field: &str) -> Result<Vec<WorkInterval>, CalendarError> {
    day.sort();
    for w in day.windows(2) {
        if w[1].start < w[0].end {
            return Err(CalendarError::new(
                field,
                format!("intervals {} and {} overlap", w[0], w[1]),
            ));
        }
    }
    Ok(day)
}

/// A tenant's validated working calendar. Build one with [`CalendarSpec::build`].
///
/// All functions take and return UTC instants; the calendar converts with its time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BusinessCalendar {
    tz: Tz,
    week: [Vec<WorkInterval>; 7],
    holidays: BTreeSet<NaiveDate>,
    makeup_days: BTreeSet<NaiveDate>,
    makeup_hours: Vec<WorkInterval>,
    /// Each date's working segments, once computed (`memo`).
    memo: DayMemo,
}

impl BusinessCalendar {
    /// Monday–Friday 09:00–18:00 in `tz`, no holidays.
    pub fn standard(tz: Tz) -> BusinessCalendar {
        CalendarSpec::standard(tz)
            .build()
            .expect("the standard week is valid")
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    pub fn holidays(&self) -> &BTreeSet<NaiveDate> {
        &self.holidays
    }

    pub fn makeup_days(&self) -> &BTreeSet<NaiveDate> {
        &self.makeup_days
    }

    /// Working intervals of a weekday (0 = Monday).
    pub fn weekday_hours(&self, weekday_from_monday: usize) -> &[WorkInterval] {
        &self.week[weekday_from_monday]
    }

    /// The working intervals of a local date: none on a holiday, the make-up hours on a
    /// make-up day, else its weekday's.
    pub fn hours_on(&self, date: NaiveDate) -> &[WorkInterval] {
        if self.makeup_days.contains(&date) {
            &self.makeup_hours
        } else if self.holidays.contains(&date) {
            &[]
        } else {
            &self.week[date.weekday().num_days_from_monday() as usize]
        }
    }

    /// The local date the tenant's wall clock shows at `t`.
    pub fn local_date(&self, t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&self.tz).date_naive()
    }

    /// Whether `t` is working time (see the module rule).
    pub fn is_working(&self, t: DateTime<Utc>) -> bool {
        self.day_segments(self.local_date(t))
            .iter()
            .any(|&(s, e)| s <= t && t < e)
    }

    /// Working time in `[from, to)`; zero when `to <= from`. Never more than `to - from`.
    pub fn working_duration(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        self.segments(from, to)
            .into_iter()
            .fold(Duration::zero(), |acc, (s, e)| acc + (e - s))
    }

    /// The earliest instant `t >= from` with `working_duration(from, t) >= d`, i.e. when `d`
    /// of working time has elapsed since `from`. `d <= 0` gives `from` itself; a start outside
    /// working hours effectively starts at the next working instant.
    ///
    /// Always terminates: the week has working time and holidays are finitely many.
    ///
    /// # Panics
    /// If the result lies beyond chrono's range (hundreds of millennia away).
    pub fn add_working(&self, from: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
        if d <= Duration::zero() {
            return from;
        }
        let mut span = d.max(Duration::days(7));
        loop {
            let segs = self.segments(from, from + span);
            let total = segs
                .iter()
                .fold(Duration::zero(), |acc, &(s, e)| acc + (e - s));
            if total >= d {
                let mut left = d;
                for (s, e) in segs {
                    if e - s >= left {
                        return s + left;
                    }
                    left -= e - s;
                }
                unreachable!("the segments add up to at least d");
            }
            span = span * 2;
        }
    }

    /// The working segments within `[from, to)`: disjoint, sorted, clipped.
    fn segments(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let mut out = Vec::new();
        if to <= from {
            return out;
        }
        // The wall clock can step back (fall back) by at most a few hours, so every instant in
        // [from, to) shows a date within a day of the dates shown at the ends.
        let first = self.local_date(from).pred_opt().expect("in range");
        let last = self.local_date(to).succ_opt().expect("in range");
        let mut d = first;
        while d <= last {
            for &(s, e) in self.day_segments(d).iter() {
                let (s, e) = (s.max(from), e.min(to));
                if s < e {
                    out.push((s, e));
                }
            }
            d = d.succ_opt().expect("in range");
        }
        out.sort();
        out
    }

    /// The UTC segments during which the wall clock shows a working time of local date `date`
    /// (computed once per date: `memo`).
    fn day_segments(&self, date: NaiveDate) -> Segments {
        self.memo.get(date, || self.compute_day_segments(date))
    }

    fn compute_day_segments(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let hours = self.hours_on(date);
        let (Some(first), Some(last)) = (hours.first(), hours.last()) else {
            return Vec::new();
        };
        let day0 = date.and_hms_opt(0, 0, 0).expect("midnight exists");
        let secs = |s: u32| day0 + Duration::seconds(i64::from(s));
        // UTC offsets stay within ±16 h (tz database, any era), so an instant whose local time
        // is t lies in (t - 16 h, t + 16 h) read as UTC.
        let margin = Duration::hours(16);
        let pieces = self.offset_pieces(secs(first.start) - margin, secs(last.end) + margin);
        let mut out = Vec::new();
        for iv in hours {
            let (ls, le) = (secs(iv.start), secs(iv.end));
            for &(ps, pe, off) in &pieces {
                // Within a piece, local = utc + off.
                let s = (ls - off).max(ps);
                let e = (le - off).min(pe);
                if s < e {
                    out.push((s.and_utc(), e.and_utc()));
                }
            }
        }
        out
    }

    /// UTC offset (local − UTC) at a UTC instant.
    fn offset(&self, utc: NaiveDateTime) -> Duration {
        let secs = self
            .tz
            .offset_from_utc_datetime(&utc)
            .fix()
            .local_minus_utc();
        Duration::seconds(i64::from(secs))
    }

    /// Splits `[lo, hi)` (UTC, whole seconds) into spans of constant UTC offset.
    ///
    /// Probes hourly and bisects to the second where the offset changed; offsets change at
    /// whole seconds and never twice (there and back) within an hour.
    fn offset_pieces(
        &self,
        lo: NaiveDateTime,
        hi: NaiveDateTime,
    ) -> Vec<(NaiveDateTime, NaiveDateTime, Duration)> {
        let step = Duration::hours(1);
        let one = Duration::seconds(1);
        let mut pieces = Vec::new();
        let (mut start, mut cur) = (lo, self.offset(lo));
        let mut probe = lo;
        while probe < hi {
            let next = (probe + step).min(hi);
            if self.offset(next) == cur {
                probe = next;
                continue;
            }
            // offset(l) == cur, offset(r) != cur: bisect to the first second of the new offset.
            let (mut l, mut r) = (probe, next);
            while r - l > one {
                let m = l + Duration::seconds((r - l).num_seconds() / 2);
                if self.offset(m) == cur {
                    l = m;
                } else {
                    r = m;
                }
            }
            pieces.push((start, r, cur));
            start = r;
            cur = self.offset(r);
            probe = r;
        }
        pieces.push((start, hi, cur));
        pieces
    }
}

mod memo;
#[cfg(test)]
mod tests;
