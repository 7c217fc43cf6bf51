//! Return on marketing spend per channel or campaign (docs/ANALYTICS.md, "ROI"): what the
//! spend bought (cost per lead, MQL, SQL and won deal) and what it returned (ROI, ROAS).
//! Every ratio is undefined (`None`) when there is nothing to divide by.

/// One group's spend and what its leads became, in one currency.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Inputs {
    /// Spend in the period, minor units.
    pub spend: i64,
    pub leads: i64,
    pub mql: i64,
    pub sql: i64,
    pub won: i64,
    /// Signed revenue credited to the group, minor units.
    pub revenue: i64,
}

/// The ratios of one group.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    pub cost_per_lead: Option<f64>,
    pub cost_per_mql: Option<f64>,
    pub cost_per_sql: Option<f64>,
    /// Spend per won deal: the customer acquisition cost.
    pub cac: Option<f64>,
    /// (revenue − spend) / spend.
    pub roi: Option<f64>,
    /// revenue / spend.
    pub roas: Option<f64>,
}

fn per(spend: i64, n: i64) -> Option<f64> {
    (n > 0).then(|| spend as f64 / n as f64)
}

/// The ratios of `i`.
pub fn figures(i: &Inputs) -> Figures {
    Figures {
        cost_per_lead: per(i.spend, i.leads),
        cost_per_mql: per(i.spend, i.mql),
        cost_per_sql: per(i.spend, i.sql),
        cac: per(i.spend, i.won),
        roi: (i.spend > 0).then(|| (i.revenue - i.spend) as f64 / i.spend as f64),
        roas: (i.spend > 0).then(|| i.revenue as f64 / i.spend as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_channel_that_paid_back_three_times() {
        let f = figures(&Inputs {
            spend: 1_000_000,
            leads: 400,
            mql: 100,
            sql: 25,
            won: 4,
            revenue: 3_000_000,
        });
        assert_eq!(f.cost_per_lead, Some(2_500.0));
        assert_eq!(f.cost_per_mql, Some(10_000.0));
        assert_eq!(f.cost_per_sql, Some(40_000.0));
        assert_eq!(f.cac, Some(250_000.0));
        assert_eq!(f.roi, Some(2.0));
        assert_eq!(f.roas, Some(3.0));
    }

    #[test]
    fn nothing_to_divide_by_is_no_figure() {
        let f = figures(&Inputs {
            revenue: 10,
            ..Inputs::default()
        });
        assert_eq!(f, Figures::default());
        // Free leads cost nothing each; a return on nothing spent is undefined.
        let free = figures(&Inputs {
            leads: 5,
            revenue: 10,
            ..Inputs::default()
        });
        assert_eq!((free.cost_per_lead, free.roi), (Some(0.0), None));
    }
}
