//! Golden counts for every trace reader, malformed-line accounting, remapping only on request,
//! and round trips of xpufleet's own job format.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
use xpufleet_io::trace::{
    parse_throughputs, parse_trace, parse_trace_bytes, read_alibaba_nodes, read_throughputs,
    read_trace, write_jobs_csv, write_jobs_jsonl, ReadOptions, TraceError, TraceFormat, TraceRead,
};
use xpufleet_model::{SimTime, ThroughputTable, TraceJob};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data/traces")
        .join(rel)
}

fn gavel_table() -> ThroughputTable {
    read_throughputs(&data("gavel/simulation_throughputs.json")).unwrap()
}

fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
    pairs.iter().map(|&(k, v)| (k.to_string(), v)).collect()
}

fn read(format: TraceFormat, rel: &str, opts: &ReadOptions) -> TraceRead {
    read_trace(format, &data(rel), opts).unwrap()
}

fn parse(format: TraceFormat, text: &str, opts: &ReadOptions) -> Result<TraceRead, TraceError> {
    parse_trace(format, text, Path::new("test.trace"), opts)
}

#[test]
fn gavel_throughputs_read_null_entries_only() {
    let t = gavel_table();
    assert_eq!(
        t.accel_types().into_iter().collect::<Vec<_>>(),
        ["k80", "p100", "v100"]
    );
    assert_eq!(t.kinds().count(), 26);
    assert_eq!(t.len(), 3 * 83);
    // serde_json's default float parsing may be one ulp off the shortest round trip.
    let rate = t.get("ResNet-18 (batch size 16)", "v100", 2).unwrap();
    assert!((rate / 100.14206200421837 - 1.0).abs() < 1e-12, "{rate}");
    assert_eq!(
        t.get("ResNet-18 (batch size 16)", "k80", 1),
        Some(4.795294551566172)
    );
    assert_eq!(t.gangs("A3C").into_iter().collect::<Vec<_>>(), [1]);
    assert_eq!(
        t.gangs("Transformer (batch size 64)")
            .into_iter()
            .collect::<Vec<_>>(),
        [1, 2, 4, 8]
    );
}

#[test]
fn gavel_msr_unprofiled_lines_are_skipped_and_counted() {
    let t = gavel_table();
    let file = "gavel/msr/seed=0/11cb48.trace";
    // Without a table nothing can be checked: every well-formed line is a job.
    let raw = read(TraceFormat::Gavel, file, &ReadOptions::default());
    assert_eq!((raw.lines, raw.jobs.len()), (2000, 2000));
    assert!(raw.skipped.is_empty());

    let opts = ReadOptions {
        throughputs: Some(&t),
        ..ReadOptions::default()
    };
    let r = read(TraceFormat::Gavel, file, &opts);
    assert_eq!(r.lines, 2000);
    assert_eq!(r.jobs.len(), 1819);
    assert_eq!(r.skipped, counts(&[("unprofiled_gang", 181)]));
    assert_eq!(r.skipped_lines["unprofiled_gang"].len(), 5);
    assert!(r.remapped.is_empty(), "no remapping unless asked");
    assert!(r
        .jobs
        .iter()
        .all(|j| t.has(j.kind.as_deref().unwrap(), j.accels)));
    // The file's first line: Transformer (batch size 128), 13,407,515 steps, at 0 s, one GPU.
    let first = &r.jobs[0];
    assert_eq!(first.kind.as_deref(), Some("Transformer (batch size 128)"));
    assert_eq!(
        (first.work, first.submit, first.accels),
        (13_407_515.0, SimTime(0), 1)
    );
    assert_eq!(first.label, "1");
    assert!(r.jobs.windows(2).all(|p| p[0].submit <= p[1].submit));
    assert!(r.jobs.iter().enumerate().all(|(i, j)| j.id == i as u64));
    assert!(r.summary()[0].starts_with("skipped unprofiled_gang: 181 lines (e.g. line "));

    let small = read(TraceFormat::Gavel, "gavel/msr/seed=0/23dbec.trace", &opts);
    assert_eq!((small.lines, small.jobs.len()), (9, 8));
    assert_eq!(small.skipped, counts(&[("unprofiled_gang", 1)]));
}

#[test]
fn gavel_remap_rounds_gang_down_only_when_asked() {
    let t = gavel_table();
    let opts = ReadOptions {
        throughputs: Some(&t),
        remap: true,
        ..ReadOptions::default()
    };
    let r = read(TraceFormat::Gavel, "gavel/msr/seed=0/11cb48.trace", &opts);
    assert_eq!(r.jobs.len(), 2000);
    assert!(r.skipped.is_empty());
    assert_eq!(r.remapped, counts(&[("gang_rounded_down", 181)]));
    assert!(r
        .jobs
        .iter()
        .all(|j| t.has(j.kind.as_deref().unwrap(), j.accels)));
    assert!(r.jobs.iter().all(|j| j.accels <= 8));
    // Remapped jobs keep their place, steps and arrival: only the gang changes.
    let plain = read(
        TraceFormat::Gavel,
        "gavel/msr/seed=0/11cb48.trace",
        &ReadOptions::default(),
    );
    let by_label: BTreeMap<_, _> = plain.jobs.iter().map(|j| (j.label.clone(), j)).collect();
    for j in &r.jobs {
        let p = by_label[&j.label];
        assert_eq!((j.work, j.submit), (p.work, p.submit));
        assert!(j.accels <= p.accels);
    }
}

#[test]
fn gavel_physical_cluster_traces_read_all_lines() {
    let t = gavel_table();
    let opts = ReadOptions {
        throughputs: Some(&t),
        ..ReadOptions::default()
    };
    let r = read(
        TraceFormat::Gavel10,
        "gavel/physical_cluster/small_test.trace",
        &opts,
    );
    assert_eq!((r.lines, r.jobs.len()), (20, 20));
    assert!(r.skipped.is_empty());
    assert_eq!(r.jobs[0].work, 346.0);
    assert_eq!(r.jobs[0].accels, 2);
    assert_eq!(r.jobs[0].priority, 1);
    assert_eq!(r.jobs[0].deadline, None, "SLO -1 means none");
    let r = read(
        TraceFormat::Gavel10,
        "gavel/physical_cluster/max_min_fairness.trace",
        &opts,
    );
    assert_eq!((r.lines, r.jobs.len()), (96, 96));
    // Issue 17: `gavel:` on a 10-field file reads it as the 10-field layout (it once called
    // every line malformed).
    let small = data("gavel/physical_cluster/small_test.trace");
    assert_eq!(
        read_trace(TraceFormat::Gavel, &small, &opts).unwrap(),
        read_trace(TraceFormat::Gavel10, &small, &opts).unwrap()
    );
}

#[test]
fn gavel_malformed_lines_are_counted_by_field() {
    let text = "A3C\tcmd\t-n\t1\t100\t0\t1\n\
                A3C\tcmd\t-n\t1\t100\t5\tzero\n\
                A3C\tcmd\t-n\t1\t-3\t5\t1\n\
                A3C\tcmd\t-n\t1\t100\n\
                \n\
                A3C\tcmd\t-n\t1\t100\t9.6\t1\n";
    let r = parse(TraceFormat::Gavel, text, &ReadOptions::default()).unwrap();
    assert_eq!(r.lines, 5);
    assert_eq!(r.jobs.len(), 2);
    assert_eq!(
        r.jobs[1].submit,
        SimTime(10),
        "arrival rounded to whole seconds"
    );
    assert_eq!(
        r.skipped,
        counts(&[
            ("malformed:fields", 1),
            ("malformed:scale_factor", 1),
            ("malformed:total_steps", 1)
        ])
    );
    assert_eq!(r.skipped_lines["malformed:fields"], [4]);
    let first = r.first_malformed.unwrap();
    assert!(
        first.contains("test.trace:2: scale_factor: expected an integer >= 1"),
        "{first}"
    );
    // A job type absent from the table is never remapped.
    let mut t = ThroughputTable::default();
    t.insert("ResNet", "v100", 1, 10.0);
    let opts = ReadOptions {
        throughputs: Some(&t),
        remap: true,
        ..ReadOptions::default()
    };
    let r = parse(
        TraceFormat::Gavel,
        "A3C\tc\t-n\t1\t100\t0\t1\nResNet\tc\t-n\t1\t100\t0\t4\n",
        &opts,
    )
    .unwrap();
    assert_eq!(r.skipped, counts(&[("unknown_job_type", 1)]));
    assert_eq!(r.remapped, counts(&[("gang_rounded_down", 1)]));
    assert_eq!(r.jobs[0].accels, 1);
}

#[test]
fn gavel_slo_becomes_a_deadline_from_the_fastest_type() {
    let mut t = ThroughputTable::default();
    t.insert("ResNet", "k80", 2, 5.0);
    t.insert("ResNet", "v100", 2, 20.0);
    let opts = ReadOptions {
        throughputs: Some(&t),
        ..ReadOptions::default()
    };
    let line = "ResNet\tcmd\tdir\t-n\t1\t1000\t2\t5\t2.0\t100\n";
    let r = parse(TraceFormat::Gavel10, line, &opts).unwrap();
    // 1000 steps at 20 steps/s alone: 50 s; SLO 2.0: due 100 s after arriving at 100.
    assert_eq!(r.jobs[0].deadline, Some(SimTime(200)));
    assert_eq!(r.jobs[0].priority, 5);
    let r = parse(TraceFormat::Gavel10, line, &ReadOptions::default()).unwrap();
    assert_eq!(r.skipped, counts(&[("slo_without_throughput", 1)]));
}

#[test]
fn throughput_json_errors_are_located() {
    let err = parse_throughputs(
        "{\"v100\": {\n  \"bad key\": {\"null\": 1}}}",
        Path::new("t.json"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("t.json:2: v100.bad key"), "{err}");
    let err = parse_throughputs("{\"v100\": [", Path::new("t.json"))
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("t.json:1: JSON"), "{err}");
    let err = parse_throughputs(
        "{\"v100\": {\"('A', 1)\": {\"null\": \"fast\"}}}",
        Path::new("t.json"),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("null: expected a number"), "{err}");
    let t = parse_throughputs(
        "{\"v100\": {\"('A', 1)\": {\"null\": 2.5}}, \"v100_unconsolidated\": {\"('A', 1)\": {\"null\": 1}}}",
        Path::new("t.json"),
    )
    .unwrap();
    assert_eq!(t.len(), 1);
}

#[test]
fn philly_is_sorted_rebased_and_complete() {
    let r = read(
        TraceFormat::Philly,
        "pollux/philly.csv",
        &ReadOptions::default(),
    );
    assert_eq!((r.lines, r.jobs.len()), (82_247, 82_247));
    assert!(r.skipped.is_empty());
    assert_eq!(r.jobs[0].submit, SimTime(0));
    // 2017-09-04 10:30:41 to 2017-12-22 08:02:11.
    assert_eq!(r.jobs.last().unwrap().submit, SimTime(9_408_690));
    assert!(r.jobs.windows(2).all(|p| p[0].submit <= p[1].submit));
    assert_eq!(r.jobs.iter().map(|j| j.accels).max(), Some(128));
    let gpu_s: f64 = r.jobs.iter().map(|j| j.work * f64::from(j.accels)).sum();
    assert_eq!(gpu_s, 3_521_082_502.0);
    let tenants: std::collections::BTreeSet<_> =
        r.jobs.iter().filter_map(|j| j.tenant.as_deref()).collect();
    assert_eq!(tenants.len(), 15);
    let with_ref = read(
        TraceFormat::Philly,
        "pollux/philly.csv",
        &ReadOptions {
            ref_type: Some("v100"),
            ..ReadOptions::default()
        },
    );
    assert!(with_ref
        .jobs
        .iter()
        .all(|j| j.ref_type.as_deref() == Some("v100")));
}

#[test]
fn philly_bad_header_and_lines() {
    let err = parse(
        TraceFormat::Philly,
        "when,how_long\n",
        &ReadOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("test.trace:1: header: expected the header"),
        "{err}"
    );
    let text = "timestamp,duration,num_gpus,gpu_time,cluster\n\
                2017-10-09 07:01:55,66.0,1,66.0,a\n\
                2017-10-09 07:00:55,0,1,0,a\n\
                2017-10-09 07:02:55,10,0,0,a\n\
                2017-10-09 07:02:55,ten,1,0,a\n\
                2017-10-09,10,1,10,a\n";
    let r = parse(TraceFormat::Philly, text, &ReadOptions::default()).unwrap();
    assert_eq!(r.jobs.len(), 1);
    assert_eq!(
        r.skipped,
        counts(&[
            ("malformed:duration", 1),
            ("malformed:timestamp", 1),
            ("no_gpu", 1),
            ("zero_duration", 1)
        ])
    );
    assert_eq!(r.lines, 5);
}

const PHILLY_HEADER: &str = "timestamp,duration,num_gpus,gpu_time,cluster\n";

/// Issue 17: a date that does not exist is a counted skip, not a job two days later.
#[test]
fn issue_17_philly_dates_are_real_calendar_dates() {
    let text = format!(
        "{PHILLY_HEADER}2017-02-28 10:00:00,60,1,60,a\n2017-02-31 10:00:00,60,1,60,a\n2017-03-03 10:00:00,60,1,60,a\n"
    );
    let r = parse(TraceFormat::Philly, &text, &ReadOptions::default()).unwrap();
    assert_eq!(r.jobs.len(), 2);
    assert_eq!(r.skipped, counts(&[("malformed:timestamp", 1)]));
    assert_eq!(r.skipped_lines["malformed:timestamp"], vec![3]);
    assert_eq!(r.jobs[1].submit, SimTime(3 * 86_400));
}

/// Issue 17: a negative duration is malformed, not "zero"; a zero one is still zero.
#[test]
fn issue_17_negative_durations_are_malformed() {
    let philly = format!(
        "{PHILLY_HEADER}2017-10-09 07:01:55,-66,1,66.0,a\n2017-10-09 07:01:55,0,1,0,a\n2017-10-09 07:01:55,5,1,5,a\n"
    );
    let r = parse(TraceFormat::Philly, &philly, &ReadOptions::default()).unwrap();
    assert_eq!(
        r.skipped,
        counts(&[("malformed:duration", 1), ("zero_duration", 1)])
    );
    let tiresias = "job_id,num_gpu,submit_time,iterations,model_name,duration,interval\n\
                    1,1,0,10,vgg,-30,1\n2,1,0,10,vgg,0,1\n3,1,0,10,vgg,30,1\n";
    let r = parse(TraceFormat::Tiresias, tiresias, &ReadOptions::default()).unwrap();
    assert_eq!(
        r.skipped,
        counts(&[("malformed:duration", 1), ("zero_duration", 1)])
    );
}

/// Issue 17: `#` comment lines are neither data nor malformed, in every line-based reader.
#[test]
fn issue_17_comment_lines_are_not_counted() {
    let philly = format!("# exported 2024\n{PHILLY_HEADER}# a note\n2017-10-09 07:01:55,5,1,5,a\n");
    let r = parse(TraceFormat::Philly, &philly, &ReadOptions::default()).unwrap();
    assert_eq!((r.jobs.len(), r.lines, r.skipped_total()), (1, 1, 0));
    let gavel = "# msr trace\nResNet-18 (batch size 16)\tcmd\t--num_steps\tTrue\t100\t0\t1\n";
    let r = parse(TraceFormat::Gavel, gavel, &ReadOptions::default()).unwrap();
    assert_eq!((r.jobs.len(), r.lines, r.skipped_total()), (1, 1, 0));
    let tiresias = "job_id,num_gpu,submit_time,iterations,model_name,duration,interval\n# x\n1,1,0,10,vgg,30,1\n";
    let r = parse(TraceFormat::Tiresias, tiresias, &ReadOptions::default()).unwrap();
    assert_eq!((r.jobs.len(), r.lines, r.skipped_total()), (1, 1, 0));
}

/// Issue 17: an empty trace (no data line) is an error, in every format.
#[test]
fn issue_17_an_empty_trace_is_an_error() {
    for (f, text) in [
        (TraceFormat::Philly, PHILLY_HEADER),
        (TraceFormat::Gavel, ""),
        (TraceFormat::Gavel10, "# only a comment\n\n"),
        (
            TraceFormat::Tiresias,
            "job_id,num_gpu,submit_time,iterations,model_name,duration,interval\n",
        ),
        (TraceFormat::Jobs, "id,submit_s,accels,work\n"),
        (TraceFormat::Jobs, ""),
    ] {
        match parse(f, text, &ReadOptions::default()) {
            Err(TraceError::Empty { .. }) | Err(TraceError::Malformed { .. }) => {}
            other => panic!("{f}: {text:?}: {other:?}"),
        }
    }
    let err = parse(TraceFormat::Philly, PHILLY_HEADER, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("no jobs"), "{err}");
}

/// Issue 17: one byte that is not UTF-8 is a counted skip of its line, located; the rest of
/// the trace is read.
#[test]
fn issue_17_a_non_utf8_line_is_a_located_skip() {
    let mut bytes = PHILLY_HEADER.as_bytes().to_vec();
    bytes.extend_from_slice(b"2017-10-09 07:01:55,5,1,5,a\n2017-10-09 07:01:55,5,1,5,\xff\n2017-10-09 07:01:56,5,1,5,a\n");
    let r = parse_trace_bytes(
        TraceFormat::Philly,
        &bytes,
        Path::new("t.csv"),
        &ReadOptions::default(),
    )
    .unwrap();
    assert_eq!(r.jobs.len(), 2);
    assert_eq!(r.skipped, counts(&[("malformed:utf8", 1)]));
    assert_eq!(r.skipped_lines["malformed:utf8"], vec![3]);
    assert_eq!(r.lines, 3);
    assert!(r.first_malformed.unwrap().starts_with("t.csv:3: "));
    // Every data line undecodable: an error naming the first.
    let mut bytes = PHILLY_HEADER.as_bytes().to_vec();
    bytes.extend_from_slice(b"\xfe\n");
    let err = parse_trace_bytes(
        TraceFormat::Philly,
        &bytes,
        Path::new("t.csv"),
        &ReadOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("t.csv:2: line: expected UTF-8"), "{err}");
}

/// Issue 17: a `gavel:` trace with Gavel's 10 fields is read as the 10-field layout.
#[test]
fn issue_17_gavel_with_ten_fields_is_read_as_gavel10() {
    let line = "ResNet-18 (batch size 16)\tcmd\t/dir\t--num_steps\tTrue\t100\t1\t1\t-1\t30\n";
    let as_gavel = parse(TraceFormat::Gavel, line, &ReadOptions::default()).unwrap();
    let as_gavel10 = parse(TraceFormat::Gavel10, line, &ReadOptions::default()).unwrap();
    assert_eq!(as_gavel, as_gavel10);
    assert_eq!(as_gavel.jobs.len(), 1);
    assert_eq!(as_gavel.jobs[0].submit, SimTime(30));
}

#[test]
fn alibaba_pods_skip_shares_unless_remapped() {
    let r = read(
        TraceFormat::Alibaba,
        "alibaba/openb_pod_list_default.csv",
        &ReadOptions::default(),
    );
    assert_eq!(r.lines, 8152);
    assert_eq!(r.jobs.len(), 3630);
    assert_eq!(
        r.skipped,
        counts(&[
            ("gpu_share", 2573),
            ("never_scheduled", 861),
            ("no_gpu", 1088)
        ])
    );
    assert_eq!(
        r.jobs.len() as u64 + r.skipped_total(),
        r.lines,
        "every line accounted for"
    );
    assert!(r.cluster.is_none());
    let first = &r.jobs[0];
    assert_eq!(first.label, "openb-pod-0000");
    assert_eq!(
        (first.submit, first.work, first.priority),
        (SimTime(0), 12_537_496.0, 2)
    );
    // The default pod list states no GPU model constraint.
    assert!(r.jobs.iter().all(|j| j.allowed.is_empty()));

    let nodes = data("alibaba/openb_node_list_gpu_node.csv");
    let opts = ReadOptions {
        remap: true,
        nodes: Some(&nodes),
        ..ReadOptions::default()
    };
    let r = read(
        TraceFormat::Alibaba,
        "alibaba/openb_pod_list_default.csv",
        &opts,
    );
    assert_eq!(r.jobs.len(), 3630 + 2573);
    assert_eq!(r.remapped, counts(&[("gpu_share_rounded_up", 2573)]));
    let cluster = r.cluster.expect("node list read alongside");
    assert_eq!(cluster.total_accels(), 6212);
}

#[test]
fn alibaba_node_list_gives_a_cluster() {
    let (cluster, nodes_read) =
        read_alibaba_nodes(&data("alibaba/openb_node_list_gpu_node.csv")).unwrap();
    assert_eq!(nodes_read.lines, 1213);
    assert!(nodes_read.skipped.is_empty());
    assert_eq!(cluster.total_accels(), 6212);
    let by_type = cluster.by_type();
    assert_eq!(by_type["G2"], 4392);
    assert_eq!(by_type["T4"], 842);
    assert_eq!(by_type["A10"], 2);
    assert_eq!(by_type.len(), 7);
    // The node list through read_trace: a cluster and no jobs.
    let r = read(
        TraceFormat::Alibaba,
        "alibaba/openb_node_list_gpu_node.csv",
        &ReadOptions::default(),
    );
    assert!(r.jobs.is_empty());
    assert_eq!(r.cluster.unwrap(), cluster);
    let text = "sn,cpu_milli,memory_mib,gpu,model\nn0,1,1,0,\nn1,1,1,8,G2\nn2,1,1,x,G2\n";
    let r = parse(TraceFormat::Alibaba, text, &ReadOptions::default()).unwrap();
    assert_eq!(r.skipped, counts(&[("malformed:gpu", 1), ("no_gpu", 1)]));
    assert_eq!(r.cluster.unwrap().total_accels(), 8);
}

#[test]
fn alibaba_gpu_spec_becomes_allowed_types() {
    let text = "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,creation_time,deletion_time,scheduled_time\n\
                p0,1,1,2,1000,V100M16|V100M32,BE,Succeeded,10,110,20\n\
                p1,1,1,1,1000,,Weird,Running,0,5,0\n";
    let r = parse(TraceFormat::Alibaba, text, &ReadOptions::default()).unwrap();
    assert_eq!(r.jobs.len(), 1);
    assert_eq!(r.jobs[0].allowed, ["V100M16", "V100M32"]);
    assert_eq!(
        (r.jobs[0].work, r.jobs[0].accels, r.jobs[0].priority),
        (90.0, 2, 0)
    );
    assert_eq!(r.skipped, counts(&[("malformed:qos", 1)]));
}

#[test]
fn tiresias_job_list() {
    let r = read(
        TraceFormat::Tiresias,
        "tiresias/60_job.csv",
        &ReadOptions::default(),
    );
    assert_eq!((r.lines, r.jobs.len()), (60, 60));
    assert_eq!(r.jobs.iter().map(|j| u64::from(j.accels)).sum::<u64>(), 170);
    assert_eq!(r.jobs.last().unwrap().submit, SimTime(1779));
    assert_eq!((r.jobs[0].work, r.jobs[0].label.as_str()), (164.0, "0"));
}

#[test]
fn job_format_csv_and_jsonl() {
    let csv = "id,submit_s,accels,duration_s,allowed,tenant,priority,deadline_s,ref_type\n\
               a,10,8,3600,h100-sxm;h20,acme,2,7200,h100-sxm\n\
               b,5,1,60,,,,,\n\
               \"c,1\",0,0,60,,,,,\n\
               d,0,1,,,,,,\n";
    let r = parse(TraceFormat::Jobs, csv, &ReadOptions::default()).unwrap();
    assert_eq!(r.jobs.len(), 2);
    assert_eq!(r.jobs[0].label, "b", "sorted by submit");
    let a = &r.jobs[1];
    assert_eq!(a.allowed, ["h100-sxm", "h20"]);
    assert_eq!(a.deadline, Some(SimTime(7210)));
    assert_eq!(a.ref_type.as_deref(), Some("h100-sxm"));
    assert_eq!((a.tenant.as_deref(), a.priority), (Some("acme"), 2));
    assert_eq!(
        r.skipped,
        counts(&[("malformed:accels", 1), ("malformed:work", 1)])
    );
    assert_eq!(r.skipped_lines["malformed:accels"], [4]);

    let jsonl = "{\"id\": \"x\", \"submit_s\": 3, \"accels\": 4, \"work\": 1000, \"kind\": \"ResNet\", \"allowed\": [\"v100\"]}\n\
                 {\"id\": \"y\", \"submit_s\": 1, \"accels\": 1, \"duration_s\": 30, \"colour\": \"red\"}\n\
                 not json\n";
    let r = parse(TraceFormat::Jobs, jsonl, &ReadOptions::default()).unwrap();
    assert_eq!(r.jobs.len(), 1);
    assert_eq!(r.jobs[0].kind.as_deref(), Some("ResNet"));
    assert_eq!(r.jobs[0].allowed, ["v100"]);
    assert_eq!(
        r.skipped,
        counts(&[("malformed:colour", 1), ("malformed:line", 1)])
    );
}

#[test]
fn job_format_header_and_semantics_errors() {
    let err = parse(
        TraceFormat::Jobs,
        "id,submit_s,gpus,work\n",
        &ReadOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("test.trace:1: header") && err.contains("\"gpus\""),
        "{err}"
    );
    let err = parse(
        TraceFormat::Jobs,
        "id,submit_s,accels\n",
        &ReadOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, TraceError::Malformed { line: 1, .. }));
    // Work in steps needs a kind; a duration must not have one (it would be read as steps).
    let text =
        "id,submit_s,accels,work,duration_s,kind\na,0,1,10,,\nb,0,1,,10,ResNet\nc,0,1,10,10,\n";
    let err = parse(TraceFormat::Jobs, text, &ReadOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("none of its 3 lines") && err.contains("test.trace:2: kind"),
        "{err}"
    );
}

#[test]
fn format_names_parse() {
    for (name, f) in [
        ("gavel", TraceFormat::Gavel),
        ("gavel10", TraceFormat::Gavel10),
        ("philly", TraceFormat::Philly),
        ("alibaba", TraceFormat::Alibaba),
        ("jobs", TraceFormat::Jobs),
        ("tiresias", TraceFormat::Tiresias),
    ] {
        assert_eq!(name.parse::<TraceFormat>().unwrap(), f);
        assert_eq!(f.to_string(), name);
    }
    let err = "slurm".parse::<TraceFormat>().unwrap_err().to_string();
    assert!(err.contains("slurm") && err.contains("gavel10"), "{err}");
    let err = read_trace(
        TraceFormat::Philly,
        Path::new("/nonexistent/x.csv"),
        &ReadOptions::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.starts_with("/nonexistent/x.csv: "), "{err}");
}

fn arb_job() -> impl Strategy<Value = TraceJob> {
    (
        "[a-z0-9 ,\"-]{1,12}",
        0u64..1_000_000,
        1u32..4096,
        1u32..1_000_000,
        prop::option::of("[A-Za-z]{1,8}"),
        prop::collection::vec("[a-z0-9-]{1,8}", 0..3),
        prop::option::of("[a-z]{1,6}"),
        -5i32..5,
        prop::option::of(0u64..100_000),
    )
        .prop_map(
            |(label, submit, accels, work, kind, allowed, tenant, priority, deadline)| TraceJob {
                id: 0,
                label: label.trim().to_string().replace(' ', "_") + "x",
                submit: SimTime(submit),
                accels,
                work: f64::from(work) / 8.0,
                ref_type: if kind.is_none() {
                    Some("h20".into())
                } else {
                    None
                },
                kind,
                allowed,
                tenant,
                priority,
                deadline: deadline.map(|d| SimTime(submit + d)),
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Writing jobs in either job format and reading them back gives the same jobs.
    #[test]
    fn job_format_round_trips(mut jobs in prop::collection::vec(arb_job(), 1..20)) {
        jobs.sort_by_key(|j| j.submit);
        for (i, j) in jobs.iter_mut().enumerate() {
            j.id = i as u64;
        }
        for text in [write_jobs_csv(&jobs), write_jobs_jsonl(&jobs)] {
            let r = parse(TraceFormat::Jobs, &text, &ReadOptions::default()).unwrap();
            prop_assert!(r.skipped.is_empty(), "{:?}\n{}", r.skipped, text);
            prop_assert_eq!(&r.jobs, &jobs);
        }
    }

    /// Arbitrary bytes (not only text) never panic a reader, and every line is accounted for.
    #[test]
    fn readers_never_panic_on_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        for f in [TraceFormat::Gavel, TraceFormat::Gavel10, TraceFormat::Philly,
                  TraceFormat::Alibaba, TraceFormat::Jobs, TraceFormat::Tiresias] {
            if let Ok(r) = parse_trace_bytes(f, &bytes, Path::new("t"), &ReadOptions::default()) {
                prop_assert_eq!(r.jobs.len() as u64 + r.skipped_total(), r.lines);
            }
        }
    }

    /// Arbitrary bytes never panic a reader: they give jobs, counted skips, or an error.
    #[test]
    fn readers_never_panic(text in "[ -~\t\n]{0,300}") {
        for f in [TraceFormat::Gavel, TraceFormat::Gavel10, TraceFormat::Philly,
                  TraceFormat::Alibaba, TraceFormat::Jobs, TraceFormat::Tiresias] {
            if let Ok(r) = parse(f, &text, &ReadOptions::default()) {
                prop_assert_eq!(r.jobs.len() as u64 + r.skipped_total(), r.lines);
            }
        }
    }
}
