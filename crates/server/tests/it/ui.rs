//! The web UI: its forms over plain HTTP (sign-in, sessions, CSRF, roles), then end to end in a
//! real browser driven over WebDriver (`chromedriver` and headless Chromium: `apt-get install
//! chromium chromium-driver`). Without chromedriver the browser test prints a note and passes,
//! unless `XPUFLEET_BROWSER_TEST=required` (CI sets it). `XPUFLEET_CHROMIUM` and
//! `XPUFLEET_CHROMEDRIVER` name the binaries when they are not on the PATH. Screenshots of every
//! page are kept under `target/ui-screenshots/`.
//!
//! The WebDriver client is the few W3C endpoints the test needs, over `ureq`: a full client
//! crate would cost more build time than the whole test.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use xpufleet_server::{token, DatabaseUrl, Store};

use crate::Server;

fn temp_db(tag: &str) -> (PathBuf, String) {
    let dir = std::env::temp_dir().join(format!("xpufleet-ui-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("ui.db").display());
    (dir, url)
}

/// Stores a token with `role` in the database at `url` (before the server opens it).
fn store_token(url: &str, tok: &str, name: &str, role: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Store::open(&DatabaseUrl(url.to_string())).await.unwrap();
        store
            .insert_token(&token::hash(tok), name, role)
            .await
            .unwrap();
        store.close().await;
    });
}

// ---- over HTTP -----------------------------------------------------------------------------

/// A browser without a browser: keeps cookies, follows nothing.
pub(crate) struct Http {
    agent: ureq::Agent,
    pub(crate) base: String,
    pub(crate) cookies: Vec<(String, String)>,
}

pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) location: String,
    pub(crate) set_cookie: Vec<String>,
    pub(crate) body: String,
}

impl Http {
    pub(crate) fn new(base: &str) -> Http {
        Http {
            agent: ureq::Agent::config_builder()
                .http_status_as_error(false)
                .max_redirects(0)
                .timeout_global(Some(Duration::from_secs(60)))
                .build()
                .into(),
            base: base.into(),
            cookies: vec![],
        }
    }

    fn reply(&mut self, r: Result<ureq::http::Response<ureq::Body>, ureq::Error>) -> Reply {
        let mut r = r.expect("answered");
        let set_cookie: Vec<String> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for c in &set_cookie {
            let kv = c.split(';').next().unwrap();
            let (k, v) = kv.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != k);
            if !v.is_empty() && !c.contains("Max-Age=0") {
                self.cookies.push((k.into(), v.into()));
            }
        }
        Reply {
            status: r.status().as_u16(),
            location: r
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default(),
            set_cookie,
            body: r.body_mut().read_to_string().unwrap(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub(crate) fn get(&mut self, path: &str) -> Reply {
        let r = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Cookie", self.cookie_header())
            .call();
        self.reply(r)
    }

    pub(crate) fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Reply {
        let r = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Cookie", self.cookie_header())
            .send_form(form.iter().copied());
        self.reply(r)
    }
}

/// The value of the first `name="csrf"` field of a page.
pub(crate) fn csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[at..at + page[at..].find('"').unwrap()].to_string()
}

pub(crate) fn sign_in(h: &mut Http, tok: &str) -> Reply {
    let page = h.get("/login?next=/records").body;
    let nonce = csrf(&page);
    h.post(
        "/login",
        &[("csrf", &nonce), ("next", "/records"), ("token", tok)],
    )
}

#[test]
fn ui_sign_in_sessions_csrf_and_roles_over_http() {
    let (dir, url) = temp_db("http");
    let admin = token::generate().unwrap();
    let viewer = token::generate().unwrap();
    store_token(&url, &viewer, "vera", "viewer");
    let server = Server::start(&url, &admin);
    let mut h = Http::new(&server.base);

    // Pages need a session; the API's tokens alone do not open them.
    let r = h.get("/compliance?scenario=x");
    assert_eq!(r.status, 303);
    assert_eq!(r.location, "/login?next=/compliance%3Fscenario%3Dx");

    // A sign-in without the form's own nonce is refused, as is an unknown token.
    let r = h.post("/login", &[("csrf", "forged"), ("token", &admin)]);
    assert_eq!(r.status, 403, "{}", r.body);
    let r = sign_in(&mut h, "xpf_not-a-token");
    assert_eq!(r.status, 401);
    assert!(r.body.contains("unknown token"), "{}", r.body);

    // Sign-in: a session cookie with the flags the issue asks for, then the page asked for.
    let r = sign_in(&mut h, &admin);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.location, "/records");
    let session = r
        .set_cookie
        .iter()
        .find(|c| c.starts_with("xpf_session="))
        .expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(session.contains(flag), "{session}");
    }
    let page = h.get("/records");
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("tester"),
        "the page names who is signed in"
    );
    let token = csrf(&page.body);

    // Sign-in never redirects off the site.
    let mut other = Http::new(&server.base);
    let nonce = csrf(&other.get("/login").body);
    let r = other.post(
        "/login",
        &[
            ("csrf", &nonce),
            ("next", "//evil.example/"),
            ("token", &admin),
        ],
    );
    assert_eq!(r.location, "/fleet");

    // A form without the session's CSRF token changes nothing.
    let sha = "ab".repeat(32);
    let record: Vec<(&str, &str)> = vec![
        ("id", "cyber-owner"),
        ("entity", "sg-neocloud"),
        ("role", "owner"),
        ("subject", "my-cyberjaya"),
        ("valid_from", "2025-01-01"),
        ("valid_to", ""),
        ("document_sha256", &sha),
    ];
    let mut forged = record.clone();
    forged.push(("csrf", "0000"));
    assert_eq!(h.post("/records/verifications", &forged).status, 403);
    assert!(!h.get("/records").body.contains("cyber-owner"));

    // A bad record is refused with the field named beside it, and not stored.
    let mut bad = record.clone();
    bad.push(("csrf", &token));
    bad[6] = ("document_sha256", "xyz");
    let r = h.post("/records/verifications", &bad);
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains("document_sha256: expected 64 hex digits"),
        "{}",
        r.body
    );
    assert!(r.body.contains("aria-invalid=\"true\""));

    let mut good = record.clone();
    good.push(("csrf", &token));
    let r = h.post("/records/verifications", &good);
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(h.get("/records").body.contains("cyber-owner"));

    // The change is in the audit trail, whose chain verifies.
    let audit = h.get("/audit?resource=/api/v1/verifications").body;
    assert!(audit.contains("The chain verifies"), "{audit}");
    assert!(
        audit.contains("/api/v1/verifications/cyber-owner"),
        "{audit}"
    );

    // A viewer reads but may not edit records.
    let mut v = Http::new(&server.base);
    assert_eq!(sign_in(&mut v, &viewer).status, 303);
    let page = v.get("/records").body;
    assert!(page.contains("cyber-owner"));
    assert!(!page.contains("id=\"verification-form\""));
    let mut as_viewer = record.clone();
    let vt = csrf(&page);
    as_viewer.push(("csrf", &vt));
    as_viewer[0] = ("id", "by-viewer");
    let r = v.post("/records/verifications", &as_viewer);
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(!h.get("/records").body.contains("by-viewer"));

    // Revoking a token ends its sessions at once.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Store::open(&DatabaseUrl(url.clone())).await.unwrap();
        assert_eq!(store.revoke_tokens("vera").await.unwrap(), 1);
        store.close().await;
    });
    assert_eq!(v.get("/records").status, 303);

    // The scenario editor refuses a bad scenario with its problems beside their lines.
    let r = h.post("/scenarios", &[("csrf", &token), ("example", "1")]);
    assert_eq!(r.status, 303);
    let edit = r.location.clone();
    let page = h.get(&edit).body;
    let broken = format!("{}\n[[pool]]\nid = 3\n", xpufleet_io::EXAMPLE_SCENARIO);
    let r = h.post(&edit, &[("csrf", &token), ("base", "1"), ("toml", &broken)]);
    assert_eq!(r.status, 400, "{}", r.body);
    assert!(r.body.contains("class=\"has-problem\""), "{}", r.body);
    assert!(page.contains("revision 1"));

    // Sign-out ends the session.
    let r = h.post("/logout", &[("csrf", &token)]);
    assert_eq!(r.status, 303);
    assert_eq!(h.get("/records").status, 303);

    // Every session was made and ended with its audit entry (issue 23 item 2): one entry per
    // sign-in, one for the session that vera's revoked token ended, one for the sign-out;
    // each names the session by its id's digest and never by the id.
    rt.block_on(async {
        let store = Store::open(&DatabaseUrl(url.clone())).await.unwrap();
        let entries = store
            .audit_entries(Some("/ui/sessions"), None, 500, 0)
            .await
            .unwrap();
        let of = |action: &str, actor: &str| {
            entries
                .iter()
                .filter(|e| e.action == action && e.actor == actor)
                .count()
        };
        assert!(of("POST /login", "tester") >= 2, "{entries:#?}");
        assert_eq!(of("POST /login", "vera"), 1, "{entries:#?}");
        assert_eq!(of("POST /logout", "tester"), 1, "{entries:#?}");
        assert_eq!(
            of(
                "session ended: its token was revoked or its role changed",
                "vera"
            ),
            1,
            "{entries:#?}"
        );
        for e in &entries {
            assert!(e.resource.starts_with("/ui/sessions/"), "{e:?}");
            let created = e.action == "POST /login";
            assert_eq!(e.after_sha256.is_empty(), !created, "{e:?}");
            assert_eq!(e.before_sha256.is_empty(), created, "{e:?}");
        }
        let cookie = h
            .cookies
            .iter()
            .chain(&v.cookies)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join("");
        assert!(
            entries.iter().all(|e| !cookie.contains(&e.resource[13..])),
            "a session's audit name is not part of its id"
        );
        assert!(store.audit_mismatches().await.unwrap().is_empty());
        store.close().await;
    });

    server.stop();
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- in a browser --------------------------------------------------------------------------

fn on_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in names {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    None
}

/// chromedriver kills itself (and its browsers) when dropped.
struct Driver {
    child: Child,
    base: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One browser session over WebDriver.
struct Browser {
    agent: ureq::Agent,
    url: String,
    shots: PathBuf,
    name: &'static str,
}

impl Browser {
    fn start(d: &Driver, chromium: &Path, js: bool, name: &'static str) -> Browser {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        let mut opts = json!({
            "binary": chromium.display().to_string(),
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1280,800", "--no-first-run", "--disable-background-networking",
                     "--lang=en-US"],
        });
        if !js {
            opts["prefs"] = json!({"profile.managed_default_content_settings.javascript": 2});
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": opts,
            "goog:loggingPrefs": {"browser": "ALL"},
        }}});
        let v = call(&agent, "POST", &format!("{}/session", d.base), Some(caps));
        let id = v["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no WebDriver session: {v}"))
            .to_string();
        let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ui-screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        Browser {
            agent,
            url: format!("{}/session/{id}", d.base),
            shots,
            name,
        }
    }

    fn cmd(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let v = call(&self.agent, method, &format!("{}{path}", self.url), body);
        if let Some(err) = v["value"]["error"].as_str() {
            panic!(
                "WebDriver {method} {path}: {err}: {}",
                v["value"]["message"]
            );
        }
        v["value"].clone()
    }

    fn goto(&self, url: &str) {
        self.cmd("POST", "/url", Some(json!({"url": url})));
    }

    fn find_opt(&self, using: &str, value: &str) -> Option<String> {
        let v = call(
            &self.agent,
            "POST",
            &format!("{}/element", self.url),
            Some(json!({"using": using, "value": value})),
        );
        if v["value"].get("error").is_some() {
            return None;
        }
        v["value"]
            .as_object()?
            .values()
            .next()?
            .as_str()
            .map(String::from)
    }

    fn find(&self, css: &str) -> String {
        self.find_opt("css selector", css)
            .unwrap_or_else(|| panic!("no element {css:?} on {}", self.page_text()))
    }

    /// Waits (up to a minute) for `css` to appear: pages of long computations refresh themselves
    /// until the answer is there.
    fn wait_for(&self, css: &str) -> String {
        let start = Instant::now();
        loop {
            if let Some(e) = self.find_opt("css selector", css) {
                return e;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "{css:?} did not appear: {}",
                self.page_text()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Clicks something that loads a new page (every click in these tests does), and waits
    /// until the old page is gone and the new one has loaded.
    fn click(&self, el: &str) {
        self.run("window.__xpfOld = true", json!([]));
        self.cmd("POST", &format!("/element/{el}/click"), Some(json!({})));
        let start = Instant::now();
        loop {
            let v = call(
                &self.agent,
                "POST",
                &format!("{}/execute/sync", self.url),
                Some(
                    json!({"script": "return window.__xpfOld === undefined && document.readyState === 'complete'", "args": []}),
                ),
            );
            if v["value"] == true {
                return;
            }
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "the click loaded no new page"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn type_in(&self, el: &str, text: &str) {
        self.cmd("POST", &format!("/element/{el}/clear"), Some(json!({})));
        self.cmd(
            "POST",
            &format!("/element/{el}/value"),
            Some(json!({"text": text})),
        );
    }

    fn text(&self, css: &str) -> String {
        let el = self.find(css);
        self.cmd("GET", &format!("/element/{el}/text"), None)
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    fn page_text(&self) -> String {
        self.run(
            "return document.body ? document.body.innerText : ''",
            json!([]),
        )
        .as_str()
        .unwrap_or_default()
        .chars()
        .take(3000)
        .collect()
    }

    fn run(&self, script: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
    }

    fn current_path(&self) -> String {
        let u = self.cmd("GET", "/url", None);
        let u = u.as_str().unwrap_or_default();
        u.splitn(4, '/')
            .nth(3)
            .map(|p| format!("/{p}"))
            .unwrap_or_default()
    }

    /// A screenshot of the window under `target/ui-screenshots/`.
    fn shot(&self, what: &str) {
        let b64 = self.cmd("GET", "/screenshot", None);
        let png = base64_decode(b64.as_str().unwrap_or_default());
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        std::fs::write(self.shots.join(format!("{}-{what}.png", self.name)), png).unwrap();
    }

    /// No script error and no console error since the last look: the page's own error hook
    /// (`/ui/app.js`) and the browser's log, where chromedriver gives it.
    fn assert_clean(&self, what: &str) {
        self.assert_clean_but(what, None)
    }

    /// `assert_clean`, where the only console error allowed is the status of a refused form
    /// (`expected`, as "status of 400"), which the browser logs as a failed load.
    fn assert_clean_but(&self, what: &str, expected: Option<&str>) {
        if let Some(n) = self
            .run(
                "return document.documentElement.getAttribute('data-errors')",
                json!([]),
            )
            .as_str()
        {
            let text = self.run(
                "return document.documentElement.getAttribute('data-error-text')",
                json!([]),
            );
            assert_eq!(n, "0", "{what}: page errors: {text}");
        }
        let log = call(
            &self.agent,
            "POST",
            &format!("{}/se/log", self.url),
            Some(json!({"type": "browser"})),
        );
        if let Some(entries) = log["value"].as_array() {
            let severe: Vec<&Value> = entries
                .iter()
                .filter(|e| e["level"] == "SEVERE")
                .filter(|e| {
                    !expected.is_some_and(|x| {
                        e["source"] == "network" && e["message"].as_str().unwrap_or("").contains(x)
                    })
                })
                .collect();
            assert!(severe.is_empty(), "{what}: console errors: {severe:?}");
        }
    }

    fn close(self) {}
}

/// Ending the session quits its browser, also when a failed assertion unwinds the test
/// (killing chromedriver alone would leave the browser running).
impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self
            .agent
            .delete(&self.url)
            .config()
            .timeout_global(Some(Duration::from_secs(10)))
            .build()
            .call();
    }
}

fn call(agent: &ureq::Agent, method: &str, url: &str, body: Option<Value>) -> Value {
    let r = match method {
        "POST" => agent
            .post(url)
            .header("Content-Type", "application/json")
            .send(body.unwrap_or(json!({})).to_string()),
        "DELETE" => agent.delete(url).call(),
        _ => agent.get(url).call(),
    };
    let mut r = r.unwrap_or_else(|e| panic!("WebDriver {method} {url}: {e}"));
    let text = r
        .body_mut()
        .with_config()
        .limit(64 << 20)
        .read_to_string()
        .unwrap();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn base64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    };
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for v in s.bytes().filter_map(val) {
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    out
}

#[test]
fn base64_decodes_rfc4648_vectors() {
    assert_eq!(base64_decode("Zm9vYmFy"), b"foobar");
    assert_eq!(base64_decode("Zm9vYg=="), b"foob");
    assert_eq!(base64_decode("Zg=="), b"f");
}

fn start_driver() -> Option<(Driver, PathBuf)> {
    let required = std::env::var("XPUFLEET_BROWSER_TEST").as_deref() == Ok("required");
    let driver = std::env::var("XPUFLEET_CHROMEDRIVER")
        .map(PathBuf::from)
        .ok()
        .or_else(|| on_path(&["chromedriver"]))
        .or_else(|| {
            let p = PathBuf::from("/usr/lib/chromium/chromedriver");
            p.is_file().then_some(p)
        });
    let chromium = std::env::var("XPUFLEET_CHROMIUM")
        .map(PathBuf::from)
        .ok()
        .or_else(|| on_path(&["chromium", "chromium-browser", "google-chrome"]));
    let (Some(driver), Some(chromium)) = (driver, chromium) else {
        assert!(
            !required,
            "XPUFLEET_BROWSER_TEST=required but chromedriver or chromium is missing (apt-get install chromium chromium-driver)"
        );
        eprintln!("note: chromedriver or chromium not found; skipping the UI browser test (apt-get install chromium chromium-driver)");
        return None;
    };
    let port = free_port();
    let child = Command::new(&driver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let d = Driver {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(5)))
        .build()
        .into();
    let start = Instant::now();
    while call_ok(&agent, &format!("{}/status", d.base)).is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "chromedriver did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some((d, chromium))
}

fn call_ok(agent: &ureq::Agent, url: &str) -> Option<()> {
    let mut r = agent.get(url).call().ok()?;
    let v: Value = serde_json::from_str(&r.body_mut().read_to_string().ok()?).ok()?;
    (v["value"]["ready"] == true).then_some(())
}

fn sign_in_browser(b: &Browser, base: &str, tok: &str) {
    b.goto(&format!("{base}/fleet"));
    b.wait_for("#token");
    assert!(
        b.current_path().starts_with("/login"),
        "{}",
        b.current_path()
    );
    b.shot("login");
    b.assert_clean("sign-in page");
    let t = b.find("#token");
    b.type_in(&t, tok);
    b.click(&b.find("form[action='/login'] button[type=submit]"));
    b.wait_for("header.bar nav");
}

/// The row of the compliance table for `target` and `tenant`, as a person reads it.
fn verdict_row(b: &Browser, target: &str, tenant: &str) -> String {
    b.run(
        "var rows=document.querySelectorAll('#verdicts tbody tr');for(var i=0;i<rows.length;i++){var c=rows[i].cells;if(c.length>1&&c[0].innerText.indexOf(arguments[0])===0&&c[1].innerText.indexOf(arguments[1])===0)return rows[i].innerText;}return null;",
        json!([target, tenant]),
    )
    .as_str()
    .unwrap_or_else(|| panic!("no verdict row for {target} / {tenant}: {}", b.page_text()))
    .to_string()
}

#[test]
fn ui_end_to_end_in_a_browser() {
    let Some((driver, chromium)) = start_driver() else {
        return;
    };
    let (dir, url) = temp_db("browser");
    let tok = token::generate().unwrap();
    let server = Server::start(&url, &tok);
    let base = server.base.clone();
    let b = Browser::start(&driver, &chromium, true, "js");

    // Sign in; the keyboard reaches the skip link first.
    sign_in_browser(&b, &base, &tok);
    b.run(
        "document.activeElement && document.activeElement.blur()",
        json!([]),
    );
    b.cmd(
        "POST",
        "/actions",
        Some(json!({"actions": [{"type": "key", "id": "kb", "actions": [
            {"type": "keyDown", "value": "\u{E004}"}, {"type": "keyUp", "value": "\u{E004}"}]}]})),
    );
    let focused = b.run("return document.activeElement.innerText", json!([]));
    assert_eq!(focused, "Skip to content");
    b.cmd("DELETE", "/actions", None);

    // No scenario yet: store the example from the page.
    assert!(b.page_text().contains("No scenario is stored yet"));
    b.click(&b.find("main form button[type=submit]"));
    b.wait_for("#toml");
    b.shot("editor");

    // Fleet.
    b.goto(&format!("{base}/fleet"));
    b.wait_for("#fleet-headline");
    let head = b.text("#fleet-headline");
    assert!(
        head.contains("accelerators in") && head.contains("PFLOPS"),
        "{head}"
    );
    assert!(b.text("#pools").contains("my-h200-overflow"));
    assert!(b.text("#pools").contains("leased"));
    for chart in [
        "#chart-compute-vendor svg",
        "#chart-compute-country svg",
        "#chart-power-site svg",
    ] {
        b.find(chart);
    }
    b.shot("fleet");
    b.assert_clean("fleet");

    // Compliance: the overflow pool is unusable for want of verification.
    b.goto(&format!("{base}/compliance"));
    b.wait_for("#verdict-summary");
    let before = verdict_row(&b, "my-h200-overflow", "acme-ai");
    assert!(before.contains("not usable: unverified"), "{before}");
    assert!(b.text("#alerts").contains("verdict-changes"));
    // The filters narrow the table.
    let all_rows = b.run(
        "return document.querySelectorAll('#verdicts tbody tr').length",
        json!([]),
    );
    b.run("document.getElementById('country').value='CN'", json!([]));
    b.click(&b.find("form.controls button[type=submit]"));
    b.wait_for("#verdict-summary");
    let cn_rows = b.run(
        "return document.querySelectorAll('#verdicts tbody tr').length",
        json!([]),
    );
    assert!(
        cn_rows.as_u64() < all_rows.as_u64(),
        "{cn_rows} < {all_rows}"
    );
    assert!(!b.text("#verdicts").contains("my-cyberjaya"));
    b.shot("compliance");
    b.find("#chart-verdicts svg");
    b.assert_clean("compliance");

    // Records: verify the overflow site's owner and operator, as a compliance officer would.
    let sha = "ab".repeat(32);
    for (id, role) in [("cyber-owner", "owner"), ("cyber-operator", "operator")] {
        b.goto(&format!("{base}/records"));
        b.wait_for("#verification-form");
        for (field, value) in [
            ("#v-id", id),
            ("#v-entity", "sg-neocloud"),
            ("#v-subject", "my-cyberjaya"),
            ("#v-document_sha256", &sha),
        ] {
            let el = b.find(field);
            b.type_in(&el, value);
        }
        b.run(
            "document.getElementById('v-role').value=arguments[0];document.getElementById('v-valid_from').value='2025-01-01';",
            json!([role]),
        );
        b.click(&b.find("#verification-form button[type=submit]"));
        b.wait_for("#verification-records");
        assert!(b.text("#verification-records").contains(id));
        // A valid save is confirmed (issue 27 item 2).
        assert!(b.text("#saved").contains(id), "{}", b.text("#saved"));
    }
    b.shot("records");
    b.assert_clean("records");

    // The verdict changed.
    b.goto(&format!("{base}/compliance"));
    b.wait_for("#verdict-summary");
    let after = verdict_row(&b, "my-h200-overflow", "acme-ai");
    assert!(
        after.contains("usable") && !after.contains("not usable"),
        "{after}"
    );
    b.shot("compliance-after");

    // Plan, then a what-if against it.
    b.goto(&format!("{base}/plan"));
    b.wait_for("#plan-headline");
    assert!(b.text("#plan-lines").contains("Candidate"));
    b.find("#binding");
    b.find("#excluded");
    // The page says what the CLI says (issue 27 item 2): the gap as a percentage, the
    // scenario by name, relaxations as text, and what changes within the horizon.
    let headline = b.text("#plan-headline");
    assert!(
        headline.contains("gap ") && headline.contains('%'),
        "{headline}"
    );
    assert!(
        b.page_text().contains("Scenario capex-2025"),
        "the scenario by name"
    );
    assert!(
        !b.text("#binding").contains("{\""),
        "raw JSON: {}",
        b.text("#binding")
    );
    b.find("#horizon-changes");
    // A refused what-if comes back inside the page, with what was typed.
    b.run(
        // A licence without its dates: the browser lets it through, the server refuses it.
        "document.getElementById('licence_id').value='lic-without-dates';",
        json!([]),
    );
    assert!(
        b.text("#price_currency").contains("CNY"),
        "currencies from [fx]: {}",
        b.text("#price_currency")
    );
    b.click(&b.find("#what-if-form button[type=submit]"));
    b.wait_for("#what-if-problem");
    assert!(
        b.text("#what-if-problem").contains("licence valid from"),
        "{}",
        b.text("#what-if-problem")
    );
    let kept = b.run(
        "return document.getElementById('licence_id').value",
        json!([]),
    );
    assert_eq!(
        kept.as_str(),
        Some("lic-without-dates"),
        "the form keeps its input"
    );
    b.find("nav[aria-label=Pages]");
    b.assert_clean_but("a refused what-if", Some("status of 422"));
    b.goto(&format!("{base}/plan"));
    b.wait_for("#plan-headline");
    b.shot("plan");
    b.assert_clean("plan");
    b.run(
        "document.getElementById('wi_as_of').value='2025-04-15'",
        json!([]),
    );
    b.click(&b.find("#what-if-form button[type=submit]"));
    b.wait_for("#what-if-summary");
    let summary = b.text("#what-if-summary");
    assert!(
        summary.contains("effective PFLOPS") && summary.contains("→"),
        "{summary}"
    );
    assert!(
        b.text("#what-if-diff").contains("cn-h20-buy"),
        "{}",
        b.text("#what-if-diff")
    );
    b.shot("what-if");
    b.click(&b.find("#approve"));
    b.wait_for("#approved");
    assert!(b.text("#approved").contains("Approved by tester"));
    b.assert_clean("what-if");

    // Simulate with a chosen policy and seed.
    b.goto(&format!("{base}/simulate"));
    b.wait_for("#simulate-form");
    b.run("document.getElementById('policy').value='las'", json!([]));
    let seed = b.find("#seed");
    b.type_in(&seed, "7");
    b.click(&b.find("#simulate-form button[type=submit]"));
    b.wait_for("#sim-stats");
    assert!(
        b.page_text().contains("policy las, seed 7"),
        "{}",
        b.page_text()
    );
    assert!(b.text("#sim-stats").contains("Jobs completed"));
    for chart in ["#chart-utilisation svg", "#chart-jct svg"] {
        b.find(chart);
    }
    b.shot("simulate");
    b.assert_clean("simulate");

    // The scenario editor: a bad save shows its problem by its line; a good one is a revision
    // with a diff.
    b.goto(&format!("{base}/scenarios"));
    b.click(&b.find("#scenario-list a"));
    b.wait_for("#toml");
    b.run(
        "var t=document.getElementById('toml');t.value=t.value+'\\n[[pool]]\\nid = 3\\n';",
        json!([]),
    );
    b.click(&b.find("form.editor button[type=submit]"));
    b.wait_for("#problem-list");
    assert!(
        b.text("#problem-list").contains("line"),
        "{}",
        b.text("#problem-list")
    );
    b.find("li.has-problem");
    b.shot("editor-problems");
    b.assert_clean_but("a refused save", Some("status of 400"));
    b.run(
        "var t=document.getElementById('toml');t.value=t.value.replace(/\\n\\[\\[pool\\]\\]\\nid = 3\\n$/,'').replace('description = \"', 'description = \"Edited in the browser. ');",
        json!([]),
    );
    b.click(&b.find("form.editor button[type=submit]"));
    b.wait_for("#revisions");
    assert!(b.text("#revisions").contains("revision 2"));
    assert!(b.text("#saved").contains("Saved as revision 2"));
    b.click(
        &b.find_opt("partial link text", "diff with 1")
            .expect("a diff link"),
    );
    b.wait_for("#diff");
    assert!(b
        .text("#diff")
        .contains("+ description = \"Edited in the browser."));
    // A compact diff: the changed hunk with its context, not the whole file.
    let diff = b.text("#diff");
    assert!(diff.starts_with("@@ -"), "{diff}");
    assert!(diff.lines().count() < 20, "{diff}");
    b.shot("diff");
    b.assert_clean("diff");

    // The audit trail: every change above, and a chain that verifies.
    b.goto(&format!("{base}/audit"));
    b.wait_for("#chain-status");
    assert!(b.text("#chain-status").contains("The chain verifies"));
    let trail = b.text("#audit");
    for action in [
        "POST /api/v1/scenarios",
        "PUT /api/v1/verifications/{id}",
        "POST /api/v1/runs/{id}/approve",
        "POST /api/v1/scenarios/{id}/plan",
        "PUT /api/v1/scenarios/{id}",
    ] {
        assert!(trail.contains(action), "{action} not in {trail}");
    }
    b.shot("audit");
    b.assert_clean("audit");

    // Narrow window: no sideways scrolling of the page itself.
    b.cmd(
        "POST",
        "/window/rect",
        Some(json!({"width": 420, "height": 800})),
    );
    for (page, ready) in [
        ("compliance", "#verdict-summary"),
        ("plan", "#plan-headline"),
        ("fleet", "#fleet-headline"),
    ] {
        b.goto(&format!("{base}/{page}"));
        b.wait_for(ready);
        let overflow = b.run(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth",
            json!([]),
        );
        assert!(
            overflow.as_i64().unwrap_or(1) <= 0,
            "{page} overflows by {overflow}px"
        );
        // Chart text stays legible: 12-unit text drawn at 10 px or more.
        let smallest = b.run(
            "var m=1e9;document.querySelectorAll('figure.chart svg').forEach(function(s){var v=s.viewBox.baseVal;if(v&&v.width>0){m=Math.min(m,s.getBoundingClientRect().width/v.width*12);}});return m;",
            json!([]),
        );
        assert!(
            smallest.as_f64().unwrap_or(0.0) >= 9.5,
            "{page}: chart text {smallest} px at 420 px"
        );
        b.shot(&format!("{page}-narrow"));
    }

    // Sign out.
    b.cmd(
        "POST",
        "/window/rect",
        Some(json!({"width": 1280, "height": 800})),
    );
    b.click(&b.find("form.signout button"));
    b.wait_for("#token");
    b.goto(&format!("{base}/fleet"));
    b.wait_for("#token");
    b.close();

    // Reading pages work with JavaScript off.
    let nojs = Browser::start(&driver, &chromium, false, "nojs");
    sign_in_browser(&nojs, &base, &tok);
    nojs.goto(&format!("{base}/compliance"));
    nojs.wait_for("#verdict-summary");
    assert!(nojs.text("#verdicts").contains("my-h200-overflow"));
    nojs.shot("compliance");
    nojs.close();

    server.stop();
    drop(driver);
    let _ = std::fs::remove_dir_all(&dir);
}
