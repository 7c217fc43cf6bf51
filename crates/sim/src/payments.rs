//! What a signed contract brings in, and when: a deposit on signature, the bulk on delivery
//! and acceptance, and the warranty retention (质保金) a year later, each received or not
//! with an industry's reliability (`docs/DOMAIN.md`, §Revenue and deal size: in some
//! industries the last instalment and the retention are hard to collect). The shares, delays
//! and reliabilities are modelling choices (§Modelling choices).

use chrono::{DateTime, Utc};
use rand::Rng;

use crate::dist::{chance, days};

/// One instalment: its share of the contract in percent and its delay after signature in
/// days (a uniform range).
struct Instalment {
    percent: i64,
    after_days: (f64, f64),
}

/// Deposit, delivery, retention. The shares sum to 100 %.
const INSTALMENTS: [Instalment; 3] = [
    Instalment {
        percent: 30,
        after_days: (5.0, 30.0),
    },
    Instalment {
        percent: 60,
        after_days: (60.0, 150.0),
    },
    Instalment {
        percent: 10,
        after_days: (365.0, 430.0),
    },
];

/// The chance each instalment is ever received, by industry (slug as in
/// `Company.industry`): project businesses (real estate, manufacturing) hold back the final
/// payments, subscription-like ones pay nearly everything.
fn reliability(industry: &str) -> [f64; 3] {
    match industry {
        "commercial_real_estate" => [0.95, 0.75, 0.40],
        "manufacturing" => [0.97, 0.85, 0.55],
        "education" => [0.97, 0.90, 0.70],
        "finance" => [0.99, 0.95, 0.85],
        _ => [0.98, 0.93, 0.80],
    }
}

/// The receipts of a contract of `amount_minor` signed at `signed_at`: `(when, amount)`, in
/// time order. The retention takes what the shares leave, so a contract paid in full
/// receives exactly its amount.
pub(crate) fn receipts(
    amount_minor: i64,
    signed_at: DateTime<Utc>,
    industry: &str,
    rng: &mut impl Rng,
) -> Vec<(DateTime<Utc>, i64)> {
    let reliable = reliability(industry);
    let mut left = amount_minor;
    let mut out = Vec::new();
    for (i, (step, p)) in INSTALMENTS.iter().zip(reliable).enumerate() {
        let amount = if i + 1 == INSTALMENTS.len() {
            left
        } else {
            amount_minor * step.percent / 100
        };
        left -= amount;
        let at = signed_at + days(rng.gen_range(step.after_days.0..step.after_days.1));
        if chance(rng, p) && amount > 0 {
            out.push((at, amount));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn a_contract_paid_in_full_receives_its_amount_and_no_more() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let at = DateTime::<Utc>::from_timestamp(1_770_000_000, 0).unwrap();
        let mut full = 0;
        for _ in 0..200 {
            let r = receipts(1_234_567, at, "finance", &mut rng);
            let sum: i64 = r.iter().map(|(_, a)| a).sum();
            assert!(sum <= 1_234_567);
            assert!(r.windows(2).all(|w| w[0].0 < w[1].0));
            if r.len() == 3 {
                assert_eq!(sum, 1_234_567);
                full += 1;
            }
        }
        assert!(full > 100, "finance pays in full most of the time: {full}");
    }
}
