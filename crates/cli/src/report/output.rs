//! The report as data: sections of typed cells, written as a table for people, as JSON or as
//! CSV for spreadsheets and scripts (`report --format table|json|csv`).
//!
//! - **table**: each section's title, its columns aligned, then its note.
//! - **json**: `{"sections": [{"id", "title", "note", "columns", "rows": [{column: value}]}]}`
//!   with numbers as numbers (shares as fractions, not percent; money in major units), absent
//!   values as `null`.
//! - **csv** (RFC 4180 quoting): one block per section, blocks separated by an empty line;
//!   every line starts with the section id (the header line's first field is `section`), so a
//!   block can be cut out by its first column.

use comfy_table::{presets, CellAlignment, Table};
use leadledger_domain::Stage;
use serde_json::{json, Map, Value};

/// How the report is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// One value.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Int(i64),
    /// A number shown with `decimals` in the table.
    Num(f64, usize),
    /// A share (0.25 = 25 %); `None`: not defined (nothing to divide by).
    Share(Option<f64>),
    /// Absent.
    None,
}

impl Cell {
    /// A stage given by its proto number, as text: its name, or the number when this reader
    /// does not know it.
    pub fn stage(n: i32) -> Cell {
        Cell::Text(Stage::from_number(n).map_or_else(|| n.to_string(), |s| s.as_str().to_string()))
    }

    fn table(&self) -> String {
        match self {
            Self::Text(s) => s.clone(),
            Self::Int(n) => n.to_string(),
            Self::Num(x, d) => format!("{x:.d$}"),
            Self::Share(Some(x)) => format!("{:.1}%", x * 100.0),
            Self::Share(None) | Self::None => "—".into(),
        }
    }

    fn json(&self) -> Value {
        match self {
            Self::Text(s) => json!(s),
            Self::Int(n) => json!(n),
            Self::Num(x, _) | Self::Share(Some(x)) => json!(x),
            Self::Share(None) | Self::None => Value::Null,
        }
    }

    fn csv(&self) -> String {
        match self {
            Self::Text(s) => s.clone(),
            Self::Int(n) => n.to_string(),
            Self::Num(x, _) | Self::Share(Some(x)) => x.to_string(),
            Self::Share(None) | Self::None => String::new(),
        }
    }

    fn is_text(&self) -> bool {
        matches!(self, Self::Text(_))
    }
}

/// One section of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct Section {
    /// Stable machine name (`funnel_by_channel`…).
    pub id: &'static str,
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Cell>>,
    /// How to read it (printed under the table; a field in JSON).
    pub note: String,
}

impl Section {
    pub fn new(id: &'static str, title: impl Into<String>, columns: &[&str]) -> Self {
        Self {
            id,
            title: title.into(),
            columns: columns.iter().map(|c| (*c).to_string()).collect(),
            rows: Vec::new(),
            note: String::new(),
        }
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.note = note.into();
        self
    }
}

/// The sections written in `format`.
pub fn render(sections: &[Section], format: Format) -> String {
    match format {
        Format::Table => sections.iter().map(table).collect::<Vec<_>>().join("\n"),
        Format::Json => {
            let all: Vec<Value> = sections.iter().map(to_json).collect();
            let mut s =
                serde_json::to_string_pretty(&json!({ "sections": all })).unwrap_or_default();
            s.push('\n');
            s
        }
        Format::Csv => sections.iter().map(csv).collect::<Vec<_>>().join("\n"),
    }
}

fn table(s: &Section) -> String {
    let mut t = Table::new();
    t.load_preset(presets::NOTHING).set_header(&s.columns);
    for row in &s.rows {
        t.add_row(row.iter().map(Cell::table));
    }
    // Text columns left, numbers right (judged by the first row).
    if let Some(first) = s.rows.first() {
        for (i, cell) in first.iter().enumerate() {
            if let Some(c) = t.column_mut(i) {
                c.set_cell_alignment(if cell.is_text() {
                    CellAlignment::Left
                } else {
                    CellAlignment::Right
                });
            }
        }
    }
    let mut out = format!("{}\n{t}\n", s.title);
    if !s.note.is_empty() {
        out.push_str(&s.note);
        out.push('\n');
    }
    out
}

fn to_json(s: &Section) -> Value {
    let rows: Vec<Value> = s
        .rows
        .iter()
        .map(|r| {
            let mut m = Map::new();
            for (c, v) in s.columns.iter().zip(r) {
                m.insert(c.clone(), v.json());
            }
            Value::Object(m)
        })
        .collect();
    json!({
        "id": s.id,
        "title": s.title,
        "note": s.note,
        "columns": s.columns,
        "rows": rows,
    })
}

/// A CSV field, quoted when it must be (RFC 4180).
fn field(v: &str) -> String {
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v.to_string()
    }
}

fn csv(s: &Section) -> String {
    let line = |fields: Vec<String>| {
        let mut l = std::iter::once(field(s.id))
            .chain(fields.iter().map(|f| field(f)))
            .collect::<Vec<_>>()
            .join(",");
        l.push_str("\r\n");
        l
    };
    let mut header = vec!["section".to_string()];
    header.extend(s.columns.iter().map(|c| field(c)));
    let mut out = header.join(",") + "\r\n";
    for r in &s.rows {
        out.push_str(&line(r.iter().map(Cell::csv).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<Section> {
        let mut s = Section::new("demo", "Demo, a title", &["channel", "leads", "share"])
            .note("how to read it");
        s.rows.push(vec![
            Cell::Text("web, \"paid\"".into()),
            Cell::Int(12),
            Cell::Share(Some(0.25)),
        ]);
        s.rows.push(vec![
            Cell::Text("events".into()),
            Cell::Int(3),
            Cell::Share(None),
        ]);
        vec![s]
    }

    #[test]
    fn one_report_three_formats() {
        let t = render(&sample(), Format::Table);
        assert!(t.starts_with("Demo, a title\n"), "{t}");
        assert!(t.contains("25.0%") && t.contains('—') && t.ends_with("how to read it\n"));

        let j: Value = serde_json::from_str(&render(&sample(), Format::Json)).unwrap();
        let rows = &j["sections"][0]["rows"];
        assert_eq!(rows[0]["channel"], "web, \"paid\"");
        assert_eq!(rows[0]["leads"], 12);
        assert_eq!(rows[0]["share"], 0.25);
        assert_eq!(rows[1]["share"], Value::Null);
        assert_eq!(j["sections"][0]["id"], "demo");

        let c = render(&sample(), Format::Csv);
        assert_eq!(
            c,
            "section,channel,leads,share\r\n\
             demo,\"web, \"\"paid\"\"\",12,0.25\r\n\
             demo,events,3,\r\n"
        );
    }
}
