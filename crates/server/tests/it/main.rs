//! The API suite: starts the real server on an ephemeral port over a database, talks HTTP to
//! it, and checks that its answers are the CLI's, that bad input is refused without changing
//! anything, and that everything survives a restart. Runs against SQLite always, and against
//! PostgreSQL when `XPUFLEET_TEST_POSTGRES` names one (required when
//! `XPUFLEET_TEST_POSTGRES_REQUIRED=1`, as in CI).

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread::JoinHandle;

use serde_json::Value;
use xpufleet_server::{token, DatabaseUrl, Store};

mod reviews;
mod trust;
mod ui;

fn repo_file(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(rel)
}

/// A server running on its own thread and runtime.
struct Server {
    base: String,
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    /// Starts a server over `url`, with a token `tok` for "tester" stored first.
    fn start(url: &str, tok: &str) -> Server {
        let (port_tx, port_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let url = DatabaseUrl(url.to_string());
        let tok = tok.to_string();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let store = Store::open(&url).await.expect("the test database opens");
                // The same token may already be stored from before a restart.
                let _ = store
                    .insert_token(&token::hash(&tok), "tester", "admin")
                    .await;
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                port_tx.send(listener.local_addr().unwrap().port()).unwrap();
                let stop = async move {
                    let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
                };
                xpufleet_server::serve_on(listener, store, stop)
                    .await
                    .unwrap();
            });
        });
        let port = port_rx
            .recv_timeout(std::time::Duration::from_secs(60))
            .expect("the server starts");
        Server {
            base: format!("http://127.0.0.1:{port}"),
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            t.join().expect("the server thread ends cleanly");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// One answer: status, headers we look at, body.
struct Answer {
    status: u16,
    content_type: String,
    header: std::collections::BTreeMap<String, String>,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.body))
    }
}

struct Client {
    agent: ureq::Agent,
    base: String,
    tok: String,
}

impl Client {
    fn new(base: &str, tok: &str) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(std::time::Duration::from_secs(120)))
            .build()
            .into();
        Client {
            agent,
            base: base.to_string(),
            tok: tok.to_string(),
        }
    }

    fn answer(r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Answer {
        let mut r = r.expect("the request is answered");
        let header = r
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_string()))
            .collect::<std::collections::BTreeMap<_, _>>();
        Answer {
            status: r.status().as_u16(),
            content_type: header.get("content-type").cloned().unwrap_or_default(),
            body: r
                .body_mut()
                .with_config()
                .limit(64 << 20)
                .read_to_string()
                .unwrap(),
            header,
        }
    }

    fn get(&self, path: &str) -> Answer {
        Self::answer(
            self.agent
                .get(format!("{}{path}", self.base))
                .header("Authorization", format!("Bearer {}", self.tok))
                .call(),
        )
    }

    fn get_anon(&self, path: &str) -> Answer {
        Self::answer(self.agent.get(format!("{}{path}", self.base)).call())
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        ct: &str,
        body: &[u8],
        extra: &[(&str, &str)],
    ) -> Answer {
        let url = format!("{}{path}", self.base);
        let auth = format!("Bearer {}", self.tok);
        let mut req = match method {
            "POST" => self.agent.post(url),
            "PUT" => self.agent.put(url),
            m => panic!("method {m}"),
        }
        .header("Authorization", auth)
        .header("Content-Type", ct);
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        Self::answer(req.send(body))
    }

    fn delete(&self, path: &str) -> Answer {
        Self::answer(
            self.agent
                .delete(format!("{}{path}", self.base))
                .header("Authorization", format!("Bearer {}", self.tok))
                .call(),
        )
    }
}

/// `print_json`'s bytes: what the CLI's `--json` prints.
fn cli_json<T: serde::Serialize>(v: &T) -> String {
    let mut s = serde_json::to_string_pretty(v).unwrap();
    s.push('\n');
    s
}

fn assert_problem(a: &Answer, status: u16, what: &str) {
    assert_eq!(a.status, status, "{what}: {}", a.body);
    let v = a.json();
    assert!(v["error"].is_string(), "{what}: {}", a.body);
    assert!(v["problems"].is_array(), "{what}: {}", a.body);
}

/// The whole suite against one database; `url` must start empty.
fn suite(url: &str) {
    let tok = token::generate().unwrap();
    let example_path = repo_file("examples/capex-2025.toml");
    let example = std::fs::read_to_string(&example_path).unwrap();
    let what_if = std::fs::read_to_string(repo_file("examples/what-if-h20.toml")).unwrap();
    let loaded = xpufleet_app::load_file(Some(&example_path), None).unwrap();

    let server = Server::start(url, &tok);
    let c = Client::new(&server.base, &tok);

    // Health, readiness, metrics.
    assert_eq!(c.get_anon("/healthz").status, 200);
    assert_eq!(c.get_anon("/readyz").status, 200);

    // Tokens.
    assert_problem(&c.get_anon("/api/v1/scenarios"), 401, "no token");
    let bad = Client::new(&server.base, "xpf_not-a-token");
    assert_problem(&bad.get("/api/v1/scenarios"), 401, "unknown token");

    // Upload the example.
    let a = c.send(
        "POST",
        "/api/v1/scenarios",
        "application/toml",
        example.as_bytes(),
        &[],
    );
    assert_eq!(a.status, 201, "{}", a.body);
    let id = a.json()["id"].as_str().unwrap().to_string();
    assert_eq!(a.json()["revision"], 1);

    // The same verdicts as `xpufleet check --json`.
    let a = c.get(&format!("/api/v1/scenarios/{id}/check"));
    assert_eq!(a.status, 200, "{}", a.body);
    assert!(a.content_type.starts_with("application/json"));
    let want = cli_json(&xpufleet_app::check(&loaded, &[], None).unwrap());
    assert_eq!(a.body, want, "check differs from the CLI's");
    let date: xpufleet_model::Date = "2025-04-15".parse().unwrap();
    let a = c.get(&format!("/api/v1/scenarios/{id}/check?as_of=2025-04-15"));
    assert_eq!(
        a.body,
        cli_json(&xpufleet_app::check(&loaded, &[], Some(date)).unwrap())
    );
    let check_run = a.header["x-run-id"].clone();
    // Asked again: the stored answer, the same bytes.
    let again = c.get(&format!("/api/v1/scenarios/{id}/check?as_of=2025-04-15"));
    assert_eq!(again.header["x-run-source"], "stored");
    assert_eq!(again.body, a.body);
    let a = c.get(&format!("/api/v1/scenarios/{id}/check?as_of=2025-13-45"));
    assert_problem(&a, 400, "a bad as_of");
    assert_eq!(a.json()["problems"][0]["field"], "as_of");

    // The same plan as `xpufleet plan --json`, with and without the what-if.
    let a = c.send(
        "POST",
        &format!("/api/v1/scenarios/{id}/plan"),
        "application/toml",
        b"",
        &[],
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let opts = xpufleet_plan::PlanOptions::default();
    let want = cli_json(&xpufleet_app::plan(&loaded, &[], &opts, None).unwrap());
    assert_eq!(a.body, want, "plan differs from the CLI's");
    let a = c.send(
        "POST",
        &format!("/api/v1/scenarios/{id}/plan"),
        "application/toml",
        what_if.as_bytes(),
        &[],
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let w = xpufleet_app::WhatIfInput {
        what_if: xpufleet_io::whatif::parse_what_if(&what_if, "what-if").unwrap(),
        rule_packs: vec![],
    };
    let want = cli_json(&xpufleet_app::plan(&loaded, &[], &opts, Some(&w)).unwrap());
    assert_eq!(a.body, want, "what-if plan differs from the CLI's");
    let a = c.send(
        "POST",
        &format!("/api/v1/scenarios/{id}/plan"),
        "application/toml",
        b"as_of = \"soon\"\n",
        &[],
    );
    assert_problem(&a, 400, "a bad what-if");
    assert_eq!(a.json()["problems"][0]["line"], 1);

    // A run: stored, served with its report, and recomputed byte for byte.
    let a = c.send(
        "POST",
        &format!("/api/v1/scenarios/{id}/runs"),
        "application/json",
        br#"{"seed": 3}"#,
        &[],
    );
    assert_eq!(a.status, 201, "{}", a.body);
    let run_id = a.header["x-run-id"].clone();
    let opts = xpufleet_app::RunOptions {
        seed: 3,
        ..Default::default()
    };
    let mut data = xpufleet_app::report(&loaded, &[], &opts, &mut |_| {}).unwrap();
    data.meta.origin = "scenario".into();
    assert_eq!(
        a.body,
        xpufleet_report::to_json(&data),
        "run differs from the CLI's report.json"
    );
    let r = c.get(&format!("/api/v1/runs/{run_id}"));
    assert_eq!(r.status, 200);
    let info = r.json();
    assert_eq!(info["kind"], "run");
    assert_eq!(info["revision"], 1);
    assert_eq!(info["inputs"]["run"]["seed"], 3);
    assert!(info["inputs"]["generator"]
        .as_str()
        .unwrap()
        .starts_with("xpufleet "));
    assert_eq!(c.get(&format!("/api/v1/runs/{run_id}/result")).body, a.body);
    let html = c.get(&format!("/api/v1/runs/{run_id}/report.html"));
    assert_eq!(html.status, 200);
    assert!(html.content_type.starts_with("text/html"));
    assert!(html.body.contains("<html"));
    let replay = c.send(
        "POST",
        &format!("/api/v1/runs/{run_id}/replay"),
        "application/json",
        b"",
        &[],
    );
    assert_eq!(replay.header["x-identical"], "true");
    assert_eq!(replay.body, a.body);
    let replay = c.send(
        "POST",
        &format!("/api/v1/runs/{check_run}/replay"),
        "application/json",
        b"",
        &[],
    );
    assert_eq!(replay.header["x-identical"], "true");
    assert_problem(
        &c.get(&format!("/api/v1/runs/{check_run}/report.html")),
        404,
        "a check has no report",
    );
    assert_problem(
        &c.send(
            "POST",
            &format!("/api/v1/scenarios/{id}/runs"),
            "application/json",
            br#"{"policy": "random"}"#,
            &[],
        ),
        400,
        "an unknown policy",
    );
    assert_problem(
        &c.send(
            "POST",
            &format!("/api/v1/scenarios/{id}/runs"),
            "application/json",
            br#"{"sede": 1}"#,
            &[],
        ),
        400,
        "an unknown field",
    );

    simulate_section(&c, &id, &loaded);
    records_section(&c, &id);

    // Revisions: a stale or bad change is refused and changes nothing.
    let path = format!("/api/v1/scenarios/{id}");
    let changed = example.replacen("name = \"capex-2025\"", "name = \"capex-2025b\"", 1);
    assert_ne!(changed, example);
    let a = c.send("PUT", &path, "application/toml", changed.as_bytes(), &[]);
    assert_problem(&a, 428, "no If-Match");
    let a = c.send(
        "PUT",
        &path,
        "application/toml",
        b"name = 3\n",
        &[("If-Match", "1")],
    );
    assert_problem(&a, 400, "a bad scenario");
    assert_eq!(a.json()["problems"][0]["line"], 1);
    assert_eq!(a.json()["problems"][0]["field"], "name");
    let a = c.send(
        "PUT",
        &path,
        "application/toml",
        changed.as_bytes(),
        &[("If-Match", "1")],
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json()["revision"], 2);
    let a = c.send(
        "PUT",
        &path,
        "application/toml",
        changed.as_bytes(),
        &[("If-Match", "1")],
    );
    assert_problem(&a, 409, "a stale revision");
    assert_eq!(
        c.get(&format!("{path}/revisions")).json(),
        serde_json::json!([1, 2])
    );
    let r1 = c.get(&format!("{path}/revisions/1"));
    assert_eq!(r1.body, example);
    assert!(r1.content_type.starts_with("application/toml"));
    assert_eq!(c.get(&path).json()["name"], "capex-2025b");
    assert_eq!(c.get(&path).header["etag"], "\"2\"");

    // Other bad requests.
    assert_problem(&c.get("/api/v1/scenarios/nope"), 404, "an unknown scenario");
    assert_problem(
        &c.get("/api/v1/scenarios/nope/check"),
        404,
        "checking an unknown scenario",
    );
    assert_problem(&c.get("/api/v1/runs/nope"), 404, "an unknown run");
    assert_problem(
        &c.get(&format!("{path}/revisions/9")),
        404,
        "an unknown revision",
    );
    assert_problem(
        &c.send("POST", "/api/v1/scenarios", "image/png", b"x", &[]),
        415,
        "an unsupported media type",
    );
    let huge = vec![b'#'; xpufleet_server::MAX_BODY_BYTES + 1];
    assert_problem(
        &c.send("POST", "/api/v1/scenarios", "application/toml", &huge, &[]),
        413,
        "a huge body",
    );
    let a = c.send(
        "POST",
        "/api/v1/scenarios",
        "application/json",
        b"{\"name\": ",
        &[],
    );
    assert_problem(&a, 400, "broken JSON");
    let a = c.send(
        "POST",
        "/api/v1/scenarios",
        "application/toml",
        b"[[pool]]\nid = \"p\"\n",
        &[],
    );
    assert_problem(&a, 400, "an incomplete scenario");
    assert_eq!(
        c.get("/api/v1/scenarios").json()["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_problem(&c.get("/api/v1/scenarios?limit=0"), 400, "a zero page");

    // Records: validated, versioned, paginated, deletable.
    let site = serde_json::json!({
        "id": "us-east", "name": "US East", "country": "US", "region": "Virginia",
        "tenure": "owned", "owner": "acme-ai", "operator": "acme-ai", "power_mw": 40,
        "pue": 1.3, "electricity_per_kwh": {"amount": 0.08, "currency": "USD"}
    });
    let a = c.send(
        "PUT",
        "/api/v1/sites/us-east",
        "application/json",
        site.to_string().as_bytes(),
        &[],
    );
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json()["version"], 1);
    let a = c.send(
        "PUT",
        "/api/v1/sites/us-east",
        "application/json",
        site.to_string().as_bytes(),
        &[],
    );
    assert_eq!(a.json()["version"], 2);
    let a = c.send(
        "PUT",
        "/api/v1/sites/other",
        "application/json",
        site.to_string().as_bytes(),
        &[],
    );
    assert_problem(&a, 400, "an id that is not the path's");
    let mut bad_site = site.clone();
    bad_site["pue"] = serde_json::json!("high");
    let a = c.send(
        "PUT",
        "/api/v1/sites/us-west",
        "application/json",
        bad_site.to_string().as_bytes(),
        &[],
    );
    assert_problem(&a, 400, "a bad site");
    assert_problem(
        &c.get("/api/v1/sites/us-west"),
        404,
        "a refused record is not stored",
    );
    let ver = serde_json::json!({
        "entity": "acme-ai", "role": "owner", "subject": "us-east",
        "valid_from": "2025-01-01", "valid_to": "2026-01-01",
        "document_sha256": "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    });
    for n in 0..3 {
        let a = c.send(
            "PUT",
            &format!("/api/v1/verifications/v{n}"),
            "application/json",
            ver.to_string().as_bytes(),
            &[],
        );
        assert_eq!(a.status, 200, "{}", a.body);
    }
    let mut bad_ver = ver.clone();
    bad_ver["document_sha256"] = serde_json::json!("abc");
    let a = c.send(
        "PUT",
        "/api/v1/verifications/v9",
        "application/json",
        bad_ver.to_string().as_bytes(),
        &[],
    );
    assert_problem(&a, 400, "a bad digest");
    let p1 = c.get("/api/v1/verifications?limit=2").json();
    assert_eq!(p1["items"].as_array().unwrap().len(), 2);
    assert_eq!(p1["next_offset"], 2);
    let p2 = c.get("/api/v1/verifications?limit=2&offset=2").json();
    assert_eq!(p2["items"].as_array().unwrap().len(), 1);
    assert!(p2.get("next_offset").is_none());
    assert_eq!(c.delete("/api/v1/verifications/v2").status, 204);
    assert_problem(&c.delete("/api/v1/verifications/v2"), 404, "deleting twice");
    let a = c.send(
        "PUT",
        "/api/v1/rule-packs/mine",
        "application/toml",
        b"this is not toml",
        &[],
    );
    assert_problem(&a, 400, "a bad rule pack");
    assert!(a.json()["problems"][0]["line"].is_number(), "{}", a.body);

    // Metrics count what was answered.
    let m = c.get_anon("/metrics");
    assert!(
        m.body
            .contains("xpufleet_http_requests_total{status=\"200\"}"),
        "{}",
        m.body
    );
    assert!(
        m.body.contains("xpufleet_runs_total{source=\"reused\"} "),
        "{}",
        m.body
    );

    // Everything is still there after a restart.
    let asked = c.get(&format!(
        "/api/v1/scenarios/{id}/check?as_of=2025-04-15&revision=1"
    ));
    assert_eq!(asked.status, 200, "{}", asked.body);
    server.stop();
    let server = Server::start(url, &tok);
    let c = Client::new(&server.base, &tok);
    assert_eq!(c.get(&path).json()["revision"], 2);
    assert_eq!(
        c.get(&format!("/api/v1/runs/{run_id}/result")).body,
        a_body_of_run(&c, &run_id)
    );
    assert_eq!(c.get("/api/v1/sites/us-east").json()["version"], 2);
    let a = c.get(&format!(
        "/api/v1/scenarios/{id}/check?as_of=2025-04-15&revision=1"
    ));
    assert_eq!(a.header["x-run-source"], "stored");
    assert_eq!(a.body, asked.body);
    server.stop();
}

/// `POST …/simulate` answers `xpufleet simulate --scenario F --json` without `wall_s`, stored
/// and replayed byte for byte; bad options are refused before anything is stored.
fn simulate_section(c: &Client, id: &str, loaded: &xpufleet_io::LoadedScenario) {
    let path = format!("/api/v1/scenarios/{id}/simulate");
    let a = c.send(
        "POST",
        &path,
        "application/json",
        br#"{"seed": 2, "failures": true}"#,
        &[],
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let opts = xpufleet_app::SimulateOptions {
        seed: 2,
        failures: true,
        ..Default::default()
    };
    let out = xpufleet_app::simulate(
        xpufleet_app::Source::Scenario(loaded, &[]),
        &loaded.catalog,
        &opts,
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(
        a.body,
        cli_json(&out.output),
        "simulate differs from the CLI's"
    );
    assert!(!a.body.contains("wall_s"), "{}", a.body);
    assert!(a.json()["failures"].as_u64().is_some());
    let run_id = a.header["x-run-id"].clone();
    let again = c.send(
        "POST",
        &path,
        "application/json",
        br#"{"failures": true, "seed": 2}"#,
        &[],
    );
    assert_eq!(again.header["x-run-source"], "stored");
    assert_eq!(again.body, a.body);
    let replay = c.send(
        "POST",
        &format!("/api/v1/runs/{run_id}/replay"),
        "application/json",
        b"",
        &[],
    );
    assert_eq!(replay.header["x-identical"], "true");
    assert_eq!(replay.body, a.body);
    assert_eq!(
        c.get(&format!("/api/v1/runs/{run_id}")).json()["kind"],
        "simulate"
    );
    // The defaults are the CLI's: an empty body is `simulate --scenario F`.
    let a = c.send("POST", &path, "application/json", b"", &[]);
    assert_eq!(a.status, 200, "{}", a.body);
    let out = xpufleet_app::simulate(
        xpufleet_app::Source::Scenario(loaded, &[]),
        &loaded.catalog,
        &xpufleet_app::SimulateOptions::default(),
        &mut |_, _| {},
    )
    .unwrap();
    assert_eq!(a.body, cli_json(&out.output));
    assert_eq!(a.json()["policy"], "fifo");
    for (body, field) in [
        (&br#"{"failure_rate": 5}"#[..], "failure_rate"),
        (br#"{"policy": "random"}"#, "policy"),
        (br#"{"max_events": 0}"#, "max_events"),
    ] {
        let a = c.send("POST", &path, "application/json", body, &[]);
        assert_problem(&a, 400, field);
        assert_eq!(a.json()["problems"][0]["field"], field, "{}", a.body);
    }
    assert_problem(
        &c.send("POST", &path, "application/json", br#"{"seeds": 1}"#, &[]),
        400,
        "an unknown field",
    );
    let a = c.send(
        "POST",
        &path,
        "application/json",
        br#"{"max_events": 10}"#,
        &[],
    );
    assert_problem(&a, 422, "a simulation out of events");
}

fn verdict(check: &Value, target: &str, kind: &str) -> Value {
    check[kind]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["target"] == target)
        .unwrap_or_else(|| panic!("no {target} in {kind}"))["verdict"]
        .clone()
}

/// The fleet's records overlay the scenario: a verification or licence record moves a
/// verdict, deleting it moves it back, a bad record is refused and changes nothing, and the
/// run records the record versions it read.
fn records_section(c: &Client, id: &str) {
    let check = format!("/api/v1/scenarios/{id}/check");
    let base = c.get(&check);
    assert_eq!(base.status, 200);
    let before = verdict(&base.json(), "my-h200-overflow", "uses");
    assert_eq!(before["verified"], false, "{before}");
    let effective = format!("/api/v1/scenarios/{id}/effective");
    let example = c.get(&format!("/api/v1/scenarios/{id}/revisions/1")).body;
    assert_eq!(
        c.get(&effective).body,
        example,
        "no records: the revision itself"
    );

    // sg-neocloud verified as owner and operator of the Cyberjaya pool's site.
    let digest = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    for role in ["owner", "operator"] {
        let v = serde_json::json!({"entity": "sg-neocloud", "role": role,
            "subject": "my-h200-overflow", "valid_from": "2025-01-01", "valid_to": "2025-12-31",
            "document_sha256": digest});
        let a = c.send(
            "PUT",
            &format!("/api/v1/verifications/neo-{role}"),
            "application/json",
            v.to_string().as_bytes(),
            &[],
        );
        assert_eq!(a.status, 200, "{}", a.body);
    }
    let verified = c.get(&check);
    assert_eq!(verified.header["x-run-source"], "computed");
    let after = verdict(&verified.json(), "my-h200-overflow", "uses");
    assert_eq!(after["verified"], true, "{after}");
    let eff = c.get(&effective);
    assert!(eff.content_type.starts_with("application/toml"));
    assert!(eff.body.contains("verifications/neo-owner"), "{}", eff.body);
    let run = c.get(&format!("/api/v1/runs/{}", verified.header["x-run-id"]));
    let used = &run.json()["inputs"]["context"]["records"];
    assert_eq!(used[0][0], "verifications", "{used}");
    assert_eq!(used[0][1], "neo-operator");
    assert_eq!(used[0][2], 1);
    let replay = c.send(
        "POST",
        &format!("/api/v1/runs/{}/replay", verified.header["x-run-id"]),
        "application/json",
        b"",
        &[],
    );
    assert_eq!(replay.header["x-identical"], "true");
    assert_eq!(replay.body, verified.body);

    // A licence record for acme-ai's H100s in Malaysia covers the bought candidate.
    let required = verdict(&verified.json(), "my-h100-buy", "candidates");
    assert_eq!(required["outcome"], "licence-required", "{required}");
    let licence = serde_json::json!({"id": "bis-acme-my", "authority": "US-BIS",
        "holder": "acme-ai", "accelerators": ["h100-sxm"], "countries": ["MY"],
        "valid_from": "2025-01-01", "valid_until": "2026-12-31"});
    let a = c.send(
        "PUT",
        "/api/v1/licences/bis-acme-my",
        "application/json",
        licence.to_string().as_bytes(),
        &[],
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let licensed = c.get(&check);
    let covered = verdict(&licensed.json(), "my-h100-buy", "candidates");
    assert_eq!(covered["outcome"], "allowed", "{covered}");

    // A bad record is a located 400 and changes nothing.
    let mut bad = licence.clone();
    bad["valid_until"] = serde_json::json!("2026-13-40");
    let a = c.send(
        "PUT",
        "/api/v1/licences/bis-acme-my",
        "application/json",
        bad.to_string().as_bytes(),
        &[],
    );
    assert_problem(&a, 400, "a bad licence");
    assert_eq!(c.get("/api/v1/licences/bis-acme-my").json()["version"], 1);
    let same = c.get(&check);
    assert_eq!(same.header["x-run-source"], "stored");
    assert_eq!(same.body, licensed.body);

    // Deleting them gives the first answer back, as stored.
    for r in [
        "licences/bis-acme-my",
        "verifications/neo-owner",
        "verifications/neo-operator",
    ] {
        assert_eq!(c.delete(&format!("/api/v1/{r}")).status, 204);
    }
    let back = c.get(&check);
    assert_eq!(back.header["x-run-source"], "stored");
    assert_eq!(back.body, base.body);
}

fn a_body_of_run(c: &Client, run_id: &str) -> String {
    let v = c.get(&format!("/api/v1/runs/{run_id}")).json();
    assert_eq!(v["kind"], "run");
    c.get(&format!("/api/v1/runs/{run_id}/result")).body
}

#[test]
fn api_suite_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("xpufleet-it-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    suite(&format!("sqlite://{}", dir.join("api.db").display()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn api_suite_on_postgres() {
    let Ok(url) = std::env::var("XPUFLEET_TEST_POSTGRES") else {
        if std::env::var("XPUFLEET_TEST_POSTGRES_REQUIRED").as_deref() == Ok("1") {
            panic!("XPUFLEET_TEST_POSTGRES_REQUIRED=1 but XPUFLEET_TEST_POSTGRES is not set");
        }
        eprintln!("note: XPUFLEET_TEST_POSTGRES is not set; the PostgreSQL half of the API suite is skipped");
        return;
    };
    // Start from an empty database.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&url)
            .await
            .expect("the test PostgreSQL answers");
        // Every table, whatever the migrations have added since this line was written.
        for sql in ["DROP SCHEMA public CASCADE", "CREATE SCHEMA public"] {
            sqlx::query(sql).execute(&pool).await.unwrap();
        }
        pool.close().await;
    });
    suite(&url);
}

#[test]
fn every_routed_path_is_in_the_openapi_document() {
    let doc: Value = serde_json::from_str(&xpufleet_server::openapi().to_json().unwrap()).unwrap();
    assert!(
        doc["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().unwrap();
    let routed = xpufleet_server::routed_paths();
    assert!(routed.len() > 20);
    for p in &routed {
        assert!(paths.contains_key(p), "{p} is served but not documented");
    }
    for p in paths.keys() {
        assert!(routed.contains(p), "{p} is documented but not served");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

/// `crates/server` only translates HTTP to the use cases (`xpufleet_store::usecases`) and
/// back: no file of it opens a change or holds SQL (issue 23 item 1).
#[test]
fn the_server_crate_holds_no_sql_and_opens_no_change() {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = vec![];
    walk(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src"),
        &mut files,
    );
    assert!(files.len() > 10, "{files:?}");
    let banned = [
        "begin_change",
        "sqlx::",
        "SELECT ",
        "INSERT INTO",
        "DELETE FROM",
        " SET ",
    ];
    for f in &files {
        let text = std::fs::read_to_string(f).unwrap();
        for b in banned {
            assert!(
                !text.contains(b),
                "{} contains {b:?}: a change or a query belongs in crates/store",
                f.display()
            );
        }
    }
}
