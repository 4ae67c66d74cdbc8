//! `/admin/clients` (admins only; anyone else gets 404): the registered OAuth clients, read
//! through the same `ListClients` port as `GET /api/v1/oauth2/clients`. Registering and changing
//! them is the API's (or `hexactor oauth2-client create`): a secret is shown once, to whoever
//! registered it, and a page would have to keep it in a browser's history.

use super::admin::admin;
use super::render::{Chrome, PageError, page};
use super::session::Visitor;
use crate::application::oauth2::ports::ListClients;
use crate::http::ApiState;
use actix_web::{HttpResponse, web};
use askama::Template;

struct Row {
    name: String,
    client_id: String,
    kind: &'static str,
    grants: String,
    redirect_uris: String,
    consent: &'static str,
}

#[derive(Template)]
#[template(path = "pages/admin_clients.html")]
struct ClientsPage {
    c: Chrome,
    title: &'static str,
    clients: Vec<Row>,
}

pub async fn clients_page(
    state: web::Data<ApiState>,
    visitor: Visitor,
) -> Result<HttpResponse, PageError> {
    admin(&visitor)?;
    let clients = state.oauth2.list.ask(ListClients).await??;
    let clients = clients
        .into_iter()
        .map(|c| Row {
            kind: if c.is_public() {
                "public"
            } else {
                "confidential"
            },
            client_id: c.id.to_string(),
            grants: (c.spec.grant_types.iter().map(|g| g.as_str()))
                .collect::<Vec<_>>()
                .join(", "),
            redirect_uris: c.spec.redirect_uris.join(" "),
            consent: if c.spec.first_party {
                "not asked (first party)"
            } else {
                "asked"
            },
            name: c.spec.name,
        })
        .collect();
    let c = Chrome::of(&visitor);
    page(
        &visitor,
        &ClientsPage {
            c,
            title: "OAuth clients",
            clients,
        },
    )
}
