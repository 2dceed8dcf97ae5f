//! The error body every route answers with: `{"error": "..."}` and a status.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// An error answer.
#[derive(Debug)]
pub(crate) struct HttpError {
    pub(crate) status: StatusCode,
    pub(crate) message: String,
}

impl HttpError {
    pub(crate) fn new(status: StatusCode, message: impl Into<String>) -> HttpError {
        HttpError {
            status,
            message: message.into(),
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> HttpError {
        HttpError::new(StatusCode::BAD_REQUEST, message)
    }

    pub(crate) fn unauthorized(message: impl Into<String>) -> HttpError {
        HttpError::new(StatusCode::UNAUTHORIZED, message)
    }

    /// A failure of the engine: the details go to the log, the client learns only that it failed.
    pub(crate) fn internal(context: &str, error: &dyn std::fmt::Display) -> HttpError {
        tracing::error!(context, error = %error, "request failed");
        HttpError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
    }

    /// Maps an engine error: bad input and undecodable bodies are the client's (400), the rest is ours (500).
    pub(crate) fn from_engine(context: &str, e: quarry::Error) -> HttpError {
        match e {
            quarry::Error::Invalid(e) => HttpError::bad_request(e.to_string()),
            quarry::Error::Decode(e) => HttpError::bad_request(format!("body: {e}")),
            other => HttpError::internal(context, &other),
        }
    }

    /// The rejection of a body extractor (413 over the limit, 400 for a broken body).
    pub(crate) fn from_body(rejection: axum::extract::rejection::BytesRejection) -> HttpError {
        let status = rejection.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            "body: larger than the server's limit".to_owned()
        } else {
            format!("body: {}", rejection.body_text())
        };
        HttpError::new(status, message)
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "error": self.message }).to_string();
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json")],
            body,
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
