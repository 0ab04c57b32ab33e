//! `xpufleet run` end to end: the report on the built-in example, byte-identical JSON for the
//! same inputs, located errors on bad input, and the page opened in headless Chromium.
//!
//! The browser test needs Chromium (`apt-get install chromium`). Without it the test prints a
//! note and passes, unless `XPUFLEET_BROWSER_TEST=required` (CI sets it). `XPUFLEET_CHROMIUM`
//! names the browser binary when it is not `chromium` on the PATH.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::support::*;

/// The example's report, written once per test run and shared by the tests that only read it.
fn example_report() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch("run-example");
        let out = xpufleet(&["run", "--out", dir.to_str().unwrap(), "--seed", "7"]);
        assert!(
            out.status.success(),
            "xpufleet run failed ({}):\n{}\n{}",
            out.status,
            stdout(&out),
            stderr(&out)
        );
        let so = stdout(&out);
        assert!(
            so.contains("report.html"),
            "the summary names the report: {so}"
        );
        assert!(so.contains("capex-2025 as of 2025-03-01"), "{so}");
        dir
    })
}

fn json(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("report.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn run_writes_html_json_and_csv_for_the_example() {
    let dir = example_report();
    for f in [
        "report.html",
        "report.json",
        "plan-lines.csv",
        "compliance.csv",
        "jobs.csv",
        "utilisation.csv",
        "cost-energy.csv",
        "compute-vendor.csv",
        "spend-site.csv",
    ] {
        assert!(dir.join(f).is_file(), "{f} is written");
    }
    let j = json(dir);
    assert_eq!(j["meta"]["scenario"], "capex-2025");
    assert_eq!(j["meta"]["as_of"], "2025-03-01");
    assert_eq!(j["meta"]["seed"], 7);
    assert_eq!(j["meta"]["policy"], "fifo-het");
    // Every section of the example is answered.
    for s in [
        "fleet",
        "plan",
        "what_if",
        "compliance",
        "workload",
        "cost_energy",
    ] {
        assert_eq!(j[s]["status"], "available", "{s}: {}", j[s]);
    }
    let plan = &j["plan"]["data"];
    assert!(!plan["lines"].as_array().unwrap().is_empty());
    // The plan never buys what the rules forbid on the date: every line's candidate is usable.
    let rows = j["compliance"]["data"]["rows"].as_array().unwrap();
    for l in plan["lines"].as_array().unwrap() {
        let c = l["candidate"].as_str().unwrap();
        let row = rows
            .iter()
            .find(|r| r["target"] == c && r["target_kind"] == "candidate")
            .unwrap_or_else(|| panic!("candidate {c} has a verdict"));
        assert_eq!(row["usable"], true, "planned {c} but its verdict is {row}");
    }
    // The unverified overflow pool is listed, and H100s bought for China are not allowed.
    let unverified = j["compliance"]["data"]["unverified"].as_array().unwrap();
    assert!(unverified.iter().any(|u| u["pool"] == "my-h200-overflow"));
    let h100 = rows.iter().find(|r| r["target"] == "cn-h100-buy").unwrap();
    assert_eq!(h100["usable"], false);
    // Planned pools join the fleet; the workload's jobs are all accounted for.
    let pools = j["fleet"]["data"]["pools"].as_array().unwrap();
    assert!(pools.iter().any(|p| p["origin"] == "planned"));
    let w = &j["workload"]["data"];
    // Ten [[job]]s and the 48 `[workload]` generates for the planned fleet.
    assert_eq!(w["jobs"].as_array().unwrap().len(), 58);
    assert_eq!(w["stats"]["jobs"], 58);
    // Issue 17: the whole planned fleet's use, idle accelerators included.
    let f = &w["fleet_use"];
    let accels: u64 = pools.iter().map(|p| p["accels"].as_u64().unwrap()).sum();
    assert_eq!(f["accels"].as_u64(), Some(accels));
    let u = f["utilisation"].as_f64().unwrap();
    assert!((0.0..=1.0).contains(&u), "{u}");
    let (used, avail) = (
        f["accel_hours_used"].as_f64().unwrap(),
        f["accel_hours_available"].as_f64().unwrap(),
    );
    assert!((u - used / avail).abs() < 1e-12);
    // No job whose data must stay in China ran outside it.
    let fleet_country = |pool: &str| {
        pools
            .iter()
            .find(|p| p["id"] == pool)
            .map(|p| p["country"].as_str().unwrap().to_string())
    };
    for job in ["llm-dense-70b", "vision-13b", "speech-3b", "rl-34b"] {
        let row = w["jobs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == job)
            .unwrap();
        if let Some(pool) = row["pool"].as_str() {
            for p in pool.split(" + ") {
                assert_eq!(fleet_country(p).as_deref(), Some("CN"), "{job} ran on {p}");
            }
        }
    }
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    for id in xpufleet_report_chart_ids() {
        assert!(html.contains(&format!("id=\"{id}\"")), "{id}");
    }
}

/// The chart ids, read from the report crate's golden page so this test needs no extra
/// dependency on the report crate.
fn xpufleet_report_chart_ids() -> Vec<String> {
    let golden =
        std::fs::read_to_string(repo().join("crates/report/tests/golden/report.html")).unwrap();
    let mut ids = Vec::new();
    for part in golden.split("<figure class=\"chart\" id=\"").skip(1) {
        ids.push(part[..part.find('"').unwrap()].to_string());
    }
    assert!(ids.len() >= 10, "{ids:?}");
    // The example has [[risk]] entries, so its page also draws the risk section's charts.
    ids.extend(["chart-risk-fan", "chart-risk-drivers"].map(String::from));
    // And it has [[service]] entries (issue 22): the Serving section's chart.
    ids.push(xpufleet_report::serving::CHART_ID.to_string());
    ids
}

#[test]
fn same_scenario_date_and_seed_give_byte_identical_json() {
    let a = example_report();
    let b = scratch("run-example-again");
    let out = xpufleet(&["run", "--out", b.to_str().unwrap(), "--seed", "7"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let ja = std::fs::read(a.join("report.json")).unwrap();
    let jb = std::fs::read(b.join("report.json")).unwrap();
    assert!(ja == jb, "report.json differs between two identical runs");
    let ha = std::fs::read(a.join("report.html")).unwrap();
    let hb = std::fs::read(b.join("report.html")).unwrap();
    assert!(ha == hb, "report.html differs between two identical runs");
}

#[test]
fn bad_input_is_a_located_error_with_exit_code_2() {
    let out = xpufleet(&["run", "--policy", "best-effort", "--out", "/nonexistent/x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--policy"), "{}", stderr(&out));

    let out = xpufleet(&["run", "--as-of", "1 June", "--out", "/nonexistent/x"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--as-of"), "{}", stderr(&out));

    let dir = scratch("run-bad-scenario");
    let bad = dir.join("bad.toml");
    std::fs::write(
        &bad,
        "name = \"bad\"\ndate = 2025-03-01\ncompany = \"acme\"\n\n[[pool]]\nid = \"p\"\nsite = \"nowhere\"\naccelerator = \"h100-sxm\"\nnodes = 1\naccels_per_node = 8\nscaleup_domain = 8\nacquisition = { kind = \"bought\", price = { amount = 1, currency = \"USD\" } }\n",
    )
    .unwrap();
    let out = xpufleet(&[
        "run",
        bad.to_str().unwrap(),
        "--out",
        dir.join("out").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.starts_with("error: "), "{err}");
    assert!(err.contains("bad.toml") && err.contains("nowhere"), "{err}");
    assert!(
        !dir.join("out/report.html").exists(),
        "no report from a bad scenario"
    );
}

/// A copy of the example scenario in a scratch folder, edited by `edit`, with its what-if file
/// (`what_if`, or the bundled one).
fn example_copy(name: &str, edit: impl Fn(String) -> String, what_if: Option<&str>) -> PathBuf {
    let dir = scratch(name);
    let text = std::fs::read_to_string(repo().join("examples/capex-2025.toml")).unwrap();
    std::fs::write(dir.join("capex.toml"), edit(text)).unwrap();
    let bundled = std::fs::read_to_string(repo().join("examples/what-if-h20.toml")).unwrap();
    std::fs::write(dir.join("what-if-h20.toml"), what_if.unwrap_or(&bundled)).unwrap();
    dir
}

#[test]
fn the_what_if_is_the_scenarios_file_and_the_h20_rule_moves_the_plan() {
    let j = json(example_report());
    let w = &j["what_if"]["data"];
    assert_eq!(w["name"], "h20-licence-2025-04");
    assert_eq!(w["as_of"], "2025-04-15");
    // The H20 licence requirement takes the H20 candidate out and costs compute.
    let excluded = w["newly_excluded"].as_array().unwrap();
    assert!(
        excluded.iter().any(|e| e["candidate"] == "cn-h20-buy"),
        "{w}"
    );
    let h20 = w["changes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["candidate"] == "cn-h20-buy")
        .expect("the base plan buys H20s");
    assert!(h20["base_accels"].as_u64().unwrap() > 0);
    assert_eq!(h20["what_if_accels"], 0);
    assert!(
        w["what_if_effective_pflops"].as_f64().unwrap()
            <= w["base_effective_pflops"].as_f64().unwrap()
    );
}

#[test]
fn without_a_what_if_file_the_next_rule_change_is_the_what_if() {
    let dir = example_copy(
        "run-no-what-if",
        |t| t.replace("what_if = \"what-if-h20.toml\"", ""),
        None,
    );
    let out_dir = dir.join("out");
    let out = xpufleet(&[
        "run",
        dir.join("capex.toml").to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let j = json(&out_dir);
    let w = &j["what_if"]["data"];
    assert!(w["name"].as_str().unwrap().starts_with("rules of "), "{w}");
    assert!(w["as_of"].as_str().unwrap() > "2025-03-01", "{w}");
}

#[test]
fn a_bad_what_if_file_is_a_located_error() {
    let dir = example_copy(
        "run-bad-what-if",
        |t| t,
        Some("as_of = 2025-04-15\ncolour = 3\n"),
    );
    let out = xpufleet(&[
        "run",
        dir.join("capex.toml").to_str().unwrap(),
        "--out",
        dir.join("out").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("what-if-h20.toml") && err.contains("colour"),
        "{err}"
    );
}

#[test]
fn as_of_moves_the_rules_date() {
    let dir = scratch("run-as-of");
    let out = xpufleet(&[
        "run",
        "--as-of",
        "2024-06-01",
        "--no-failures",
        "--policy",
        "fifo",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    let j = json(&dir);
    assert_eq!(j["meta"]["as_of"], "2024-06-01");
    assert_eq!(j["meta"]["policy"], "fifo");
    assert_eq!(j["plan"]["data"]["as_of"], "2024-06-01");
    assert_eq!(j["workload"]["data"]["failures"], 0);
    // Before the 2025-04 H20 requirement, the H20 candidate is allowed.
    let rows = j["compliance"]["data"]["rows"].as_array().unwrap();
    let h20 = rows.iter().find(|r| r["target"] == "cn-h20-buy").unwrap();
    assert_eq!(h20["usable"], true, "{h20}");
}

#[test]
fn a_scenario_without_jobs_reports_the_workload_as_not_available() {
    // The example's jobs are its last tables.
    let dir = example_copy(
        "run-no-jobs",
        |t| t[..t.find("[[job]]").unwrap()].to_string(),
        None,
    );
    let out_dir = dir.join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    // Left over from an earlier report: it must not survive to contradict this one.
    std::fs::write(out_dir.join("jobs.csv"), "job\nstale\n").unwrap();
    let out = xpufleet(&[
        "run",
        dir.join("capex.toml").to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("workload  not available"),
        "{}",
        stdout(&out)
    );
    let j = json(&out_dir);
    assert_eq!(j["workload"]["status"], "unavailable");
    assert!(j["workload"]["reason"]
        .as_str()
        .unwrap()
        .contains("no [[job]]"));
    assert_eq!(j["plan"]["status"], "available");
    assert!(
        !out_dir.join("jobs.csv").exists(),
        "the stale jobs.csv is removed"
    );
    let html = std::fs::read_to_string(out_dir.join("report.html")).unwrap();
    assert!(html.contains("<figure class=\"chart unavailable\" id=\"chart-utilisation\">"));
}

// ----------------------------------------------------------------------------- the browser

/// The browser binary: `XPUFLEET_CHROMIUM`, or the first of the usual names on the PATH.
fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("XPUFLEET_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in [
            "chromium",
            "chromium-browser",
            "google-chrome",
            "google-chrome-stable",
        ] {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// Runs the browser headless on `page` with `extra` flags, killing it after `limit`; returns
/// (stdout, stderr).
fn headless(browser: &Path, profile: &Path, page: &Path, extra: &[&str]) -> (String, String) {
    let url = format!("file://{}", page.canonicalize().unwrap().display());
    let mut cmd = Command::new(browser);
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--no-first-run",
        "--hide-scrollbars",
        "--enable-logging=stderr",
        "--v=0",
    ])
    .arg(format!("--user-data-dir={}", profile.display()))
    .args(extra)
    .arg(&url)
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the browser starts");
    // Read both pipes on threads so a full pipe never blocks the browser.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut so, &mut s).ok();
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut se, &mut s).ok();
        s
    });
    let limit = Duration::from_secs(90);
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > limit {
            child.kill().ok();
            child.wait().ok();
            panic!("the browser did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    (t_out.join().unwrap(), t_err.join().unwrap())
}

/// The value of `attr` on the `<html>` element of a DOM dump.
fn html_attr(dom: &str, attr: &str) -> Option<String> {
    let start = dom.find("<html")?;
    let tag = &dom[start..start + dom[start..].find('>')?];
    let key = format!("{attr}=\"");
    let at = tag.find(&key)? + key.len();
    Some(tag[at..at + tag[at..].find('"')?].to_string())
}

#[test]
fn the_report_renders_in_a_headless_browser_without_errors() {
    let required = std::env::var("XPUFLEET_BROWSER_TEST").as_deref() == Ok("required");
    let Some(browser) = chromium() else {
        assert!(
            !required,
            "XPUFLEET_BROWSER_TEST=required but no chromium found (apt-get install chromium, or set XPUFLEET_CHROMIUM)"
        );
        eprintln!("note: chromium not found; skipping the browser test (apt-get install chromium)");
        return;
    };
    let dir = example_report();
    let page = dir.join("report.html");
    let work = scratch("run-browser");
    let (dom, err) = headless(&browser, &work.join("profile-dom"), &page, &["--dump-dom"]);
    assert!(dom.contains("<html"), "no DOM came back; stderr:\n{err}");

    // The page's own hook counts script errors, failed loads and blocked fetches.
    assert_eq!(
        html_attr(&dom, "data-errors").as_deref(),
        Some("0"),
        "the page recorded errors: {}",
        dom.split("<pre id=\"page-errors\"")
            .nth(1)
            .unwrap_or("")
            .chars()
            .take(500)
            .collect::<String>()
    );
    // And the browser's console logged nothing.
    let console: Vec<&str> = err.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(
        console.is_empty(),
        "console messages:\n{}",
        console.join("\n")
    );

    // Every chart is in the rendered DOM with its SVG, and laid out with a non-empty box.
    let ids = xpufleet_report_chart_ids();
    for id in &ids {
        let at = dom
            .find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("{id} is not in the rendered DOM"));
        let fig = &dom[at..at + dom[at..].find("</figure>").unwrap()];
        assert!(fig.contains("<svg"), "{id} has no SVG in the DOM");
        assert!(fig.contains("data-rendered=\"1\""), "{id} did not lay out");
    }
    assert_eq!(html_attr(&dom, "data-charts"), Some(ids.len().to_string()));
    assert_eq!(
        html_attr(&dom, "data-charts-rendered"),
        Some(ids.len().to_string())
    );

    // At 1400 px and in a 420-pixel window (issue 27 item 3): chart text stays legible (12-unit
    // text drawn at 10 px or more; narrow, charts scroll inside their figure) and the page
    // itself never scrolls sideways (tables scroll inside their frame).
    for (width, profile) in [(1400, "profile-wide"), (420, "profile-narrow")] {
        let (dom, err) = headless(
            &browser,
            &work.join(profile),
            &page,
            &["--dump-dom", &format!("--window-size={width},3000")],
        );
        let px: f64 = html_attr(&dom, "data-chart-text-px")
            .unwrap_or_else(|| panic!("no chart text size at {width} px; stderr:\n{err}"))
            .parse()
            .unwrap();
        assert!(px >= 9.5, "chart text is {px} px at {width} px");
        let overflow: i64 = html_attr(&dom, "data-overflow-px")
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            overflow <= 0,
            "the page overflows by {overflow} px at {width} px"
        );
    }

    // A screenshot, kept as the test's artefact.
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("xpufleet-report.png");
    let _ = std::fs::remove_file(&shot);
    let (_, err) = headless(
        &browser,
        &work.join("profile-shot"),
        &page,
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1400,3000",
        ],
    );
    let size = std::fs::metadata(&shot)
        .unwrap_or_else(|e| panic!("no screenshot at {}: {e}; stderr:\n{err}", shot.display()))
        .len();
    assert!(
        size > 50_000,
        "the screenshot is suspiciously small ({size} bytes)"
    );
    eprintln!("screenshot: {}", shot.display());
}

/// Issue 26 item 3: `run` simulates a plan over quarters as it is delivered. On the planner's
/// two-quarter scenario (with H100s, which the performance model knows) the plan buys a node in
/// Q1, another in Q1 that arrives with Q2 (60 days' lead time), one in Q2, and leases two nodes
/// for Q1. A 24-accelerator job of ~140 days starts on the lease and the first purchase, is
/// stopped when the lease ends with Q1, and finishes on the three purchases; simulated as one
/// fleet from day 0 it would have run on the lease throughout.
#[test]
fn issue_26_run_simulates_a_plan_over_quarters_as_it_is_delivered() {
    let dir = scratch("run-periods");
    let text = std::fs::read_to_string(repo().join("crates/plan/tests/data/periods.toml"))
        .unwrap()
        .replace("accelerator = \"fgn\"", "accelerator = \"h100-sxm\"")
        + "\n[[job]]\nid = \"j24\"\nparams = 1e9\ntokens = 2e13\nmin_accels = 24\n\
           max_accels = 24\ntenant = \"co\"\n";
    let file = dir.join("periods.toml");
    std::fs::write(&file, text).unwrap();
    let out_dir = dir.join("out");
    let o = xpufleet(&[
        "run",
        file.to_str().unwrap(),
        "--out",
        out_dir.to_str().unwrap(),
        "--no-failures",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let j = json(&out_dir);
    let notes = j["notes"].to_string();
    assert!(
        notes.contains("simulated as it is delivered: 2 order(s) arrive")
            && notes.contains("1 lease(s) end"),
        "{notes}"
    );
    let job = &j["workload"]["data"]["jobs"][0];
    assert_eq!(job["status"], "completed", "{job}");
    assert_eq!(job["start_s"], 0, "{job}");
    // 2025-01-01 to 2025-04-01 is 90 days: it outlives the lease.
    assert!(job["end_s"].as_u64().unwrap() > 90 * 86_400, "{job}");
    let pools = job["pool"].as_str().unwrap();
    assert!(
        pools.contains("plan:buy-slow@2025Q1") && !pools.contains("lease"),
        "{job}"
    );
}
