//! Tiresias simulator job lists (`*_job.csv`):
//! `job_id,num_gpu,submit_time,iterations,model_name,duration,interval`.

use std::path::Path;

use super::{
    csv_records, job, parse_secs, parse_work, ReadOptions, Tally, TraceError, TraceFormat,
    TraceRead,
};

const HEADER: [&str; 7] = [
    "job_id",
    "num_gpu",
    "submit_time",
    "iterations",
    "model_name",
    "duration",
    "interval",
];

pub(crate) fn parse(text: &str, path: &Path, opts: &ReadOptions) -> Result<TraceRead, TraceError> {
    let mut tally = Tally::new(path);
    for (line_no, f) in csv_records(text, path, &HEADER, &mut tally)? {
        let Ok(gpus) = f[1].parse::<u32>() else {
            tally.malformed(line_no, "num_gpu", "an integer", f[1]);
            continue;
        };
        let Some(submit_s) = parse_secs(f[2]) else {
            tally.malformed(line_no, "submit_time", "seconds >= 0", f[2]);
            continue;
        };
        if gpus == 0 {
            tally.skip("no_gpu", line_no);
            continue;
        }
        let Some(duration_s) = parse_work(f[5]) else {
            match f[5].parse::<f64>() {
                Ok(0.0) => tally.skip("zero_duration", line_no),
                _ => tally.malformed(line_no, "duration", "seconds >= 0", f[5]),
            }
            continue;
        };
        let mut j = job(f[0].to_string(), submit_s, gpus, duration_s);
        j.ref_type = opts.ref_type.map(str::to_string);
        tally.push(j);
    }
    tally.finish(TraceFormat::Tiresias, false)
}
