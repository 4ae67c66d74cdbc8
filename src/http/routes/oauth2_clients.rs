//! `/api/v1/oauth2/clients`: registering OAuth clients (admins only). Changes are commands, as
//! for users: the answer waits for the worker (`Prefer` as elsewhere); a new or rotated secret is
//! in that one answer and nowhere else.

use super::ApiState;
use super::command_reply::{Settled, accepted, settle};
use super::request::origin;
use crate::application::oauth2::clients::{
    ClientAdminError, ClientChanges, ClientSubmission, DeleteClient, RegisterClient,
    RotateClientSecret, UpdateClient,
};
use crate::application::oauth2::model::{AuthMethod, Client, ClientSpec, GrantType};
use crate::application::oauth2::ports::{FindClient, ListClients};
use crate::domain::{FieldError, Role, ValidationErrors};
use crate::http::auth::Authenticated;
use crate::http::dto::{Accepted, Problem, client_location};
use crate::http::problem::ApiError;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientRequest {
    pub name: String,
    /// Exact-match redirect URIs: https, http to localhost, or an app's own scheme.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// `authorization_code`, `refresh_token`, `client_credentials`.
    pub grant_types: Vec<String>,
    /// `client_secret_basic`, `client_secret_post`, or `none` (a public client: PKCE required).
    pub token_endpoint_auth_method: String,
    /// What the client may ask for: `openid`, `profile`, `email`, `offline_access` and any of
    /// your APIs' own scopes.
    pub scopes: Vec<String>,
    /// Trusted: no consent page.
    #[serde(default)]
    pub first_party: bool,
}

/// Fields to change; absent ones stay.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub post_logout_redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub token_endpoint_auth_method: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub first_party: Option<bool>,
}

#[derive(Serialize, ToSchema)]
pub struct ClientResponse {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub token_endpoint_auth_method: String,
    pub scopes: Vec<String>,
    pub first_party: bool,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub updated_at: chrono::DateTime<chrono::Utc>,
    /// Only in the answer that made it (registration, rotation): it cannot be shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

impl ClientResponse {
    fn of(c: &Client, client_secret: Option<String>) -> Self {
        let s = &c.spec;
        Self {
            client_id: c.id.to_string(),
            name: s.name.clone(),
            redirect_uris: s.redirect_uris.clone(),
            post_logout_redirect_uris: s.post_logout_redirect_uris.clone(),
            grant_types: s
                .grant_types
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            token_endpoint_auth_method: s.token_endpoint_auth_method.as_str().to_owned(),
            scopes: s.scopes.clone(),
            first_party: s.first_party,
            created_at: c.created_at,
            updated_at: c.updated_at,
            client_secret,
        }
    }
}

impl From<ClientAdminError> for ApiError {
    fn from(e: ClientAdminError) -> Self {
        match e {
            ClientAdminError::Forbidden => ApiError::Forbidden,
            ClientAdminError::NotFound => ApiError::NotFound("no such client".into()),
            ClientAdminError::Invalid(errors) => ApiError::Validation(errors),
            ClientAdminError::Infra(e) => ApiError::Unavailable(e),
        }
    }
}

fn invalid(field: &'static str, message: &str) -> ApiError {
    ApiError::Validation(ValidationErrors::from(FieldError::new(
        field, "invalid", message,
    )))
}

fn grant_types(values: Vec<String>) -> Result<Vec<GrantType>, ApiError> {
    (values.iter().map(|g| GrantType::parse(g)))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| {
            invalid(
                "grant_types",
                "authorization_code, refresh_token or client_credentials",
            )
        })
}

fn auth_method(value: &str) -> Result<AuthMethod, ApiError> {
    AuthMethod::parse(value).ok_or_else(|| {
        invalid(
            "token_endpoint_auth_method",
            "client_secret_basic, client_secret_post or none",
        )
    })
}

/// The answer once the command settled: the client as it now is (with its new secret, if any).
async fn answer(
    state: &ApiState,
    req: &HttpRequest,
    sent: ClientSubmission,
    created: bool,
) -> Result<HttpResponse, ApiError> {
    let command_id = match settle(state, req, sent.submission).await? {
        Settled::Pending(command_id) => return Ok(accepted(command_id)),
        Settled::Succeeded(command_id, _) => command_id,
    };
    let client = state
        .oauth2
        .find
        .ask(FindClient { id: sent.client_id })
        .await??;
    let client = client
        .ok_or_else(|| ApiError::Internal(format!("client of command {command_id} not found")))?;
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response
        .insert_header((header::LOCATION, client_location(client.id)))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(ClientResponse::of(&client, sent.client_secret)))
}

#[utoipa::path(post, path = "/api/v1/oauth2/clients", tag = "oauth2", security(("bearer" = [])), request_body = ClientRequest,
    params(("Prefer" = Option<String>, Header, description = "respond-async and/or wait=N (RFC 7240)")),
    responses((status = 201, description = "Registered; `client_secret` (confidential clients) is shown this once", body = ClientResponse),
    (status = 202, description = "Accepted; poll the command", body = Accepted)))]
pub async fn create_client(
    state: web::Data<ApiState>,
    req: HttpRequest,
    who: Authenticated,
    body: web::Json<ClientRequest>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let spec = ClientSpec {
        name: b.name,
        redirect_uris: b.redirect_uris,
        post_logout_redirect_uris: b.post_logout_redirect_uris,
        grant_types: grant_types(b.grant_types)?,
        token_endpoint_auth_method: auth_method(&b.token_endpoint_auth_method)?,
        scopes: b.scopes,
        first_party: b.first_party,
    };
    let origin = origin(&state, &req);
    let sent = state
        .oauth2
        .register
        .ask(RegisterClient {
            principal: who.0,
            spec,
            origin,
        })
        .await??;
    answer(&state, &req, sent, true).await
}

fn admin(who: &Authenticated) -> Result<(), ApiError> {
    match who.0.role {
        Role::Admin => Ok(()),
        _ => Err(ApiError::Forbidden),
    }
}

#[utoipa::path(get, path = "/api/v1/oauth2/clients", tag = "oauth2", security(("bearer" = [])),
    responses((status = 200, description = "Every registered client (no secrets)", body = [ClientResponse])))]
pub async fn list_clients(
    state: web::Data<ApiState>,
    who: Authenticated,
) -> Result<HttpResponse, ApiError> {
    admin(&who)?;
    let clients = state.oauth2.list.ask(ListClients).await??;
    let body: Vec<ClientResponse> = clients
        .iter()
        .map(|c| ClientResponse::of(c, None))
        .collect();
    Ok(HttpResponse::Ok().json(body))
}

#[utoipa::path(get, path = "/api/v1/oauth2/clients/{id}", tag = "oauth2", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The client_id")),
    responses((status = 200, body = ClientResponse)))]
pub async fn get_client(
    state: web::Data<ApiState>,
    who: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    admin(&who)?;
    let client = state
        .oauth2
        .find
        .ask(FindClient {
            id: id.into_inner(),
        })
        .await??;
    let client = client.ok_or_else(|| ApiError::NotFound("no such client".into()))?;
    Ok(HttpResponse::Ok().json(ClientResponse::of(&client, None)))
}

#[utoipa::path(patch, path = "/api/v1/oauth2/clients/{id}", tag = "oauth2", security(("bearer" = [])), request_body = ClientPatch,
    params(("id" = Uuid, Path, description = "The client_id"), ("Prefer" = Option<String>, Header, description = "respond-async and/or wait=N (RFC 7240)")),
    responses((status = 200, description = "Changed (a public client made confidential gets its `client_secret` here, once)", body = ClientResponse),
    (status = 202, description = "Accepted; poll the command", body = Accepted)))]
pub async fn update_client(
    state: web::Data<ApiState>,
    req: HttpRequest,
    who: Authenticated,
    id: web::Path<Uuid>,
    body: web::Json<ClientPatch>,
) -> Result<HttpResponse, ApiError> {
    let b = body.into_inner();
    let changes = ClientChanges {
        name: b.name,
        redirect_uris: b.redirect_uris,
        post_logout_redirect_uris: b.post_logout_redirect_uris,
        grant_types: b.grant_types.map(grant_types).transpose()?,
        token_endpoint_auth_method: b
            .token_endpoint_auth_method
            .as_deref()
            .map(auth_method)
            .transpose()?,
        scopes: b.scopes,
        first_party: b.first_party,
    };
    let (client_id, origin) = (id.into_inner(), origin(&state, &req));
    let sent = state
        .oauth2
        .update
        .ask(UpdateClient {
            principal: who.0,
            client_id,
            changes,
            origin,
        })
        .await??;
    answer(&state, &req, sent, false).await
}

#[utoipa::path(delete, path = "/api/v1/oauth2/clients/{id}", tag = "oauth2", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The client_id"), ("Prefer" = Option<String>, Header, description = "respond-async and/or wait=N (RFC 7240)")),
    responses((status = 204, description = "Deleted: its grants are revoked"),
    (status = 202, description = "Accepted; poll the command", body = Accepted)))]
pub async fn delete_client(
    state: web::Data<ApiState>,
    req: HttpRequest,
    who: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (client_id, origin) = (id.into_inner(), origin(&state, &req));
    let sent = state
        .oauth2
        .delete
        .ask(DeleteClient {
            principal: who.0,
            client_id,
            origin,
        })
        .await??;
    match settle(&state, &req, sent.submission).await? {
        Settled::Pending(command_id) => Ok(accepted(command_id)),
        Settled::Succeeded(..) => Ok(HttpResponse::NoContent().finish()),
    }
}

#[utoipa::path(post, path = "/api/v1/oauth2/clients/{id}/secret", tag = "oauth2", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The client_id"), ("Prefer" = Option<String>, Header, description = "respond-async and/or wait=N (RFC 7240)")),
    responses((status = 200, description = "A new `client_secret`, shown this once; the old one stops working", body = ClientResponse),
    (status = 202, description = "Accepted; poll the command", body = Accepted),
    (status = 422, description = "A public client has no secret", body = Problem, content_type = "application/problem+json")))]
pub async fn rotate_secret(
    state: web::Data<ApiState>,
    req: HttpRequest,
    who: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, ApiError> {
    let (client_id, origin) = (id.into_inner(), origin(&state, &req));
    let sent = state
        .oauth2
        .rotate
        .ask(RotateClientSecret {
            principal: who.0,
            client_id,
            origin,
        })
        .await??;
    answer(&state, &req, sent, false).await
}
