//! Worked examples for every rule-based model, computed by hand in the comments.
//!
//! The rounding rule (see `split`): floor every share, then hand the missing units to the
//! largest remainders, earlier touch first on equal remainders.

mod common;

use std::collections::BTreeMap;

use common::*;
use leadledger_attribution::models::weights;
use leadledger_attribution::{
    channel_totals, credit, ChannelWeights, ConversionKind, Error, Milestones, Model, Path,
    PositionWeights, COUNT_UNIT,
};

/// Five touches a week apart: seo (FT), webinar (capture = LC), e-mail, sem (last before SQL
/// on day 22 = OC), event (last before signing on day 28 12:00 = CW).
fn five_touches() -> Path {
    Path::new(
        vec![
            // Given out of order on purpose: the path sorts by (at, event_id).
            touch(14, day(28), "event"),
            touch(10, day(0), "seo"),
            capture(11, day(7), "webinar"),
            touch(12, day(14), "email"),
            touch(13, day(21), "sem"),
        ],
        Milestones {
            capture: Some(id(11)),
            sql_at: Some(day(22)),
            signed_at: Some(day(28) + chrono::Duration::hours(12)),
        },
    )
}

fn revenue_on_day_28(value: i64) -> leadledger_attribution::Conversion {
    conversion(
        ConversionKind::Revenue,
        day(28) + chrono::Duration::hours(12),
        value,
    )
}

#[test]
fn five_touch_path_every_position_model() {
    let path = five_touches();
    let conv = revenue_on_day_28(100_000);
    let slots = path.until(conv.at).slots();
    assert_eq!(slots.first, Some(0));
    assert_eq!(slots.lead_creation, Some(1));
    assert_eq!(slots.opportunity_creation, Some(3));
    assert_eq!(slots.closed_won, Some(4));
    assert_eq!(slots.last, Some(4));

    let cases: Vec<(Model, [i64; 5])> = vec![
        (Model::FirstTouch, [100_000, 0, 0, 0, 0]),
        (Model::LastTouch, [0, 0, 0, 0, 100_000]),
        (Model::Linear, [20_000; 5]),
        // 40 % first, 40 % last; 20 % over 3 middle touches = 6 666.67 each: floors leave 2
        // units, all remainders equal, so touches 1 and 2 (the earlier ones) get them.
        (Model::UShaped, [40_000, 6_667, 6_667, 6_666, 40_000]),
        // 50 % FT, 50 % LC, nothing else.
        (Model::UShapedLeadCreation, [50_000, 50_000, 0, 0, 0]),
        // FT, LC, OC 30 % each; the others (e-mail, event) share 10 %: 5 % each.
        (Model::WShaped, [30_000, 30_000, 5_000, 30_000, 5_000]),
        // FT, LC, OC, CW 22.5 % each; the only other (e-mail) gets 10 %.
        (Model::FullPath, [22_500, 22_500, 10_000, 22_500, 22_500]),
        // 20 % first, 60 % last, 20 % / 3 in the middle (same rounding as U-shaped).
        (Model::J, [20_000, 6_667, 6_667, 6_666, 60_000]),
        (Model::InverseJ, [60_000, 6_667, 6_667, 6_666, 20_000]),
        // 10 % FT, 20 % LC, 30 % OC, 40 % last; e-mail holds nothing and "others" is 0.
        (
            Model::Custom(PositionWeights::new(1_000, 2_000, 3_000, 0, 4_000, 0)),
            [10_000, 20_000, 0, 30_000, 40_000],
        ),
    ];
    for (model, expected) in cases {
        assert_eq!(amounts(&conv, &path, &model), expected, "{}", model.name());
    }
}

#[test]
fn time_decay_halves_per_half_life() {
    let path = five_touches();
    // Ages from the conversion are 28.5, 21.5, 14.5, 7.5, 0.5 days; with a 7-day half-life
    // the weights are proportional to 1/16, 1/8, 1/4, 1/2, 1 (the common factor 2^(-0.5/7)
    // cancels): shares 1/31, 2/31, 4/31, 8/31, 16/31.
    let model = Model::time_decay();
    assert_eq!(
        amounts(&revenue_on_day_28(3_100_000), &path, &model),
        [100_000, 200_000, 400_000, 800_000, 1_600_000]
    );
    // 100 × k/31: 3.23, 6.45, 12.90, 25.81, 51.61 → floors 3, 6, 12, 25, 51 = 97; the three
    // missing units go to the largest remainders .90, .81, .61 (touches 2, 3, 4).
    assert_eq!(
        amounts(&revenue_on_day_28(100), &path, &model),
        [3, 6, 13, 26, 52]
    );
    // A 14-day half-life on touches 14 days apart: 1/4, 1/2, 1 for days 0, 14, 28.
    let path3 = Path::new(
        vec![
            touch(1, day(0), "a"),
            touch(2, day(14), "b"),
            touch(3, day(28), "c"),
        ],
        Milestones::default(),
    );
    let model = Model::TimeDecay {
        half_life_hours: 14 * 24,
    };
    assert_eq!(
        amounts(&revenue_on_day_28(700), &path3, &model),
        [100, 200, 400]
    );
}

#[test]
fn one_touch_gets_everything_in_every_model() {
    let path = Path::new(
        vec![capture(1, day(0), "webinar")],
        Milestones {
            capture: Some(id(1)),
            sql_at: Some(day(1)),
            signed_at: Some(day(2)),
        },
    );
    let conv = conversion(ConversionKind::Revenue, day(2), 123_457);
    let mut models = Model::rule_based();
    models.push(Model::Custom(PositionWeights::new(0, 0, 10_000, 0, 0, 0)));
    models.push(Model::Markov(ChannelWeights::default()));
    for model in models {
        assert_eq!(amounts(&conv, &path, &model), [123_457], "{}", model.name());
    }
}

#[test]
fn two_touches_capture_then_email_mql() {
    // Capture (FT = LC) on day 0, e-mail on day 7, MQL on day 8: no OC or CW yet.
    let path = Path::new(
        vec![capture(1, day(0), "webinar"), touch(2, day(7), "email")],
        Milestones {
            capture: Some(id(1)),
            sql_at: Some(day(30)),
            signed_at: None,
        },
    );
    let conv = conversion(ConversionKind::Mql, day(8), COUNT_UNIT);
    let cases: Vec<(Model, [i64; 2])> = vec![
        (Model::FirstTouch, [1000, 0]),
        (Model::LastTouch, [0, 1000]),
        (Model::Linear, [500, 500]),
        // 40:40, no middle: 50/50.
        (Model::UShaped, [500, 500]),
        // FT and LC are the same touch: it holds both halves.
        (Model::UShapedLeadCreation, [1000, 0]),
        // FT + LC = 60 on the capture, OC missing, the e-mail is the only other: 10.
        // 1000 × 60/70 = 857.14, × 10/70 = 142.86: the missing unit goes to the larger
        // remainder (.86, the e-mail).
        (Model::WShaped, [857, 143]),
        // 45 : 10 → 818.18 / 181.82 → [818, 182].
        (Model::FullPath, [818, 182]),
        // 20 : 60 = 25 / 75.
        (Model::J, [250, 750]),
        (Model::InverseJ, [750, 250]),
        // Ages 7 and 0 days (+1 day to the conversion, which cancels): 1/3 and 2/3 →
        // 333.33 / 666.67 → [333, 667].
        (Model::time_decay(), [333, 667]),
    ];
    for (model, expected) in cases {
        assert_eq!(amounts(&conv, &path, &model), expected, "{}", model.name());
    }
}

#[test]
fn two_touches_visit_then_capture_revenue() {
    // SEO visit (FT), then capture (LC); SQL and signing later with no touch in between, so
    // OC = CW = the capture too.
    let path = Path::new(
        vec![touch(1, day(0), "seo"), capture(2, day(2), "webinar")],
        Milestones {
            capture: Some(id(2)),
            sql_at: Some(day(10)),
            signed_at: Some(day(20)),
        },
    );
    let conv = conversion(ConversionKind::Revenue, day(20), 120_000);
    let cases: Vec<(Model, [i64; 2])> = vec![
        (Model::UShaped, [60_000, 60_000]),
        (Model::UShapedLeadCreation, [60_000, 60_000]),
        // FT 30 : LC + OC 60.
        (Model::WShaped, [40_000, 80_000]),
        // FT 22.5 : LC + OC + CW 67.5.
        (Model::FullPath, [30_000, 90_000]),
        (Model::J, [30_000, 90_000]),
        (Model::InverseJ, [90_000, 30_000]),
    ];
    for (model, expected) in cases {
        assert_eq!(amounts(&conv, &path, &model), expected, "{}", model.name());
    }
}

#[test]
fn equal_timestamps_are_ordered_by_event_id() {
    // Two touches at the same instant, given "wrong" way round: id 1 comes first.
    let path = Path::new(
        vec![touch(2, day(0), "email"), touch(1, day(0), "sem")],
        Milestones::default(),
    );
    assert_eq!(path.touches[0].channel, "sem");
    let conv = conversion(ConversionKind::Mql, day(0), 1);
    let credits = credit(&conv, &path, &Model::FirstTouch).unwrap();
    assert_eq!(credits[0].channel, "sem");
    assert_eq!(credits[0].amount_minor, 1);
    // An odd unit under linear: equal remainders, the earlier (smaller id) touch gets it.
    assert_eq!(amounts(&conv, &path, &Model::Linear), [1, 0]);
    // Time decay: equal ages, equal weights, same tie rule.
    assert_eq!(amounts(&conv, &path, &Model::time_decay()), [1, 0]);
    // Last touch is the larger id.
    let last = credit(&conv, &path, &Model::LastTouch).unwrap();
    assert_eq!(
        (last[1].channel.as_str(), last[1].amount_minor),
        ("email", 1)
    );
}

#[test]
fn missing_lead_creation_is_redistributed() {
    // No capture in the log: FT seo, OC sem (SQL at the sem touch), e-mail is the other.
    let path = Path::new(
        vec![
            touch(1, day(0), "seo"),
            touch(2, day(3), "email"),
            touch(3, day(6), "sem"),
        ],
        Milestones {
            capture: None,
            sql_at: Some(day(6)),
            signed_at: None,
        },
    );
    let conv = conversion(ConversionKind::Sql, day(6), COUNT_UNIT);
    // W-shaped: 30 : 10 : 30 (LC's 30 % is gone, the rest scales up) → 428.57, 142.86,
    // 428.57 → floors 428, 142, 428 = 998; remainders .57, .86, .57: e-mail first, then
    // the earlier of the tied milestones.
    assert_eq!(amounts(&conv, &path, &Model::WShaped), [429, 143, 428]);
    // U-shaped with LC: 50 % FT only → all to FT.
    assert_eq!(
        amounts(&conv, &path, &Model::UShapedLeadCreation),
        [1000, 0, 0]
    );
}

#[test]
fn sql_before_any_touch_has_no_opportunity_touch() {
    // SQL on day 0 before the first recorded touch (no capture either): OC is missing; CW
    // is the last touch before signing.
    let path = Path::new(
        vec![touch(1, day(1), "event"), touch(2, day(2), "email")],
        Milestones {
            capture: None,
            sql_at: Some(day(0)),
            signed_at: Some(day(5)),
        },
    );
    let conv = conversion(ConversionKind::Revenue, day(5), 10_000);
    let s = path.slots();
    assert_eq!(
        (s.lead_creation, s.opportunity_creation, s.closed_won),
        (None, None, Some(1))
    );
    // Full path: FT 22.5 and CW 22.5, no others left: 50/50.
    assert_eq!(amounts(&conv, &path, &Model::FullPath), [5_000, 5_000]);
    // W-shaped: FT 30, the e-mail is an "other" (CW carries no W weight): 30 : 10.
    assert_eq!(amounts(&conv, &path, &Model::WShaped), [7_500, 2_500]);
}

#[test]
fn opportunity_and_closed_won_on_the_same_touch() {
    // Capture (FT = LC) day 0, e-mail day 5; SQL day 10, signed day 20: OC = CW = e-mail.
    let path = Path::new(
        vec![capture(1, day(0), "webinar"), touch(2, day(5), "email")],
        Milestones {
            capture: Some(id(1)),
            sql_at: Some(day(10)),
            signed_at: Some(day(20)),
        },
    );
    let conv = conversion(ConversionKind::Revenue, day(20), 90_000);
    // Full path: 45 : 45.
    assert_eq!(amounts(&conv, &path, &Model::FullPath), [45_000, 45_000]);
    // W-shaped: 60 : 30.
    assert_eq!(amounts(&conv, &path, &Model::WShaped), [60_000, 30_000]);
}

#[test]
fn milestones_after_the_conversion_do_not_count_yet() {
    let path = five_touches();
    // MQL on day 15: touches on days 0, 7, 14 only; SQL (day 22) has not happened.
    let conv = conversion(ConversionKind::Mql, day(15), COUNT_UNIT);
    let s = path.until(conv.at).slots();
    assert_eq!(
        (s.opportunity_creation, s.closed_won, s.last),
        (None, None, Some(2))
    );
    // W-shaped 30 : 30 : 10 → 428.57, 428.57, 142.86 → floors 428, 428, 142 = 998;
    // remainders .57, .57, .86 → e-mail, then the earlier of the two ties (seo).
    assert_eq!(amounts(&conv, &path, &Model::WShaped), [429, 428, 143]);
    // Full path 22.5 : 22.5 : 10 → 409.09, 409.09, 181.82 → [409, 409, 182].
    assert_eq!(amounts(&conv, &path, &Model::FullPath), [409, 409, 182]);
    // Touches after the conversion get nothing because they are not on the path at all.
    assert_eq!(credit(&conv, &path, &Model::Linear).unwrap().len(), 3);
}

#[test]
fn custom_weights_on_missing_milestones_fall_back_to_linear() {
    let path = five_touches();
    let conv = conversion(ConversionKind::Mql, day(15), 300);
    let only_oc = Model::Custom(PositionWeights::new(0, 0, 10_000, 0, 0, 0));
    assert_eq!(amounts(&conv, &path, &only_oc), [100, 100, 100]);
}

#[test]
fn invalid_parameters_are_rejected() {
    let path = five_touches();
    let conv = revenue_on_day_28(100);
    let bad = Model::Custom(PositionWeights::new(4_000, 0, 0, 0, 4_000, 1_999));
    assert_eq!(credit(&conv, &path, &bad), Err(Error::WeightsSum(9_999)));
    let bad = Model::TimeDecay { half_life_hours: 0 };
    assert_eq!(credit(&conv, &path, &bad), Err(Error::HalfLife));
    // Every built-in position rule is valid.
    for m in Model::rule_based() {
        assert_eq!(m.validate(), Ok(()), "{}", m.name());
        if let Some(w) = m.position_weights() {
            assert_eq!(w.validate(), Ok(()), "{}", m.name());
        }
    }
}

#[test]
fn empty_path_is_an_error_not_a_silent_zero() {
    let path = five_touches();
    let conv = conversion(ConversionKind::Mql, day(-1), COUNT_UNIT);
    assert_eq!(credit(&conv, &path, &Model::Linear), Err(Error::EmptyPath));
}

#[test]
fn data_driven_shares_are_split_across_a_channels_touches() {
    let path = Path::new(
        vec![
            touch(1, day(0), "c1"),
            touch(2, day(1), "c2"),
            touch(3, day(2), "c1"),
            touch(4, day(3), "c3"),
        ],
        Milestones::default(),
    );
    let conv = conversion(ConversionKind::Revenue, day(3), 10_000);
    // c1 50 % (two touches: 25 % each), c2 30 %, c3 20 %.
    let shares = BTreeMap::from([
        ("c1".to_string(), 0.5),
        ("c2".to_string(), 0.3),
        ("c3".to_string(), 0.2),
    ]);
    let m = Model::Markov(ChannelWeights { shares });
    assert_eq!(amounts(&conv, &path, &m), [2_500, 3_000, 2_500, 2_000]);
    // A channel without a fitted share gets nothing.
    let shares = BTreeMap::from([("c2".to_string(), 1.0)]);
    let m = Model::Shapley(ChannelWeights { shares });
    assert_eq!(amounts(&conv, &path, &m), [0, 10_000, 0, 0]);
}

#[test]
fn credits_name_their_touch_and_total_by_channel() {
    let path = five_touches();
    let conv = revenue_on_day_28(100_000);
    let credits = credit(&conv, &path, &Model::WShaped).unwrap();
    assert_eq!(credits[1].event_id, id(11));
    assert_eq!(credits[1].campaign, "webinar-campaign");
    assert_eq!(
        credits.iter().map(|c| c.index).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    let totals = channel_totals(&credits);
    assert_eq!(totals["sem"], 30_000);
    assert_eq!(totals.values().sum::<i64>(), 100_000);
}

#[test]
fn weights_are_relative_parts() {
    // W-shaped on the five-touch path: milestones 3 000 × 2 others, others 1 000 each.
    let path = five_touches().until(day(29));
    assert_eq!(
        weights(&Model::WShaped, &path).unwrap(),
        [6_000, 6_000, 1_000, 6_000, 1_000]
    );
}

#[test]
fn models_parse_by_name() {
    for m in Model::rule_based() {
        assert_eq!(Model::parse(m.name()), Some(m.clone()));
    }
    assert_eq!(Model::parse("custom"), None);
}
