//! Inline SVG charts for the report page (`html`): horizontal grouped bars and line curves,
//! drawn from numbers alone (no script, no font or file outside the page).
//!
//! Each series has its own fill colour, solid (no gradient, no transparency), so a
//! screenshot of the page shows every chart by its colours (`scripts/report-html-check.sh`).

use std::fmt::Write as _;

/// Width of every chart, in CSS pixels.
const WIDTH: f64 = 880.0;
/// Room for the labels left of the bars.
const LABEL: f64 = 170.0;
/// Room for the value right of the longest bar.
const VALUE: f64 = 90.0;
/// Height of one bar.
const BAR: f64 = 14.0;

/// How values are written beside the bars and on the axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    /// A fraction shown as a percentage.
    Share,
    Days,
    /// Major units of a currency.
    Money,
}

impl Unit {
    fn format(self, x: f64) -> String {
        match self {
            Unit::Count => format!("{x:.0}"),
            Unit::Share => format!("{:.1}%", x * 100.0),
            Unit::Days => format!("{x:.1} d"),
            Unit::Money if x.abs() >= 1e6 => format!("{:.2}M", x / 1e6),
            Unit::Money if x.abs() >= 1e3 => format!("{:.1}k", x / 1e3),
            Unit::Money => format!("{x:.0}"),
        }
    }
}

/// One series: a name for the legend, a colour, one value per label (or per x position).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub color: &'static str,
    pub values: Vec<f64>,
}

/// `s` with the five characters HTML and XML give meaning to escaped.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The legend: a swatch and a name per series, on one line (wrapped every five).
fn legend(series: &[Series]) -> (String, f64) {
    let mut out = String::new();
    for (i, s) in series.iter().enumerate() {
        let x = LABEL + (i % 5) as f64 * 140.0;
        let y = 6.0 + (i / 5) as f64 * 18.0;
        let _ = write!(
            out,
            r#"<rect x="{x}" y="{y}" width="12" height="12" fill="{}"/><text x="{}" y="{}" class="legend">{}</text>"#,
            s.color,
            x + 17.0,
            y + 10.5,
            esc(&s.name)
        );
    }
    let rows = series.len().div_ceil(5).max(1);
    (out, 8.0 + rows as f64 * 18.0)
}

/// Horizontal grouped bars: one group per label, one bar per series, each bar's value
/// written at its end. Bars start at 0; negative values are drawn as 0.
pub fn bars(labels: &[String], series: &[Series], unit: Unit) -> String {
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0f64, f64::max);
    let scale = if max > 0.0 {
        (WIDTH - LABEL - VALUE) / max
    } else {
        0.0
    };
    let (mut body, top) = legend(series);
    let group = BAR * series.len() as f64 + 10.0;
    for (i, label) in labels.iter().enumerate() {
        let y0 = top + i as f64 * group;
        let _ = write!(
            body,
            r#"<text x="{}" y="{}" class="label" text-anchor="end">{}</text>"#,
            LABEL - 8.0,
            y0 + group / 2.0,
            esc(label)
        );
        for (j, s) in series.iter().enumerate() {
            let v = s.values.get(i).copied().unwrap_or(0.0);
            let w = (v.max(0.0) * scale).max(0.0);
            let y = y0 + j as f64 * BAR;
            let _ = write!(
                body,
                r#"<rect x="{LABEL}" y="{y}" width="{w:.1}" height="{}" fill="{}"><title>{}: {}</title></rect><text x="{:.1}" y="{}" class="value">{}</text>"#,
                BAR - 2.0,
                s.color,
                esc(&s.name),
                unit.format(v),
                LABEL + w + 4.0,
                y + BAR - 4.0,
                unit.format(v)
            );
        }
    }
    let height = top + labels.len() as f64 * group + 4.0;
    svg(height, &body)
}

/// Line curves over equally spaced x positions (`x_labels`), from 0 to the largest value,
/// each point marked by a dot.
pub fn lines(x_labels: &[String], series: &[Series], unit: Unit) -> String {
    const HEIGHT: f64 = 260.0;
    const LEFT: f64 = 60.0;
    let max = series
        .iter()
        .flat_map(|s| s.values.iter().copied())
        .fold(0.0f64, f64::max);
    let max = if max > 0.0 { max } else { 1.0 };
    let (mut body, top) = legend(series);
    let bottom = top + HEIGHT;
    let n = x_labels.len().max(2) - 1;
    let x = |i: usize| LEFT + (WIDTH - LEFT - 20.0) * i as f64 / n as f64;
    let y = |v: f64| bottom - HEIGHT * v.max(0.0) / max;
    for k in 0..=4 {
        let v = max * f64::from(k) / 4.0;
        let _ = write!(
            body,
            r#"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" class="grid"/><text x="{}" y="{:.1}" class="label" text-anchor="end">{}</text>"#,
            WIDTH - 20.0,
            LEFT - 6.0,
            y(v) + 4.0,
            unit.format(v),
            y = y(v),
        );
    }
    for (i, l) in x_labels.iter().enumerate() {
        let _ = write!(
            body,
            r#"<text x="{:.1}" y="{}" class="label" text-anchor="middle">{}</text>"#,
            x(i),
            bottom + 16.0,
            esc(l)
        );
    }
    for s in series {
        let points: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        let _ = write!(
            body,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="3"/>"#,
            points.join(" "),
            s.color
        );
        for (i, v) in s.values.iter().enumerate() {
            let _ = write!(
                body,
                r#"<circle cx="{:.1}" cy="{:.1}" r="5" fill="{}"><title>{} {}: {}</title></circle>"#,
                x(i),
                y(*v),
                s.color,
                esc(&s.name),
                esc(x_labels.get(i).map_or("", String::as_str)),
                unit.format(*v)
            );
        }
    }
    svg(bottom + 24.0, &body)
}

fn svg(height: f64, body: &str) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height:.0}" viewBox="0 0 {WIDTH} {height:.0}" role="img">{body}</svg>"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_largest_value_and_escape_labels() {
        let s = bars(
            &["a<b".to_string(), "c".to_string()],
            &[Series {
                name: "leads".into(),
                color: "#1f6feb",
                values: vec![50.0, 100.0],
            }],
            Unit::Count,
        );
        assert!(s.contains("a&lt;b"));
        // The longest bar spans the whole bar area.
        assert!(s.contains(&format!(r#"width="{:.1}""#, WIDTH - LABEL - VALUE)));
        assert!(s.contains(&format!(r#"width="{:.1}""#, (WIDTH - LABEL - VALUE) / 2.0)));
        assert_eq!(
            s.matches("fill=\"#1f6feb\"").count(),
            3,
            "legend and two bars"
        );
    }

    #[test]
    fn empty_charts_draw_nothing_past_their_axes() {
        let s = bars(&[], &[], Unit::Share);
        assert!(s.starts_with("<svg") && s.ends_with("</svg>"));
        let l = lines(&["w1".into()], &[], Unit::Share);
        assert!(!l.contains("polyline"));
    }

    #[test]
    fn units() {
        assert_eq!(Unit::Share.format(0.256), "25.6%");
        assert_eq!(Unit::Money.format(1_234_567.0), "1.23M");
        assert_eq!(Unit::Money.format(45_600.0), "45.6k");
        assert_eq!(Unit::Days.format(3.26), "3.3 d");
    }
}
