//! `report --html FILE`: the report as one self-contained page — inline CSS and SVG, no
//! script, no font, image or style sheet from anywhere else — so it can be mailed, archived
//! or opened offline. Charts first (the funnel, velocity by stage, the attribution models
//! side by side, SLA compliance, the revenue equation by channel, ROI by channel, the cohort
//! curves), each
//! drawn from the section of the report that holds its numbers; then every section as a
//! table, the same rows as `--format table`.
//!
//! Each chart's first series has a colour no other chart uses (`SIGNATURES`), so a
//! screenshot can be checked for every chart (`scripts/report-html-check.sh`).

use std::fmt::Write as _;

use super::output::{Cell, Section};
use super::svg::{self, esc, Series, Unit};

/// The colour of each chart's first series, by chart id (what the screenshot check looks
/// for; keep `scripts/report-html-check.py` in step).
pub const SIGNATURES: [(&str, &str); 7] = [
    ("funnel", "#1f6feb"),
    ("velocity", "#2da44e"),
    ("attribution", "#cf222e"),
    ("sla", "#bf8700"),
    ("revenue", "#8250df"),
    ("cohorts", "#0a7ea4"),
    ("roi", "#7d4e00"),
];

/// Colours of the attribution models after the first.
const MODELS: [&str; 11] = [
    "#fb8f44", "#a475f9", "#1b7c83", "#6e7781", "#e16f24", "#4d2d00", "#0550ae", "#bc4c00",
    "#953800", "#ff8182", "#4ac26b",
];
/// Colours of the cohort curves after the first.
const COHORTS: [&str; 5] = ["#d4a72c", "#8c959f", "#e85aad", "#54aeff", "#218bff"];

fn signature(chart: &str) -> &'static str {
    SIGNATURES
        .iter()
        .find(|(id, _)| *id == chart)
        .map_or("#000000", |(_, c)| c)
}

const STYLE: &str = "body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1f2328;\
background:#fff}h1{font-size:22px}h2{font-size:16px;margin:0 0 6px}\
section.chart{border:1px solid #d0d7de;border-radius:6px;padding:12px;margin:0 0 18px;\
max-width:900px}p.note{color:#59636e;font-size:12px;margin:4px 0 0}\
text.label,text.value,text.legend{font-size:11px;fill:#1f2328}line.grid{stroke:#d0d7de}\
table{border-collapse:collapse;margin:0 0 8px}td,th{border:1px solid #d0d7de;\
padding:2px 6px;font-size:12px}td.n{text-align:right}th{background:#f6f8fa}";

/// The page of `sections`, titled `title`.
pub fn page(title: &str, sections: &[Section]) -> String {
    let mut out = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>{STYLE}</style></head><body><h1>{t}</h1>",
        t = esc(title)
    );
    let find = |id: &str| sections.iter().find(|s| s.id == id);
    let charts = [
        ("funnel", find("funnel_by_channel").and_then(funnel)),
        ("velocity", find("velocity_by_stage").and_then(velocity)),
        (
            "attribution",
            find("revenue_by_channel_models").and_then(attribution),
        ),
        ("sla", find("sla_compliance").and_then(sla)),
        (
            "revenue",
            find("revenue_equation_by_channel").and_then(revenue),
        ),
        ("roi", find("roi_by_channel").and_then(roi)),
        ("cohorts", find("cohort_curves").and_then(cohorts)),
    ];
    for (id, chart) in charts {
        if let Some((heading, svg, note)) = chart {
            let _ = write!(
                out,
                "<section class=\"chart\" id=\"chart-{id}\"><h2>{}</h2>{svg}<p class=\"note\">{}</p></section>",
                esc(&heading),
                esc(&note)
            );
        }
    }
    out.push_str("<h1>Tables</h1>");
    for s in sections {
        out.push_str(&table(s));
    }
    out.push_str("</body></html>\n");
    out
}

/// A chart: heading, SVG, how to read it.
type Chart = (String, String, String);

fn number(c: &Cell) -> f64 {
    match c {
        Cell::Int(n) => *n as f64,
        Cell::Num(x, _) | Cell::Share(Some(x)) => *x,
        _ => 0.0,
    }
}

fn text(c: &Cell) -> String {
    match c {
        Cell::Text(s) => s.clone(),
        other => format!("{:?}", number(other)),
    }
}

/// The value of `column` in `row` of `s`.
fn at(s: &Section, row: &[Cell], column: &str) -> f64 {
    s.columns
        .iter()
        .position(|c| c == column)
        .and_then(|i| row.get(i))
        .map_or(0.0, number)
}

fn funnel(s: &Section) -> Option<Chart> {
    let total = s
        .rows
        .iter()
        .find(|r| r.first().map(text).as_deref() == Some("TOTAL"))?;
    let stages = ["leads", "mql", "sql", "poc", "signed"];
    let series = Series {
        name: "leads that reached the stage".into(),
        color: signature("funnel"),
        values: stages.iter().map(|c| at(s, total, c)).collect(),
    };
    let labels: Vec<String> = ["captured", "MQL", "SQL", "POC", "signed"]
        .iter()
        .map(|l| (*l).to_string())
        .collect();
    Some((
        "Funnel".into(),
        svg::bars(&labels, &[series], Unit::Count),
        "Leads that reached each stage or a later one, every channel.".into(),
    ))
}

fn velocity(s: &Section) -> Option<Chart> {
    let labels: Vec<String> = s.rows.iter().map(|r| text(&r[0])).collect();
    let series = [
        ("P50", signature("velocity"), "p50_days"),
        ("P90", "#116329", "p90_days"),
    ]
    .map(|(name, color, col)| Series {
        name: name.into(),
        color,
        values: s.rows.iter().map(|r| at(s, r, col)).collect(),
    });
    (!labels.is_empty()).then(|| {
        (
            "Velocity by stage — days in stage".into(),
            svg::bars(&labels, &series, Unit::Days),
            "Completed stays; nearest-rank percentiles (docs/ANALYTICS.md).".into(),
        )
    })
}

fn attribution(s: &Section) -> Option<Chart> {
    let labels: Vec<String> = s.rows.iter().map(|r| text(&r[0])).collect();
    let colors = std::iter::once(signature("attribution")).chain(MODELS);
    let series: Vec<Series> = s
        .columns
        .iter()
        .skip(1)
        .zip(colors)
        .map(|(model, color)| Series {
            name: model.clone(),
            color,
            values: s.rows.iter().map(|r| at(s, r, model)).collect(),
        })
        .collect();
    (!labels.is_empty()).then(|| {
        (
            "Attribution models side by side — share of signed revenue".into(),
            svg::bars(&labels, &series, Unit::Share),
            "Each model's shares of the same revenue sum to 100 % (docs/ATTRIBUTION.md).".into(),
        )
    })
}

fn sla(s: &Section) -> Option<Chart> {
    let labels: Vec<String> = s.rows.iter().map(|r| text(&r[0])).collect();
    let series = Series {
        name: "compliance".into(),
        color: signature("sla"),
        values: s.rows.iter().map(|r| at(s, r, "compliance")).collect(),
    };
    (!labels.is_empty()).then(|| {
        (
            s.title.clone(),
            svg::bars(&labels, &[series], Unit::Share),
            "Clocks met in time of the clocks due, per policy (docs/SLA.md).".into(),
        )
    })
}

fn revenue(s: &Section) -> Option<Chart> {
    let rows: Vec<&Vec<Cell>> = s
        .rows
        .iter()
        .filter(|r| r.first().map(text).as_deref() != Some("TOTAL"))
        .collect();
    let labels: Vec<String> = rows.iter().map(|r| text(&r[0])).collect();
    let series = [
        ("signed", signature("revenue"), "signed"),
        ("collected", "#e85aad", "collected"),
    ]
    .map(|(name, color, col)| Series {
        name: name.into(),
        color,
        values: rows.iter().map(|r| at(s, r, col)).collect(),
    });
    (!labels.is_empty()).then(|| {
        (
            s.title.clone(),
            svg::bars(&labels, &series, Unit::Money),
            "Signed and collected revenue of each channel's leads (major units).".into(),
        )
    })
}

fn roi(s: &Section) -> Option<Chart> {
    let labels: Vec<String> = s.rows.iter().map(|r| text(&r[0])).collect();
    let series = [
        ("revenue credited", signature("roi"), "revenue"),
        ("spend", "#1a7f37", "spend"),
    ]
    .map(|(name, color, col)| Series {
        name: name.into(),
        color,
        values: s.rows.iter().map(|r| at(s, r, col)).collect(),
    });
    (!labels.is_empty()).then(|| {
        (
            s.title.clone(),
            svg::bars(&labels, &series, Unit::Money),
            "The signed revenue the attribution model credits to the channel against its spend \
             in the window (major units); ROI, ROAS, CAC and turnover are in the table below."
                .into(),
        )
    })
}

/// The SQL curves of the cohorts: share of each cohort that reached SQL by week N.
fn cohorts(s: &Section) -> Option<Chart> {
    let weeks: Vec<&String> = s.columns.iter().filter(|c| c.starts_with('w')).collect();
    let colors = std::iter::once(signature("cohorts")).chain(COHORTS);
    let series: Vec<Series> = s
        .rows
        .iter()
        .filter(|r| r.get(1).map(text).as_deref() == Some("sql"))
        .zip(colors)
        .map(|(r, color)| Series {
            name: text(&r[0]),
            color,
            values: weeks.iter().map(|w| at(s, r, w)).collect(),
        })
        .collect();
    (!series.is_empty()).then(|| {
        (
            "Cohort curves — share of each capture month that reached SQL, by week".into(),
            svg::lines(
                &weeks.iter().map(|w| (*w).clone()).collect::<Vec<_>>(),
                &series,
                Unit::Share,
            ),
            "Cumulative: week N counts leads that reached SQL within N weeks of capture.".into(),
        )
    })
}

fn table(s: &Section) -> String {
    let mut out = format!("<h2>{}</h2><table><tr>", esc(&s.title));
    for c in &s.columns {
        let _ = write!(out, "<th>{}</th>", esc(c));
    }
    out.push_str("</tr>");
    for row in &s.rows {
        out.push_str("<tr>");
        for c in row {
            let (class, v) = match c {
                Cell::Text(t) => ("", esc(t)),
                Cell::Int(n) => (" class=\"n\"", n.to_string()),
                Cell::Num(x, d) => (" class=\"n\"", format!("{x:.d$}")),
                Cell::Share(Some(x)) => (" class=\"n\"", format!("{:.1}%", x * 100.0)),
                Cell::Share(None) | Cell::None => ("", "—".into()),
            };
            let _ = write!(out, "<td{class}>{v}</td>");
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    if !s.note.is_empty() {
        let _ = write!(out, "<p class=\"note\">{}</p>", esc(&s.note));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_self_contained_and_draws_each_chart_from_its_section() {
        let mut f = Section::new(
            "funnel_by_channel",
            "Funnel",
            &["channel", "leads", "mql", "sql", "poc", "signed"],
        );
        f.rows.push(vec![
            Cell::Text("TOTAL".into()),
            Cell::Int(100),
            Cell::Int(40),
            Cell::Int(13),
            Cell::Int(5),
            Cell::Int(1),
        ]);
        let mut c = Section::new(
            "cohort_curves",
            "Cohorts",
            &["cohort", "stage", "leads", "w1", "w2"],
        );
        c.rows.push(vec![
            Cell::Text("2026-04".into()),
            Cell::Text("sql".into()),
            Cell::Int(10),
            Cell::Share(Some(0.1)),
            Cell::Share(Some(0.2)),
        ]);
        let p = page("leadledger <demo>", &[f, c]);
        assert!(p.contains("<title>leadledger &lt;demo&gt;</title>"));
        assert!(p.contains("id=\"chart-funnel\"") && p.contains("id=\"chart-cohorts\""));
        assert!(!p.contains("id=\"chart-sla\""), "no section, no chart");
        // Nothing is fetched: no script, link, image or URL but the SVG namespace.
        for banned in ["<script", "<link", "<img", "src=", "url(", "@import"] {
            assert!(!p.contains(banned), "{banned}");
        }
        assert_eq!(
            p.matches("http").count(),
            p.matches("xmlns=\"http://www.w3.org/2000/svg\"").count()
        );
        assert!(p.contains(signature("funnel")) && p.contains(signature("cohorts")));
    }
}
