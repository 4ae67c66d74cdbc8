//! The `hexactor` binary: `serve` (HTTP API), `worker` (command consumer), `dev` (both in one
//! process), `migrate`.

use anyhow::Context as _;
use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use hexactor::config::Settings;
use hexactor::config::Vars;
use hexactor::startup::{Application, ProcessRole, Stopped};
use hexactor::variables::ADMIN_PASSWORD;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "hexactor",
    version,
    about = "User management and authentication as a supervised actor system"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run the HTTP API (publishes commands to RabbitMQ).
    Serve,
    /// Run a command worker (scale by starting more).
    Worker,
    /// Run API and worker in one process (development).
    Dev,
    /// Apply database migrations and exit.
    Migrate,
    /// Administration (bootstrapping the first admin).
    Admin {
        #[command(subcommand)]
        command: AdminCmd,
    },
    /// Dead-letter queues: list, show, replay (re-drive) and purge dead letters.
    Dlq {
        #[command(subcommand)]
        command: hexactor::cli::dlq::DlqCmd,
    },
    /// OAuth clients of the OpenID Connect provider (bootstrapping, without the API).
    #[command(name = "oauth2-client")]
    OAuth2Client {
        #[command(subcommand)]
        command: hexactor::cli::oauth2_client::OAuth2ClientCmd,
    },
    /// Drive realistic mixed traffic at a running API (makes every dashboard panel move).
    Traffic(hexactor::cli::traffic::TrafficArgs),
}

#[derive(Subcommand)]
enum AdminCmd {
    /// Create an admin account, or promote the account with this email to admin. The password
    /// is read from the ADMIN_PASSWORD environment variable (never from argv: it would show in
    /// `ps` and shell history).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long)]
        username: String,
    },
}

fn main() -> ExitCode {
    let help = hexactor::variables::help_text();
    let command = Cli::command()
        .after_help(help.clone())
        .mut_subcommands(|sub| sub.after_help(help.clone()));
    let cli = match Cli::from_arg_matches(&command.get_matches()) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    // Every subcommand reads the same way: environment, then ./.env, then the defaults.
    let vars = match Vars::load(std::path::Path::new(".env")) {
        Ok(vars) => vars,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let settings = match Settings::from_lookup(|k| vars.get(k)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    hexactor::telemetry::init(&settings);
    let result = actix_web::rt::System::new().block_on(async move {
        match cli.command {
            Cmd::Migrate => {
                let pool = hexactor::infrastructure::postgres::connect(&settings)
                    .await
                    .context("connecting to PostgreSQL (DATABASE_URL)")?;
                hexactor::infrastructure::postgres::migrate(&pool).await?;
                tracing::info!("migrations applied");
                Ok(())
            }
            Cmd::Admin {
                command: AdminCmd::Create { email, username },
            } => {
                let password = vars.get(ADMIN_PASSWORD.name).ok_or_else(|| {
                    anyhow::anyhow!("set {} to the new admin's password", ADMIN_PASSWORD.name)
                })?;
                let pool = hexactor::infrastructure::postgres::connect(&settings)
                    .await
                    .context("connecting to PostgreSQL (DATABASE_URL)")?;
                hexactor::infrastructure::postgres::migrate(&pool).await?;
                let id = hexactor::infrastructure::postgres::bootstrap::create_admin(
                    &pool,
                    &email,
                    &username,
                    password,
                    &settings.credentials.hashing,
                )
                .await?;
                println!("admin {email} ready (id {id})");
                Ok(())
            }
            Cmd::Dlq { command } => hexactor::cli::dlq::run(&settings, command).await,
            Cmd::OAuth2Client { command } => {
                hexactor::cli::oauth2_client::run(&settings, command).await
            }
            Cmd::Traffic(args) => hexactor::cli::traffic::run(&settings, args)
                .await
                .map(|_| ()),
            Cmd::Serve => run(settings, ProcessRole::Api).await,
            Cmd::Worker => run(settings, ProcessRole::Worker).await,
            Cmd::Dev => run(settings, ProcessRole::All).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let line = ::actors::ErrorChain(e.as_ref()).to_string();
            tracing::error!(error = %line, "hexactor failed");
            eprintln!("hexactor: {line}");
            if e.is::<RootEscalated>() {
                ExitCode::from(Stopped::ESCALATION_EXIT_CODE)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

async fn run(settings: Settings, role: ProcessRole) -> anyhow::Result<()> {
    let app = Application::build(settings, role).await?;
    tracing::info!(
        port = app.port(),
        ops_port = app.ops_port(),
        ?role,
        "listening"
    );
    if let Stopped::Escalated(e) = app.run_until_stopped().await? {
        return Err(RootEscalated(e).into());
    }
    Ok(())
}

/// The root supervisor gave up; `main` turns this into exit code 70 after the graceful stop.
#[derive(Debug, thiserror::Error)]
#[error("the root supervisor gave up ({}: {} kept failing: {})", .0.supervisor, .0.child, .0.reason)]
struct RootEscalated(::actors::Escalated);
