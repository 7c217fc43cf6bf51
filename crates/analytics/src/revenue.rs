//! The revenue equation practitioners use (docs/ANALYTICS.md, "Revenue equation"):
//!
//! collected = leads × lead conversion × win rate × average deal size × collection ratio
//!
//! over one group of capture cohorts, in one currency. Each factor is the exact fraction of
//! two counts of the same leads, so the product telescopes to the collected revenue
//! exactly: leads × sql/leads × won/sql × signed/won × collected/signed. A factor whose
//! denominator is zero is 0 (and then everything after it is 0 too: no SQL, no win; no win,
//! no signed amount; nothing signed, nothing collected).

/// What one group's leads add up to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Leads captured.
    pub leads: i64,
    /// Of them, leads that reached SQL or a later main-line stage.
    pub sql: i64,
    /// Of them, leads signed in the equation's currency.
    pub won: i64,
    /// Their signed amount, minor units.
    pub signed: i64,
    /// Their payments in the currency, minor units.
    pub collected: i64,
}

/// An exact fraction; `denominator` 0 means the factor is undefined and counts as 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ratio {
    pub numerator: i64,
    pub denominator: i64,
}

impl Ratio {
    fn of(numerator: i64, denominator: i64) -> Ratio {
        Ratio {
            numerator,
            denominator,
        }
    }

    /// numerator / denominator; 0 when undefined.
    pub fn value(self) -> f64 {
        if self.denominator == 0 {
            0.0
        } else {
            self.numerator as f64 / self.denominator as f64
        }
    }
}

/// The factors of one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Equation {
    pub leads: i64,
    /// sql / leads.
    pub lead_conversion: Ratio,
    /// won / sql.
    pub win_rate: Ratio,
    /// signed / won (minor units per deal).
    pub average_deal: Ratio,
    /// collected / signed.
    pub collection_ratio: Ratio,
}

/// The factors of `t`.
pub fn equation(t: &Totals) -> Equation {
    Equation {
        leads: t.leads,
        lead_conversion: Ratio::of(t.sql, t.leads),
        win_rate: Ratio::of(t.won, t.sql),
        average_deal: Ratio::of(t.signed, t.won),
        collection_ratio: Ratio::of(t.collected, t.signed),
    }
}

impl Equation {
    /// The factors after `leads`, in the order they multiply.
    pub fn factors(&self) -> [Ratio; 4] {
        [
            self.lead_conversion,
            self.win_rate,
            self.average_deal,
            self.collection_ratio,
        ]
    }

    /// The product of `leads` and the factors as an exact fraction in lowest terms
    /// (numerator, denominator), an undefined factor counting as 0; `None` only if a step
    /// overflowed 128 bits.
    pub fn exact_product(&self) -> Option<(i128, i128)> {
        let (mut p, mut q) = (i128::from(self.leads), 1i128);
        for r in self.factors() {
            if r.denominator == 0 {
                return Some((0, 1));
            }
            let (a, b) = (i128::from(r.numerator), i128::from(r.denominator));
            // Cross-reduce before multiplying so the telescoping product never grows.
            let g1 = gcd(p, b);
            let g2 = gcd(a, q);
            p = (p / g1).checked_mul(a / g2)?;
            q = (q / g2).checked_mul(b / g1)?;
        }
        let g = gcd(p, q);
        Some((p / g, q / g))
    }

    /// The product of `leads` and the factors' values, in floating point.
    pub fn float_product(&self) -> f64 {
        self.factors()
            .iter()
            .fold(self.leads as f64, |acc, r| acc * r.value())
    }
}

fn gcd(a: i128, b: i128) -> i128 {
    let (mut a, mut b) = (a.abs(), b.abs());
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_factors_of_a_quarter() {
        // 200 leads, 26 SQL, 5 won for 1 250 000.00, 937 500.00 collected.
        let t = Totals {
            leads: 200,
            sql: 26,
            won: 5,
            signed: 125_000_000,
            collected: 93_750_000,
        };
        let e = equation(&t);
        assert!((e.lead_conversion.value() - 0.13).abs() < 1e-12);
        assert!((e.win_rate.value() - 5.0 / 26.0).abs() < 1e-12);
        assert_eq!(e.average_deal.value(), 25_000_000.0);
        assert_eq!(e.collection_ratio.value(), 0.75);
        assert_eq!(e.exact_product(), Some((93_750_000, 1)));
        assert!((e.float_product() - 93_750_000.0).abs() < 1e-6);
    }

    #[test]
    fn an_empty_denominator_makes_the_product_zero() {
        let e = equation(&Totals {
            leads: 10,
            ..Totals::default()
        });
        assert_eq!(e.win_rate.denominator, 0);
        assert_eq!(e.win_rate.value(), 0.0);
        assert_eq!(e.exact_product(), Some((0, 1)));
        assert_eq!(equation(&Totals::default()).exact_product(), Some((0, 1)));
    }

    /// Totals as the funnel cells give them: won ≤ sql ≤ leads, a signed amount of at least
    /// 1 per deal (at most 10^15 each), any collected amount of signed deals.
    fn totals() -> impl Strategy<Value = Totals> {
        (0i64..2_000_000, 0.0..=1.0f64, 0.0..=1.0f64).prop_flat_map(|(leads, s, w)| {
            let sql = (leads as f64 * s) as i64;
            let won = (sql as f64 * w) as i64;
            let signed = if won == 0 {
                Just(0i64).boxed()
            } else {
                (won..=won.saturating_mul(1_000_000_000_000_000)).boxed()
            };
            (Just((leads, sql, won)), signed).prop_flat_map(|((leads, sql, won), signed)| {
                let collected = if signed == 0 {
                    Just(0i64).boxed()
                } else {
                    (0..=signed.saturating_mul(2)).boxed()
                };
                collected.prop_map(move |collected| Totals {
                    leads,
                    sql,
                    won,
                    signed,
                    collected,
                })
            })
        })
    }

    proptest! {
        #[test]
        fn the_product_is_the_collected_revenue_exactly(t in totals()) {
            let e = equation(&t);
            prop_assert_eq!(e.exact_product(), Some((i128::from(t.collected), 1)));
            let f = e.float_product();
            let want = t.collected as f64;
            prop_assert!((f - want).abs() <= want.abs() * 1e-12 + 1e-9, "{f} vs {want}");
        }
    }
}
