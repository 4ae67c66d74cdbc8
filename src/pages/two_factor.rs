//! Two-factor authentication on `/account`: start (the secret as a QR code in inline SVG and
//! as text, shown once), confirm with a code (the recovery codes, shown once), disable with the
//! password — `StartTotpEnrolment`, `ConfirmTotp` and `DisableTotp`, as the REST routes send.

use super::account::{TwoFactorView, render, settled, signed_in, signed_in_form};
use super::forms::{Fields, Outcome, outcome, refusal};
use super::render::PageError;
use super::session::Visitor;
use super::sign_in::CsrfForm;
use crate::application::mfa::{ConfirmTotp, DisableTotp, StartTotpEnrolment};
use crate::http::ApiState;
use crate::http::problem::ApiError;
use crate::http::routes::request::origin;
use actix_web::{HttpRequest, HttpResponse, web};
use qrcode::QrCode;
use qrcode::render::svg;
use serde::Deserialize;

/// The `otpauth://` URI as an SVG QR code, dark on light, with a title for screen readers.
fn qr_svg(uri: &str) -> Result<String, PageError> {
    let code =
        QrCode::new(uri.as_bytes()).map_err(|e| PageError::Internal(format!("QR code: {e}")))?;
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(192, 192)
        .quiet_zone(true)
        .build();
    // An accessible name for the image: role and label on the root element.
    Ok(image.replacen(
        "<svg ",
        "<svg role=\"img\" aria-label=\"QR code for your authenticator app\" ",
        1,
    ))
}

pub async fn start(
    state: web::Data<ApiState>,
    visitor: Visitor,
    req: HttpRequest,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    let principal = signed_in_form!(visitor, req, &form.csrf);
    let asked = state.mfa.enrol.ask(StartTotpEnrolment {
        principal: principal.clone(),
        origin: origin(&state, &req),
    });
    let enrolment = match asked.await?.map_err(ApiError::from) {
        Ok(e) => e,
        Err(e) => return settled(&state, &visitor, &req, &principal, Err(e), "two-factor").await,
    };
    let view = match outcome(&state, &req, enrolment.submission).await? {
        Outcome::Refused(code) => {
            return render(
                &state,
                &visitor,
                &principal,
                None,
                Fields::one("code", refusal(code).1),
                TwoFactorView::default(),
            )
            .await;
        }
        _ => TwoFactorView {
            setup: Some((
                qr_svg(&enrolment.otpauth_uri)?,
                enrolment.secret.to_base32(),
            )),
            recovery_codes: Vec::new(),
        },
    };
    render(&state, &visitor, &principal, None, Fields::default(), view).await
}

#[derive(Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    csrf: String,
    code: String,
}

pub async fn confirm(
    state: web::Data<ApiState>,
    visitor: Visitor,
    req: HttpRequest,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, PageError> {
    let principal = signed_in_form!(visitor, req, &form.csrf);
    let code = form.into_inner().code.trim().to_owned();
    let asked = state.mfa.confirm.ask(ConfirmTotp {
        principal: principal.clone(),
        code,
        origin: origin(&state, &req),
    });
    let (submission, recovery_codes) = match asked.await?.map_err(ApiError::from) {
        Ok(pair) => pair,
        Err(ApiError::Validation(_)) => {
            let errors = Fields::one(
                "code",
                "That code is not right. Start the set-up again and enter the code your app shows.",
            );
            return render(
                &state,
                &visitor,
                &principal,
                None,
                errors,
                TwoFactorView::default(),
            )
            .await;
        }
        Err(e) => return settled(&state, &visitor, &req, &principal, Err(e), "two-factor").await,
    };
    match outcome(&state, &req, submission).await? {
        Outcome::Refused(code) => {
            render(
                &state,
                &visitor,
                &principal,
                None,
                Fields::one("code", refusal(code).1),
                TwoFactorView::default(),
            )
            .await
        }
        _ => {
            render(
                &state,
                &visitor,
                &principal,
                Some("Two-factor authentication is on."),
                Fields::default(),
                TwoFactorView {
                    setup: None,
                    recovery_codes,
                },
            )
            .await
        }
    }
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    password: String,
}

pub async fn disable(
    state: web::Data<ApiState>,
    visitor: Visitor,
    req: HttpRequest,
    form: web::Form<PasswordForm>,
) -> Result<HttpResponse, PageError> {
    let principal = signed_in_form!(visitor, req, &form.csrf);
    let password = form.into_inner().password;
    let asked = state.mfa.disable.ask(DisableTotp {
        principal: principal.clone(),
        password,
        origin: origin(&state, &req),
    });
    let submitted = match asked.await?.map_err(ApiError::from) {
        Err(ApiError::Validation(_)) => {
            let errors = Fields::one("disable_password", "The password is not right.");
            return render(
                &state,
                &visitor,
                &principal,
                None,
                errors,
                TwoFactorView::default(),
            )
            .await;
        }
        other => other,
    };
    settled(
        &state,
        &visitor,
        &req,
        &principal,
        submitted,
        "two-factor-off",
    )
    .await
}
