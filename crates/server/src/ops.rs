//! Operations: every answer carries an `x-request-id` (the caller's, when it sent a sane one)
//! and `X-Content-Type-Options: nosniff`; each request is logged as one line on stderr
//! (method, path, status, duration, request id; text or JSON Lines, `--log-format`); session
//! cookies are marked `Secure` when the server is told it sits behind TLS (`--behind-tls`).
//! Logging goes through `tracing`, written by `init_logging`'s subscriber.

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use crate::api::AppState;

/// How the request log is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// `method path status duration_ms request_id`, space-separated.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
    /// No request log (the tests' servers).
    Off,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<LogFormat, String> {
        match s {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            "off" => Ok(LogFormat::Off),
            other => Err(format!("expected text, json or off, found {other:?}")),
        }
    }
}

/// Installs the process's log writer (`tracing` events on stderr) in `format`: `Text`, one
/// line of `key=value` fields after the time and level; `Json`, one JSON object per line with
/// the fields at the top level (`method`, `path`, `status`, `duration_ms`, `request_id` for a
/// request; `error_id`, `status`, `detail` for an internal error). `Off` drops the request log
/// but still writes warnings and internal errors, as text.
/// Events below INFO (sqlx's statements) are left out; sqlx's slow-statement warnings stay.
/// Once per process: a second call changes nothing.
pub fn init_logging(format: LogFormat) {
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(tracing::Level::INFO)
        .with_target(false);
    let _ = match format {
        LogFormat::Off => builder.with_max_level(tracing::Level::WARN).try_init(),
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(false)
            .try_init(),
    };
}

/// The request id of this request: the caller's `x-request-id` when it is 1 to 64 of
/// `[A-Za-z0-9._-]` (so that it can be logged and echoed as it is), else a new random one.
pub fn request_id(req: &Request) -> String {
    let theirs = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            (1..=64).contains(&v.len())
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        });
    match theirs {
        Some(id) => id.to_string(),
        None => crate::token::random_bytes::<8>()
            .map(|b| crate::token::hex(&b))
            .unwrap_or_else(|_| "unavailable".into()),
    }
}

/// The request id, for handlers that log an internal error under it.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// The outermost middleware.
pub async fn observe(State(s): State<AppState>, mut req: Request, next: Next) -> Response {
    let t0 = Instant::now();
    let id = request_id(&req);
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert("x-request-id", v);
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if s.behind_tls {
        let cookies: Vec<HeaderValue> = h.get_all(header::SET_COOKIE).iter().cloned().collect();
        if !cookies.is_empty() {
            h.remove(header::SET_COOKIE);
            for c in cookies {
                let secure = format!("{}; Secure", c.to_str().unwrap_or_default());
                if let Ok(v) = HeaderValue::from_str(&secure) {
                    h.append(header::SET_COOKIE, v);
                }
            }
        }
    }
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    if s.log_format != LogFormat::Off {
        tracing::info!(
            method = method.as_str(),
            path = path.as_str(),
            status = resp.status().as_u16(),
            duration_ms = (ms * 10.0).round() / 10.0,
            request_id = id.as_str(),
            "request"
        );
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(id: &str) -> Request {
        Request::builder()
            .header("x-request-id", id)
            .body(axum::body::Body::empty())
            .unwrap()
    }

    #[test]
    fn a_sane_request_id_is_kept_and_anything_else_replaced() {
        assert_eq!(request_id(&with("abc-123_X.y")), "abc-123_X.y");
        for bad in ["", "a b", "a/b", &"a".repeat(65), "{\"x\":1}"] {
            let got = request_id(&with(bad));
            assert_ne!(got, bad);
            assert_eq!(got.len(), 16, "{got}");
        }
    }

    #[test]
    fn log_formats_parse() {
        assert_eq!("json".parse::<LogFormat>(), Ok(LogFormat::Json));
        assert!("yaml".parse::<LogFormat>().is_err());
    }
}
