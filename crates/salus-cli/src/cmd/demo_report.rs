//! The demo's human summary and self-contained HTML report (inline CSS and SVG: a
//! Kaplan-Meier plot for survival curves, a forest plot for hazard and odds ratios,
//! tables for counts, the privacy record and the audit log's verification).

use serde_json::Value;

/// A short text summary of the report.
pub fn summary(report: &Value) -> String {
    let mut out = String::new();
    let studies = report["studies"].as_array().cloned().unwrap_or_default();
    out.push_str(&format!(
        "Salus demo: {} sites, {} studies ({} completed) in {:.1} s\n",
        report["sites"],
        studies.len(),
        studies
            .iter()
            .filter(|s| s["status"] == "completed")
            .count(),
        report["total_seconds"].as_f64().unwrap_or(0.0)
    ));
    for s in &studies {
        out.push_str(&format!(
            "  - {:<62} {:<13} {:<19} {:<9} {}\n",
            s["name"].as_str().unwrap_or(""),
            s["analysis"].as_str().unwrap_or(""),
            s["protection"].as_str().unwrap_or(""),
            s["status"].as_str().unwrap_or(""),
            headline(s)
        ));
    }
    if let Some(consent) = report["consent"].as_array().filter(|c| !c.is_empty()) {
        let records: u64 = consent.iter().filter_map(|c| c["records"].as_u64()).sum();
        let excluded: Vec<String> = studies
            .iter()
            .filter_map(|s| s["privacy"]["consent_excluded"].as_u64())
            .map(|n| n.to_string())
            .collect();
        out.push_str(&format!(
            "Consent: {records} FHIR Consent objections imported; patients excluded per study: {}\n",
            excluded.join(", ")
        ));
    }
    if let Some(audit) = report.get("audit").filter(|a| !a.is_null()) {
        out.push_str(&format!(
            "Audit log: {} entries, {} checkpoints, {} witness cosignatures, valid: {}\n",
            audit["entries"], audit["checkpoints"], audit["witnesses"], audit["valid"]
        ));
    }
    out
}

/// One line of the most telling figure of a study's result.
fn headline(s: &Value) -> String {
    let r = &s["result"];
    let dp = &s["privacy"]["dp"];
    let dp_note = if dp.is_object() {
        format!(
            " [DP epsilon {} rho {:.4}; budget left {}]",
            dp["epsilon"],
            dp["rho"].as_f64().unwrap_or(0.0),
            dp["remaining_rho"]
        )
    } else {
        String::new()
    };
    let text = match s["analysis"].as_str().unwrap_or("") {
        "descriptive" => format!("n = {}, mean age {}", r["n"], r["columns"]["age"]["mean"]),
        "kaplan-meier" => r["groups"]
            .as_array()
            .map(|g| {
                g.iter()
                    .map(|g| {
                        format!(
                            "{}: median {}",
                            g["name"].as_str().unwrap_or(""),
                            g["median"]
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default(),
        "cox" | "logistic" | "linear" => r["coefficients"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["name"] != "intercept"))
            .map(|c| {
                let ratio = if s["analysis"] == "cox" { "HR" } else { "coef" };
                let value = if s["analysis"] == "cox" {
                    &c["hr"]
                } else {
                    &c["coef"]
                };
                format!(
                    "{} {ratio} {:.3} (p {:.2e})",
                    c["name"].as_str().unwrap_or(""),
                    value.as_f64().unwrap_or(f64::NAN),
                    c["p"].as_f64().unwrap_or(f64::NAN)
                )
            })
            .unwrap_or_default(),
        _ => format!("n = {}", r["n"]),
    };
    text + &dp_note
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A self-contained HTML page (inline CSS and SVG, no external assets).
pub fn html(report: &Value) -> String {
    let mut body = String::new();
    body.push_str("<h1>Salus demo report</h1>");
    body.push_str(&format!(
        "<pre class=\"summary\">{}</pre>",
        escape(&summary(report))
    ));
    body.push_str(&dataset_section(report));
    for s in report["studies"].as_array().cloned().unwrap_or_default() {
        body.push_str(&study_section(&s));
    }
    body.push_str(&audit_section(&report["audit"]));
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>Salus demo report</title><style>{CSS}</style></head><body>{body}</body></html>"
    )
}

fn dataset_section(report: &Value) -> String {
    let mut out = String::from(
        "<section><h2>Sites</h2><table><tr><th>site</th><th>organisation</th><th>GBSG2 patients</th><th>enrollment</th></tr>",
    );
    let secs = report["enrollment_seconds"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    for (i, site) in report["dataset"]["sites"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        out.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.0} ms</td></tr>",
            escape(site["name"].as_str().unwrap_or("")),
            escape(site["organisation"].as_str().unwrap_or("")),
            site["rows"],
            secs.get(i).and_then(Value::as_f64).unwrap_or(0.0) * 1000.0
        ));
    }
    out.push_str("</table><p>");
    out.push_str(&escape(
        report["dataset"]["description"].as_str().unwrap_or(""),
    ));
    out.push_str("</p></section>");
    out
}

fn study_section(s: &Value) -> String {
    let mut out = format!(
        "<section><h2>{}</h2><p><b>{}</b> &middot; protection <b>{}</b> &middot; {} &middot; {:.2} s</p>",
        escape(s["name"].as_str().unwrap_or("")),
        escape(s["analysis"].as_str().unwrap_or("")),
        escape(s["protection"].as_str().unwrap_or("")),
        escape(s["status"].as_str().unwrap_or("")),
        s["seconds"].as_f64().unwrap_or(0.0)
    );
    if let Some(e) = s["error"].as_str() {
        out.push_str(&format!("<p class=\"error\">{}</p>", escape(e)));
    }
    let r = &s["result"];
    match s["analysis"].as_str().unwrap_or("") {
        "kaplan-meier" => out.push_str(&km_plot(r)),
        "cox" => out.push_str(&forest_plot(
            r,
            "hr",
            "hr_lower",
            "hr_upper",
            "hazard ratio",
        )),
        "logistic" => out.push_str(&odds_plot(r)),
        _ => {}
    }
    let p = &s["privacy"];
    if p.is_object() {
        out.push_str(&format!(
            "<p class=\"privacy\">Hub saw: {}<br>Researcher sees: {}<br>Nodes: {} &middot; min cell count {} &middot; suppressed cells {} &middot; consent-excluded {}{}</p>",
            escape(p["hub_saw"].as_str().unwrap_or("")),
            escape(p["researcher_sees"].as_str().unwrap_or("")),
            escape(&p["nodes"].to_string()),
            p["min_cell_count"],
            p["suppressed_cells"],
            p["consent_excluded"],
            if p["dp"].is_object() {
                format!(
                    "<br>Differential privacy: epsilon {} (delta {}), rho {:.4}, {}; budget left per node {}",
                    p["dp"]["epsilon"],
                    p["dp"]["delta"],
                    p["dp"]["rho"].as_f64().unwrap_or(0.0),
                    escape(p["dp"]["mechanism"].as_str().unwrap_or("")),
                    escape(&p["dp"]["remaining_rho"].to_string())
                )
            } else {
                String::new()
            }
        ));
    }
    out.push_str(&format!(
        "<details><summary>result (JSON)</summary><pre>{}</pre></details><details><summary>privacy record (JSON)</summary><pre>{}</pre></details></section>",
        escape(&serde_json::to_string_pretty(r).unwrap_or_default()),
        escape(&serde_json::to_string_pretty(p).unwrap_or_default())
    ));
    out
}

const COLOURS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];

/// Step curves with confidence bands, one colour per group.
fn km_plot(r: &Value) -> String {
    let (w, h, left, bottom) = (640.0, 320.0, 50.0, 30.0);
    let groups = r["groups"].as_array().cloned().unwrap_or_default();
    let tmax = groups
        .iter()
        .filter_map(|g| {
            g["times"]
                .as_array()
                .and_then(|t| t.last())
                .and_then(Value::as_f64)
        })
        .fold(1.0f64, f64::max);
    let x = |t: f64| left + (t / tmax) * (w - left - 10.0);
    let y = |s: f64| 10.0 + (1.0 - s) * (h - bottom - 10.0);
    let mut svg = format!(
        "<svg viewBox=\"0 0 {w} {h}\" class=\"plot\" role=\"img\" aria-label=\"Kaplan-Meier curves\">"
    );
    svg.push_str(&axes(w, h, left, bottom));
    for k in 0..=4 {
        let s = k as f64 / 4.0;
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" class=\"tick\" text-anchor=\"end\">{s:.2}</text>",
            left - 4.0,
            y(s) + 4.0
        ));
        let t = tmax * k as f64 / 4.0;
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" class=\"tick\" text-anchor=\"middle\">{t:.0}</text>",
            x(t),
            h - bottom + 16.0
        ));
    }
    for (i, g) in groups.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let series = |key: &str| -> Vec<f64> {
            g[key]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default()
        };
        let (times, surv, lower, upper) = (
            series("times"),
            series("survival"),
            series("lower"),
            series("upper"),
        );
        let step = |values: &[f64], start: f64| -> String {
            let mut d = format!("M{:.1},{:.1}", x(0.0), y(start));
            for (t, v) in times.iter().zip(values) {
                d.push_str(&format!(" H{:.1} V{:.1}", x(*t), y(*v)));
            }
            d
        };
        svg.push_str(&format!("<path d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-opacity=\"0.35\" stroke-dasharray=\"3 3\"/>", step(&lower, 1.0)));
        svg.push_str(&format!("<path d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-opacity=\"0.35\" stroke-dasharray=\"3 3\"/>", step(&upper, 1.0)));
        svg.push_str(&format!(
            "<path d=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>",
            step(&surv, 1.0)
        ));
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" fill=\"{colour}\" class=\"legend\">{} (n = {})</text>",
            w - 150.0,
            20.0 + 16.0 * i as f64,
            escape(g["name"].as_str().unwrap_or("")),
            g["n"]
        ));
    }
    svg.push_str("</svg>");
    let logrank = if r["logrank"].is_object() {
        format!(
            "<p>Log-rank test: chi-square {} on {} df, p = {:.3e}</p>",
            r["logrank"]["statistic"],
            r["logrank"]["df"],
            r["logrank"]["p"].as_f64().unwrap_or(f64::NAN)
        )
    } else {
        String::new()
    };
    format!(
        "{svg}<p class=\"caption\">Kaplan-Meier estimate with 95% Greenwood intervals (dashed); time in days.</p>{logrank}"
    )
}

fn axes(w: f64, h: f64, left: f64, bottom: f64) -> String {
    format!(
        "<line x1=\"{left}\" y1=\"10\" x2=\"{left}\" y2=\"{}\" class=\"axis\"/><line x1=\"{left}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" class=\"axis\"/>",
        h - bottom,
        h - bottom,
        w - 10.0,
        h - bottom
    )
}

/// Odds ratios from logistic coefficients, as a forest plot.
fn odds_plot(r: &Value) -> String {
    let mut rows = Vec::new();
    for c in r["coefficients"].as_array().cloned().unwrap_or_default() {
        if c["name"] == "intercept" {
            continue;
        }
        let (b, se) = (
            c["coef"].as_f64().unwrap_or(f64::NAN),
            c["se"].as_f64().unwrap_or(f64::NAN),
        );
        rows.push(serde_json::json!({
            "name": c["name"], "or": b.exp(), "lo": (b - 1.959964 * se).exp(), "hi": (b + 1.959964 * se).exp(), "p": c["p"],
        }));
    }
    forest_plot(
        &serde_json::json!({"coefficients": rows}),
        "or",
        "lo",
        "hi",
        "odds ratio",
    )
}

/// Ratios with 95% intervals on a log axis.
fn forest_plot(r: &Value, est: &str, lo: &str, hi: &str, label: &str) -> String {
    let coefs = r["coefficients"].as_array().cloned().unwrap_or_default();
    let value = |c: &Value, k: &str| c[k].as_f64().filter(|v| v.is_finite() && *v > 0.0);
    let (mut min, mut max) = (0.5f64, 2.0f64);
    for c in &coefs {
        if let (Some(l), Some(u)) = (value(c, lo), value(c, hi)) {
            min = min.min(l);
            max = max.max(u);
        }
    }
    let (w, row_h, left, right) = (640.0, 22.0, 170.0, 130.0);
    let h = 40.0 + row_h * coefs.len() as f64;
    let x = |v: f64| left + (v.ln() - min.ln()) / (max.ln() - min.ln()) * (w - left - right);
    let mut svg = format!(
        "<svg viewBox=\"0 0 {w} {h}\" class=\"plot\" role=\"img\" aria-label=\"forest plot\">"
    );
    svg.push_str(&format!("<line x1=\"{0:.1}\" y1=\"5\" x2=\"{0:.1}\" y2=\"{1}\" class=\"axis\" stroke-dasharray=\"4 3\"/>", x(1.0), h - 25.0));
    for (i, c) in coefs.iter().enumerate() {
        let yy = 20.0 + row_h * i as f64;
        let name = escape(c["name"].as_str().unwrap_or(""));
        svg.push_str(&format!(
            "<text x=\"{}\" y=\"{}\" class=\"tick\" text-anchor=\"end\">{name}</text>",
            left - 8.0,
            yy + 4.0
        ));
        if let (Some(e), Some(l), Some(u)) = (value(c, est), value(c, lo), value(c, hi)) {
            svg.push_str(&format!(
                "<line x1=\"{:.1}\" y1=\"{yy}\" x2=\"{:.1}\" y2=\"{yy}\" stroke=\"#333\"/>",
                x(l),
                x(u)
            ));
            svg.push_str(&format!(
                "<rect x=\"{:.1}\" y=\"{}\" width=\"8\" height=\"8\" fill=\"#1f77b4\"/>",
                x(e) - 4.0,
                yy - 4.0
            ));
            svg.push_str(&format!(
                "<text x=\"{}\" y=\"{}\" class=\"tick\">{e:.2} ({l:.2}-{u:.2})</text>",
                w - right + 8.0,
                yy + 4.0
            ));
        }
    }
    for v in [min, 1.0, max] {
        svg.push_str(&format!(
            "<text x=\"{:.1}\" y=\"{}\" class=\"tick\" text-anchor=\"middle\">{v:.2}</text>",
            x(v),
            h - 8.0
        ));
    }
    svg.push_str("</svg>");
    format!("{svg}<p class=\"caption\">{label} with 95% confidence interval (log scale).</p>")
}

fn audit_section(audit: &Value) -> String {
    if !audit.is_object() {
        return String::new();
    }
    format!(
        "<section><h2>Audit log</h2><p>{} entries, {} checkpoints, {} witness cosignatures &middot; verification: <b>{}</b></p><pre>{}</pre></section>",
        audit["entries"],
        audit["checkpoints"],
        audit["witnesses"],
        if audit["valid"] == true {
            "valid"
        } else {
            "INVALID"
        },
        escape(&serde_json::to_string_pretty(&audit["problems"]).unwrap_or_default())
    )
}

const CSS: &str = "body{font-family:system-ui,sans-serif;max-width:62rem;margin:2rem auto;padding:0 1rem;color:#222}\
section{border-top:1px solid #ddd;padding:0.5rem 0}pre{background:#f6f6f6;padding:0.5rem;overflow:auto;font-size:0.8rem}\
table{border-collapse:collapse}td,th{border-bottom:1px solid #eee;padding:2px 8px;text-align:left}\
.plot{width:100%;max-width:640px;background:#fff}.axis{stroke:#555}.tick{font-size:11px;fill:#333}.legend{font-size:12px}\
.caption{font-size:0.85rem;color:#555}.privacy{font-size:0.85rem;color:#444}.error{color:#b00}";
