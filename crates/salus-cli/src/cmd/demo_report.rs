//! The demo's human summary and self-contained HTML report.

/// A short text summary of the report.
pub fn summary(report: &serde_json::Value) -> String {
    let mut out = String::new();
    let studies = report["studies"].as_array().cloned().unwrap_or_default();
    out.push_str(&format!(
        "Salus demo: {} sites, {} studies ({} completed) in {:.1} s\n",
        report["sites"],
        studies.len(),
        studies.iter().filter(|s| s["status"] == "completed").count(),
        report["total_seconds"].as_f64().unwrap_or(0.0)
    ));
    for s in &studies {
        out.push_str(&format!(
            "  - {:<50} {:<14} {:<20} {}\n",
            s["name"].as_str().unwrap_or(""),
            s["analysis"].as_str().unwrap_or(""),
            s["protection"].as_str().unwrap_or(""),
            s["status"].as_str().unwrap_or("")
        ));
    }
    out
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A self-contained HTML page (inline CSS and SVG, no external assets).
pub fn html(report: &serde_json::Value) -> String {
    let mut body = String::new();
    body.push_str(&format!("<h1>Salus demo report</h1><p>{}</p>", escape(&summary(report)).replace('\n', "<br>")));
    for s in report["studies"].as_array().cloned().unwrap_or_default() {
        body.push_str(&format!(
            "<section><h2>{}</h2><p><b>{}</b> &middot; protection <b>{}</b> &middot; {}</p>",
            escape(s["name"].as_str().unwrap_or("")),
            escape(s["analysis"].as_str().unwrap_or("")),
            escape(s["protection"].as_str().unwrap_or("")),
            escape(s["status"].as_str().unwrap_or(""))
        ));
        body.push_str(&format!(
            "<details><summary>result</summary><pre>{}</pre></details><details><summary>privacy record</summary><pre>{}</pre></details></section>",
            escape(&serde_json::to_string_pretty(&s["result"]).unwrap_or_default()),
            escape(&serde_json::to_string_pretty(&s["privacy"]).unwrap_or_default())
        ));
    }
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Salus demo report</title><style>{CSS}</style></head><body>{body}</body></html>"
    )
}

const CSS: &str = "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}\
section{border-top:1px solid #ddd;padding:0.5rem 0}pre{background:#f6f6f6;padding:0.5rem;overflow:auto;font-size:0.8rem}";
