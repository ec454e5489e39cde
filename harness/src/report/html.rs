//! index.html: one self-contained page (inline SVG, inline CSS, no scripts) with the
//! reading, every figure and every table; opens from disk with no server.

use std::fmt::Write;

use super::build::Report;
use super::tables::Table;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn table(t: &Table) -> String {
    let mut s = format!("<h3>{}</h3>\n<p class=\"note\">{}</p>\n<table>\n<tr>", esc(&t.title), esc(&t.note));
    for h in &t.header {
        let _ = write!(s, "<th>{}</th>", esc(h));
    }
    s.push_str("</tr>\n");
    for r in &t.rows {
        s.push_str("<tr>");
        for (c, num) in r.iter().zip(t.numeric.iter().chain(std::iter::repeat(&false))) {
            let _ = write!(s, "<td{}>{}</td>", if *num { " class=\"n\"" } else { "" }, esc(c));
        }
        s.push_str("</tr>\n");
    }
    s.push_str("</table>\n");
    s
}

/// Drops the XML prolog so the SVG can sit inside HTML, and lets it scale to the page.
fn inline_svg(svg: &str) -> String {
    let body = svg.trim_start().strip_prefix("<?xml").and_then(|r| r.split_once("?>")).map_or(svg, |(_, r)| r);
    body.replacen("<svg ", "<svg style=\"max-width:100%;height:auto\" ", 1)
}

pub fn render(r: &Report) -> String {
    let mut s = format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>gilbench report: {t}</title>\n<style>\n\
         body{{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;max-width:1400px;margin:2em auto;padding:0 1em;color:#222}}\n\
         table{{border-collapse:collapse;font-size:13px;margin-bottom:2em}} td,th{{border:1px solid #ccc;padding:2px 6px}}\n\
         th{{background:#f0f0f0}} td.n{{text-align:right;font-variant-numeric:tabular-nums}} .note{{color:#555;font-size:13px}}\n\
         figure{{margin:1em 0 2.5em}} figcaption{{color:#444;font-size:14px}}\n</style></head><body>\n\
         <h1>gilbench report: {t}</h1>\n<p>Source: <code>{src}</code> ({n} rows).</p>\n<h2>Reading</h2>\n<ul>\n",
        t = esc(&r.label),
        src = esc(&r.source),
        n = r.rows
    );
    for line in &r.reading {
        let _ = writeln!(s, "<li>{}</li>", esc(line));
    }
    s.push_str("</ul>\n<h2>Figures</h2>\n");
    for f in &r.figures {
        let _ = writeln!(
            s,
            "<figure id=\"{}\"><h3>{}</h3>\n{}\n<figcaption>{} (<a href=\"{}.png\">PNG</a>, <a href=\"{}.svg\">SVG</a>)</figcaption></figure>",
            esc(&f.name),
            esc(&f.title),
            inline_svg(&f.svg),
            esc(&f.caption),
            esc(&f.name),
            esc(&f.name)
        );
    }
    if !r.skipped.is_empty() {
        s.push_str("<h3>Skipped figures</h3>\n<ul>\n");
        for (family, reason) in &r.skipped {
            let _ = writeln!(s, "<li>{}: {}</li>", esc(family), esc(reason));
        }
        s.push_str("</ul>\n");
    }
    s.push_str("<h2>Tables</h2>\n");
    for t in &r.tables {
        s.push_str(&table(t));
    }
    s.push_str("</body></html>\n");
    s
}
