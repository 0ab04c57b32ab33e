//! The API's error answer: a status and `{"error", "problems": [{path, line, col, field,
//! message}]}`, where problems are the same located diagnostics `xpufleet validate` prints.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;
use xpufleet_io::{Diagnostic, Diagnostics};

use crate::db::DbError;

/// One located problem in a request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// The input it was found in ("scenario", "what-if", a rule pack's name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub col: Option<usize>,
    /// Dotted path of the field, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl From<&Diagnostic> for Problem {
    fn from(d: &Diagnostic) -> Problem {
        Problem {
            path: Some(d.origin.clone()),
            line: d.line,
            col: d.column,
            field: d.field.clone(),
            message: d.message.clone(),
        }
    }
}

/// The body of every error answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
    pub problems: Vec<Problem>,
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub body: ErrorBody,
}

/// A computation the pool would not or could not finish (`pool.rs`).
impl From<crate::pool::Refused> for ApiError {
    fn from(r: crate::pool::Refused) -> ApiError {
        match r {
            crate::pool::Refused::Panicked(detail) => ApiError::internal(detail),
            other => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, other.to_string()),
        }
    }
}

impl ApiError {
    pub fn new(status: StatusCode, error: impl Into<String>) -> ApiError {
        ApiError {
            status,
            body: ErrorBody {
                error: error.into(),
                problems: vec![],
            },
        }
    }

    /// A 400 about one field of the request.
    pub fn field(field: &str, message: impl Into<String>) -> ApiError {
        let message = message.into();
        ApiError {
            status: StatusCode::BAD_REQUEST,
            body: ErrorBody {
                error: format!("{field}: {message}"),
                problems: vec![Problem {
                    path: None,
                    line: None,
                    col: None,
                    field: Some(field.to_string()),
                    message,
                }],
            },
        }
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, format!("{what} not found"))
    }

    /// A fault of the server: its text is logged under a new id and the client is told only
    /// the id, since internal text (SQL, paths, library messages) is not the client's to read.
    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        ApiError::logged(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error",
            &e.to_string(),
        )
    }

    /// `status` with `public` for the client, and `detail` logged on stderr under an id that
    /// the answer names.
    pub fn logged(status: StatusCode, public: &str, detail: &str) -> ApiError {
        let id = crate::token::random_bytes::<6>()
            .map(|b| crate::token::hex(&b))
            .unwrap_or_else(|_| "unavailable".into());
        tracing::error!(
            error_id = id.as_str(),
            status = status.as_u16(),
            detail = %detail,
            "internal error"
        );
        ApiError::new(status, format!("{public} (logged as error {id})"))
    }
}

impl From<Diagnostics> for ApiError {
    fn from(d: Diagnostics) -> ApiError {
        let problems: Vec<Problem> = d.iter().map(Problem::from).collect();
        ApiError {
            status: StatusCode::BAD_REQUEST,
            body: ErrorBody {
                error: format!(
                    "{} in the input",
                    xpufleet_report::format::count(problems.len(), "problem", "problems")
                ),
                problems,
            },
        }
    }
}

impl From<xpufleet_app::Error> for ApiError {
    fn from(e: xpufleet_app::Error) -> ApiError {
        match e {
            xpufleet_app::Error::Input(d) => d.into(),
            // No plan is an answer about the input, not a server fault.
            e @ (xpufleet_app::Error::Plan { .. } | xpufleet_app::Error::Simulation(_)) => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, e.to_string())
            }
            xpufleet_app::Error::Option { field, message } => ApiError::field(&field, message),
            xpufleet_app::Error::Refused(message) => ApiError::new(StatusCode::CONFLICT, message),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> ApiError {
        match e {
            DbError::NotFound => ApiError::not_found("resource"),
            DbError::Conflict { latest } => ApiError::new(
                StatusCode::CONFLICT,
                format!("stale revision: the latest revision is {latest}"),
            ),
            DbError::KeyTaken => ApiError::new(
                StatusCode::CONFLICT,
                "a request with this Idempotency-Key was answered at the same time and this \
                 one changed nothing; retry to get that answer",
            ),
            DbError::Corrupt(e) => ApiError::internal(format!("stored data: {e}")),
            DbError::Other(e) => ApiError::logged(
                StatusCode::SERVICE_UNAVAILABLE,
                "the database is unavailable; retry later",
                &format!("database: {e}"),
            ),
        }
    }
}

/// A use case's refusal as an answer: the same status for the same refusal on every route.
impl From<xpufleet_store::usecases::UseCaseError> for ApiError {
    fn from(e: xpufleet_store::usecases::UseCaseError) -> ApiError {
        use xpufleet_store::usecases::UseCaseError as E;
        match e {
            E::Invalid { field, message } => ApiError::field(&field, message),
            E::App(e) => e.into(),
            E::NotFound(what) => ApiError::not_found(what),
            E::Stale { latest } => DbError::Conflict { latest }.into(),
            E::Conflict(message) => ApiError::new(StatusCode::CONFLICT, message),
            E::Unprocessable(message) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, message),
            E::Db(e) => e.into(),
        }
    }
}

/// The seconds a `503` asks the client to wait before it retries (`Retry-After`).
pub const RETRY_AFTER_S: u64 = 2;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let unavailable = self.status == StatusCode::SERVICE_UNAVAILABLE;
        let mut resp = (self.status, axum::Json(self.body)).into_response();
        // Unavailable is temporary (the database is down, the computation pool is full): the
        // answer says when to try again. A change that got it was not applied.
        if unavailable {
            resp.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(RETRY_AFTER_S),
            );
        }
        resp
    }
}
