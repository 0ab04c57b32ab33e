//! Issue 24 items 1 and 5 over the API: reviews are records that only the compliance role
//! writes, each change audited, and a cleared one makes the red flags it covers usable in the
//! server's check; deleting an export record leaves a tombstone and its versions readable, and
//! a purge inside the retention period is refused citing 15 CFR 762.6; storing a new screening
//! list version re-screens every party and reports new and cleared hits. On SQLite, and on
//! PostgreSQL when `XPUFLEET_TEST_POSTGRES` is set.

use serde_json::Value;

use super::{assert_problem, repo_file, verdict, Client, Server};

/// A new token of `role` made through the API by the admin client.
fn token_for(admin: &Client, role: &str) -> String {
    let body = serde_json::json!({"name": format!("{role}-r"), "role": role}).to_string();
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

fn suite(url: &str) {
    let admin_tok = xpufleet_server::token::generate().unwrap();
    let server = Server::start(url, &admin_tok);
    let admin = Client::new(&server.base, &admin_tok);
    let planner = Client::new(&server.base, &token_for(&admin, "planner"));
    let compliance = Client::new(&server.base, &token_for(&admin, "compliance"));
    let example = std::fs::read_to_string(repo_file("examples/capex-2025.toml")).unwrap();
    let a = planner.send(
        "POST",
        "/api/v1/scenarios",
        "application/toml",
        example.as_bytes(),
        &[],
    );
    assert_eq!(a.status, 201, "{}", a.body);
    let id = a.json()["id"].as_str().unwrap().to_string();
    let check = format!("/api/v1/scenarios/{id}/check?as_of=2025-06-01");
    let before = planner.get(&check);
    assert_eq!(before.status, 200, "{}", before.body);
    let flagged = verdict(&before.json(), "cn-910b-buy", "candidates");
    assert_eq!(flagged["usable"], false, "{flagged}");
    assert_eq!(flagged["review"], Value::Null, "{flagged}");

    // Only compliance records a review; a bad one is refused at its field.
    let review = serde_json::json!({"id": "rev-910b", "target": "cn-910b-buy",
        "rules": ["us-guidance-2025-05/ascend-gp10", "us-guidance-2025-05/prc-3a090-gp10"],
        "decision": "cleared", "reviewer": "chief compliance officer", "date": "2025-05-20",
        "evidence": "memo CO-2025-17", "valid_until": "2026-05-20"});
    let path = "/api/v1/reviews/rev-910b";
    let put = |c: &Client, v: &Value| {
        c.send(
            "PUT",
            path,
            "application/json",
            v.to_string().as_bytes(),
            &[],
        )
    };
    assert_problem(&put(&planner, &review), 403, "a planner recording a review");
    let mut bad = review.clone();
    bad["rules"] = serde_json::json!(["gp10"]);
    let a = put(&compliance, &bad);
    assert_problem(&a, 400, "a review naming a rule without its pack");
    assert_eq!(a.json()["problems"][0]["field"], "rules", "{}", a.body);
    let a = put(&compliance, &review);
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(a.json()["version"], 1);

    // The cleared review makes the covered red flags usable in the server's check.
    let after = planner.get(&check);
    assert_eq!(after.header["x-run-source"], "computed");
    let cleared = verdict(&after.json(), "cn-910b-buy", "candidates");
    assert_eq!(cleared["usable"], true, "{cleared}");
    assert!(
        cleared["review"].to_string().contains("rev-910b"),
        "{cleared}"
    );

    // Audited, with the stored body's digest.
    let trail = admin.get(&format!("/api/v1/audit?resource={path}")).json();
    let items = trail["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{trail}");
    assert_eq!(items[0]["action"], "PUT /api/v1/reviews/{id}");
    assert_eq!(items[0]["actor"], "compliance-r");
    assert_ne!(items[0]["after_sha256"], "", "{trail}");

    // An alert when it is about to expire.
    let alerts = admin
        .get("/api/v1/alerts?as_of=2026-05-01&within_days=30")
        .json();
    assert!(
        alerts["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["kind"] == "review-expiring" && a["subject"] == "reviews/rev-910b"),
        "{alerts}"
    );

    // Retention: a live record's versions cannot be purged; deleting leaves a tombstone.
    let versions = format!("{path}/versions");
    let a = compliance.delete(&versions);
    assert_problem(&a, 409, "a purge of a live record");
    assert_eq!(compliance.delete(path).status, 204);
    assert_eq!(admin.get(path).status, 404);
    let h = admin.get(&versions);
    assert_eq!(h.status, 200, "{}", h.body);
    let h = h.json();
    assert_eq!(h["deleted"], true, "{h}");
    let kept = h["versions"].as_array().unwrap();
    assert_eq!(kept.len(), 2, "{h}");
    assert_eq!(kept[0]["body"], review, "{h}");
    assert_eq!(kept[1]["deleted"], true, "{h}");
    let until = h["retained_until"].as_str().unwrap();
    assert!(until >= "2031-05-20", "{h}");
    // A purge inside the window is refused with the rule, and changes nothing.
    assert_problem(&planner.delete(&versions), 403, "a planner purging");
    let a = compliance.delete(&versions);
    assert_problem(&a, 409, "a purge within five years");
    assert!(a.body.contains("15 CFR 762.6"), "{}", a.body);
    assert_eq!(admin.get(&versions).json(), h);
    let trail = admin.get(&format!("/api/v1/audit?resource={path}")).json();
    let actions: Vec<&str> = trail["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["PUT /api/v1/reviews/{id}", "DELETE /api/v1/reviews/{id}"],
        "{trail}"
    );
    // Without the review, the red flags are in the way again (the first answer, as stored).
    let again = planner.get(&check);
    assert_eq!(again.body, before.body);
    // Written again, the record continues its versions after the tombstone.
    let a = put(&compliance, &review);
    assert_eq!(a.json()["version"], 3, "{}", a.body);
    // Kinds that are not export records keep no versions.
    assert_eq!(admin.get("/api/v1/sites/x/versions").status, 404);

    screening_section(&planner, &compliance);
}

/// Issue 24 item 4: a list naming the example's tenant is a new hit when stored; the next
/// version without it clears it; each version is kept by its SHA-256 and audited.
fn screening_section(planner: &Client, compliance: &Client) {
    let lists = "/api/v1/screening-lists?as_of=2026-01-01";
    let listed = "_id,name,source\ne1,Acme AI Ltd (example),Entity List (EL) - Bureau of Industry and Security\n";
    let post = |c: &Client, ct: &str, body: &str| c.send("POST", lists, ct, body.as_bytes(), &[]);
    assert_problem(
        &post(planner, "text/csv", listed),
        403,
        "a planner storing a list",
    );
    assert_problem(
        &post(compliance, "text/plain", listed),
        415,
        "a list as text/plain",
    );
    assert_problem(
        &post(compliance, "text/csv", "name\nx\n"),
        400,
        "a list without sources",
    );
    let first = post(compliance, "text/csv", listed);
    assert_eq!(first.status, 201, "{}", first.body);
    let first = first.json();
    let new_hits = first["new_hits"].as_array().unwrap();
    assert!(
        new_hits
            .iter()
            .any(|h| h["entity"] == "acme-ai" && h["entry_id"] == "e1"),
        "{first}"
    );
    assert_eq!(first["cleared_hits"], serde_json::json!([]));
    assert_eq!(first["previous_sha256"], Value::Null);
    // The same version again: its stored answer, nothing stored.
    let again = post(compliance, "text/csv", listed);
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.json(), first);
    // The next version delists the entry: the hit is cleared.
    let second = post(compliance, "application/json", "[]");
    assert_eq!(second.status, 201, "{}", second.body);
    let second = second.json();
    assert_eq!(second["previous_sha256"], first["list_sha256"]);
    assert_eq!(second["new_hits"], serde_json::json!([]));
    assert_eq!(second["cleared_hits"], first["hits"], "{second}");
    let all = planner.get("/api/v1/screening-lists").json();
    assert_eq!(all.as_array().unwrap().len(), 2, "{all}");
    assert_eq!(all[1]["cleared_hits"], new_hits.len());
    let sha = first["list_sha256"].as_str().unwrap();
    assert_eq!(
        planner
            .get(&format!("/api/v1/screening-lists/{sha}"))
            .json(),
        first
    );
    let trail = planner
        .get(&format!(
            "/api/v1/audit?resource=/api/v1/screening-lists/{sha}"
        ))
        .json();
    assert_eq!(trail["items"].as_array().unwrap().len(), 1, "{trail}");
}

#[test]
fn reviews_and_retention_on_sqlite() {
    let dir = std::env::temp_dir().join(format!("xpufleet-it-reviews-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    suite(&format!("sqlite://{}", dir.join("reviews.db").display()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn reviews_and_retention_on_postgres() {
    if let Some(url) = super::trust::fresh_postgres("xpufleet_test_reviews") {
        suite(&url);
    }
}
