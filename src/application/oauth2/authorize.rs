//! `GET /oauth2/authorize`: who the client is and where the answer goes (checked before
//! anything can be sent back: an unknown client or an unregistered redirect URI is an error page,
//! never a redirect), then the request (RFC 6749 §4.1.1, OIDC Core §3.1.2.1, PKCE), the person
//! (signed in, recently enough), their consent, and finally a code.

use super::model::{Client, GrantType};
use super::ports::{CodeGrant, FindClient, FindConsent, SaveConsent, StoreCode};
use super::service::{OAuth2Policy, OAuth2Ports, OAuth2Service};
use super::{OAuthError, random_token, scopes_of};
use crate::application::mfa_ports::FindTotp;
use crate::domain::Principal;
use actix::prelude::*;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The query of an authorization request, as sent.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AuthorizationRequest {
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub response_type: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
    pub prompt: Option<String>,
    pub max_age: Option<String>,
    pub login_hint: Option<String>,
    pub request: Option<String>,
    pub request_uri: Option<String>,
}

/// The person at the browser, and when they signed in.
#[derive(Debug, Clone)]
pub struct SignedIn {
    pub principal: Principal,
    pub auth_time: DateTime<Utc>,
}

/// The consent form's answer, when this request is its submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    Allow,
    Deny,
}

#[derive(Message)]
#[rtype(result = "Result<AuthorizeOutcome, OAuthError>")]
pub struct Authorize {
    pub request: AuthorizationRequest,
    pub user: Option<SignedIn>,
    pub consent: Option<Consent>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeOutcome {
    /// Nothing may go back to the client: an error page says this.
    Refused(String),
    /// Back to the client, with a code or an error (the whole URL).
    Redirect(String),
    /// Sign in first; `fresh`: again, although signed in (`prompt=login`, `max_age` passed).
    SignIn {
        fresh: bool,
        login_hint: Option<String>,
    },
    /// Ask the person whether the client may have these scopes.
    Consent {
        client_name: String,
        scopes: Vec<String>,
    },
}

/// The redirect URI with `params`, `state` and `iss` (RFC 9207) added to its query.
fn back(redirect_uri: &str, params: &[(&str, &str)], state: Option<&str>, issuer: &str) -> String {
    let mut url = match url::Url::parse(redirect_uri) {
        Ok(url) => url,
        Err(_) => return redirect_uri.to_owned(),
    };
    {
        let mut query = url.query_pairs_mut();
        for (k, v) in params {
            query.append_pair(k, v);
        }
        if let Some(state) = state {
            query.append_pair("state", state);
        }
        query.append_pair("iss", issuer);
    }
    url.into()
}

/// What the request asks, once it is known to be well-formed.
struct Checked {
    client: Client,
    redirect_uri: String,
    scopes: Vec<String>,
    prompt: Vec<String>,
    max_age: Option<i64>,
}

/// RFC 6749 §4.1.2.1: an error for the client (sent back to its redirect URI).
type ClientError = (&'static str, String);

fn check(client: Client, r: &AuthorizationRequest) -> Result<Checked, ClientError> {
    let err = |code, why: &str| Err((code, why.to_owned()));
    let redirect_uri = r.redirect_uri.clone().unwrap_or_default();
    if r.request.is_some() || r.request_uri.is_some() {
        return err("request_not_supported", "request objects are not supported");
    }
    if r.response_type.as_deref() != Some("code") {
        return err(
            "unsupported_response_type",
            "only response_type=code is supported",
        );
    }
    if !client.allows(GrantType::AuthorizationCode) {
        return err(
            "unauthorized_client",
            "the client may not use the authorization code grant",
        );
    }
    let scopes = scopes_of(r.scope.as_deref().unwrap_or_default());
    if scopes.is_empty() {
        return err("invalid_scope", "no scope was asked for");
    }
    if let Some(s) = scopes.iter().find(|s| !client.spec.scopes.contains(s)) {
        return Err(("invalid_scope", format!("the client may not ask for {s:?}")));
    }
    match (
        r.code_challenge.as_deref(),
        r.code_challenge_method.as_deref(),
    ) {
        (None, None) if client.is_public() => {
            return err(
                "invalid_request",
                "a public client must use PKCE (code_challenge, S256)",
            );
        }
        (None, None) => {}
        (Some(c), Some("S256"))
            if c.len() == 43
                && c.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') => {}
        (Some(_), Some("S256")) => {
            return err(
                "invalid_request",
                "code_challenge is not a base64url SHA-256",
            );
        }
        (None, Some(_)) => {
            return err(
                "invalid_request",
                "code_challenge_method without code_challenge",
            );
        }
        // Without a method the method is `plain` (RFC 7636 §4.3), which is refused (RFC 9700).
        (Some(_), _) => {
            return err(
                "invalid_request",
                "only code_challenge_method=S256 is supported",
            );
        }
    }
    let prompt = scopes_of(r.prompt.as_deref().unwrap_or_default());
    if prompt.iter().any(|p| p == "none") && prompt.len() > 1 {
        return err(
            "invalid_request",
            "prompt=none cannot be combined with other values",
        );
    }
    let max_age = match r.max_age.as_deref() {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(n) if n >= 0 => Some(n),
            _ => return err("invalid_request", "max_age is a number of seconds"),
        },
    };
    Ok(Checked {
        client,
        redirect_uri,
        scopes,
        prompt,
        max_age,
    })
}

async fn authorize(
    ports: OAuth2Ports,
    policy: &OAuth2Policy,
    msg: Authorize,
) -> Result<AuthorizeOutcome, OAuthError> {
    let r = &msg.request;
    let client_id = r
        .client_id
        .as_deref()
        .and_then(|id| Uuid::parse_str(id).ok());
    let client = match client_id {
        Some(id) => ports.clients.ask(FindClient { id }).await??,
        None => None,
    };
    let Some(client) = client else {
        return Ok(AuthorizeOutcome::Refused(
            "The application that sent you here is not registered.".into(),
        ));
    };
    let redirect_uri = r.redirect_uri.as_deref().unwrap_or_default();
    if !client.spec.redirect_uris.iter().any(|u| u == redirect_uri) {
        return Ok(AuthorizeOutcome::Refused(
            "The application asked to send you to an address it has not registered.".into(),
        ));
    }
    let state = r.state.as_deref();
    let fail = |(code, why): ClientError| {
        Ok(AuthorizeOutcome::Redirect(back(
            redirect_uri,
            &[("error", code), ("error_description", &why)],
            state,
            &policy.issuer,
        )))
    };
    let c = match check(client, r) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    let silent = c.prompt.iter().any(|p| p == "none");
    let Some(user) = msg.user else {
        if silent {
            return fail(("login_required", "nobody is signed in".into()));
        }
        return Ok(AuthorizeOutcome::SignIn {
            fresh: false,
            login_hint: r.login_hint.clone(),
        });
    };
    let age = (Utc::now() - user.auth_time).num_seconds();
    // max_age=0 is prompt=login (OIDC Core §3.1.2.1); ages are whole seconds.
    let too_old = c.max_age.is_some_and(|max| max == 0 || age > max);
    if (too_old || c.prompt.iter().any(|p| p == "login")) && msg.consent.is_none() {
        if silent {
            return fail(("login_required", "the sign-in is older than max_age".into()));
        }
        return Ok(AuthorizeOutcome::SignIn {
            fresh: true,
            login_hint: r.login_hint.clone(),
        });
    }
    let user_id = user.principal.user_id;
    if !c.client.spec.first_party {
        let allowed = ports
            .consent
            .ask(FindConsent {
                user_id,
                client_id: c.client.id,
            })
            .await??;
        let missing = c.scopes.iter().any(|s| !allowed.contains(s));
        let asked = c.prompt.iter().any(|p| p == "consent");
        match msg.consent {
            Some(Consent::Deny) => {
                return fail(("access_denied", "the person did not allow it".into()));
            }
            Some(Consent::Allow) => {
                let scopes = c.scopes.clone();
                ports
                    .save_consent
                    .ask(SaveConsent {
                        user_id,
                        client_id: c.client.id,
                        scopes,
                    })
                    .await??;
            }
            None if silent && missing => {
                return fail((
                    "consent_required",
                    "the person has not allowed this yet".into(),
                ));
            }
            None if missing || asked => {
                return Ok(AuthorizeOutcome::Consent {
                    client_name: c.client.spec.name.clone(),
                    scopes: c.scopes,
                });
            }
            None => {}
        }
    }
    let totp = ports.totp.ask(FindTotp { user_id }).await??;
    let mut amr = vec!["pwd".to_owned()];
    if totp.is_some_and(|t| t.confirmed) {
        amr.push("otp".to_owned());
    }
    let code = random_token();
    let grant = CodeGrant {
        client_id: c.client.id,
        user_id,
        browser_session_id: user.principal.session_id,
        redirect_uri: c.redirect_uri.clone(),
        scope: c.scopes.join(" "),
        nonce: r.nonce.clone(),
        code_challenge: r.code_challenge.clone(),
        auth_time: user.auth_time,
        amr,
    };
    let code_hash = Sha256::digest(code.as_bytes()).to_vec();
    ports
        .store_code
        .ask(StoreCode {
            code_hash,
            grant,
            ttl: policy.code_ttl,
        })
        .await??;
    Ok(AuthorizeOutcome::Redirect(back(
        &c.redirect_uri,
        &[("code", &code)],
        state,
        &policy.issuer,
    )))
}

impl Handler<Authorize> for OAuth2Service {
    type Result = ResponseFuture<Result<AuthorizeOutcome, OAuthError>>;

    fn handle(&mut self, msg: Authorize, _: &mut Context<Self>) -> Self::Result {
        let (ports, policy, _) = self.parts();
        Box::pin(async move { authorize(ports, &policy, msg).await })
    }
}
