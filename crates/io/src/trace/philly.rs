//! Philly jobs as Pollux ships them (`simulator/traces/philly.csv`):
//! `timestamp,duration,num_gpus,gpu_time,cluster`, one job per line, not sorted.

use std::path::Path;

use super::{csv_records, job, parse_work, ReadOptions, Tally, TraceError, TraceFormat, TraceRead};

const HEADER: [&str; 5] = ["timestamp", "duration", "num_gpus", "gpu_time", "cluster"];

pub(crate) fn parse(text: &str, path: &Path, opts: &ReadOptions) -> Result<TraceRead, TraceError> {
    let mut tally = Tally::new(path);
    for (line_no, f) in csv_records(text, path, &HEADER, &mut tally)? {
        let Some(submit_s) = parse_datetime(f[0]) else {
            tally.malformed(
                line_no,
                "timestamp",
                "a calendar date and time YYYY-MM-DD HH:MM:SS from 1970",
                f[0],
            );
            continue;
        };
        let duration_s = match f[1].parse::<f64>() {
            Ok(d) if d.is_finite() && d >= 0.0 => d,
            // A negative duration is not a job that took no time: the line is wrong.
            _ => {
                tally.malformed(line_no, "duration", "seconds >= 0", f[1]);
                continue;
            }
        };
        let Ok(gpus) = f[2].parse::<u32>() else {
            tally.malformed(line_no, "num_gpus", "an integer", f[2]);
            continue;
        };
        if gpus == 0 {
            tally.skip("no_gpu", line_no);
            continue;
        }
        let Some(work) = parse_work(f[1]) else {
            if duration_s == 0.0 {
                tally.skip("zero_duration", line_no);
            } else {
                tally.malformed(line_no, "duration", "seconds", f[1]);
            }
            continue;
        };
        let mut j = job(line_no.to_string(), submit_s, gpus, work);
        j.ref_type = opts.ref_type.map(str::to_string);
        if !f[4].is_empty() {
            j.tenant = Some(f[4].to_string());
        }
        tally.push(j);
    }
    tally.finish(TraceFormat::Philly, true)
}

/// Checks the header line (the first non-empty line) against `want`, field by field.
pub(crate) fn expect_header<'t>(
    lines: &mut impl Iterator<Item = (usize, &'t str)>,
    path: &Path,
    want: &[&str],
    sep: char,
) -> Result<(), TraceError> {
    let malformed = |line: u64, found: String| TraceError::Malformed {
        path: path.to_path_buf(),
        line,
        field: "header".into(),
        expected: format!("the header {:?}", want.join(&sep.to_string())),
        found,
    };
    for (n, raw) in lines.by_ref() {
        let line = raw.trim_end_matches('\r').trim_start_matches('\u{feff}');
        if line.trim().is_empty() || super::is_comment(line) {
            continue;
        }
        let got: Vec<&str> = line.split(sep).map(str::trim).collect();
        return if got == want {
            Ok(())
        } else {
            Err(malformed(n as u64 + 1, format!("{line:?}")))
        };
    }
    Err(malformed(1, "an empty file".into()))
}

/// Seconds since 1970-01-01 for `YYYY-MM-DD HH:MM:SS` (UTC; the trace gives no zone, and only
/// differences matter once times are rebased). The date must exist: 2017-02-31 is `None`, not
/// 2017-03-03.
pub(crate) fn parse_datetime(s: &str) -> Option<u64> {
    let s = s.trim();
    let t = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .ok()?;
    u64::try_from(t.and_utc().timestamp()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datetimes_parse_to_unix_seconds() {
        assert_eq!(parse_datetime("1970-01-01 00:00:00"), Some(0));
        assert_eq!(parse_datetime("2017-10-09 07:01:55"), Some(1_507_532_515));
        assert_eq!(parse_datetime("2000-03-01 00:00:00"), Some(951_868_800));
        assert_eq!(parse_datetime("2017-13-09 07:01:55"), None);
        assert_eq!(parse_datetime("2017-10-09"), None);
        assert_eq!(parse_datetime("yesterday 10:00:00"), None);
        assert_eq!(parse_datetime("2017-10-09T07:01:55"), Some(1_507_532_515));
        // Issue 17: dates that do not exist are refused, not rolled over.
        assert_eq!(parse_datetime("2017-02-31 10:00:00"), None);
        assert_eq!(parse_datetime("2017-02-29 10:00:00"), None);
        assert_eq!(parse_datetime("2016-02-29 10:00:00"), Some(1_456_740_000));
        assert_eq!(parse_datetime("2017-10-09 24:00:00"), None);
        assert_eq!(parse_datetime("1969-12-31 23:59:59"), None);
    }
}
