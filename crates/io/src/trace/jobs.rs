//! xpufleet's own job format: CSV with a header row, or JSONL (one JSON object per line).
//! Columns (any order; see `docs/traces.md`): id, submit_s, accels, work | duration_s, kind,
//! ref_type, allowed, tenant, priority, deadline_s.

use std::path::Path;

use serde_json::{Map, Value};
use xpufleet_model::{SimTime, TraceJob};

use super::{job, parse_secs, parse_work, ReadOptions, Tally, TraceError, TraceFormat, TraceRead};

/// Every column the format knows, in the order the writer emits them.
pub const JOBS_CSV_HEADER: [&str; 10] = [
    "id",
    "submit_s",
    "accels",
    "work",
    "duration_s",
    "kind",
    "ref_type",
    "allowed",
    "tenant",
    "priority",
];
const DEADLINE: &str = "deadline_s";
const REQUIRED: [&str; 3] = ["id", "submit_s", "accels"];

pub(crate) fn parse(text: &str, path: &Path, opts: &ReadOptions) -> Result<TraceRead, TraceError> {
    let first = text.trim_start_matches('\u{feff}').trim_start();
    if first.starts_with('{') {
        parse_jsonl(text, path, opts)
    } else {
        parse_csv(text, path, opts)
    }
}

fn known(col: &str) -> bool {
    JOBS_CSV_HEADER.contains(&col) || col == DEADLINE
}

fn parse_csv(text: &str, path: &Path, opts: &ReadOptions) -> Result<TraceRead, TraceError> {
    let mut tally = Tally::new(path);
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let header_err = |found: String| TraceError::Malformed {
        path: path.to_path_buf(),
        line: 1,
        field: "header".into(),
        expected: format!(
            "a header naming {} and one of work, duration_s (known columns: {}, {DEADLINE})",
            REQUIRED.join(", "),
            JOBS_CSV_HEADER.join(", ")
        ),
        found,
    };
    let header: Vec<String> = match rdr.headers() {
        Ok(h) => h.iter().map(str::to_string).collect(),
        Err(e) => return Err(header_err(e.to_string())),
    };
    if let Some(bad) = header.iter().find(|c| !known(c)) {
        return Err(header_err(format!("unknown column {bad:?}")));
    }
    if REQUIRED.iter().any(|r| !header.iter().any(|c| c == r))
        || !header.iter().any(|c| c == "work" || c == "duration_s")
    {
        return Err(header_err(format!("{:?}", header.join(","))));
    }
    for rec in rdr.records() {
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                tally.line();
                tally.malformed(line, "fields", "a CSV record", &e.to_string());
                continue;
            }
        };
        let line_no = rec.position().map_or(0, |p| p.line());
        if rec.iter().all(str::is_empty) {
            continue;
        }
        tally.line();
        if rec.len() != header.len() {
            tally.malformed(
                line_no,
                "fields",
                &format!("{} fields, as in the header", header.len()),
                &format!("{} fields", rec.len()),
            );
            continue;
        }
        let get = |name: &str| -> Option<String> {
            let i = header.iter().position(|c| c == name)?;
            Some(rec.get(i)?.to_string()).filter(|s| !s.is_empty())
        };
        build(&mut tally, line_no, &get, opts);
    }
    tally.finish(TraceFormat::Jobs, false)
}

fn parse_jsonl(text: &str, path: &Path, opts: &ReadOptions) -> Result<TraceRead, TraceError> {
    let mut tally = Tally::new(path);
    for (n, raw) in text.lines().enumerate() {
        let line_no = n as u64 + 1;
        let line = raw.trim().trim_start_matches('\u{feff}');
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        tally.line();
        let obj: Map<String, Value> = match serde_json::from_str(line) {
            Ok(Value::Object(o)) => o,
            Ok(other) => {
                tally.malformed(line_no, "line", "a JSON object", &other.to_string());
                continue;
            }
            Err(e) => {
                tally.malformed(line_no, "line", "a JSON object", &e.to_string());
                continue;
            }
        };
        if let Some(bad) = obj.keys().find(|k| !known(k)) {
            let bad = bad.clone();
            tally.malformed(line_no, &bad, "a known field", &bad);
            continue;
        }
        let get = |name: &str| -> Option<String> {
            match obj.get(name)? {
                Value::Null => None,
                Value::String(s) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
                Value::Array(items) => Some(
                    items
                        .iter()
                        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                        .collect::<Vec<_>>()
                        .join(";"),
                )
                .filter(|s| !s.is_empty()),
                other => Some(other.to_string()),
            }
        };
        build(&mut tally, line_no, &get, opts);
    }
    tally.finish(TraceFormat::Jobs, false)
}

/// Builds one job from named fields, or counts why not.
fn build(
    tally: &mut Tally,
    line_no: u64,
    get: &dyn Fn(&str) -> Option<String>,
    opts: &ReadOptions,
) {
    let Some(id) = get("id") else {
        tally.malformed(line_no, "id", "a job id", "");
        return;
    };
    let submit = get("submit_s").unwrap_or_default();
    let Some(submit_s) = parse_secs(&submit) else {
        tally.malformed(line_no, "submit_s", "seconds >= 0", &submit);
        return;
    };
    let accels = get("accels").unwrap_or_default();
    let Some(accels) = accels.parse::<u32>().ok().filter(|&a| a >= 1) else {
        tally.malformed(line_no, "accels", "an integer >= 1", &accels);
        return;
    };
    let kind = get("kind");
    let work = match (get("work"), get("duration_s")) {
        (Some(w), None) => {
            let Some(w) = parse_work(&w) else {
                tally.malformed(line_no, "work", "a positive number of steps", &w);
                return;
            };
            if kind.is_none() {
                tally.malformed(
                    line_no,
                    "kind",
                    "a job kind, since work is in its steps",
                    "",
                );
                return;
            }
            w
        }
        (None, Some(d)) => {
            let Some(d) = parse_work(&d) else {
                tally.malformed(line_no, "duration_s", "a positive number of seconds", &d);
                return;
            };
            if let Some(k) = &kind {
                tally.malformed(
                    line_no,
                    "kind",
                    "no kind with duration_s (give work in steps)",
                    k,
                );
                return;
            }
            d
        }
        (Some(_), Some(_)) => {
            tally.malformed(
                line_no,
                "work",
                "either work or duration_s, not both",
                "both",
            );
            return;
        }
        (None, None) => {
            tally.malformed(line_no, "work", "work or duration_s", "neither");
            return;
        }
    };
    let priority = match get("priority") {
        None => 0,
        Some(p) => match p.parse::<i32>() {
            Ok(p) => p,
            Err(_) => {
                tally.malformed(line_no, "priority", "an integer", &p);
                return;
            }
        },
    };
    let deadline = match get(DEADLINE) {
        None => None,
        Some(d) => match parse_secs(&d) {
            Some(after_s) => Some(SimTime(submit_s) + after_s),
            None => {
                tally.malformed(line_no, DEADLINE, "seconds after submission, >= 0", &d);
                return;
            }
        },
    };
    if let (Some(k), Some(table)) = (&kind, opts.throughputs) {
        if !table.has_kind(k) {
            tally.skip("unknown_job_type", line_no);
            return;
        }
    }
    let mut j = job(id, submit_s, accels, work);
    j.kind = kind;
    j.ref_type = get("ref_type").or_else(|| {
        if j.kind.is_none() {
            opts.ref_type.map(str::to_string)
        } else {
            None
        }
    });
    j.allowed = get("allowed")
        .map(|a| {
            a.split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    j.tenant = get("tenant");
    j.priority = priority;
    j.deadline = deadline;
    tally.push(j);
}

fn fields(j: &TraceJob) -> [String; 11] {
    let (work, duration) = if j.kind.is_some() {
        (fmt_num(j.work), String::new())
    } else {
        (String::new(), fmt_num(j.work))
    };
    [
        j.label.clone(),
        j.submit.secs().to_string(),
        j.accels.to_string(),
        work,
        duration,
        j.kind.clone().unwrap_or_default(),
        j.ref_type.clone().unwrap_or_default(),
        j.allowed.join(";"),
        j.tenant.clone().unwrap_or_default(),
        j.priority.to_string(),
        j.deadline
            .map_or(String::new(), |d| (d - j.submit).to_string()),
    ]
}

/// Shortest decimal that reads back as the same `f64`.
fn fmt_num(v: f64) -> String {
    format!("{v}")
}

/// Writes jobs in the CSV job format (header included); reading it back gives the same jobs.
pub fn write_jobs_csv(jobs: &[TraceJob]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<&str> = JOBS_CSV_HEADER.to_vec();
    header.push(DEADLINE);
    // Writing to a Vec cannot fail.
    let _ = w.write_record(&header);
    for j in jobs {
        let _ = w.write_record(fields(j));
    }
    String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
}

/// Writes jobs in the JSONL job format, one object per line, empty fields left out.
pub fn write_jobs_jsonl(jobs: &[TraceJob]) -> String {
    let mut out = String::new();
    let mut names: Vec<&str> = JOBS_CSV_HEADER.to_vec();
    names.push(DEADLINE);
    for j in jobs {
        let mut obj = Map::new();
        for (name, value) in names.iter().zip(fields(j)) {
            if value.is_empty() {
                continue;
            }
            let v = match *name {
                "submit_s" | "accels" | "priority" | DEADLINE => {
                    Value::from(value.parse::<i64>().unwrap_or_default())
                }
                "work" | "duration_s" => Value::from(value.parse::<f64>().unwrap_or_default()),
                "allowed" => Value::from(j.allowed.clone()),
                _ => Value::from(value),
            };
            obj.insert((*name).to_string(), v);
        }
        out.push_str(&Value::Object(obj).to_string());
        out.push('\n');
    }
    out
}
