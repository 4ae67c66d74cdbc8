//! The `hexactor` binary: `serve` (HTTP API), `worker` (command consumer), `dev` (both in one
//! process), `migrate`.

use clap::{Parser, Subcommand};
use hexactor::config::Settings;
use hexactor::startup::{Application, Role};
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
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
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
                let pool = hexactor::infrastructure::postgres::connect(&settings).await?;
                hexactor::infrastructure::postgres::migrate(&pool).await?;
                tracing::info!("migrations applied");
                Ok(())
            }
            Cmd::Admin {
                command: AdminCmd::Create { email, username },
            } => {
                let password = std::env::var("ADMIN_PASSWORD").map_err(|_| {
                    anyhow::anyhow!("set ADMIN_PASSWORD to the new admin's password")
                })?;
                let pool = hexactor::infrastructure::postgres::connect(&settings).await?;
                hexactor::infrastructure::postgres::migrate(&pool).await?;
                let id = hexactor::infrastructure::postgres::bootstrap::create_admin(
                    &pool,
                    &email,
                    &username,
                    password,
                    settings.bcrypt_cost,
                )
                .await?;
                println!("admin {email} ready (id {id})");
                Ok(())
            }
            Cmd::Dlq { command } => hexactor::cli::dlq::run(&settings, command).await,
            Cmd::Traffic(args) => hexactor::cli::traffic::run(&settings, args)
                .await
                .map(|_| ()),
            Cmd::Serve => run(settings, Role::Api).await,
            Cmd::Worker => run(settings, Role::Worker).await,
            Cmd::Dev => run(settings, Role::All).await,
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "hexactor failed");
            eprintln!("hexactor: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(settings: Settings, role: Role) -> anyhow::Result<()> {
    let app = Application::build(settings, role).await?;
    tracing::info!(port = app.port(), ?role, "listening");
    app.run_until_stopped().await?;
    Ok(())
}
