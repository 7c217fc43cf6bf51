//! Small distributions and time helpers, written out here so the only randomness dependency
//! is `rand` itself and every draw is reproducible from the seed.

use chrono::{DateTime, Duration, Utc};
use rand::Rng;

/// China Standard Time offset: business hours and weekends are judged in local time.
const CST_SECONDS: i64 = 8 * 3600;

/// `true` with probability `p` (clamped to 0..=1).
pub(crate) fn chance(rng: &mut impl Rng, p: f64) -> bool {
    rng.gen::<f64>() < p
}

/// A standard normal draw (Box–Muller).
pub(crate) fn normal(rng: &mut impl Rng) -> f64 {
    // 1 - u is in (0, 1], so the logarithm is finite.
    let u1 = 1.0 - rng.gen::<f64>();
    let u2 = rng.gen::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A lognormal draw with the given *mean* and log-scale spread: durations in the field are
/// right-skewed (most deals move at a typical pace, a few drag on for months).
pub(crate) fn lognormal_mean(rng: &mut impl Rng, mean: f64, sigma: f64) -> f64 {
    let mu = mean.max(1e-9).ln() - sigma * sigma / 2.0;
    (mu + sigma * normal(rng)).exp()
}

/// A lognormal draw with the given *median*.
pub(crate) fn lognormal_median(rng: &mut impl Rng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

/// A uniform pick from a non-empty slice.
pub(crate) fn pick<'a, T>(rng: &mut impl Rng, items: &'a [T]) -> &'a T {
    &items[rng.gen_range(0..items.len())]
}

/// A pick weighted by the second tuple field (weights need not sum to 1).
pub(crate) fn weighted<'a, T>(rng: &mut impl Rng, items: &'a [(T, f64)]) -> &'a T {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.gen::<f64>() * total;
    for (item, w) in items {
        if x < *w {
            return item;
        }
        x -= w;
    }
    &items[items.len() - 1].0
}

/// An index picked with the given weights.
pub(crate) fn weighted_index(
    rng: &mut impl Rng,
    weights: impl Iterator<Item = f64> + Clone,
) -> usize {
    let total: f64 = weights.clone().sum();
    let mut x = rng.gen::<f64>() * total;
    let mut last = 0;
    for (i, w) in weights.enumerate() {
        if x < w {
            return i;
        }
        x -= w;
        last = i;
    }
    last
}

/// Fractional days as a whole-second duration (events carry second precision).
pub(crate) fn days(d: f64) -> Duration {
    Duration::seconds((d * 86_400.0).round() as i64)
}

/// Fractional hours as a whole-second duration.
pub(crate) fn hours(h: f64) -> Duration {
    Duration::seconds((h * 3_600.0).round() as i64)
}

/// Fractional minutes as a whole-second duration.
pub(crate) fn minutes(m: f64) -> Duration {
    Duration::seconds((m * 60.0).round() as i64)
}

/// Local (CST) day number since the epoch and second of that day.
fn local(t: DateTime<Utc>) -> (i64, i64) {
    let s = t.timestamp() + CST_SECONDS;
    (s.div_euclid(86_400), s.rem_euclid(86_400))
}

/// Whether a local day number is a Saturday or Sunday (1970-01-01 was a Thursday).
pub(crate) fn is_weekend_day(day: i64) -> bool {
    (day + 3).rem_euclid(7) >= 5
}

/// Moves a sales-side time into working hours (09:00–20:00 CST): reps log calls and close
/// deals at the office, so a handoff at 23:00 is followed up the next morning and most
/// weekend work waits for Monday. This is where the slow tail of follow-ups comes from.
pub(crate) fn working_time(t: DateTime<Utc>, rng: &mut impl Rng) -> DateTime<Utc> {
    let (mut day, sod) = local(t);
    let mut sod = sod;
    if sod < 9 * 3600 {
        sod = 9 * 3600 + rng.gen_range(0..5400);
    } else if sod >= 20 * 3600 {
        day += 1;
        sod = 9 * 3600 + rng.gen_range(0..5400);
    }
    // Some reps do work on weekends; most do not.
    while is_weekend_day(day) && !chance(rng, 0.15) {
        day += 1;
        sod = 9 * 3600 + rng.gen_range(0..7200);
    }
    let secs = day * 86_400 + sod - CST_SECONDS;
    DateTime::from_timestamp(secs, 0).unwrap_or(t).max(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, TimeZone, Timelike, Weekday};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn weekday_arithmetic_matches_chrono() {
        for d in 0..14 {
            let t = Utc.with_ymd_and_hms(2026, 4, 1, 4, 0, 0).unwrap() + Duration::days(d);
            let (day, _) = local(t);
            let weekend = matches!(t.weekday(), Weekday::Sat | Weekday::Sun);
            assert_eq!(is_weekend_day(day), weekend, "{t}");
        }
    }

    #[test]
    fn working_time_is_never_earlier_and_lands_in_office_hours_mostly() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        // 2026-04-03 is a Friday; 15:00 UTC is 23:00 CST.
        let t = Utc.with_ymd_and_hms(2026, 4, 3, 15, 0, 0).unwrap();
        let mut weekday = 0;
        for _ in 0..100 {
            let w = working_time(t, &mut rng);
            assert!(w >= t);
            let local_hour = (w.hour() + 8) % 24;
            assert!((9..20).contains(&local_hour), "{w}");
            if w.weekday() == Weekday::Mon {
                weekday += 1;
            }
        }
        assert!(weekday > 50);
    }

    #[test]
    fn lognormal_mean_is_the_mean() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let n = 20_000;
        let m: f64 = (0..n)
            .map(|_| lognormal_mean(&mut rng, 10.0, 0.6))
            .sum::<f64>()
            / n as f64;
        assert!((m - 10.0).abs() < 0.3, "{m}");
    }
}
