//! Issue 11: the route × role matrix walked from the served OpenAPI document, token
//! administration, plan approval, the audit trail and its tamper test, and alerts. Each runs
//! on SQLite, and on PostgreSQL (a database of its own) when `XPUFLEET_TEST_POSTGRES` is set.

use serde_json::Value;
use xpufleet_server::audit;

use super::{assert_problem, repo_file, Answer, Client, Server};

const ROLES: [&str; 4] = ["viewer", "planner", "compliance", "admin"];

fn rank(role: &str) -> usize {
    ROLES
        .iter()
        .position(|r| *r == role)
        .unwrap_or_else(|| panic!("unknown role {role:?}"))
}

/// Any method, with an optional token and body.
fn call(c: &Client, method: &str, path: &str, tok: Option<&str>, body: &[u8]) -> Answer {
    let url = format!("{}{path}", c.base);
    let auth = tok.map(|t| format!("Bearer {t}"));
    let r = match method {
        "GET" | "DELETE" => {
            let mut req = if method == "GET" {
                c.agent.get(url)
            } else {
                c.agent.delete(url)
            };
            if let Some(a) = &auth {
                req = req.header("Authorization", a);
            }
            req.call()
        }
        "POST" | "PUT" | "PATCH" => {
            let mut req = match method {
                "POST" => c.agent.post(url),
                "PUT" => c.agent.put(url),
                _ => c.agent.patch(url),
            }
            .header("Content-Type", "application/json");
            if let Some(a) = &auth {
                req = req.header("Authorization", a);
            }
            req.send(body)
        }
        m => panic!("method {m}"),
    };
    Client::answer(r)
}

/// A new token of `role` made through the API by the admin client.
fn new_token(admin: &Client, name: &str, role: &str) -> String {
    let body = serde_json::json!({"name": name, "role": role}).to_string();
    let a = admin.send(
        "POST",
        "/api/v1/tokens",
        "application/json",
        body.as_bytes(),
        &[],
    );
    assert_eq!(a.status, 201, "{}", a.body);
    a.json()["token"].as_str().unwrap().to_string()
}

/// Every operation of the served document, for every role, no token and a revoked token:
/// 401 without a valid token, 403 below the operation's role, neither at or above it; and no
/// operation lacks a rule.
fn role_matrix(admin: &Client, tokens: &[(&str, String)], revoked: &str) {
    let doc = admin.get("/api/v1/openapi.json").json();
    let paths = doc["paths"].as_object().unwrap();
    let mut n_checked = 0;
    for (template, item) in paths {
        if !template.starts_with("/api/v1/") {
            continue;
        }
        for method in ["get", "put", "post", "delete", "patch"] {
            let Some(op) = item.get(method) else { continue };
            let m = method.to_ascii_uppercase();
            let need = op["x-required-role"]
                .as_str()
                .unwrap_or_else(|| panic!("{m} {template} has no x-required-role"));
            assert_ne!(need, "none", "{m} {template} has no authorisation rule");
            assert!(
                op["description"].as_str().unwrap_or("").contains(need),
                "{m} {template}: the role is not in its description"
            );
            let path = template
                .replace("{id}", "no-such-thing")
                .replace("{rev}", "1")
                .replace("{name}", "no-such-token");
            for tok in [None, Some(revoked), Some("xpf_unknown")] {
                let a = call(admin, &m, &path, tok, b"");
                assert_problem(&a, 401, &format!("{m} {path} with {tok:?}"));
            }
            for (role, tok) in tokens {
                let a = call(admin, &m, &path, Some(tok), b"");
                if rank(role) < rank(need) {
                    assert_problem(&a, 403, &format!("{m} {path} as {role} (needs {need})"));
                    assert!(a.json()["error"].as_str().unwrap().contains(need));
                } else {
                    assert!(
                        a.status != 401 && a.status != 403 && a.status < 500,
                        "{m} {path} as {role} (needs {need}): {} {}",
                        a.status,
                        a.body
                    );
                }
                n_checked += 1;
            }
        }
    }
    assert!(n_checked >= 4 * 40, "only {n_checked} route × role cells");
}

/// Directly in the database, behind the server's back.
fn sql(url: &str, statements: &[String]) {
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

fn chain(url: &str) -> Vec<audit::AuditEntry> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = xpufleet_server::Store::open(&xpufleet_server::DatabaseUrl(url.into()))
            .await
            .unwrap();
        let c = store.audit_chain().await.unwrap();
        store.close().await;
        c
    })
}

fn insert_sql(e: &audit::AuditEntry) -> String {
    let q = |s: &str| format!("'{}'", s.replace('\'', "''"));
    format!(
        "INSERT INTO audit_log (seq, at, actor, role, action, resource, revision, body_sha256, prev_hash, hash, before_sha256, after_sha256) \
         VALUES ({}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {}, {})",
        e.seq,
        q(&e.at),
        q(&e.actor),
        q(&e.role),
        q(&e.action),
        q(&e.resource),
        e.revision.map_or("NULL".into(), |r| r.to_string()),
        q(&e.body_sha256),
        q(&e.prev_hash),
        q(&e.hash),
        q(&e.before_sha256),
        q(&e.after_sha256)
    )
}

/// UPDATE, DELETE and reorder rows directly; each time the chain read back from the database
/// fails at the first entry touched, and is put back afterwards.
fn tamper_test(url: &str) {
    let original = chain(url);
    assert!(original.len() >= 6, "{} entries", original.len());
    assert_eq!(audit::verify(&original), Ok(original.len() as i64));
    let restore: Vec<String> = std::iter::once("DELETE FROM audit_log".to_string())
        .chain(original.iter().map(insert_sql))
        .collect();
    let cases: Vec<(&str, Vec<String>, i64)> = vec![
        (
            "an altered actor",
            vec!["UPDATE audit_log SET actor = 'mallory' WHERE seq = 3".into()],
            3,
        ),
        (
            "an altered body digest",
            vec![format!(
                "UPDATE audit_log SET body_sha256 = '{}' WHERE seq = 5",
                "f".repeat(64)
            )],
            5,
        ),
        (
            "a deleted entry",
            vec!["DELETE FROM audit_log WHERE seq = 2".into()],
            2,
        ),
        (
            "two entries swapped",
            vec![
                "UPDATE audit_log SET seq = -1 WHERE seq = 2".into(),
                "UPDATE audit_log SET seq = 2 WHERE seq = 4".into(),
                "UPDATE audit_log SET seq = 4 WHERE seq = -1".into(),
            ],
            2,
        ),
        (
            "a deletion hidden by renumbering",
            vec![
                "DELETE FROM audit_log WHERE seq = 3".into(),
                // Through negative numbers: PostgreSQL checks the key row by row in the
                // table's physical order, which after the restores need not be `seq` order.
                "UPDATE audit_log SET seq = -seq WHERE seq > 3".into(),
                "UPDATE audit_log SET seq = -seq - 1 WHERE seq < 0".into(),
            ],
            3,
        ),
    ];
    for (what, stmts, first_broken) in cases {
        sql(url, &stmts);
        let b = audit::verify(&chain(url)).expect_err(what);
        assert_eq!(b.position, first_broken, "{what}: {b}");
        sql(url, &restore);
        assert_eq!(
            audit::verify(&chain(url)),
            Ok(original.len() as i64),
            "restored after {what}"
        );
    }
}

/// The trust suite against one database; `url` must start empty.
fn suite(url: &str) {
    let admin_tok = xpufleet_server::token::generate().unwrap();
    let server = Server::start(url, &admin_tok);
    let admin = Client::new(&server.base, &admin_tok);

    // Tokens: one per role, listed without secrets; a revoked one is refused at once.
    let mut tokens: Vec<(&str, String)> = vec![];
    for role in ROLES {
        tokens.push((role, new_token(&admin, &format!("{role}-1"), role)));
    }
    let gone = new_token(&admin, "leaver", "admin");
    let leaver = Client::new(&server.base, &gone);
    assert_eq!(leaver.get("/api/v1/tokens").status, 200);
    let dup = serde_json::json!({"name": "leaver", "role": "viewer"}).to_string();
    let a = admin.send(
        "POST",
        "/api/v1/tokens",
        "application/json",
        dup.as_bytes(),
        &[],
    );
    assert_problem(&a, 409, "a second unrevoked token of one name");
    let a = admin.send(
        "POST",
        "/api/v1/tokens",
        "application/json",
        br#"{"name": "x", "role": "root"}"#,
        &[],
    );
    assert_problem(&a, 400, "an unknown role");
    assert_eq!(admin.delete("/api/v1/tokens/leaver").status, 204);
    assert_problem(&leaver.get("/api/v1/scenarios"), 401, "a revoked token");
    assert_problem(&admin.delete("/api/v1/tokens/leaver"), 404, "revoked twice");
    let list = admin.get("/api/v1/tokens");
    assert_eq!(list.status, 200);
    for t in tokens.iter().map(|(_, t)| t).chain([&gone, &admin_tok]) {
        assert!(!list.body.contains(t.as_str()), "a token secret is listed");
        assert!(
            !list.body.contains(&xpufleet_server::token::hash(t)),
            "a token digest is listed"
        );
    }
    let listed = list.json();
    let leaver_row = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "leaver")
        .unwrap();
    assert_eq!(leaver_row["revoked"], true);

    role_matrix(&admin, &tokens, &gone);

    // Approval: a planner stores a plan, cannot approve it; compliance can, once.
    let by = |role: &str| {
        let t = &tokens.iter().find(|(r, _)| *r == role).unwrap().1;
        Client::new(&server.base, t)
    };
    let planner = by("planner");
    let compliance = by("compliance");
    let viewer = by("viewer");
    let example = std::fs::read_to_string(repo_file("examples/capex-2025.toml")).unwrap();
    let a = planner.send(
        "POST",
        "/api/v1/scenarios",
        "application/toml",
        example.as_bytes(),
        &[],
    );
    assert_eq!(a.status, 201, "{}", a.body);
    let sid = a.json()["id"].as_str().unwrap().to_string();
    // Retried with an Idempotency-Key: one scenario, the same answer; another body under the
    // same key is refused.
    let key = [("Idempotency-Key", "create-once-1")];
    let first = planner.send(
        "POST",
        "/api/v1/scenarios",
        "application/toml",
        example.as_bytes(),
        &key,
    );
    assert_eq!(first.status, 201, "{}", first.body);
    let again = planner.send(
        "POST",
        "/api/v1/scenarios",
        "application/toml",
        example.as_bytes(),
        &key,
    );
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.body, first.body);
    assert_eq!(again.header["idempotent-replayed"], "true");
    assert_eq!(again.header["location"], first.header["location"]);
    let other = planner.send(
        "POST",
        "/api/v1/scenarios",
        "application/toml",
        format!("{example}\n# changed\n").as_bytes(),
        &key,
    );
    assert_problem(&other, 422, "a key reused with another body");
    let once_id = first.json()["id"].as_str().unwrap().to_string();
    let listed = viewer.get("/api/v1/scenarios?limit=500").json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 2, "{listed}");
    let entries = viewer
        .get(&format!(
            "/api/v1/audit?resource=/api/v1/scenarios/{once_id}"
        ))
        .json();
    assert_eq!(entries["items"].as_array().unwrap().len(), 1, "{entries}");
    let a = planner.send(
        "POST",
        &format!("/api/v1/scenarios/{sid}/plan"),
        "application/toml",
        b"",
        &[],
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let plan_id = a.header["x-run-id"].clone();
    let approve = format!("/api/v1/runs/{plan_id}/approve");
    assert_problem(
        &planner.send("POST", &approve, "application/json", b"", &[]),
        403,
        "a planner approving",
    );
    let a = compliance.send(
        "POST",
        &approve,
        "application/json",
        br#"{"note": "within the licence"}"#,
        &[],
    );
    assert_eq!(a.status, 201, "{}", a.body);
    assert_eq!(a.json()["approved_by"], "compliance-1");
    assert_problem(
        &compliance.send("POST", &approve, "application/json", b"", &[]),
        409,
        "approved twice",
    );
    let a = viewer.get(&format!("/api/v1/runs/{plan_id}/approvals"));
    assert_eq!(a.json().as_array().unwrap().len(), 1);
    // A planner may not edit verification records; compliance may.
    let ver = serde_json::json!({
        "entity": "acme", "role": "owner", "subject": "pool-a",
        "valid_from": "2026-01-01", "valid_to": "2026-02-10",
        "document_sha256": "a".repeat(64)
    })
    .to_string();
    assert_problem(
        &planner.send(
            "PUT",
            "/api/v1/verifications/v1",
            "application/json",
            ver.as_bytes(),
            &[],
        ),
        403,
        "a planner editing a verification",
    );
    let a = compliance.send(
        "PUT",
        "/api/v1/verifications/v1",
        "application/json",
        ver.as_bytes(),
        &[],
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let a = compliance.send(
        "PUT",
        "/api/v1/verifications/v1",
        "application/json",
        ver.as_bytes(),
        &[],
    );
    assert_eq!(a.json()["version"], 2);

    // The audit trail: the changes above, in order, with who, what and the body's digest.
    let a = viewer.get("/api/v1/audit?limit=500");
    assert_eq!(a.status, 200, "{}", a.body);
    let items = a.json()["items"].as_array().unwrap().clone();
    let actions: Vec<String> = items
        .iter()
        .map(|e| {
            format!(
                "{} {}",
                e["actor"].as_str().unwrap(),
                e["action"].as_str().unwrap()
            )
        })
        .collect();
    for want in [
        "tester POST /api/v1/tokens",
        "tester DELETE /api/v1/tokens/{name}",
        "planner-1 POST /api/v1/scenarios",
        "planner-1 POST /api/v1/scenarios/{id}/plan",
        "compliance-1 POST /api/v1/runs/{id}/approve",
        "compliance-1 PUT /api/v1/verifications/{id}",
    ] {
        assert!(
            actions.iter().any(|a| a == want),
            "{want} not in {actions:?}"
        );
    }
    // Refused and failed requests leave no entry.
    assert!(
        !actions.iter().any(|a| a.starts_with("planner-1 PUT")),
        "{actions:?}"
    );
    let v = viewer
        .get("/api/v1/audit?resource=/api/v1/verifications/v1")
        .json();
    let vs = v["items"].as_array().unwrap();
    assert_eq!(vs.len(), 2, "{v}");
    assert_eq!(vs[0]["revision"], 1);
    assert_eq!(vs[1]["revision"], 2);
    assert_eq!(
        vs[0]["body_sha256"],
        xpufleet_server::token::hash(&ver),
        "the digest of the request body"
    );
    let s = viewer
        .get(&format!("/api/v1/audit?resource=/api/v1/scenarios/{sid}"))
        .json();
    assert_eq!(s["items"][0]["action"], "POST /api/v1/scenarios");
    assert_eq!(s["items"][0]["revision"], 1);
    let mine = viewer
        .get("/api/v1/audit?actor=compliance-1&limit=1")
        .json();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    assert_eq!(mine["next_offset"], 1);
    assert_problem(&viewer.get("/api/v1/audit?limit=0"), 400, "limit 0");

    // Alerts: the verification expires on 2026-02-10.
    let a = viewer.get("/api/v1/alerts?within_days=30&as_of=2026-01-20");
    assert_eq!(a.status, 200, "{}", a.body);
    let alerts = a.json()["alerts"].as_array().unwrap().clone();
    let v1 = alerts
        .iter()
        .find(|x| x["subject"] == "verifications/v1")
        .unwrap_or_else(|| panic!("no alert for v1: {alerts:?}"));
    assert_eq!(v1["kind"], "verification-expiring");
    assert_eq!(v1["days"], 21);
    let a = viewer.get("/api/v1/alerts?within_days=5&as_of=2026-01-20");
    assert!(!a.body.contains("verifications/v1"), "{}", a.body);
    let a = viewer.get("/api/v1/alerts?within_days=5&as_of=2026-03-01");
    assert!(a.body.contains("verification-expired"), "{}", a.body);
    // The example scenario as of its date: a pool and a candidate lack verifications (as
    // `xpufleet check` says), and verdicts change at the next dated rule change.
    let a = viewer.get("/api/v1/alerts?within_days=30&as_of=2025-03-01");
    let alerts = a.json()["alerts"].as_array().unwrap().clone();
    let unverified: Vec<&str> = alerts
        .iter()
        .filter(|x| x["kind"] == "unverified" && x["subject"].as_str().unwrap().contains(&sid))
        .map(|x| x["subject"].as_str().unwrap())
        .collect();
    assert!(
        unverified.contains(&format!("scenarios/{sid}#my-h200-overflow").as_str()),
        "{unverified:?}"
    );
    assert!(
        unverified.contains(&format!("scenarios/{sid}#my-h100-buy").as_str()),
        "{unverified:?}"
    );
    // The H20 licence requirement of 2025-04-09 in the built-in rules.
    let change = alerts
        .iter()
        .find(|x| {
            x["kind"] == "verdict-changes"
                && x["subject"] == format!("scenarios/{sid}#cn-h20-buy").as_str()
        })
        .unwrap_or_else(|| panic!("no verdict change for cn-h20-buy: {alerts:?}"));
    assert_eq!(change["date"], "2025-04-09");
    assert_eq!(change["days"], 39);
    let msg = change["message"].as_str().unwrap();
    assert!(
        msg.contains("allowed until 2025-04-09, then licence-required"),
        "{msg}"
    );
    // Issue 24: the alert says which way the verdict moves.
    assert!(msg.contains("stricter: usable -> not usable"), "{msg}");
    assert_problem(
        &viewer.get("/api/v1/alerts?within_days=-1"),
        400,
        "a negative window",
    );

    secrets_are_shown_once(&admin, url);
    server.stop();
    the_data_matches_the_trail(url);
    tamper_test(url);
}

/// A token made with an `Idempotency-Key`: the first answer shows the secret, a retry names
/// the token and its digest and says the secret was shown once, and the secret is nowhere in
/// the database.
fn secrets_are_shown_once(admin: &Client, url: &str) {
    let key = [("Idempotency-Key", "token-once-1")];
    let body = br#"{"name": "ci-bot", "role": "viewer"}"#;
    let first = admin.send("POST", "/api/v1/tokens", "application/json", body, &key);
    assert_eq!(first.status, 201, "{}", first.body);
    let secret = first.json()["token"].as_str().unwrap().to_string();
    let again = admin.send("POST", "/api/v1/tokens", "application/json", body, &key);
    assert_eq!(again.status, 201, "{}", again.body);
    assert_eq!(again.header["idempotent-replayed"], "true");
    assert!(!again.body.contains(&secret), "{}", again.body);
    let replay = again.json();
    assert_eq!(replay["token"], Value::Null, "{replay}");
    assert_eq!(replay["name"], "ci-bot");
    assert_eq!(
        replay["token_sha256"],
        xpufleet_server::token::hash(&secret)
    );
    assert!(
        replay["note"].as_str().unwrap().contains("shown once"),
        "{replay}"
    );
    let rows = query_strings(url, "SELECT body FROM idempotency");
    assert!(!rows.is_empty());
    assert!(rows.iter().all(|b| !b.contains(&secret)), "{rows:?}");
}

fn query_strings(url: &str, q: &str) -> Vec<String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(url).await.unwrap();
        let rows = sqlx::query(q).fetch_all(&pool).await.unwrap();
        pool.close().await;
        use sqlx::Row;
        rows.iter().map(|r| r.get::<String, _>(0)).collect()
    })
}

/// Every record, scenario and run is what the last audit entry that changed it says, and a
/// record changed behind the server's back is found (then put back).
fn the_data_matches_the_trail(url: &str) {
    let mismatches = |url: &str| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let store = xpufleet_server::Store::open(&xpufleet_server::DatabaseUrl(url.into()))
                .await
                .unwrap();
            let m = store.audit_mismatches().await.unwrap();
            store.close().await;
            m
        })
    };
    assert_eq!(mismatches(url), Vec::<String>::new());
    let entries = chain(url);
    assert!(
        entries
            .iter()
            .any(|e| e.action == "DELETE /api/v1/tokens/{name}" && !e.before_sha256.is_empty()),
        "a revocation names the token's digests"
    );
    let ids = query_strings(
        url,
        "SELECT kind || '/' || id FROM records ORDER BY kind, id",
    );
    let first = ids.first().expect("the suite stored records");
    let (kind, id) = first.split_once('/').unwrap();
    let old = query_strings(
        url,
        &format!("SELECT body FROM records WHERE kind = '{kind}' AND id = '{id}'"),
    );
    sql(
        url,
        &[format!(
            "UPDATE records SET body = '{{}}' WHERE kind = '{kind}' AND id = '{id}'"
        )],
    );
    let m = mismatches(url);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].starts_with(&format!("/api/v1/{first}:")), "{m:?}");
    sql(
        url,
        &[format!(
            "UPDATE records SET body = '{}' WHERE kind = '{kind}' AND id = '{id}'",
            old[0].replace('\'', "''")
        )],
    );
    assert_eq!(mismatches(url), Vec::<String>::new());
}

#[test]
fn trust_suite_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("xpufleet-trust-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    suite(&format!("sqlite://{}", dir.join("trust.db").display()));
    // The database holds every record and the audit trail: its owner's alone.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join("trust.db"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fresh database named `name` on the server of `XPUFLEET_TEST_POSTGRES`; `None` (after a
/// note) when it is not set and not required.
pub fn fresh_postgres(name: &str) -> Option<String> {
    let Ok(url) = std::env::var("XPUFLEET_TEST_POSTGRES") else {
        if std::env::var("XPUFLEET_TEST_POSTGRES_REQUIRED").as_deref() == Ok("1") {
            panic!("XPUFLEET_TEST_POSTGRES_REQUIRED=1 but XPUFLEET_TEST_POSTGRES is not set");
        }
        eprintln!("note: XPUFLEET_TEST_POSTGRES is not set; the PostgreSQL half is skipped");
        return None;
    };
    sql(
        &url,
        &[
            format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
            format!("CREATE DATABASE {name}"),
        ],
    );
    let base = url.rsplit_once('/').map_or(url.as_str(), |(b, _)| b);
    Some(format!("{base}/{name}"))
}

#[test]
fn trust_suite_on_postgres() {
    if let Some(url) = fresh_postgres("xpufleet_test_trust") {
        suite(&url);
    }
}

#[test]
fn every_operation_has_a_rule_in_the_document() {
    let doc: Value = serde_json::from_str(&xpufleet_server::openapi().to_json().unwrap()).unwrap();
    for (path, item) in doc["paths"].as_object().unwrap() {
        if !path.starts_with("/api/v1/") {
            continue;
        }
        for (method, op) in item.as_object().unwrap() {
            let role = op["x-required-role"].as_str().unwrap_or("none");
            assert!(
                ROLES.contains(&role),
                "{method} {path}: x-required-role is {role:?}"
            );
        }
    }
}

/// A server over `url` with its own rate limit, and an admin token `tok`.
fn start_limited(url: &str, tok: &str, limit: xpufleet_server::limits::RateLimit) -> Server {
    let (port_tx, port_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
    let url = xpufleet_server::DatabaseUrl(url.to_string());
    let tok = tok.to_string();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let store = xpufleet_server::Store::open(&url).await.unwrap();
            // Another replica on the same database may have stored it already.
            let _ = store
                .insert_token(&xpufleet_server::token::hash(&tok), "tester", "admin")
                .await;
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            port_tx.send(listener.local_addr().unwrap().port()).unwrap();
            let stop = async move {
                let _ = tokio::task::spawn_blocking(move || stop_rx.recv()).await;
            };
            let state = xpufleet_server::AppState::new(store).with_rate_limit(limit);
            xpufleet_server::serve_state(listener, state, stop)
                .await
                .unwrap();
        });
    });
    let port = port_rx
        .recv_timeout(std::time::Duration::from_secs(60))
        .unwrap();
    Server {
        base: format!("http://127.0.0.1:{port}"),
        stop: Some(stop_tx),
        thread: Some(thread),
    }
}

#[test]
fn limits_refuse_floods_and_big_bodies_after_the_role_check() {
    let dir = std::env::temp_dir().join(format!("xpufleet-limits-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("limits.db").display());
    let tok = xpufleet_server::token::generate().unwrap();
    let limit = xpufleet_server::limits::RateLimit {
        per_second: 1.0,
        burst: 5.0,
    };
    let server = start_limited(&url, &tok, limit);
    let admin = Client::new(&server.base, &tok);
    let viewer_tok = new_token(&admin, "v", "viewer");
    let viewer = Client::new(&server.base, &viewer_tok);

    // The viewer's bucket holds 5: the sixth request at once is 429 with Retry-After; the
    // admin's bucket is its own.
    let mut codes = vec![];
    for _ in 0..6 {
        codes.push(viewer.get("/api/v1/scenarios").status);
    }
    assert_eq!(codes, [200, 200, 200, 200, 200, 429], "{codes:?}");
    let a = viewer.get("/api/v1/scenarios");
    assert_problem(&a, 429, "over the rate");
    assert!(a.header["retry-after"].parse::<u64>().unwrap() >= 1);
    assert_eq!(admin.get("/api/v1/scenarios").status, 200);

    // 2 MiB: a viewer is refused for the role (the body is never read), an admin for the size.
    let other_viewer = new_token(&admin, "v2", "viewer");
    assert_eq!(raw_put(&server.base, &other_viewer, 2 << 20), 403);
    assert_eq!(raw_put(&server.base, &tok, 2 << 20), 413);
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The status of a PUT of `n` bytes over a raw connection: the body is written from another
/// thread, so an answer given before the body is read arrives however big the body is.
fn raw_put(base: &str, tok: &str, n: usize) -> u16 {
    use std::io::{BufRead, Write};
    let addr = base.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    let head = format!(
        "PUT /api/v1/pools/p HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {tok}\r\n\
         Content-Type: application/json\r\nContent-Length: {n}\r\nConnection: close\r\n\r\n"
    );
    conn.write_all(head.as_bytes()).unwrap();
    let mut w = conn.try_clone().unwrap();
    let writer = std::thread::spawn(move || {
        let chunk = vec![b' '; 64 << 10];
        let mut left = n;
        while left > 0 {
            let k = left.min(chunk.len());
            if w.write_all(&chunk[..k]).is_err() {
                break;
            }
            left -= k;
        }
    });
    let mut line = String::new();
    std::io::BufReader::new(conn).read_line(&mut line).unwrap();
    let _ = writer.join();
    line.split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("no status line: {line:?}"))
}

/// Answers to hostile or careless requests (issue 23, item 8): every answer carries a request
/// id and `nosniff`; a report forbids loading anything; JSON records refuse `text/plain`;
/// record ids `..` and `" "` are refused; a what-if's rule packs are refused over the API
/// rather than silently left out; an internal error does not show its text.
#[test]
fn hostile_requests_get_clear_refusals() {
    let dir = std::env::temp_dir().join(format!("xpufleet-hostile-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let tok = xpufleet_server::token::generate().unwrap();
    let server = Server::start(&format!("sqlite://{}", dir.join("h.db").display()), &tok);
    let c = Client::new(&server.base, &tok);

    let a = c.get("/healthz");
    assert_eq!(a.header["x-content-type-options"], "nosniff");
    assert_eq!(a.header["x-request-id"].len(), 16, "{:?}", a.header);
    let a = c.get("/api/v1/nowhere");
    assert_eq!(a.header["x-content-type-options"], "nosniff");
    assert!(a.header.contains_key("x-request-id"));

    let ver = serde_json::json!({
        "entity": "e", "role": "owner", "valid_from": "2026-01-01",
        "document_sha256": "a".repeat(64),
    })
    .to_string();
    let a = c.send(
        "PUT",
        "/api/v1/verifications/v1",
        "text/plain",
        ver.as_bytes(),
        &[],
    );
    assert_problem(&a, 415, "JSON sent as text/plain");
    for bad in ["..", "%20", "%20v", "."] {
        let a = c.send(
            "PUT",
            &format!("/api/v1/verifications/{bad}"),
            "application/json",
            ver.as_bytes(),
            &[],
        );
        assert!(
            a.status == 400 || a.status == 404,
            "id {bad:?}: {} {}",
            a.status,
            a.body
        );
    }
    assert_eq!(
        c.get("/api/v1/verifications").json()["items"],
        serde_json::json!([]),
        "nothing was stored"
    );

    let example = std::fs::read_to_string(repo_file("examples/capex-2025.toml")).unwrap();
    let a = c.send(
        "POST",
        "/api/v1/scenarios",
        "application/toml",
        example.as_bytes(),
        &[],
    );
    assert_eq!(a.status, 201, "{}", a.body);
    let sid = a.json()["id"].as_str().unwrap().to_string();
    let a = c.send(
        "POST",
        &format!("/api/v1/scenarios/{sid}/plan"),
        "application/toml",
        b"rule_packs = [\"extra.toml\"]\n",
        &[],
    );
    assert_problem(&a, 400, "a what-if naming rule packs");
    assert!(a.body.contains("rule_packs"), "{}", a.body);

    let a = c.send(
        "POST",
        &format!("/api/v1/scenarios/{sid}/runs"),
        "application/json",
        b"",
        &[],
    );
    assert_eq!(a.status, 201, "{}", a.body);
    let run = a.header["x-run-id"].clone();
    let a = c.get(&format!("/api/v1/runs/{run}/report.html"));
    assert_eq!(a.status, 200);
    let csp = &a.header["content-security-policy"];
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("form-action 'none'"), "{csp}");
    server.stop();

    // A row whose column holds another type (SQLite allows it) is a located error, not a panic.
    let url = format!("sqlite://{}", dir.join("h.db").display());
    sql(
        &url,
        &["UPDATE audit_log SET revision = 'seven' WHERE seq = 1".to_string()],
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let err = rt.block_on(async {
        let store = xpufleet_server::Store::open(&xpufleet_server::DatabaseUrl(url.clone()))
            .await
            .unwrap();
        let r = store.audit_chain().await;
        store.close().await;
        r.unwrap_err()
    });
    assert!(err.to_string().contains("audit_log row 1"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Two servers on one database act as one service (issue 23, item 4): a web session made on
/// one works on the other and signing out on one signs out on both; a retry with an
/// `Idempotency-Key` on the other replays the first answer; a token revoked on one is refused
/// by the other within 2 s; failed sign-ins on both count towards one throttle.
fn replicas(url: &str) {
    use super::ui::{csrf, sign_in, Http};
    let tok = xpufleet_server::token::generate().unwrap();
    let a = Server::start(url, &tok);
    let b = Server::start(url, &tok);
    let (ca, cb) = (Client::new(&a.base, &tok), Client::new(&b.base, &tok));

    let mut on_a = Http::new(&a.base);
    let r = sign_in(&mut on_a, &tok);
    assert_eq!(r.status, 303, "{}", r.body);
    let mut on_b = Http::new(&b.base);
    on_b.cookies = on_a.cookies.clone();
    let page = on_b.get("/records");
    assert_eq!(
        page.status, 200,
        "a session made on A, used on B: {}",
        page.location
    );
    let mut again_on_a = Http::new(&a.base);
    again_on_a.cookies = on_a.cookies.clone();
    let r = on_b.post("/logout", &[("csrf", &csrf(&page.body))]);
    assert_eq!(r.status, 303, "{}", r.body);
    let r = again_on_a.get("/records");
    assert_eq!(r.status, 303, "signed out on B, still in on A");
    assert!(r.location.starts_with("/login"), "{}", r.location);

    let example = std::fs::read_to_string(repo_file("examples/capex-2025.toml")).unwrap();
    let key = [("Idempotency-Key", "replica-key-1")];
    let first = ca.send(
        "POST",
        "/api/v1/scenarios",
        "application/toml",
        example.as_bytes(),
        &key,
    );
    assert_eq!(first.status, 201, "{}", first.body);
    let retry = cb.send(
        "POST",
        "/api/v1/scenarios",
        "application/toml",
        example.as_bytes(),
        &key,
    );
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert_eq!(retry.header["idempotent-replayed"], "true");
    assert_eq!(retry.body, first.body);
    let listed = cb.get("/api/v1/scenarios").json();
    assert_eq!(listed["items"].as_array().unwrap().len(), 1, "{listed}");

    let temp = new_token(&ca, "temp", "viewer");
    let temp_b = Client::new(&b.base, &temp);
    assert_eq!(temp_b.get("/api/v1/scenarios").status, 200);
    assert_eq!(ca.delete("/api/v1/tokens/temp").status, 204);
    let t0 = std::time::Instant::now();
    while temp_b.get("/api/v1/scenarios").status != 401 {
        assert!(
            t0.elapsed() < std::time::Duration::from_millis(2500),
            "B still accepts a token revoked on A"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }

    let limit = xpufleet_server::ui::LOGIN_FAILURES_PER_MINUTE;
    for i in 0..limit {
        let mut h = Http::new(if i % 2 == 0 { &a.base } else { &b.base });
        let r = sign_in(&mut h, "xpf_wrong");
        assert_eq!(r.status, 401, "failure {i}");
    }
    let mut h = Http::new(&b.base);
    assert_eq!(sign_in(&mut h, "xpf_wrong").status, 429);
    let mut h = Http::new(&a.base);
    assert_eq!(sign_in(&mut h, &tok).status, 429, "throttled on A too");
    a.stop();
    b.stop();
}

/// Two servers on one database share each token's request budget (issue 23, item 4): what
/// one spent is gone on the other after a sync (`limits::SYNC_EVERY`, 250 ms).
fn shared_rate_budget(url: &str) {
    let tok = xpufleet_server::token::generate().unwrap();
    let limit = xpufleet_server::limits::RateLimit {
        per_second: 0.01,
        burst: 6.0,
    };
    let a = start_limited(url, &tok, limit);
    let b = start_limited(url, &tok, limit);
    let (ca, cb) = (Client::new(&a.base, &tok), Client::new(&b.base, &tok));
    for i in 0..4 {
        assert_eq!(ca.get("/api/v1/scenarios").status, 200, "request {i} on A");
    }
    std::thread::sleep(std::time::Duration::from_millis(700));
    // A spent 4 of 6: B, which never served this token, has 2 left, not 6.
    let codes: Vec<u16> = (0..3).map(|_| cb.get("/api/v1/scenarios").status).collect();
    assert_eq!(codes, [200, 200, 429], "{codes:?}");
    std::thread::sleep(std::time::Duration::from_millis(700));
    // And B's spending reaches A.
    assert_eq!(ca.get("/api/v1/scenarios").status, 429);
    a.stop();
    b.stop();
}

#[test]
fn two_replicas_share_the_rate_budget_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("xpufleet-shared-rate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    shared_rate_budget(&format!("sqlite://{}", dir.join("r.db").display()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_replicas_share_the_rate_budget_on_postgres() {
    if let Some(url) = fresh_postgres("xpufleet_test_shared_rate") {
        shared_rate_budget(&url);
    }
}

#[test]
fn two_replicas_act_as_one_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("xpufleet-replicas-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    replicas(&format!("sqlite://{}", dir.join("r.db").display()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn two_replicas_act_as_one_on_postgres() {
    if let Some(url) = fresh_postgres("xpufleet_test_replicas") {
        replicas(&url);
    }
}

/// `/readyz` tells the truth and answers in time (issue 23, item 6): while another process
/// holds the SQLite database's write lock, it says not ready (`503`) within 2 s, and ready
/// again once the lock is released.
#[test]
fn readyz_answers_within_2_s_when_the_database_cannot_write() {
    let dir = std::env::temp_dir().join(format!("xpufleet-readyz-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("r.db").display());
    let tok = xpufleet_server::token::generate().unwrap();
    let server = Server::start(&url, &tok);
    let c = Client::new(&server.base, &tok);
    assert_eq!(c.get("/readyz").status, 200);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let conn = rt.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&url).await.unwrap();
        let mut conn = pool.acquire().await.unwrap();
        sqlx::query("BEGIN IMMEDIATE")
            .execute(&mut *conn)
            .await
            .unwrap();
        conn
    });
    let t0 = std::time::Instant::now();
    let a = c.get("/readyz");
    assert_eq!(a.status, 503, "{}", a.body);
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(2),
        "{:?}",
        t0.elapsed()
    );
    // A write while the database cannot take it is `503` with `Retry-After`, and applies
    // nothing (item 6: never half-applied).
    let body = serde_json::json!({"name": "while-down", "role": "viewer"}).to_string();
    let a = c.send(
        "POST",
        "/api/v1/tokens",
        "application/json",
        body.as_bytes(),
        &[],
    );
    assert_eq!(a.status, 503, "{}", a.body);
    assert_eq!(a.header.get("retry-after").map(String::as_str), Some("2"));
    // The connection is given back inside the runtime that made it.
    let mut conn = conn;
    rt.block_on(async move {
        sqlx::query("ROLLBACK").execute(&mut *conn).await.unwrap();
        drop(conn);
    });
    assert_eq!(c.get("/readyz").status, 200);
    let names = c.get("/api/v1/tokens").body;
    assert!(!names.contains("while-down"), "{names}");
    // The same write succeeds once the database is back, without a restart.
    let a = c.send(
        "POST",
        "/api/v1/tokens",
        "application/json",
        body.as_bytes(),
        &[],
    );
    assert_eq!(a.status, 201, "{}", a.body);
    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

/// Recovery without a restart (issue 23 item 6): PostgreSQL ending every connection of the
/// server's pool (what a restart of PostgreSQL does to it) fails no later request. Reads,
/// writes and `/readyz` answer as before, and the audit trail still verifies.
#[test]
fn postgres_connections_ended_behind_the_server_are_replaced() {
    let Some(url) = fresh_postgres("xpufleet_test_recover") else {
        return;
    };
    let tok = xpufleet_server::token::generate().unwrap();
    let server = Server::start(&url, &tok);
    let c = Client::new(&server.base, &tok);
    new_token(&c, "before", "viewer");
    assert_eq!(c.get("/api/v1/tokens").status, 200);
    for round in 0..2 {
        sql(
            &url,
            &["SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
               WHERE datname = current_database() AND pid <> pg_backend_pid()"
                .to_string()],
        );
        let ready = c.get("/readyz");
        assert_eq!(ready.status, 200, "round {round}: {}", ready.body);
        let list = c.get("/api/v1/tokens");
        assert_eq!(list.status, 200, "round {round}: {}", list.body);
        assert!(list.body.contains("\"before\""), "{}", list.body);
        new_token(&c, &format!("after-{round}"), "viewer");
    }
    let entries = chain(&url);
    assert_eq!(audit::verify(&entries), Ok(entries.len() as i64));
    server.stop();
}

/// Opens the database at `url` on a runtime of its own, migrated by sqlx's migrator or (with
/// `before_sqlx`) as the builds before it did; the error's text.
fn open_db(url: &str, before_sqlx: bool) -> Result<(), String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let url = xpufleet_server::DatabaseUrl(url.into());
        let r = if before_sqlx {
            xpufleet_server::Store::open_as_before_sqlx(&url).await
        } else {
            xpufleet_server::Store::open(&url).await
        };
        match r {
            Ok(s) => {
                if before_sqlx {
                    s.insert_token(&"ab".repeat(32), "made-before", "viewer")
                        .await
                        .unwrap();
                }
                s.close().await;
                Ok(())
            }
            Err(e) => Err(e.to_string()),
        }
    })
}

/// Migrations (issue 23, item 6) by sqlx's migrator under our lock: a database made by the
/// migrator before it is adopted without running anything again (its SHA-256s checked, its
/// data kept); an applied migration whose text changed is refused, before and after the
/// adoption, naming it; two migrators starting at once on one database both start.
fn migrations_suite(url_for: &dyn Fn(&str) -> String, sqlite: bool) {
    let sqlx_sums: Vec<String> = xpufleet_store::migrate::migrations()
        .iter()
        .map(|m| xpufleet_server::token::hex(&m.checksum))
        .collect();
    let hex = if sqlite {
        "lower(hex(checksum))"
    } else {
        "encode(checksum, 'hex')"
    };
    let versions = |url: &str| {
        query_strings(
            url,
            "SELECT CAST(version AS TEXT) FROM _sqlx_migrations ORDER BY version",
        )
    };
    let all: Vec<String> = xpufleet_server::db::MIGRATIONS
        .iter()
        .map(|m| m.0.to_string())
        .collect();

    // Adopted: the versions and sqlx's checksums, the data kept, nothing run again (running
    // a migration again would fail on its CREATE TABLE).
    let url = url_for("adopt");
    open_db(&url, true).unwrap();
    open_db(&url, false).unwrap();
    assert_eq!(versions(&url), all);
    let sums = query_strings(
        &url,
        &format!("SELECT {hex} FROM _sqlx_migrations ORDER BY version"),
    );
    assert_eq!(sums, sqlx_sums);
    assert_eq!(
        query_strings(&url, "SELECT name FROM tokens"),
        vec!["made-before"]
    );
    open_db(&url, false).unwrap();
    assert_eq!(versions(&url), all);

    // A migration changed after it was applied is refused by sqlx's checksum.
    let zero = if sqlite {
        "X'00'"
    } else {
        "decode('00', 'hex')"
    };
    sql(
        &url,
        &[format!(
            "UPDATE _sqlx_migrations SET checksum = {zero} WHERE version = 3"
        )],
    );
    let err = open_db(&url, false).unwrap_err();
    assert!(err.contains("migration 3 (change digests)"), "{err}");
    assert!(err.contains("changed after it was applied"), "{err}");

    // ... and before the adoption by ours, which then adopts nothing.
    let url = url_for("tampered");
    open_db(&url, true).unwrap();
    sql(
        &url,
        &[format!(
            "UPDATE schema_migrations SET checksum = '{}' WHERE version = 2",
            "0".repeat(64)
        )],
    );
    let err = open_db(&url, false).unwrap_err();
    assert!(err.contains("migration 2 (trust)"), "{err}");
    assert!(err.contains("changed after it was applied"), "{err}");
    assert!(versions(&url).is_empty());

    // A database made before checksums were recorded is adopted as it is.
    let url = url_for("unsummed");
    open_db(&url, true).unwrap();
    sql(
        &url,
        &["ALTER TABLE schema_migrations DROP COLUMN checksum".to_string()],
    );
    open_db(&url, false).unwrap();
    assert_eq!(versions(&url), all);

    // Two migrators at once on a new database: both start, each migration ran once.
    for round in 0..3 {
        let url = url_for(&format!("race{round}"));
        let go = std::sync::Arc::new(std::sync::Barrier::new(2));
        let racers: Vec<_> = (0..2)
            .map(|_| {
                let (url, go) = (url.clone(), go.clone());
                std::thread::spawn(move || {
                    go.wait();
                    open_db(&url, false)
                })
            })
            .collect();
        for r in racers {
            r.join().unwrap().unwrap();
        }
        assert_eq!(versions(&url), all, "round {round}");
    }
}

#[test]
fn migrations_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("xpufleet-migrate-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.clone();
    migrations_suite(
        &move |tag| format!("sqlite://{}", d.join(format!("{tag}.db")).display()),
        true,
    );
    // The migrators' lock database is the owner's alone, like the database.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let lock = dir.join("adopt.db.migrate-lock");
        let mode = std::fs::metadata(&lock).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", lock.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn migrations_on_postgres() {
    if fresh_postgres("xpufleet_test_migrate_probe").is_none() {
        return;
    }
    migrations_suite(
        &|tag| fresh_postgres(&format!("xpufleet_test_migrate_{tag}")).unwrap(),
        false,
    );
}
