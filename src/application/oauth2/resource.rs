//! What holders of tokens can do with them: userinfo (OIDC Core §5.3), revocation (RFC 7009),
//! introspection (RFC 7662) and RP-initiated logout (RP-Initiated Logout 1.0).
//!
//! An access token is a JWT any resource server can check alone; here, where the grant is at
//! hand, it is also checked live (not revoked, account active), so a revoked grant stops working
//! at once on these endpoints.

use super::claims::{ACCESS_TYP, ID_TYP, user_claims};
use super::model::Client;
use super::ports::{EndBrowserSession, FindClient, FindGrant, RevokeGrant};
use super::service::{OAuth2Policy, OAuth2Ports, OAuth2Service};
use super::token::ClientAuth;
use super::{JwtSigner, OAuthError, scopes_of};
use crate::application::ports::GetUser;
use crate::domain::Principal;
use actix::prelude::*;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The claims of an access token this provider issued that has not expired.
fn verified_access(
    signer: &dyn JwtSigner,
    policy: &OAuth2Policy,
    token: &str,
) -> Option<Map<String, Value>> {
    let claims = signer.verify(token, ACCESS_TYP)?;
    let now = chrono::Utc::now().timestamp();
    let fresh = claims
        .get("exp")
        .and_then(Value::as_i64)
        .is_some_and(|exp| exp > now);
    let ours = claims.get("iss").and_then(Value::as_str) == Some(policy.issuer.as_str());
    (fresh && ours).then_some(claims)
}

fn uuid_claim(claims: &Map<String, Value>, name: &str) -> Option<Uuid> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .and_then(|s| Uuid::parse_str(s).ok())
}

/// Is the token still good: its grant live, or (client credentials) its client still there?
async fn live(ports: &OAuth2Ports, claims: &Map<String, Value>) -> Result<bool, OAuthError> {
    match uuid_claim(claims, "sid") {
        Some(session_id) => Ok(ports
            .find_grant
            .ask(FindGrant { session_id })
            .await??
            .is_some()),
        None => match uuid_claim(claims, "client_id") {
            Some(id) => Ok(ports.clients.ask(FindClient { id }).await??.is_some()),
            None => Ok(false),
        },
    }
}

#[derive(Message)]
#[rtype(result = "Result<Value, OAuthError>")]
pub struct UserInfo {
    pub access_token: String,
}

impl Handler<UserInfo> for OAuth2Service {
    type Result = ResponseFuture<Result<Value, OAuthError>>;

    fn handle(&mut self, msg: UserInfo, _: &mut Context<Self>) -> Self::Result {
        let (ports, policy, signer) = self.parts();
        Box::pin(async move {
            let invalid = || {
                OAuthError::new(
                    "invalid_token",
                    "the access token is invalid, expired or revoked",
                )
            };
            let claims =
                verified_access(&*signer, &policy, &msg.access_token).ok_or_else(invalid)?;
            let session_id = uuid_claim(&claims, "sid").ok_or_else(invalid)?;
            let grant = ports
                .find_grant
                .ask(FindGrant { session_id })
                .await??
                .ok_or_else(invalid)?;
            if !scopes_of(&grant.scope).iter().any(|s| s == "openid") {
                return Err(OAuthError::new(
                    "insufficient_scope",
                    "userinfo needs the openid scope",
                ));
            }
            let user = ports
                .users
                .ask(GetUser { id: grant.user_id })
                .await??
                .ok_or_else(invalid)?;
            let scope = claims
                .get("scope")
                .and_then(Value::as_str)
                .unwrap_or_default();
            Ok(user_claims(&user, scope))
        })
    }
}

#[derive(Message)]
#[rtype(result = "Result<Value, OAuthError>")]
pub struct Introspect {
    pub auth: ClientAuth,
    pub token: String,
}

impl Handler<Introspect> for OAuth2Service {
    type Result = ResponseFuture<Result<Value, OAuthError>>;

    fn handle(&mut self, msg: Introspect, _: &mut Context<Self>) -> Self::Result {
        let (ports, policy, signer) = self.parts();
        Box::pin(async move {
            let client = msg.auth.authenticate(&ports.clients).await?;
            if client.is_public() {
                return Err(OAuthError::new(
                    "invalid_client",
                    "introspection is for confidential clients",
                ));
            }
            let inactive = json!({ "active": false });
            let Some(claims) = verified_access(&*signer, &policy, &msg.token) else {
                return Ok(inactive);
            };
            if !live(&ports, &claims).await? {
                return Ok(inactive);
            }
            let mut answer = json!({ "active": true, "token_type": "Bearer" });
            for name in [
                "scope",
                "client_id",
                "sub",
                "exp",
                "iat",
                "iss",
                "aud",
                "jti",
            ] {
                if let Some(v) = claims.get(name) {
                    answer[name] = v.clone();
                }
            }
            Ok(answer)
        })
    }
}

#[derive(Message)]
#[rtype(result = "Result<(), OAuthError>")]
pub struct Revoke {
    pub auth: ClientAuth,
    pub token: String,
}

impl Handler<Revoke> for OAuth2Service {
    type Result = ResponseFuture<Result<(), OAuthError>>;

    /// RFC 7009 §2.2: the answer is the same whatever the token was (unknown, another client's,
    /// already revoked); an access token ends its whole grant, as a refresh token does.
    fn handle(&mut self, msg: Revoke, _: &mut Context<Self>) -> Self::Result {
        let (ports, policy, signer) = self.parts();
        Box::pin(async move {
            let client = msg.auth.authenticate(&ports.clients).await?;
            let revoke = match verified_access(&*signer, &policy, &msg.token) {
                Some(claims) => match uuid_claim(&claims, "sid") {
                    Some(session_id) => RevokeGrant::Session {
                        client_id: client.id,
                        session_id,
                    },
                    None => return Ok(()),
                },
                None => RevokeGrant::RefreshToken {
                    client_id: client.id,
                    token_hash: Sha256::digest(msg.token.as_bytes()).to_vec(),
                },
            };
            Ok(ports.revoke.ask(revoke).await??)
        })
    }
}

#[derive(Message)]
#[rtype(result = "Result<Option<String>, OAuthError>")]
pub struct EndSession {
    pub id_token_hint: Option<String>,
    pub client_id: Option<String>,
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    /// Who is signed in at the browser (their session ends).
    pub principal: Option<Principal>,
}

/// The client a logout request names, by its ID token (signature checked, expiry not: a hint may
/// be old) or its `client_id`; both must agree.
async fn logout_client(
    ports: &OAuth2Ports,
    signer: &dyn JwtSigner,
    policy: &OAuth2Policy,
    msg: &EndSession,
) -> Result<Option<Client>, OAuthError> {
    let bad = |why: &str| OAuthError::new("invalid_request", why);
    let from_hint = match &msg.id_token_hint {
        Some(hint) => {
            let claims = signer
                .verify(hint, ID_TYP)
                .ok_or_else(|| bad("id_token_hint is not an ID token of this provider"))?;
            if claims.get("iss").and_then(Value::as_str) != Some(&policy.issuer) {
                return Err(bad("id_token_hint was issued by another provider"));
            }
            Some(uuid_claim(&claims, "aud").ok_or_else(|| bad("id_token_hint names no client"))?)
        }
        None => None,
    };
    let from_param = match &msg.client_id {
        Some(id) => Some(Uuid::parse_str(id).map_err(|_| bad("unknown client_id"))?),
        None => None,
    };
    let id = match (from_hint, from_param) {
        (Some(a), Some(b)) if a != b => {
            return Err(bad("client_id differs from the id_token_hint's"));
        }
        (a, b) => a.or(b),
    };
    match id {
        Some(id) => Ok(Some(
            ports
                .clients
                .ask(FindClient { id })
                .await??
                .ok_or_else(|| bad("unknown client"))?,
        )),
        None => Ok(None),
    }
}

impl Handler<EndSession> for OAuth2Service {
    type Result = ResponseFuture<Result<Option<String>, OAuthError>>;

    fn handle(&mut self, msg: EndSession, _: &mut Context<Self>) -> Self::Result {
        let (ports, policy, signer) = self.parts();
        Box::pin(async move {
            let client = logout_client(&ports, &*signer, &policy, &msg).await?;
            let redirect = match (&msg.post_logout_redirect_uri, &client) {
                (None, _) => None,
                (Some(uri), Some(c)) if c.spec.post_logout_redirect_uris.contains(uri) => {
                    let mut url = url::Url::parse(uri).map_err(|_| {
                        OAuthError::new("invalid_request", "post_logout_redirect_uri")
                    })?;
                    if let Some(state) = &msg.state {
                        url.query_pairs_mut().append_pair("state", state);
                    }
                    Some(String::from(url))
                }
                (Some(_), _) => {
                    return Err(OAuthError::new(
                        "invalid_request",
                        "post_logout_redirect_uri is not registered for the client",
                    ));
                }
            };
            if let Some(p) = &msg.principal {
                ports
                    .end_browser_session
                    .ask(EndBrowserSession {
                        session_id: p.session_id,
                    })
                    .await??;
                tracing::info!(user_id = %p.user_id, "signed out by a relying party");
            }
            Ok(redirect)
        })
    }
}
