//! Gavel traces (the 7-field `msr/` files and the 10-field `physical_cluster/` files) and
//! Gavel's throughput JSON.

use std::path::Path;

use serde_json::Value;
use xpufleet_model::{SimTime, ThroughputTable};

use super::{
    job, parse_secs, parse_work, read_text, ReadOptions, Tally, TraceError, TraceFormat, TraceRead,
};

/// Which of Gavel's two line layouts a file uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// job_type, command, num_steps_arg, needs_data_dir, total_steps, arrival_time_s,
    /// scale_factor.
    Msr7,
    /// job_type, command, working_directory, num_steps_arg, needs_data_dir, total_steps,
    /// scale_factor, priority_weight, SLO, arrival_time_s.
    Physical10,
}

impl Layout {
    fn n_fields(self) -> usize {
        match self {
            Layout::Msr7 => 7,
            Layout::Physical10 => 10,
        }
    }

    /// Field indexes: (total_steps, scale_factor, arrival_time, priority_weight, SLO).
    fn idx(self) -> (usize, usize, usize, Option<usize>, Option<usize>) {
        match self {
            Layout::Msr7 => (4, 6, 5, None, None),
            Layout::Physical10 => (5, 6, 9, Some(7), Some(8)),
        }
    }

    fn format(self) -> TraceFormat {
        match self {
            Layout::Msr7 => TraceFormat::Gavel,
            Layout::Physical10 => TraceFormat::Gavel10,
        }
    }
}

/// The first data line has 10 tab-separated fields (Gavel's `physical_cluster/` layout).
pub(crate) fn looks_like_10_fields(text: &str) -> bool {
    text.lines()
        .map(|l| l.trim_end_matches('\r'))
        .find(|l| !l.trim().is_empty() && !super::is_comment(l))
        .is_some_and(|l| l.split('\t').count() == Layout::Physical10.n_fields())
}

pub(crate) fn parse(
    text: &str,
    path: &Path,
    opts: &ReadOptions,
    layout: Layout,
) -> Result<TraceRead, TraceError> {
    let mut tally = Tally::new(path);
    let (i_steps, i_scale, i_arrival, i_prio, i_slo) = layout.idx();
    for (n, raw) in text.lines().enumerate() {
        let line_no = n as u64 + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || super::is_comment(line) {
            continue;
        }
        tally.line();
        let f: Vec<&str> = line.split('\t').collect();
        if f.len() != layout.n_fields() {
            tally.malformed(
                line_no,
                "fields",
                &format!("{} tab-separated fields", layout.n_fields()),
                &format!("{} fields", f.len()),
            );
            continue;
        }
        let kind = f[0].trim();
        if kind.is_empty() {
            tally.malformed(line_no, "job_type", "a job type name", "");
            continue;
        }
        let Some(steps) = parse_work(f[i_steps]) else {
            tally.malformed(line_no, "total_steps", "a positive number", f[i_steps]);
            continue;
        };
        let Some(mut gang) = f[i_scale].trim().parse::<u32>().ok().filter(|&g| g >= 1) else {
            tally.malformed(line_no, "scale_factor", "an integer >= 1", f[i_scale]);
            continue;
        };
        let Some(arrival_s) = parse_secs(f[i_arrival]) else {
            tally.malformed(line_no, "arrival_time", "seconds >= 0", f[i_arrival]);
            continue;
        };
        let mut priority = 0;
        if let Some(i) = i_prio {
            match f[i].trim().parse::<f64>() {
                Ok(w) if w.is_finite() && w >= 0.0 && w <= f64::from(i32::MAX) => {
                    priority = w.round() as i32
                }
                _ => {
                    tally.malformed(line_no, "priority_weight", "a number >= 0", f[i]);
                    continue;
                }
            }
        }
        let mut slo = None;
        if let Some(i) = i_slo {
            match f[i].trim().parse::<f64>() {
                Ok(s) if s.is_finite() && s > 0.0 => slo = Some(s),
                Ok(s) if s.is_finite() && s <= 0.0 => {}
                _ => {
                    tally.malformed(line_no, "SLO", "a number (-1 for none)", f[i]);
                    continue;
                }
            }
        }
        if let Some(table) = opts.throughputs {
            if !table.has_kind(kind) {
                tally.skip("unknown_job_type", line_no);
                continue;
            }
            if !table.has(kind, gang) {
                match (opts.remap, table.gang_at_most(kind, gang)) {
                    (true, Some(profiled)) => {
                        gang = profiled;
                        tally.remap("gang_rounded_down", line_no);
                    }
                    _ => {
                        tally.skip("unprofiled_gang", line_no);
                        continue;
                    }
                }
            }
        }
        let mut j = job(line_no.to_string(), arrival_s, gang, steps);
        j.kind = Some(kind.to_string());
        j.priority = priority;
        if let Some(slo) = slo {
            // Gavel states an SLO as a multiple of the job's run time alone; we take the run
            // time on the fastest profiled type, so the deadline needs the throughput table.
            match opts.throughputs.and_then(|t| t.fastest(kind, gang)) {
                Some((_, rate)) => {
                    let alone_s = (steps / rate).ceil();
                    j.deadline = Some(SimTime(arrival_s) + (slo * alone_s).ceil() as u64);
                }
                None => {
                    tally.skip("slo_without_throughput", line_no);
                    continue;
                }
            }
        }
        tally.push(j);
    }
    tally.finish(layout.format(), false)
}

/// Reads Gavel's throughput JSON (`simulation_throughputs.json`).
pub fn read_throughputs(path: &Path) -> Result<ThroughputTable, TraceError> {
    parse_throughputs(&read_text(path)?, path)
}

/// Parses Gavel's throughput JSON: `{gpu_type: {"('Job type', n_gpus)": {"null": steps_per_s,
/// "('Other type', m)": [a, b], ...}}}`. Only the `"null"` entry (the job alone) is kept; GPU
/// types named `*_unconsolidated` (spread placements) are left out, as Gavel's simulator leaves
/// them out for consolidated jobs.
pub fn parse_throughputs(text: &str, path: &Path) -> Result<ThroughputTable, TraceError> {
    let doc: Value = serde_json::from_str(text).map_err(|e| TraceError::Malformed {
        path: path.to_path_buf(),
        line: e.line() as u64,
        field: format!("JSON (column {})", e.column()),
        expected: "a JSON document".into(),
        found: e.to_string(),
    })?;
    let bad = |key: &str, field: String, expected: &str, found: String| TraceError::Malformed {
        path: path.to_path_buf(),
        line: line_of(text, key),
        field,
        expected: expected.to_string(),
        found,
    };
    let Value::Object(by_gpu) = &doc else {
        return Err(bad(
            "",
            "top level".into(),
            "an object keyed by GPU type",
            short(&doc),
        ));
    };
    let mut table = ThroughputTable::default();
    for (gpu, jobs) in by_gpu {
        if gpu.ends_with("_unconsolidated") {
            continue;
        }
        let Value::Object(jobs) = jobs else {
            return Err(bad(
                gpu,
                gpu.clone(),
                "an object keyed by \"('Job type', n)\"",
                short(jobs),
            ));
        };
        for (key, entry) in jobs {
            let Some((kind, gang)) = parse_job_key(key) else {
                return Err(bad(
                    key,
                    format!("{gpu}.{key}"),
                    "a key of the form \"('Job type', n_gpus)\"",
                    format!("{key:?}"),
                ));
            };
            match entry.get("null").and_then(Value::as_f64) {
                Some(rate) => table.insert(kind, gpu, gang, rate),
                None => {
                    return Err(bad(
                        key,
                        format!("{gpu}.{key}.null"),
                        "a number (steps/s running alone)",
                        short(entry.get("null").unwrap_or(&Value::Null)),
                    ))
                }
            }
        }
    }
    if table.is_empty() {
        return Err(bad(
            "",
            "top level".into(),
            "at least one throughput",
            "none".into(),
        ));
    }
    Ok(table)
}

/// Parses `('ResNet-18 (batch size 64)', 4)` into its job type and GPU count.
fn parse_job_key(key: &str) -> Option<(&str, u32)> {
    let inner = key.trim().strip_prefix('(')?.strip_suffix(')')?;
    let (name, n) = inner.rsplit_once(',')?;
    let name = name.trim();
    let name = name
        .strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .or_else(|| name.strip_prefix('"').and_then(|s| s.strip_suffix('"')))?;
    let n: u32 = n.trim().parse().ok().filter(|&n| n >= 1)?;
    Some((name, n))
}

/// 1-based line of the first occurrence of `"key"` in `text`, or 1.
fn line_of(text: &str, key: &str) -> u64 {
    if key.is_empty() {
        return 1;
    }
    let needle = format!("\"{key}\"");
    text.find(&needle)
        .map_or(1, |at| text[..at].matches('\n').count() as u64 + 1)
}

fn short(v: &Value) -> String {
    let s = v.to_string();
    if s.len() > 60 {
        format!("{}...", &s[..s.floor_char_boundary_compat(57)])
    } else {
        s
    }
}

trait Floor {
    fn floor_char_boundary_compat(&self, i: usize) -> usize;
}

impl Floor for str {
    fn floor_char_boundary_compat(&self, i: usize) -> usize {
        (0..=i.min(self.len()))
            .rev()
            .find(|&k| self.is_char_boundary(k))
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_keys_parse() {
        assert_eq!(
            parse_job_key("('ResNet-18 (batch size 64)', 4)"),
            Some(("ResNet-18 (batch size 64)", 4))
        );
        assert_eq!(parse_job_key("('A3C', 1)"), Some(("A3C", 1)));
        assert_eq!(parse_job_key("A3C"), None);
        assert_eq!(parse_job_key("('A3C', 0)"), None);
    }
}
