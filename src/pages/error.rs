//! Errors of the page handlers. Each answers with its status and, for `render::browser_errors`
//! to show on a page in the common layout, the sentence a person reads.

use crate::http::problem::ApiError;
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("not found")]
    NotFound,
    #[error("malformed form: {0}")]
    BadForm(String),
    #[error("refused form: {0}")]
    Csrf(&'static str),
    #[error("too many attempts")]
    TooMany { retry_after: Duration },
    #[error("https needed")]
    InsecureContext,
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("internal: {0}")]
    Internal(String),
}

/// The detail a page shows, carried from an error to `browser_errors`, which renders it.
#[derive(Clone)]
pub(super) struct Detail(pub String);

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::NotFound => StatusCode::NOT_FOUND,
            PageError::BadForm(_) => StatusCode::BAD_REQUEST,
            PageError::Csrf(_) => StatusCode::FORBIDDEN,
            PageError::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
            PageError::InsecureContext | PageError::Unavailable(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let detail = match self {
            PageError::NotFound => "There is no page at this address.".to_owned(),
            PageError::BadForm(_) => "The form was incomplete; go back and try again.".into(),
            PageError::Csrf(why) => format!("This form was refused: {why}."),
            PageError::TooMany { .. } => "Too many attempts.".into(),
            PageError::InsecureContext => "These pages need https: a browser keeps the \
                session cookie only on a secure connection. Ask your administrator to serve \
                this site on https (PUBLIC_BASE_URL)."
                .into(),
            PageError::Unavailable(cause) | PageError::Internal(cause) => {
                tracing::error!(cause = %cause, "a page failed");
                "Something went wrong on our side. Please try again in a moment.".into()
            }
        };
        let mut builder = HttpResponse::build(self.status_code());
        if let PageError::TooMany { retry_after } = self {
            builder.insert_header((
                header::RETRY_AFTER,
                retry_after.as_secs().max(1).to_string(),
            ));
        }
        let mut response = builder.finish();
        response.extensions_mut().insert(Detail(detail));
        response
    }
}

impl From<ApiError> for PageError {
    fn from(e: ApiError) -> Self {
        match e {
            ApiError::NotFound(_) | ApiError::Forbidden => PageError::NotFound,
            ApiError::TooManyRequests { retry_after } | ApiError::RateLimited { retry_after } => {
                PageError::TooMany { retry_after }
            }
            ApiError::Unavailable(e) => PageError::Unavailable(actors::ErrorChain(&e).to_string()),
            other => PageError::Internal(other.to_string()),
        }
    }
}

impl From<actix::MailboxError> for PageError {
    fn from(e: actix::MailboxError) -> Self {
        PageError::Unavailable(e.to_string())
    }
}

impl From<crate::application::ports::InfraError> for PageError {
    fn from(e: crate::application::ports::InfraError) -> Self {
        PageError::Unavailable(actors::ErrorChain(&e).to_string())
    }
}
