//! `xpufleet serve` as a process (issue 11): acknowledged writes survive `kill -9` in the middle
//! of a stream of writes from several clients, nothing half-written appears, every
//! acknowledged write is in the audit chain, and `xpufleet audit verify` passes until a row is
//! altered behind the server's back. On SQLite, and on PostgreSQL when
//! `XPUFLEET_TEST_POSTGRES` is set.

use std::collections::BTreeMap;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{bin, scratch, stderr, stdout, xpufleet};

const CLIENTS: usize = 4;
const MAX_WRITES_PER_CLIENT: usize = 400;
/// Acknowledged writes to wait for before the kill.
const KILL_AFTER: usize = 60;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// The server under test: this build's binary, or `XPUFLEET_SERVE_BIN` (a release build, for
/// the figures in docs/benchmarks.md).
fn server() -> std::process::Command {
    match std::env::var_os("XPUFLEET_SERVE_BIN") {
        Some(p) => std::process::Command::new(p),
        None => bin(),
    }
}

/// Starts `xpufleet serve` over `url` and waits for `/healthz`.
fn start(url: &str) -> (Child, String) {
    start_with(url, &["--rate-limit", "100000"], Stdio::null())
}

/// `start` with other flags after the address and database, and stderr sent to `stderr`.
fn start_with(url: &str, flags: &[&str], stderr: Stdio) -> (Child, String) {
    let port = free_port();
    let child = server()
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--database",
            url,
        ])
        .args(flags)
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("xpufleet serve starts");
    let base = format!("http://127.0.0.1:{port}");
    let a = agent();
    let t0 = Instant::now();
    while a.get(format!("{base}/healthz")).call().is_err() {
        assert!(
            t0.elapsed() < Duration::from_secs(60),
            "serve did not come up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, base)
}

/// The body written as verification `w<client>-<i>`.
fn body(client: usize, i: usize) -> Value {
    serde_json::json!({
        "entity": format!("entity-{client}-{i}"),
        "role": "owner",
        "subject": "pool-a",
        "valid_from": "2026-01-01",
        "document_sha256": format!("{:064x}", client * 1_000_000 + i),
    })
}

fn id_of(client: usize, i: usize) -> String {
    format!("w{client}-{i}")
}

fn get_json(a: &ureq::Agent, tok: &str, url: &str) -> Value {
    let mut r = a
        .get(url)
        .header("Authorization", format!("Bearer {tok}"))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200, "{url}");
    serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap()
}

/// Every item of a paged list.
fn all_items(a: &ureq::Agent, tok: &str, url: &str) -> Vec<Value> {
    let mut out = vec![];
    let mut offset = 0;
    loop {
        let sep = if url.contains('?') { '&' } else { '?' };
        let page = get_json(a, tok, &format!("{url}{sep}limit=500&offset={offset}"));
        out.extend(page["items"].as_array().unwrap().iter().cloned());
        match page["next_offset"].as_i64() {
            Some(n) => offset = n,
            None => return out,
        }
    }
}

fn sql(url: &str, statements: &[&str]) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(url).await.unwrap();
        for s in statements {
            sqlx::query(s).execute(&pool).await.unwrap();
        }
        pool.close().await;
    });
}

fn kill9_roundtrip(url: &str, dir: &std::path::Path) {
    let o = xpufleet(&[
        "token",
        "create",
        "--role",
        "admin",
        "--name",
        "writer",
        "--database",
        url,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let tok = stdout(&o).lines().last().unwrap().trim().to_string();

    // Several clients write until the server dies under them.
    let (mut child, base) = start(url);
    let acked_total = Arc::new(AtomicUsize::new(0));
    let mut handles = vec![];
    for client in 0..CLIENTS {
        let (base, tok, acked_total) = (base.clone(), tok.clone(), acked_total.clone());
        handles.push(std::thread::spawn(move || {
            let a = agent();
            let mut acked = vec![];
            let mut server_errors = vec![];
            for i in 0..MAX_WRITES_PER_CLIENT {
                let r = a
                    .put(format!("{base}/api/v1/verifications/{}", id_of(client, i)))
                    .header("Authorization", format!("Bearer {tok}"))
                    .header("Content-Type", "application/json")
                    .send(body(client, i).to_string().as_bytes());
                match r {
                    Ok(r) if r.status().is_success() => {
                        acked.push(i);
                        acked_total.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(r) => server_errors.push((i, r.status().as_u16())),
                    // The server is gone.
                    Err(_) => break,
                }
            }
            (client, acked, server_errors)
        }));
    }
    let t0 = Instant::now();
    while acked_total.load(Ordering::SeqCst) < KILL_AFTER {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "too few writes acknowledged"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let mut acked: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for h in handles {
        let (client, ok, errors) = h.join().unwrap();
        assert!(errors.is_empty(), "client {client}: answers {errors:?}");
        acked.insert(client, ok);
    }
    let n_acked: usize = acked.values().map(Vec::len).sum();
    assert!(n_acked >= KILL_AFTER);
    assert!(
        n_acked < CLIENTS * MAX_WRITES_PER_CLIENT,
        "the kill came after every write: it proved nothing"
    );

    // Restarted: every acknowledged write is there, whole; nothing else is half there.
    let (mut child, base) = start(url);
    let a = agent();
    let stored: BTreeMap<String, Value> =
        all_items(&a, &tok, &format!("{base}/api/v1/verifications"))
            .into_iter()
            .map(|r| (r["id"].as_str().unwrap().to_string(), r["body"].clone()))
            .collect();
    for (client, is) in &acked {
        for i in is {
            let id = id_of(*client, *i);
            let got = stored
                .get(&id)
                .unwrap_or_else(|| panic!("acknowledged write {id} lost"));
            assert_eq!(got, &body(*client, *i), "{id}");
        }
    }
    for (id, got) in &stored {
        let (c, i) = id[1..].split_once('-').unwrap();
        assert_eq!(got, &body(c.parse().unwrap(), i.parse().unwrap()), "{id}");
    }
    // Every acknowledged write has its audit entry, and the chain is intact.
    let entries = all_items(&a, &tok, &format!("{base}/api/v1/audit?actor=writer"));
    for (client, is) in &acked {
        for i in is {
            let res = format!("/api/v1/verifications/{}", id_of(*client, *i));
            assert!(
                entries.iter().any(|e| e["resource"] == res.as_str()),
                "no audit entry for the acknowledged {res}"
            );
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();

    let o = xpufleet(&["audit", "verify", "--database", url]);
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    assert!(stdout(&o).contains("intact"), "{}", stdout(&o));
    let export = dir.join("audit.jsonl");
    let o = xpufleet(&[
        "audit",
        "export",
        "--database",
        url,
        "--out",
        export.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = std::fs::read_to_string(&export).unwrap().lines().count();
    assert!(lines >= n_acked, "{lines} lines for {n_acked} writes");
    let o = xpufleet(&["audit", "verify", "--file", export.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));

    // A record changed behind the server's back: the chain holds, the data does not match it.
    let (client, is) = acked.iter().find(|(_, is)| !is.is_empty()).unwrap();
    let victim = id_of(*client, is[0]);
    sql(
        url,
        &[&format!(
            "UPDATE records SET body = '{{}}' WHERE id = '{victim}'"
        )],
    );
    let o = xpufleet(&["audit", "verify", "--database", url]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("DATA DISAGREES"), "{}", stderr(&o));
    assert!(
        stderr(&o).contains(&format!("/api/v1/verifications/{victim}:")),
        "{}",
        stderr(&o)
    );

    // Altered behind the server's back: verify fails and names the entry.
    sql(
        url,
        &["UPDATE audit_log SET actor = 'mallory' WHERE seq = 7"],
    );
    let o = xpufleet(&["audit", "verify", "--database", url]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("(seq 7)"), "{}", stderr(&o));
    // The export still verifies; an edited export does not.
    let text = std::fs::read_to_string(&export).unwrap();
    let edited = text.replacen("\"role\":\"admin\"", "\"role\":\"viewer\"", 1);
    assert_ne!(edited, text);
    std::fs::write(&export, edited).unwrap();
    let o = xpufleet(&["audit", "verify", "--file", export.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("(seq 1)"), "{}", stderr(&o));
}

#[test]
fn audit_verify_never_creates_a_database() {
    let dir = scratch("audit-missing");
    let db = dir.join("missing.db");
    let o = xpufleet(&[
        "audit",
        "verify",
        "--database",
        &format!("sqlite://{}", db.display()),
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no database at"), "{}", stderr(&o));
    assert!(!db.exists(), "audit verify created {}", db.display());
}

#[test]
fn acknowledged_writes_survive_kill_9_on_sqlite() {
    let dir = scratch("serve-kill9");
    let url = format!("sqlite://{}", dir.join("kill.db").display());
    kill9_roundtrip(&url, &dir);
}

#[test]
fn acknowledged_writes_survive_kill_9_on_postgres() {
    let Ok(url) = std::env::var("XPUFLEET_TEST_POSTGRES") else {
        if std::env::var("XPUFLEET_TEST_POSTGRES_REQUIRED").as_deref() == Ok("1") {
            panic!("XPUFLEET_TEST_POSTGRES_REQUIRED=1 but XPUFLEET_TEST_POSTGRES is not set");
        }
        eprintln!(
            "note: XPUFLEET_TEST_POSTGRES is not set; the PostgreSQL kill -9 test is skipped"
        );
        return;
    };
    sql(
        &url,
        &[
            "DROP DATABASE IF EXISTS xpufleet_test_kill9 WITH (FORCE)",
            "CREATE DATABASE xpufleet_test_kill9",
        ],
    );
    let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
    let dir = scratch("serve-kill9-pg");
    kill9_roundtrip(&format!("{base}/xpufleet_test_kill9"), &dir);
}

#[test]
fn serve_refuses_a_remote_address_without_allow_remote() {
    let o = xpufleet(&[
        "serve",
        "--addr",
        "0.0.0.0:0",
        "--database",
        "sqlite://unused.db",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--allow-remote"), "{}", stderr(&o));
    assert!(!std::path::Path::new("unused.db").exists());
}

/// The `q` quantile of sorted `v`, in milliseconds.
fn quantile_ms(v: &[Duration], q: f64) -> f64 {
    let i = ((v.len() as f64 - 1.0) * q).round() as usize;
    v[i].as_secs_f64() * 1e3
}

/// Concurrent readers and writers against a served SQLite database, bounded in count:
/// no 5xx, no lost write, and the latencies printed (`XPUFLEET_LOAD_SCALE=N` multiplies the
/// counts for the figures in docs/benchmarks.md).
fn load(url: &str) {
    let scale: usize = std::env::var("XPUFLEET_LOAD_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let (writers, writes_each, readers, reads_each) = (4, 50 * scale, 4, 100 * scale);
    let o = xpufleet(&[
        "token",
        "create",
        "--role",
        "admin",
        "--name",
        "loader",
        "--database",
        url,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let tok = stdout(&o).lines().last().unwrap().trim().to_string();
    // The CLI creates tokens through the API's use case: a second unrevoked "loader" is refused.
    let again = xpufleet(&[
        "token",
        "create",
        "--role",
        "viewer",
        "--name",
        " loader",
        "--database",
        url,
    ]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("an unrevoked token is named \"loader\""),
        "{}",
        stderr(&again)
    );
    assert!(
        stdout(&again).is_empty(),
        "no token printed: {}",
        stdout(&again)
    );
    let (mut child, base) = start(url);
    let t0 = Instant::now();
    let mut handles = vec![];
    for w in 0..writers + readers {
        let (base, tok) = (base.clone(), tok.clone());
        handles.push(std::thread::spawn(move || {
            let a = agent();
            let auth = format!("Bearer {tok}");
            let mut lat = vec![];
            let mut bad = vec![];
            let mut acked = vec![];
            let n = if w < writers { writes_each } else { reads_each };
            for i in 0..n {
                let t = Instant::now();
                let r = if w < writers {
                    a.put(format!("{base}/api/v1/verifications/{}", id_of(w, i)))
                        .header("Authorization", &auth)
                        .header("Content-Type", "application/json")
                        .send(body(w, i).to_string().as_bytes())
                } else if i % 2 == 0 {
                    a.get(format!("{base}/api/v1/verifications?limit=20"))
                        .header("Authorization", &auth)
                        .call()
                } else {
                    let target = id_of(i % writers, i / 2 % writes_each);
                    a.get(format!("{base}/api/v1/verifications/{target}"))
                        .header("Authorization", &auth)
                        .call()
                };
                let mut r = r.expect("answered");
                let _ = r.body_mut().read_to_string();
                lat.push(t.elapsed());
                let code = r.status().as_u16();
                // Readers may ask for a record not yet written (404); nothing else is allowed.
                if code >= 500 || (w < writers && code != 200) || (code != 200 && code != 404) {
                    bad.push(code);
                }
                if w < writers && code == 200 {
                    acked.push(i);
                }
            }
            (w, lat, bad, acked)
        }));
    }
    let mut write_lat = vec![];
    let mut read_lat = vec![];
    let mut acked_by: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for h in handles {
        let (w, lat, bad, acked) = h.join().unwrap();
        assert!(bad.is_empty(), "client {w}: answers {bad:?}");
        if w < writers {
            write_lat.extend(lat);
            acked_by.insert(w, acked);
        } else {
            read_lat.extend(lat);
        }
    }
    let wall = t0.elapsed();
    let a = agent();
    let stored = all_items(&a, &tok, &format!("{base}/api/v1/verifications"));
    let n_acked: usize = acked_by.values().map(Vec::len).sum();
    assert_eq!(n_acked, writers * writes_each);
    assert_eq!(stored.len(), n_acked, "lost or extra writes");
    child.kill().unwrap();
    child.wait().unwrap();
    write_lat.sort();
    read_lat.sort();
    eprintln!(
        "load ({url}): {} writes, {} reads from {} clients in {:.2} s ({:.0} req/s); \
         writes p50 {:.1} ms p99 {:.1} ms; reads p50 {:.1} ms p99 {:.1} ms; 0 5xx, 0 lost",
        write_lat.len(),
        read_lat.len(),
        writers + readers,
        wall.as_secs_f64(),
        (write_lat.len() + read_lat.len()) as f64 / wall.as_secs_f64(),
        quantile_ms(&write_lat, 0.5),
        quantile_ms(&write_lat, 0.99),
        quantile_ms(&read_lat, 0.5),
        quantile_ms(&read_lat, 0.99),
    );
}

#[test]
fn load_of_readers_and_writers_loses_nothing_on_sqlite() {
    let dir = scratch("serve-load");
    load(&format!("sqlite://{}", dir.join("load.db").display()));
}

#[test]
fn load_of_readers_and_writers_loses_nothing_on_postgres() {
    let Ok(url) = std::env::var("XPUFLEET_TEST_POSTGRES") else {
        if std::env::var("XPUFLEET_TEST_POSTGRES_REQUIRED").as_deref() == Ok("1") {
            panic!("XPUFLEET_TEST_POSTGRES_REQUIRED=1 but XPUFLEET_TEST_POSTGRES is not set");
        }
        return;
    };
    sql(
        &url,
        &[
            "DROP DATABASE IF EXISTS xpufleet_test_load WITH (FORCE)",
            "CREATE DATABASE xpufleet_test_load",
        ],
    );
    let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
    load(&format!("{base}/xpufleet_test_load"));
}

/// Issue 23: every stored run records the build that computed it, as `xpufleet --version`
/// names it, so its id (a digest of its inputs) changes with the code and an upgraded server
/// computes again rather than serving an older build's answer as current.
#[test]
fn issue_23_a_stored_run_records_the_build() {
    let dir = scratch("serve-build");
    let url = format!("sqlite://{}", dir.join("b.db").display());
    let o = xpufleet(&[
        "token",
        "create",
        "--role",
        "admin",
        "--name",
        "b",
        "--database",
        &url,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let tok = stdout(&o).lines().last().unwrap().trim().to_string();
    let version = stdout(&xpufleet(&["--version"])).trim().to_string();
    assert!(!version.ends_with("(unnamed build)"), "{version}");
    let (mut child, base) = start(&url);
    let a = agent();
    let scenario =
        std::fs::read_to_string(crate::support::repo().join("examples/capex-2025.toml")).unwrap();
    let mut r = a
        .post(format!("{base}/api/v1/scenarios"))
        .header("Authorization", format!("Bearer {tok}"))
        .header("Content-Type", "application/toml")
        .send(scenario.as_bytes())
        .unwrap();
    let created: Value = serde_json::from_str(&r.body_mut().read_to_string().unwrap()).unwrap();
    let id = created["id"]
        .as_str()
        .unwrap_or_else(|| panic!("{created}"));
    let r = a
        .get(format!(
            "{base}/api/v1/scenarios/{id}/check?as_of=2025-06-01"
        ))
        .header("Authorization", format!("Bearer {tok}"))
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let run_id = r.headers()["x-run-id"].to_str().unwrap().to_string();
    let run = get_json(&a, &tok, &format!("{base}/api/v1/runs/{run_id}"));
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(run["inputs"]["generator"], version.as_str(), "{run}");
}

/// `serve --log-format json` writes one JSON object per request on stderr, with the request's
/// method, path, status, duration and the `x-request-id` the answer carried (issue 23 item 6).
#[test]
fn the_json_request_log_has_one_line_per_request_with_its_id() {
    let dir = scratch("serve-log");
    let url = format!("sqlite://{}", dir.join("l.db").display());
    let (mut child, base) = start_with(&url, &["--log-format", "json"], Stdio::piped());
    let a = agent();
    let r = a
        .get(format!("{base}/api/v1/scenarios"))
        .header("x-request-id", "test-req-1")
        .call()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
    let _ = child.kill();
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    let line = log
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["request_id"] == "test-req-1")
        .unwrap_or_else(|| panic!("no JSON line for the request in:\n{log}"));
    assert_eq!(line["method"], "GET", "{line}");
    assert_eq!(line["path"], "/api/v1/scenarios", "{line}");
    assert_eq!(line["status"], 401, "{line}");
    assert!(line["duration_ms"].as_f64().unwrap() >= 0.0, "{line}");
}
