//! `hexactor oauth2-client create`: registers an OAuth client from the command line, for
//! bootstrapping (the first clients exist before anyone can call the API). It applies the same
//! `RegisterClient` command the API sends, in the same exactly-once transaction a worker runs
//! (command row, client row, the `OAuthClientRegistered` event in the outbox), without RabbitMQ.
//! The secret is printed once; only its hash is stored.

use crate::application::commands::{Command, CommandResult, RegisterClientCommand};
use crate::application::oauth2::model::{AuthMethod, ClientSpec, GrantType, secret_hash};
use crate::application::oauth2::random_token;
use crate::config::Settings;
use crate::infrastructure::messaging::names::Names;
use crate::infrastructure::postgres::{self, command_transaction};
use anyhow::Context as _;
use uuid::Uuid;

#[derive(clap::Subcommand)]
pub enum OAuth2ClientCmd {
    /// Register a client; prints its client_id and, for a confidential client, its secret (once).
    Create(CreateArgs),
}

#[derive(clap::Args)]
pub struct CreateArgs {
    #[arg(long)]
    name: String,
    /// An exact redirect URI (repeat for several).
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the browser back to (repeat for several).
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// authorization_code, refresh_token or client_credentials (repeat for several).
    #[arg(long = "grant-type", required = true)]
    grant_types: Vec<String>,
    /// client_secret_basic, client_secret_post or none (a public client).
    #[arg(long, default_value = "client_secret_basic")]
    token_endpoint_auth_method: String,
    /// A scope the client may ask for (repeat for several).
    #[arg(long = "scope", required = true)]
    scopes: Vec<String>,
    /// Trusted: no consent page.
    #[arg(long)]
    first_party: bool,
}

pub async fn run(settings: &Settings, command: OAuth2ClientCmd) -> anyhow::Result<()> {
    let OAuth2ClientCmd::Create(a) = command;
    let grant_types = (a.grant_types.iter().map(|g| GrantType::parse(g)))
        .collect::<Option<Vec<_>>>()
        .context("--grant-type: authorization_code, refresh_token or client_credentials")?;
    let method = AuthMethod::parse(&a.token_endpoint_auth_method)
        .context("--token-endpoint-auth-method: client_secret_basic, client_secret_post or none")?;
    let spec = ClientSpec {
        name: a.name,
        redirect_uris: a.redirect_uris,
        post_logout_redirect_uris: a.post_logout_redirect_uris,
        grant_types,
        token_endpoint_auth_method: method,
        scopes: a.scopes,
        first_party: a.first_party,
    };
    spec.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    let secret = (method != AuthMethod::None).then(random_token);
    let client_id = Uuid::new_v4();
    let command = Command::from(RegisterClientCommand {
        command_id: Uuid::now_v7(),
        client_id,
        spec,
        secret_hash: secret.as_deref().map(secret_hash),
    });
    let pool = postgres::connect(settings)
        .await
        .context("connecting to PostgreSQL (DATABASE_URL)")?;
    postgres::migrate(&pool).await?;
    let names = Names::new(&settings.messaging.amqp_prefix);
    let tokens = crate::startup::token_policy(settings);
    match command_transaction::apply(&pool, &names, &tokens, command).await? {
        CommandResult::Succeeded { .. } => {}
        other => anyhow::bail!("the client was not registered: {other:?}"),
    }
    println!("client_id={client_id}");
    if let Some(secret) = secret {
        println!("client_secret={secret}");
    }
    Ok(())
}
