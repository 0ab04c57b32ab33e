//! Trace readers: Gavel, Philly, Alibaba openb and xpufleet job files, turned into [`TraceJob`]s
//! for the simulator. The formats are documented in `docs/traces.md`.
//!
//! Every line of an input is accounted for: it becomes a job, or it is counted under a named
//! skip reason (with the first few line numbers kept for the message), or, when the caller asks
//! for it with [`ReadOptions::remap`], it is repaired by a documented remapping and counted under
//! that remapping's name. A line that does not parse is a skip with reason `malformed:<field>`;
//! a file in which no line parses, or whose header is wrong, is an error naming file, line,
//! field and what was expected.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use xpufleet_model::{ClusterSpec, SimTime, ThroughputTable, TraceJob};

mod alibaba;
mod gavel;
mod jobs;
mod philly;
mod tiresias;

pub use alibaba::read_alibaba_nodes;
pub use gavel::{parse_throughputs, read_throughputs};
pub use jobs::{write_jobs_csv, write_jobs_jsonl, JOBS_CSV_HEADER};

/// How many line numbers to keep per skip or remap reason, for messages.
pub const KEPT_LINES: usize = 5;

/// A trace file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TraceFormat {
    /// Gavel's 7-field tab-separated `msr/` traces.
    Gavel,
    /// Gavel's 10-field tab-separated `physical_cluster/` traces.
    Gavel10,
    /// Philly jobs as Pollux ships them: `timestamp,duration,num_gpus,gpu_time,cluster`.
    Philly,
    /// Alibaba GPU cluster trace 2023 (`openb`): a pod list, or a node list (cluster only).
    Alibaba,
    /// xpufleet's own job format: CSV with a header, or JSONL (one object per line).
    Jobs,
    /// Tiresias simulator job lists: `job_id,num_gpu,submit_time,iterations,model_name,
    /// duration,interval`.
    Tiresias,
}

impl TraceFormat {
    pub const NAMES: &'static str = "gavel, gavel10, philly, alibaba, jobs, tiresias";

    pub fn name(self) -> &'static str {
        match self {
            TraceFormat::Gavel => "gavel",
            TraceFormat::Gavel10 => "gavel10",
            TraceFormat::Philly => "philly",
            TraceFormat::Alibaba => "alibaba",
            TraceFormat::Jobs => "jobs",
            TraceFormat::Tiresias => "tiresias",
        }
    }
}

impl fmt::Display for TraceFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for TraceFormat {
    type Err = TraceError;
    fn from_str(s: &str) -> Result<Self, TraceError> {
        match s.to_ascii_lowercase().as_str() {
            "gavel" | "gavel7" | "msr" => Ok(TraceFormat::Gavel),
            "gavel10" | "physical_cluster" => Ok(TraceFormat::Gavel10),
            "philly" | "pollux" => Ok(TraceFormat::Philly),
            "alibaba" | "openb" => Ok(TraceFormat::Alibaba),
            "jobs" | "xpufleet" | "csv" | "jsonl" => Ok(TraceFormat::Jobs),
            "tiresias" => Ok(TraceFormat::Tiresias),
            _ => Err(TraceError::UnknownFormat(s.to_string())),
        }
    }
}

/// What a reader may do beyond reading the file as it is.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions<'a> {
    /// Repair lines that cannot be used as they are, by the documented remapping of each format
    /// (Gavel: round the gang size down to the largest profiled one; Alibaba: round a GPU share
    /// up to a whole GPU). Off by default: such lines are skipped and counted.
    pub remap: bool,
    /// Gavel formats: the throughput table jobs are checked against. Without it every
    /// well-formed line is read and none is checked.
    pub throughputs: Option<&'a ThroughputTable>,
    /// Alibaba: a node list to read the cluster from, alongside a pod list.
    pub nodes: Option<&'a Path>,
    /// Duration-based formats (Philly, Alibaba): the accelerator type durations were measured
    /// on, stamped on each job's `ref_type`. `None` leaves it unset (the trace's own type).
    pub ref_type: Option<&'a str>,
}

/// A trace, read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TraceRead {
    /// Jobs in submission order (ties keep file order), ids 0.. in that order, submit times
    /// rebased so that the first job arrives at 0 where the format says so.
    pub jobs: Vec<TraceJob>,
    /// Lines not used, by reason (`malformed:<field>`, `unprofiled_gang`, ...).
    pub skipped: BTreeMap<String, u64>,
    /// The first [`KEPT_LINES`] line numbers (1-based) for each skip reason.
    pub skipped_lines: BTreeMap<String, Vec<u64>>,
    /// Lines repaired by a remapping (only with `ReadOptions::remap`), by remapping.
    pub remapped: BTreeMap<String, u64>,
    /// The first [`KEPT_LINES`] line numbers for each remapping.
    pub remapped_lines: BTreeMap<String, Vec<u64>>,
    /// Data lines seen (header and blank lines excluded).
    pub lines: u64,
    /// The cluster the trace describes, when it describes one (Alibaba node lists).
    pub cluster: Option<ClusterSpec>,
    /// The first malformed line's full message, for reports.
    pub first_malformed: Option<String>,
}

impl TraceRead {
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }

    pub fn remapped_total(&self) -> u64 {
        self.remapped.values().sum()
    }

    /// One line per reason: `unprofiled_gang: 120 lines (e.g. 4, 17, 30)`.
    pub fn summary(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (what, counts, lines) in [
            ("skipped", &self.skipped, &self.skipped_lines),
            ("remapped", &self.remapped, &self.remapped_lines),
        ] {
            for (reason, n) in counts {
                let eg = lines
                    .get(reason)
                    .map(|l| l.iter().map(u64::to_string).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default();
                out.push(format!("{what} {reason}: {n} lines (e.g. line {eg})"));
            }
        }
        out
    }
}

/// Why a trace could not be read at all.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// The file could not be opened or read.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A structural problem: a wrong header, an unparseable JSON document.
    #[error("{}:{line}: {field}: expected {expected}, found {found}", path.display())]
    Malformed {
        path: PathBuf,
        line: u64,
        field: String,
        expected: String,
        found: String,
    },
    /// Lines were present but not one of them parsed.
    #[error("{}: none of its {lines} lines could be read as a {format} trace; first: {first}", path.display())]
    Unparseable {
        path: PathBuf,
        format: TraceFormat,
        lines: u64,
        first: String,
    },
    #[error("unknown trace format {0:?}: expected one of {names}", names = TraceFormat::NAMES)]
    UnknownFormat(String),
    /// No data line at all (an empty file, or a header, blank and comment lines only).
    #[error("{}: no jobs: the file has no data lines; expected at least one {format} job line", path.display())]
    Empty { path: PathBuf, format: TraceFormat },
}

/// Reads a trace file of the given format.
pub fn read_trace(
    format: TraceFormat,
    path: &Path,
    opts: &ReadOptions,
) -> Result<TraceRead, TraceError> {
    let bytes = std::fs::read(path).map_err(|source| TraceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_trace_bytes(format, &bytes, path, opts)
}

/// Parses trace bytes: a line that is not UTF-8 is a counted skip (`malformed:utf8`), located
/// by its line number, and the rest of the file is read as usual.
pub fn parse_trace_bytes(
    format: TraceFormat,
    bytes: &[u8],
    path: &Path,
    opts: &ReadOptions,
) -> Result<TraceRead, TraceError> {
    let (text, bad) = utf8_lines(bytes);
    let first_bad = |line: u64| {
        format!(
            "{}:{line}: line: expected UTF-8 text, found a byte that is not",
            path.display()
        )
    };
    let mut read = match parse_trace(format, &text, path, opts) {
        Ok(r) => r,
        // Every data line was undecodable.
        Err(TraceError::Empty { .. }) if !bad.is_empty() => {
            return Err(TraceError::Unparseable {
                path: path.to_path_buf(),
                format,
                lines: bad.len() as u64,
                first: first_bad(bad[0]),
            })
        }
        Err(e) => return Err(e),
    };
    for &line in &bad {
        read.lines += 1;
        bump(
            &mut read.skipped,
            &mut read.skipped_lines,
            "malformed:utf8",
            line,
        );
    }
    if let (None, Some(&line)) = (&read.first_malformed, bad.first()) {
        read.first_malformed = Some(first_bad(line));
    }
    Ok(read)
}

/// The text with each line that is not UTF-8 emptied (blank lines are not data), and those
/// lines' 1-based numbers.
fn utf8_lines(bytes: &[u8]) -> (std::borrow::Cow<'_, str>, Vec<u64>) {
    if let Ok(s) = std::str::from_utf8(bytes) {
        return (s.into(), Vec::new());
    }
    let mut text = String::with_capacity(bytes.len());
    let mut bad = Vec::new();
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if i > 0 {
            text.push('\n');
        }
        match std::str::from_utf8(line) {
            Ok(s) => text.push_str(s),
            Err(_) => bad.push(i as u64 + 1),
        }
    }
    (text.into(), bad)
}

/// Parses trace text already in memory; `path` names it in messages.
pub fn parse_trace(
    format: TraceFormat,
    text: &str,
    path: &Path,
    opts: &ReadOptions,
) -> Result<TraceRead, TraceError> {
    // A `gavel:` trace whose lines have Gavel's 10 fields is the 10-field layout: read it as
    // such rather than call every line malformed.
    let format = match format {
        TraceFormat::Gavel if gavel::looks_like_10_fields(text) => TraceFormat::Gavel10,
        f => f,
    };
    let mut read = match format {
        TraceFormat::Gavel => gavel::parse(text, path, opts, gavel::Layout::Msr7)?,
        TraceFormat::Gavel10 => gavel::parse(text, path, opts, gavel::Layout::Physical10)?,
        TraceFormat::Philly => philly::parse(text, path, opts)?,
        TraceFormat::Alibaba => alibaba::parse(text, path, opts)?,
        TraceFormat::Jobs => jobs::parse(text, path, opts)?,
        TraceFormat::Tiresias => tiresias::parse(text, path, opts)?,
    };
    if let (TraceFormat::Alibaba, Some(nodes)) = (format, opts.nodes) {
        let (cluster, node_read) = read_alibaba_nodes(nodes)?;
        for (reason, n) in node_read.skipped {
            *read.skipped.entry(format!("nodes:{reason}")).or_insert(0) += n;
        }
        read.cluster = Some(cluster);
    }
    Ok(read)
}

/// A whole file as UTF-8 text; a byte that is not UTF-8 is an error at its line.
pub(crate) fn read_text(path: &Path) -> Result<String, TraceError> {
    let bytes = std::fs::read(path).map_err(|source| TraceError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let bytes = e.as_bytes();
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() as u64 + 1;
        TraceError::Malformed {
            path: path.to_path_buf(),
            line,
            field: "text".into(),
            expected: "UTF-8 text".into(),
            found: format!("the byte 0x{:02X}", bytes[at]),
        }
    })
}

/// Accumulates a [`TraceRead`] line by line.
pub(crate) struct Tally<'p> {
    pub read: TraceRead,
    path: &'p Path,
    /// Jobs before sorting, with their line number (stable tie-break).
    pending: Vec<TraceJob>,
}

impl<'p> Tally<'p> {
    pub fn new(path: &'p Path) -> Tally<'p> {
        Tally {
            read: TraceRead::default(),
            path,
            pending: Vec::new(),
        }
    }

    pub fn line(&mut self) {
        self.read.lines += 1;
    }

    pub fn skip(&mut self, reason: &str, line: u64) {
        bump(
            &mut self.read.skipped,
            &mut self.read.skipped_lines,
            reason,
            line,
        );
    }

    pub fn remap(&mut self, how: &str, line: u64) {
        bump(
            &mut self.read.remapped,
            &mut self.read.remapped_lines,
            how,
            line,
        );
    }

    /// Counts a line whose `field` did not parse, keeping the first message.
    pub fn malformed(&mut self, line: u64, field: &str, expected: &str, found: &str) {
        self.skip(&format!("malformed:{field}"), line);
        if self.read.first_malformed.is_none() {
            self.read.first_malformed = Some(format!(
                "{}:{line}: {field}: expected {expected}, found {found:?}",
                self.path.display()
            ));
        }
    }

    pub fn push(&mut self, job: TraceJob) {
        self.pending.push(job);
    }

    /// Sorts by submit time (stable), optionally rebases so the first job arrives at 0, and
    /// numbers jobs 0... A file with lines but no job, all of them malformed, is an error.
    pub fn finish(mut self, format: TraceFormat, rebase: bool) -> Result<TraceRead, TraceError> {
        let malformed: u64 = self
            .read
            .skipped
            .iter()
            .filter(|(r, _)| r.starts_with("malformed:"))
            .map(|(_, n)| n)
            .sum();
        if self.read.lines == 0 {
            return Err(TraceError::Empty {
                path: self.path.to_path_buf(),
                format,
            });
        }
        if self.pending.is_empty() && self.read.lines > 0 && malformed == self.read.lines {
            return Err(TraceError::Unparseable {
                path: self.path.to_path_buf(),
                format,
                lines: self.read.lines,
                first: self.read.first_malformed.take().unwrap_or_default(),
            });
        }
        self.pending.sort_by_key(|j| j.submit);
        let t0 = match (rebase, self.pending.first()) {
            (true, Some(j)) => j.submit,
            _ => SimTime::ZERO,
        };
        for (i, j) in self.pending.iter_mut().enumerate() {
            j.id = i as u64;
            j.submit = SimTime(j.submit - t0);
            if let Some(d) = j.deadline.as_mut() {
                *d = SimTime(*d - t0);
            }
        }
        self.read.jobs = self.pending;
        Ok(self.read)
    }
}

fn bump(
    counts: &mut BTreeMap<String, u64>,
    lines: &mut BTreeMap<String, Vec<u64>>,
    reason: &str,
    line: u64,
) {
    *counts.entry(reason.to_string()).or_insert(0) += 1;
    let kept = lines.entry(reason.to_string()).or_default();
    if kept.len() < KEPT_LINES {
        kept.push(line);
    }
}

/// A bare job: fields every reader fills in, the rest defaulted.
/// The data lines of a comma-separated file with a fixed `header`: every non-empty line after
/// the header, counted in `tally`, split on commas and trimmed, with its 1-based line number. A
/// line with the wrong number of fields is counted as `malformed:fields` and left out.
pub(crate) fn csv_records<'t>(
    text: &'t str,
    path: &Path,
    header: &[&str],
    tally: &mut Tally,
) -> Result<Vec<(u64, Vec<&'t str>)>, TraceError> {
    let mut lines = text.lines().enumerate();
    philly::expect_header(&mut lines, path, header, ',')?;
    let mut out = Vec::new();
    for (n, raw) in lines {
        let line_no = n as u64 + 1;
        let line = raw.trim_end_matches('\r');
        if line.trim().is_empty() || is_comment(line) {
            continue;
        }
        tally.line();
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        if f.len() != header.len() {
            tally.malformed(
                line_no,
                "fields",
                &format!("{} comma-separated fields", header.len()),
                &format!("{} fields", f.len()),
            );
            continue;
        }
        out.push((line_no, f));
    }
    Ok(out)
}

/// A `#` comment line: neither data nor malformed.
pub(crate) fn is_comment(line: &str) -> bool {
    line.trim_start().starts_with('#')
}

pub(crate) fn job(label: String, submit_s: u64, accels: u32, work: f64) -> TraceJob {
    TraceJob {
        id: 0,
        label,
        submit: SimTime(submit_s),
        accels,
        work,
        ref_type: None,
        kind: None,
        allowed: Vec::new(),
        tenant: None,
        priority: 0,
        deadline: None,
    }
}

/// Parses a non-negative, finite number of seconds (fractions allowed) and rounds it to whole
/// seconds, since simulated time is integer.
pub(crate) fn parse_secs(s: &str) -> Option<u64> {
    let v: f64 = s.trim().parse().ok()?;
    (v.is_finite() && (0.0..1e15).contains(&v)).then(|| v.round() as u64)
}

/// Parses a positive, finite amount of work.
pub(crate) fn parse_work(s: &str) -> Option<f64> {
    let v: f64 = s.trim().parse().ok()?;
    (v.is_finite() && v > 0.0).then_some(v)
}
