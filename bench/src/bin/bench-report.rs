//! `bench-report`: turns the measurements collected by `bench/run.sh` into
//! `results/latest.json` and `results/latest.md`.
//!
//! Input: one JSON object per line,
//! `{"scenario","case","system","run","metrics":[names],"result":{loadgen or wrk output}}`;
//! a line may instead carry `"failed": "reason"`. For every (scenario, case, system, metric)
//! the report gives the median over the runs and the min–max spread.
#![forbid(unsafe_code)]

use clap::Parser;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use switchboard_bench::fatal;

/// Command line of `bench-report`.
#[derive(Parser)]
#[command(about = "Summarise benchmark runs into Markdown and JSON")]
struct Args {
    /// The JSON-lines file written by run.sh.
    #[arg(long)]
    input: PathBuf,
    /// Where to write the JSON summary.
    #[arg(long)]
    json_out: PathBuf,
    /// Where to write the Markdown summary.
    #[arg(long)]
    md_out: PathBuf,
    /// `KEY=VALUE` facts about the machine and the tools, printed above the table.
    #[arg(long = "info", value_name = "KEY=VALUE")]
    info: Vec<String>,
    /// Free text printed under the table (one paragraph per flag).
    #[arg(long = "note")]
    notes: Vec<String>,
}

/// One input line.
#[derive(Deserialize)]
struct Line {
    scenario: String,
    #[serde(default)]
    case: String,
    system: String,
    #[serde(default)]
    run: u32,
    #[serde(default)]
    metrics: Vec<String>,
    #[serde(default)]
    result: Value,
    #[serde(default)]
    failed: Option<String>,
}

/// Values of one row, in input order.
#[derive(Default)]
struct Row {
    values: Vec<f64>,
    failures: Vec<String>,
    errors: Vec<String>,
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 || v.abs() >= 100.0 {
        let i = v.round() as i64;
        // thousands separators for readability
        let s = i.abs().to_string();
        let mut out = String::new();
        for (k, c) in s.chars().enumerate() {
            if k > 0 && (s.len() - k) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        if i < 0 {
            format!("-{out}")
        } else {
            out
        }
    } else {
        format!("{v:.3}")
    }
}

/// Rows keyed by (scenario, case, system, metric).
type Rows = BTreeMap<(String, String, String, String), Row>;

/// Switchboard against the bare server that does the same work with nothing else: (scenario,
/// Switchboard's system, the bare system, rate metric, p50 metric, p99 metric).
const RATIOS: [(&str, &str, &str, &str, &str, &str); 3] = [
    (
        "echo-http",
        "switchboard (HTTP_PROXY)",
        "bare relay (ws-relay)",
        "messages_per_sec",
        "p50_us",
        "p99_us",
    ),
    (
        "echo-gateway",
        "switchboard (MOCK $input.body)",
        "ws-echo (ceiling)",
        "messages_per_sec",
        "p50_us",
        "p99_us",
    ),
    (
        "push",
        "switchboard (@connections)",
        "bare push server (push-bare)",
        "delivered_per_sec",
        "latency_p50_us",
        "latency_p99_us",
    ),
];

/// The median of one row, if it has values.
fn row_median(rows: &Rows, key: (&str, &str, &str, &str)) -> Option<f64> {
    let (a, b, c, d) = key;
    let row = rows.get(&(a.into(), b.into(), c.into(), d.into()))?;
    let mut v = row.values.clone();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(median(&v))
}

/// Appends the table of Switchboard as a share of the bare servers (medians of the runs).
fn ratio_table(md: &mut String, order: &[(String, String, String, String)], rows: &Rows) {
    let mut lines = Vec::new();
    for (scenario, sut, bare, rate, p50, p99) in RATIOS {
        let mut cases: Vec<&str> = Vec::new();
        for (sc, case, _, _) in order {
            if sc == scenario && !cases.contains(&case.as_str()) {
                cases.push(case);
            }
        }
        for case in cases {
            let get =
                |system: &str, metric: &str| row_median(rows, (scenario, case, system, metric));
            let (Some(r_sut), Some(r_bare)) = (get(sut, rate), get(bare, rate)) else {
                continue;
            };
            let pct = |a: f64, b: f64| {
                if b > 0.0 {
                    format!("{:.1} %", 100.0 * a / b)
                } else {
                    "—".into()
                }
            };
            let times = |m: &str| match (get(sut, m), get(bare, m)) {
                (Some(a), Some(b)) if b > 0.0 => {
                    format!("{} / {} = {:.2}×", fmt_num(a), fmt_num(b), a / b)
                }
                _ => "—".into(),
            };
            lines.push(format!(
                "| {scenario} | {case} | {rate} | {} | {} | {} | {} | {} |",
                fmt_num(r_sut),
                fmt_num(r_bare),
                pct(r_sut, r_bare),
                times(p50),
                times(p99),
            ));
        }
    }
    if lines.is_empty() {
        return;
    }
    let _ = writeln!(md, "\n## Switchboard against the bare servers (medians)\n");
    let _ = writeln!(
        md,
        "Bare relay: `ws-relay` (one keep-alive backend connection per WebSocket connection); \
         bare echo: `ws-echo`; bare push server: `push-bare`. Target of issue 18: rate ≥ 85 %, \
         HTTP p99 ≤ 1.3×.\n"
    );
    let _ = writeln!(
        md,
        "| scenario | case | rate metric | switchboard | bare | switchboard / bare | p50 µs (sb / bare) | p99 µs (sb / bare) |"
    );
    let _ = writeln!(md, "|---|---|---|---:|---:|---:|---|---|");
    for l in lines {
        let _ = writeln!(md, "{l}");
    }
}

fn main() {
    let args = Args::parse();
    let text = std::fs::read_to_string(&args.input)
        .unwrap_or_else(|e| fatal(format!("{}: {e}", args.input.display())));
    // Keyed by (scenario, case, system, metric), in first-seen order.
    let mut order: Vec<(String, String, String, String)> = Vec::new();
    let mut rows: Rows = BTreeMap::new();
    for (n, l) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let line: Line = match serde_json::from_str(l) {
            Ok(v) => v,
            Err(e) => {
                eprintln!("{}:{}: skipped ({e})", args.input.display(), n + 1);
                continue;
            }
        };
        let metrics = if line.metrics.is_empty() {
            vec!["value".to_string()]
        } else {
            line.metrics.clone()
        };
        for m in metrics {
            let key = (
                line.scenario.clone(),
                line.case.clone(),
                line.system.clone(),
                m.clone(),
            );
            if !rows.contains_key(&key) {
                order.push(key.clone());
            }
            let row = rows.entry(key).or_default();
            if let Some(f) = &line.failed {
                row.failures.push(format!("run {}: {f}", line.run));
                continue;
            }
            match line.result.get(&m).and_then(Value::as_f64) {
                Some(v) => row.values.push(v),
                None => row
                    .failures
                    .push(format!("run {}: no numeric {m} in result", line.run)),
            }
            if let Some(e) = line.result.get("first_error").and_then(Value::as_str) {
                if !row.errors.iter().any(|x| x == e) {
                    row.errors.push(e.to_string());
                }
            }
        }
    }

    let mut md = String::new();
    let _ = writeln!(md, "# Switchboard benchmark results\n");
    for i in &args.info {
        let (k, v) = i.split_once('=').unwrap_or((i.as_str(), ""));
        let _ = writeln!(md, "- **{k}**: {v}");
    }
    let _ = writeln!(md);
    let _ = writeln!(
        md,
        "| scenario | case | system | metric | median | spread (min–max) | runs |"
    );
    let _ = writeln!(md, "|---|---|---|---|---:|---|---:|");
    let mut json_rows = Vec::new();
    let mut problems = Vec::new();
    for key in &order {
        let Some(row) = rows.get(key) else { continue };
        let (scenario, case, system, metric) = key;
        let mut sorted = row.values.clone();
        sorted.sort_by(f64::total_cmp);
        let (med, min, max) = if sorted.is_empty() {
            (None, None, None)
        } else {
            (
                Some(median(&sorted)),
                sorted.first().copied(),
                sorted.last().copied(),
            )
        };
        let cell = |v: Option<f64>| v.map(fmt_num).unwrap_or_else(|| "—".into());
        let _ = writeln!(
            md,
            "| {scenario} | {case} | {system} | {metric} | {} | {}–{} | {}{} |",
            cell(med),
            cell(min),
            cell(max),
            row.values.len(),
            if row.failures.is_empty() {
                String::new()
            } else {
                format!(" ({} failed)", row.failures.len())
            }
        );
        for f in &row.failures {
            problems.push(format!("{scenario} / {case} / {system} / {metric}: {f}"));
        }
        for e in &row.errors {
            problems.push(format!(
                "{scenario} / {case} / {system}: first error seen: {e}"
            ));
        }
        json_rows.push(json!({
            "scenario": scenario, "case": case, "system": system, "metric": metric,
            "median": med, "min": min, "max": max, "values": row.values,
            "failures": row.failures, "errors": row.errors,
        }));
    }
    ratio_table(&mut md, &order, &rows);
    problems.dedup();
    if !problems.is_empty() {
        let _ = writeln!(md, "\n## Failures and errors\n");
        for p in &problems {
            let _ = writeln!(md, "- {}", p.replace('|', "\\|"));
        }
    }
    if !args.notes.is_empty() {
        let _ = writeln!(md, "\n## Notes\n");
        for n in &args.notes {
            let _ = writeln!(md, "- {n}");
        }
    }
    let info: BTreeMap<&str, &str> = args
        .info
        .iter()
        .map(|i| i.split_once('=').unwrap_or((i.as_str(), "")))
        .collect();
    let out = json!({ "machine": info, "rows": json_rows, "notes": args.notes });
    let pretty = serde_json::to_string_pretty(&out).unwrap_or_else(|e| fatal(e));
    std::fs::write(&args.json_out, pretty + "\n")
        .unwrap_or_else(|e| fatal(format!("{}: {e}", args.json_out.display())));
    std::fs::write(&args.md_out, md)
        .unwrap_or_else(|e| fatal(format!("{}: {e}", args.md_out.display())));
}
