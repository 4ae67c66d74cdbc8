//! The binary's configuration: `.env` read by every subcommand (the environment wins), every
//! variable in `--help`, invalid values as one line naming the variable (exit code 2).

use crate::helpers::*;
use std::process::{Command, Output};

/// The binary in a fresh temporary directory (removed afterwards) holding `dotenv` as `.env`,
/// with an environment holding only PATH and `env`.
fn hexactor_in_dir(args: &[&str], dotenv: &str, env: &[(&str, &str)]) -> Output {
    let dir = std::env::temp_dir().join(format!("hexactor-dotenv-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join(".env"), dotenv).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_hexactor"))
        .args(args)
        .current_dir(&dir)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .output();
    let _ = std::fs::remove_dir_all(&dir);
    out.expect("hexactor runs")
}

async fn migrations_applied(ns: &Namespace) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_name = '_sqlx_migrations'",
    )
    .fetch_one(&ns.pool().await)
    .await
    .unwrap()
}

#[actix_web::test]
async fn dotenv_is_honoured_by_migrate_and_the_environment_wins() {
    let ns = Namespace::new().await;
    let dotenv = format!(
        "# a comment\nDATABASE_URL={}\nLOG_LEVEL=warn\n",
        ns.database_url()
    );

    // The environment wins over .env: pointed elsewhere, migrate fails and touches nothing.
    let elsewhere = format!(
        "{}/hexactor_no_such_database_{}",
        postgres_base(),
        ns.prefix
    );
    let out = hexactor_in_dir(&["migrate"], &dotenv, &[("DATABASE_URL", &elsewhere)]);
    assert!(
        !out.status.success(),
        "the environment's DATABASE_URL was used"
    );
    assert_eq!(migrations_applied(&ns).await, 0);

    let out = hexactor_in_dir(&["migrate"], &dotenv, &[]);
    assert!(
        out.status.success(),
        "migrate with .env: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        migrations_applied(&ns).await,
        1,
        "migrated the .env database"
    );
}

#[test]
fn invalid_values_from_dotenv_or_environment_are_one_line_and_exit_code_2() {
    for (dotenv, env) in [
        ("LOG_LEVEL=verbose\n", vec![]),
        ("", vec![("LOG_LEVEL", "loud")]),
        ("TRUSTED_PROXIES=10.0.0.0/99\n", vec![]),
    ] {
        let out = hexactor_in_dir(&["migrate"], dotenv, &env);
        assert_eq!(out.status.code(), Some(2), "{dotenv} {env:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        let variable = if dotenv.contains("TRUSTED") {
            "TRUSTED_PROXIES"
        } else {
            "LOG_LEVEL"
        };
        assert!(stderr.contains(variable), "{stderr}");
    }
    let out = hexactor_in_dir(&["migrate"], "THIS IS NOT A DOTENV LINE\n", &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(".env"));
}

#[test]
fn help_lists_every_variable_with_its_default() {
    for args in [&["--help"][..], &["serve", "--help"][..]] {
        let out = hexactor_in_dir(args, "", &[]);
        assert!(out.status.success());
        let help = String::from_utf8_lossy(&out.stdout);
        for hexactor::variables::Var { name, default, .. } in hexactor::variables::VARIABLES {
            let line = help
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{name} ")))
                .unwrap_or_else(|| panic!("{name} missing from {args:?}:\n{help}"));
            if !default.is_empty() && !["SECRET_KEY", "DATA_ENCRYPTION_KEY"].contains(name) {
                assert!(line.contains(&format!("[default: {default}]")), "{line}");
            }
        }
    }
}
