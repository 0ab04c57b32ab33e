//! Philly jobs as Pollux ships them (`simulator/traces/philly.csv`):
//! `timestamp,duration,num_gpus,gpu_time,cluster`, one job per line, not sorted.

use std::path::Path;

use super::{csv_records, job, parse_work, ReadOptions, Tally, TraceError, TraceFormat, TraceRead};

const HEADER: [&str; 5] = ["timestamp", "duration", "num_gpus", "gpu_time", "cluster"];

pub(crate) fn parse(text: &str, path: &Path, opts: &ReadOptions) -> Result<TraceRead, TraceError> {
    let mut tally = Tally::new(path);
    for (line_no, f) in csv_records(text, path, &HEADER, &mut tally)? {
        let Some(submit_s) = parse_datetime(f[0]) else {
            tally.malformed(line_no, "timestamp", "YYYY-MM-DD HH:MM:SS", f[0]);
            continue;
        };
        let Ok(duration_s) = f[1].parse::<f64>() else {
            tally.malformed(line_no, "duration", "seconds", f[1]);
            continue;
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
            if duration_s.is_finite() && duration_s <= 0.0 {
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
        if line.trim().is_empty() {
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
/// differences matter once times are rebased).
pub(crate) fn parse_datetime(s: &str) -> Option<u64> {
    let (date, time) = s.trim().split_once([' ', 'T'])?;
    let mut d = date.split('-').map(|p| p.parse::<i64>().ok());
    let (y, m, day) = (d.next()??, d.next()??, d.next()??);
    if d.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        return None;
    }
    let mut t = time.split(':').map(|p| p.parse::<i64>().ok());
    let (hh, mm, ss) = (t.next()??, t.next()??, t.next()??);
    if t.next().is_some()
        || !(0..24).contains(&hh)
        || !(0..60).contains(&mm)
        || !(0..=60).contains(&ss)
    {
        return None;
    }
    let secs = days_from_civil(y, m, day) * 86_400 + hh * 3600 + mm * 60 + ss;
    u64::try_from(secs).ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
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
    }
}
