//! `POST /oauth2/token` (RFC 6749 §3.2): the client authenticates as it registered, then one of
//! three grants. No implicit and no password grant (RFC 9700 §2.1.2, §2.4).

use super::claims::{ACCESS_TYP, AccessClaims, ID_TYP, IdClaims, user_claims};
use super::model::{AuthMethod, Client, GrantType, OIDC_SCOPES};
use super::ports::{ClaimCode, Claimed, FindClient, FindGrant, StartGrant};
use super::service::{OAuth2Policy, OAuth2Ports, OAuth2Service};
use super::{JwtSigner, OAuthError, pkce_matches, scopes_of};
use crate::application::client_info::ClientInfo;
use crate::application::ports::{GetUser, RotateRefreshToken, Rotation};
use actix::prelude::*;
use chrono::Utc;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// How the client presented itself: HTTP Basic, or `client_id` (and `client_secret`) in the form.
#[derive(Clone, Default)]
pub struct ClientAuth {
    pub basic: Option<(String, String)>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
}

impl ClientAuth {
    /// The client, if it authenticated the way it registered (a public client by its id alone).
    pub async fn authenticate(
        &self,
        clients: &::actors::Port<FindClient>,
    ) -> Result<Client, OAuthError> {
        let invalid = |why: &str| OAuthError::new("invalid_client", why);
        let (id, secret, method) = match (&self.basic, &self.client_id, &self.client_secret) {
            (Some((id, secret)), _, None) => (
                id.as_str(),
                Some(secret.as_str()),
                AuthMethod::ClientSecretBasic,
            ),
            (Some(_), _, Some(_)) => {
                return Err(OAuthError::new(
                    "invalid_request",
                    "one client authentication method at a time",
                ));
            }
            (None, Some(id), Some(secret)) => (
                id.as_str(),
                Some(secret.as_str()),
                AuthMethod::ClientSecretPost,
            ),
            (None, Some(id), None) => (id.as_str(), None, AuthMethod::None),
            (None, None, _) => return Err(invalid("the client did not authenticate")),
        };
        let client = match Uuid::parse_str(id) {
            Ok(id) => clients.ask(FindClient { id }).await??,
            Err(_) => None,
        };
        let Some(client) = client else {
            return Err(invalid("unknown client"));
        };
        if client.spec.token_endpoint_auth_method != method {
            return Err(invalid(&format!(
                "the client authenticates with {}",
                client.spec.token_endpoint_auth_method.as_str()
            )));
        }
        if secret.is_some_and(|s| !client.secret_matches(s)) {
            return Err(invalid("the client secret is not right"));
        }
        Ok(client)
    }
}

/// A secret never reaches a log: `Debug` names the client and the grant, nothing else.
impl std::fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let id = self
            .basic
            .as_ref()
            .map(|(id, _)| id)
            .or(self.client_id.as_ref());
        write!(f, "ClientAuth {{ client_id: {id:?}, secret: *** }}")
    }
}

#[derive(Clone, Default)]
pub struct TokenRequest {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    pub auth: ClientAuth,
    pub client: ClientInfo,
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "TokenRequest {{ grant_type: {:?}, auth: {:?}, code/verifier/refresh_token: *** }}",
            self.grant_type, self.auth
        )
    }
}

#[derive(Message)]
#[rtype(result = "Result<TokenResponse, OAuthError>")]
pub struct Token(pub TokenRequest);

#[derive(Debug, Clone, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
    pub scope: String,
}

fn grant_error(why: &str) -> OAuthError {
    OAuthError::new("invalid_grant", why)
}

fn access_token(
    signer: &dyn JwtSigner,
    policy: &OAuth2Policy,
    subject: String,
    client: &Client,
    scope: &str,
    grant: Option<Uuid>,
) -> Result<String, OAuthError> {
    let claims = AccessClaims {
        issuer: &policy.issuer,
        subject,
        client_id: client.id,
        scope,
        grant,
        ttl: chrono::Duration::from_std(policy.access_ttl).unwrap_or(chrono::Duration::minutes(15)),
    };
    Ok(signer.sign(ACCESS_TYP, &claims.to_json(Utc::now()))?)
}

fn response(policy: &OAuth2Policy, access: String, scope: String) -> TokenResponse {
    TokenResponse {
        access_token: access,
        token_type: "Bearer",
        expires_in: policy.access_ttl.as_secs(),
        refresh_token: None,
        id_token: None,
        scope,
    }
}

async fn authorization_code(
    (ports, policy, signer): (OAuth2Ports, &OAuth2Policy, &dyn JwtSigner),
    client: Client,
    r: TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let code = r
        .code
        .ok_or_else(|| OAuthError::new("invalid_request", "code is missing"))?;
    let code_hash = Sha256::digest(code.as_bytes()).to_vec();
    let grant = match ports
        .claim_code
        .ask(ClaimCode {
            code_hash: code_hash.clone(),
        })
        .await??
    {
        Claimed::Fresh(grant) => grant,
        Claimed::Invalid => return Err(grant_error("the code is unknown or expired")),
        Claimed::Replayed => {
            tracing::warn!(client_id = %client.id, "an authorization code was presented twice");
            return Err(grant_error(
                "the code was used before; what it gave is revoked",
            ));
        }
    };
    if grant.client_id != client.id {
        return Err(grant_error("the code was issued to another client"));
    }
    if r.redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) {
        return Err(grant_error(
            "redirect_uri differs from the authorization request's",
        ));
    }
    match (&grant.code_challenge, &r.code_verifier) {
        (Some(challenge), Some(verifier)) if pkce_matches(challenge, verifier) => {}
        (None, None) => {}
        _ => {
            return Err(grant_error(
                "the code_verifier does not match the code_challenge",
            ));
        }
    }
    let scopes = scopes_of(&grant.scope);
    let offline =
        scopes.iter().any(|s| s == "offline_access") && client.allows(GrantType::RefreshToken);
    let (session_id, refresh) = ports
        .start_grant
        .ask(StartGrant {
            code_hash,
            grant: grant.clone(),
            refresh_ttl: offline.then_some(policy.refresh_ttl),
            client: r.client,
        })
        .await??;
    let subject = grant.user_id.to_string();
    let access = access_token(
        signer,
        policy,
        subject.clone(),
        &client,
        &grant.scope,
        Some(session_id),
    )?;
    let id_token = if scopes.iter().any(|s| s == "openid") {
        let claims = IdClaims {
            issuer: &policy.issuer,
            subject,
            client_id: client.id,
            nonce: grant.nonce.as_deref(),
            auth_time: grant.auth_time,
            amr: &grant.amr,
            browser_session: grant.browser_session_id,
            access_token: &access,
            ttl: chrono::Duration::from_std(policy.access_ttl)
                .unwrap_or(chrono::Duration::minutes(15)),
        };
        let mut id_claims = claims.to_json(Utc::now());
        // The person's claims by scope, as userinfo has them: clients such as oauth2-proxy read
        // the address from the ID token alone.
        let user = ports.users.ask(GetUser { id: grant.user_id }).await??;
        if let (Value::Object(map), Some(user)) = (&mut id_claims, user)
            && let Value::Object(extra) = user_claims(&user, &grant.scope)
        {
            map.extend(extra);
        }
        Some(signer.sign(ID_TYP, &id_claims)?)
    } else {
        None
    };
    Ok(TokenResponse {
        refresh_token: refresh.map(|r| r.refresh_token),
        id_token,
        ..response(policy, access, grant.scope)
    })
}

async fn refresh(
    (ports, policy, signer): (OAuth2Ports, &OAuth2Policy, &dyn JwtSigner),
    client: Client,
    r: TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let token = r
        .refresh_token
        .ok_or_else(|| OAuthError::new("invalid_request", "refresh_token is missing"))?;
    let rotation = ports
        .rotate
        .ask(RotateRefreshToken {
            token,
            refresh_ttl: policy.refresh_ttl,
            client: r.client,
            oauth_client: Some(client.id),
        })
        .await??;
    let (principal, grant) = match rotation {
        Rotation::Rotated { principal, grant } => (principal, grant),
        Rotation::Invalid => {
            return Err(grant_error(
                "the refresh token is unknown, expired or revoked",
            ));
        }
        Rotation::ReuseDetected => {
            return Err(grant_error(
                "the refresh token was used before; its grant is revoked",
            ));
        }
    };
    let found = ports
        .find_grant
        .ask(FindGrant {
            session_id: grant.session_id,
        })
        .await??;
    let granted = found
        .ok_or_else(|| grant_error("the grant is revoked"))?
        .scope;
    // A refresh may narrow the scope of the access token (RFC 6749 §6), never widen it.
    let scope = match r.scope.as_deref().map(scopes_of) {
        Some(asked) if asked.iter().all(|s| scopes_of(&granted).contains(s)) => asked.join(" "),
        Some(_) => return Err(OAuthError::new("invalid_scope", "more than was granted")),
        None => granted,
    };
    let access = access_token(
        signer,
        policy,
        principal.user_id.to_string(),
        &client,
        &scope,
        Some(grant.session_id),
    )?;
    Ok(TokenResponse {
        refresh_token: Some(grant.refresh_token),
        ..response(policy, access, scope)
    })
}

/// A service account: the client itself, with (some of) the scopes it was registered with; the
/// scopes about a person (`openid`, `profile`, ...) mean nothing here.
fn client_credentials(
    (_, policy, signer): (OAuth2Ports, &OAuth2Policy, &dyn JwtSigner),
    client: Client,
    r: TokenRequest,
) -> Result<TokenResponse, OAuthError> {
    let own: Vec<String> = (client.spec.scopes.iter())
        .filter(|s| !OIDC_SCOPES.contains(&s.as_str()))
        .cloned()
        .collect();
    let scopes = match r.scope.as_deref().map(scopes_of) {
        Some(asked) => match asked.iter().find(|s| !own.contains(s)) {
            Some(s) => {
                return Err(OAuthError::new(
                    "invalid_scope",
                    format!("the client may not have {s:?}"),
                ));
            }
            None => asked,
        },
        None => own,
    };
    let scope = scopes.join(" ");
    let access = access_token(signer, policy, client.id.to_string(), &client, &scope, None)?;
    Ok(response(policy, access, scope))
}

impl Handler<Token> for OAuth2Service {
    type Result = ResponseFuture<Result<TokenResponse, OAuthError>>;

    fn handle(&mut self, Token(r): Token, _: &mut Context<Self>) -> Self::Result {
        let (ports, policy, signer) = self.parts();
        Box::pin(async move {
            let client = r.auth.authenticate(&ports.clients).await?;
            let grant = r.grant_type.as_deref().unwrap_or_default();
            let Some(grant) = GrantType::parse(grant) else {
                return Err(match grant {
                    "" => OAuthError::new("invalid_request", "grant_type is missing"),
                    _ => OAuthError::new(
                        "unsupported_grant_type",
                        "authorization_code, refresh_token or client_credentials",
                    ),
                });
            };
            if !client.allows(grant) {
                return Err(OAuthError::new(
                    "unauthorized_client",
                    format!("the client may not use {}", grant.as_str()),
                ));
            }
            let with = (ports, &*policy, &*signer);
            match grant {
                GrantType::AuthorizationCode => authorization_code(with, client, r).await,
                GrantType::RefreshToken => refresh(with, client, r).await,
                GrantType::ClientCredentials => client_credentials(with, client, r),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let request = TokenRequest {
            grant_type: Some("authorization_code".into()),
            code: Some("the-code".into()),
            code_verifier: Some("the-verifier".into()),
            auth: ClientAuth {
                basic: Some(("app".into(), "the-secret".into())),
                ..ClientAuth::default()
            },
            ..TokenRequest::default()
        };
        let shown = format!("{request:?}");
        assert!(
            shown.contains("app") && shown.contains("authorization_code"),
            "{shown}"
        );
        for secret in ["the-code", "the-verifier", "the-secret"] {
            assert!(!shown.contains(secret), "{shown}");
        }
    }
}
