//! Exact apportionment: turning relative weights into integer credits that sum to the value.
//!
//! Money is credited in integer minor units and counts in milli-conversions
//! ([`crate::COUNT_UNIT`]), so a share like ⅓ cannot be paid out as is. [`split`] uses the
//! largest-remainder (Hamilton) method with integer arithmetic only, so the result never
//! depends on floating-point rounding and always sums to the value exactly:
//!
//! 1. every touch gets `floor(value × part / total)`;
//! 2. the units still missing (fewer than the number of touches) go one each to the touches
//!    with the largest remainders `value × part mod total`;
//! 3. equal remainders are resolved in favour of the earlier touch (path order, i.e.
//!    `(at, event_id)`), so the result is deterministic.
//!
//! A touch whose part is 0 never receives a unit (its remainder is 0, and the missing units
//! never outnumber the touches with a non-zero remainder).
//!
//! Floating-point weights (time decay, data-driven models) are first turned into integer
//! parts by [`quantize`]; from there the split is exact.

/// Splits `value` in proportion to `parts`; the result has one entry per part and sums to
/// `value` exactly.
///
/// - All parts 0 (or no usable weight at all): split evenly, as if every part were 1.
/// - Negative values (a refund, a correction) are split as `-split(-value)`, so a credit
///   and its reversal cancel touch by touch.
/// - No parts: an empty result (the caller decides what an empty path means; see
///   [`crate::credit`]).
pub fn split(value: i64, parts: &[u64]) -> Vec<i64> {
    if parts.is_empty() {
        return Vec::new();
    }
    if value < 0 {
        // i128 so that i64::MIN has a positive counterpart.
        return split_abs(-i128::from(value), parts)
            .into_iter()
            .map(|c| i64::try_from(-c).expect("a credit never exceeds the value"))
            .collect();
    }
    split_abs(i128::from(value), parts)
        .into_iter()
        .map(|c| i64::try_from(c).expect("a credit never exceeds the value"))
        .collect()
}

/// The largest-remainder method on a non-negative value. Everything fits in 128 bits: the
/// value is at most 2^63 and each part below 2^64, so `value × part < 2^127`, and the total
/// of the parts is summed in u128.
fn split_abs(value: i128, parts: &[u64]) -> Vec<i128> {
    let value = u128::try_from(value).expect("non-negative");
    let mut total: u128 = parts.iter().map(|&p| u128::from(p)).sum();
    let ones;
    let parts = if total == 0 {
        ones = vec![1u64; parts.len()];
        total = parts.len() as u128;
        &ones[..]
    } else {
        parts
    };
    let mut shares = Vec::with_capacity(parts.len());
    let mut remainders = Vec::with_capacity(parts.len());
    let mut given: u128 = 0;
    for (i, &p) in parts.iter().enumerate() {
        let x = value * u128::from(p);
        shares.push(x / total);
        remainders.push((x % total, i));
        given += x / total;
    }
    let missing = usize::try_from(value - given).expect("fewer missing units than touches");
    // Largest remainder first; equal remainders: the earlier touch first.
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    for &(_, i) in remainders.iter().take(missing) {
        shares[i] += 1;
    }
    shares
        .into_iter()
        .map(|s| i128::try_from(s).expect("at most the value"))
        .collect()
}

/// The scale [`quantize`] maps the largest weight to: 2^52, so every integer part is exactly
/// representable in an f64 and the rounding error per weight is at most 2^-53 of the largest.
pub const QUANTUM: f64 = 4_503_599_627_370_496.0;

/// Turns non-negative floating-point weights into integer parts for [`split`]: the largest
/// weight becomes 2^52 and every other one `round(w / max × 2^52)`.
///
/// Negative, NaN and infinite weights count as 0 (they cannot come out of the models, and a
/// credit must never be negative). All-zero weights give all-zero parts, which [`split`]
/// treats as an even split.
pub fn quantize(weights: &[f64]) -> Vec<u64> {
    let clean: Vec<f64> = weights
        .iter()
        .map(|&w| if w.is_finite() && w > 0.0 { w } else { 0.0 })
        .collect();
    let max = clean.iter().copied().fold(0.0, f64::max);
    if max <= 0.0 {
        return vec![0; weights.len()];
    }
    clean
        .iter()
        // `as` saturates and the value is in [0, 2^52]: no overflow, no truncation surprise.
        .map(|&w| (w / max * QUANTUM).round() as u64)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thirds_go_to_the_earliest_on_ties() {
        // 100 / 3 = 33.33…: floors 33+33+33 = 99, one unit missing, all remainders equal
        // (100 mod 3 = 1 each), so the earliest touch gets it.
        assert_eq!(split(100, &[1, 1, 1]), vec![34, 33, 33]);
        // 200 / 3: floors 66 each, two missing, to the first two.
        assert_eq!(split(200, &[1, 1, 1]), vec![67, 67, 66]);
    }

    #[test]
    fn largest_remainder_wins_over_order() {
        // 10 × 1/6 = 1.67, 10 × 2/6 = 3.33, 10 × 3/6 = 5: floors 1, 3, 5 = 9; remainders
        // 4, 2, 0 (of 6): the first touch gets the missing unit.
        assert_eq!(split(10, &[1, 2, 3]), vec![2, 3, 5]);
        // 10 × 2/6 = 3.33, 10 × 1/6 = 1.67 …: remainders 2, 4, 0: the second gets it.
        assert_eq!(split(10, &[2, 1, 3]), vec![3, 2, 5]);
    }

    #[test]
    fn zero_parts_never_get_a_unit() {
        assert_eq!(split(7, &[0, 1, 0, 1]), vec![0, 4, 0, 3]);
        assert_eq!(split(1, &[0, 0, 5]), vec![0, 0, 1]);
    }

    #[test]
    fn all_zero_parts_split_evenly() {
        assert_eq!(split(5, &[0, 0]), vec![3, 2]);
    }

    #[test]
    fn negative_values_mirror_positive_ones() {
        assert_eq!(split(-100, &[1, 1, 1]), vec![-34, -33, -33]);
        let big = split(i64::MIN, &[1, 2]);
        assert_eq!(
            big.iter().map(|&c| i128::from(c)).sum::<i128>(),
            i128::from(i64::MIN)
        );
    }

    #[test]
    fn extreme_values_and_parts_do_not_overflow() {
        let out = split(i64::MAX, &[u64::MAX, u64::MAX, 1]);
        assert_eq!(
            out.iter().map(|&c| i128::from(c)).sum::<i128>(),
            i128::from(i64::MAX)
        );
        assert_eq!(split(0, &[1, 2]), vec![0, 0]);
        assert!(split(5, &[]).is_empty());
    }

    #[test]
    fn quantize_keeps_ratios_and_zeroes_garbage() {
        assert_eq!(quantize(&[1.0, 0.5, 0.25]), vec![1 << 52, 1 << 51, 1 << 50]);
        assert_eq!(quantize(&[f64::NAN, -1.0, 2.0]), vec![0, 0, 1 << 52]);
        assert_eq!(quantize(&[0.0, 0.0]), vec![0, 0]);
    }
}
