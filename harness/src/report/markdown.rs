//! report.md: the reading, the figures with their captions, what was skipped and why,
//! and the tables.

use std::fmt::Write;

use super::build::Report;
use super::tables::Table;

pub fn table(t: &Table) -> String {
    let mut s = format!("### {}\n\n{}\n\n| {} |\n|", t.title, t.note, t.header.join(" | "));
    for &num in &t.numeric {
        s.push_str(if num { "---:|" } else { "---|" });
    }
    s.push('\n');
    for r in &t.rows {
        let _ = writeln!(s, "| {} |", r.iter().map(|c| c.replace('|', "\\|")).collect::<Vec<_>>().join(" | "));
    }
    s
}

pub fn render(r: &Report) -> String {
    let mut s = format!("# gilbench report: {}\n\nSource: `{}` ({} rows).\n\n## Reading\n\n", r.label, r.source, r.rows);
    for line in &r.reading {
        let _ = writeln!(s, "- {line}");
    }
    s.push_str("\n## Figures\n\n");
    for f in &r.figures {
        let _ = writeln!(s, "### {}\n\n![{}]({}.png)\n\n{} ([SVG]({}.svg))\n", f.title, f.title, f.name, f.caption, f.name);
    }
    if !r.skipped.is_empty() {
        s.push_str("### Skipped figures\n\n");
        for (family, reason) in &r.skipped {
            let _ = writeln!(s, "- {family}: {reason}");
        }
        s.push('\n');
    }
    s.push_str("## Tables\n\n");
    for t in &r.tables {
        s.push_str(&table(t));
        s.push('\n');
    }
    s
}
