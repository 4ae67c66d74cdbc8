//! The configuration's unit tests (the account-mail ones are in `account_mail.rs`).
use super::*;
use std::collections::HashMap;

pub(crate) fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let map: HashMap<String, String> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_lookup(|k| map.get(k).cloned())
}

#[test]
fn defaults_work_for_development() {
    let s = settings(&[]).unwrap();
    assert_eq!(s.http.port, 8000);
    assert_eq!(
        s.credentials.hashing,
        crate::domain::PasswordHashing::Argon2id(crate::domain::Argon2Params::OWASP)
    );
    assert!(
        s.credentials.breached.is_none(),
        "screening is off by default"
    );
    assert_eq!(s.messaging.retry_tiers.len(), 4);
}

#[test]
fn production_refuses_the_default_or_a_short_secret() {
    let e = settings(&[("ENVIRONMENT", "production")]).unwrap_err();
    assert_eq!(e.variable, "SECRET_KEY");
    let e = settings(&[("ENVIRONMENT", "production"), ("SECRET_KEY", "short")]).unwrap_err();
    assert_eq!(e.variable, "SECRET_KEY");
    let e = settings(&[
        ("ENVIRONMENT", "production"),
        ("SECRET_KEY", &"x".repeat(32)),
    ])
    .unwrap_err();
    assert_eq!(e.variable, "DATA_ENCRYPTION_KEY");
    let key = "cHJvZHVjdGlvbi1kYXRhLWtleS0zMi1ieXRlcy1vayE=";
    let ok = settings(&[
        ("ENVIRONMENT", "production"),
        ("SECRET_KEY", &"x".repeat(32)),
        ("DATA_ENCRYPTION_KEY", key),
        ("SMTP_URL", "smtp://127.0.0.1:25"),
    ]);
    assert!(ok.is_ok(), "{ok:?}");
    let e = settings(&[("DATA_ENCRYPTION_KEY", "c2hvcnQ=")]).unwrap_err();
    assert_eq!(e.variable, "DATA_ENCRYPTION_KEY");
}

#[test]
fn credentials_hash_with_argon2id_or_bcrypt_and_screen_by_url_or_file() {
    use super::credentials::BreachSource;
    use crate::domain::PasswordHashing;
    let bcrypt = settings(&[("PASSWORD_HASH", "bcrypt"), ("BCRYPT_COST", "5")]).unwrap();
    assert_eq!(
        bcrypt.credentials.hashing,
        PasswordHashing::Bcrypt { cost: 5 }
    );
    let cheap = settings(&[
        ("ARGON2_MEMORY_KIB", "64"),
        ("ARGON2_ITERATIONS", "1"),
        ("ARGON2_PARALLELISM", "2"),
    ])
    .unwrap();
    let PasswordHashing::Argon2id(params) = cheap.credentials.hashing else {
        panic!("argon2id is the default");
    };
    assert_eq!(
        (params.memory_kib, params.iterations, params.parallelism),
        (64, 1, 2)
    );
    for (name, value) in [
        ("PASSWORD_HASH", "scrypt"),
        ("ARGON2_MEMORY_KIB", "4"),
        ("ARGON2_ITERATIONS", "0"),
        ("BREACHED_PASSWORDS_URL", "ftp://example.com"),
        ("BREACHED_PASSWORDS_FILE", "/nonexistent/hashes.txt"),
    ] {
        assert_eq!(
            settings(&[(name, value)]).unwrap_err().variable,
            name,
            "{value}"
        );
    }
    let url = settings(&[
        ("BREACHED_PASSWORDS_URL", "https://api.pwnedpasswords.com/"),
        ("BREACHED_PASSWORDS_ON_ERROR", "deny"),
    ])
    .unwrap();
    let screening = url.credentials.breached.unwrap();
    assert_eq!(
        screening.source,
        BreachSource::RangeApi {
            base_url: "https://api.pwnedpasswords.com".into(),
            allow_private: false
        }
    );
    assert!(screening.deny_on_error);
    assert_eq!(screening.timeout, Duration::from_millis(2000));
    let both = settings(&[
        ("BREACHED_PASSWORDS_URL", "https://example.com"),
        ("BREACHED_PASSWORDS_FILE", "Cargo.toml"),
    ]);
    assert_eq!(both.unwrap_err().variable, "BREACHED_PASSWORDS_FILE");
}

#[test]
fn invalid_values_name_the_variable() {
    assert_eq!(
        settings(&[("PORT", "eighty")]).unwrap_err().variable,
        "PORT"
    );
    assert_eq!(
        settings(&[("BCRYPT_COST", "3")]).unwrap_err().variable,
        "BCRYPT_COST"
    );
    assert_eq!(
        settings(&[("DATABASE_URL", "mysql://x")])
            .unwrap_err()
            .variable,
        "DATABASE_URL"
    );
    let line = settings(&[("LOG_FORMAT", "xml")]).unwrap_err().to_string();
    assert!(line.contains("LOG_FORMAT"), "{line}");
    for bad in ["verbose", "hexactor=loud", "info,"] {
        let result = settings(&[("LOG_LEVEL", bad)]);
        if bad == "info," {
            assert!(result.is_ok(), "a trailing comma is harmless");
        } else {
            assert_eq!(result.unwrap_err().variable, "LOG_LEVEL", "{bad}");
        }
    }
    assert!(settings(&[("LOG_LEVEL", "warn,hexactor=debug,actix_web=info")]).is_ok());
}

#[test]
fn tls_settings_are_checked_at_start_up() {
    let e = settings(&[("RABBITMQ_CA_FILE", "/nonexistent/ca.pem")]).unwrap_err();
    assert_eq!(
        e.variable, "RABBITMQ_CA_FILE",
        "amqp:// with a CA file: {e}"
    );
    let e = settings(&[
        ("RABBITMQ_URL", "amqps://guest:guest@localhost:5671/%2f"),
        ("RABBITMQ_CA_FILE", "/nonexistent/ca.pem"),
    ])
    .unwrap_err();
    assert!(e.to_string().contains("cannot read"), "{e}");
    let e = settings(&[(
        "DATABASE_URL",
        "postgres://x@localhost/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem",
    )])
    .unwrap_err();
    assert_eq!(e.variable, "DATABASE_URL");
    let e = settings(&[("DATABASE_URL", "postgres://x@localhost/db?sslmode=always")]).unwrap_err();
    assert!(e.to_string().contains("sslmode"), "{e}");
    assert!(settings(&[("DATABASE_URL", "postgres://x@localhost/db?sslmode=require")]).is_ok());
}

/// Every variable config reads is in the `--help` table with its real default, and
/// `.env.example` lists exactly those variables with those defaults.
#[test]
fn variables_table_and_env_example_match_what_config_reads() {
    use crate::variables::{SUBCOMMAND_VARIABLES, VARIABLES};
    let read = std::cell::RefCell::new(Vec::new());
    Settings::from_lookup(|k| {
        read.borrow_mut().push(k.to_owned());
        None
    })
    .unwrap();
    let mut read = read.into_inner();
    read.sort();
    read.dedup();
    let by_config = || {
        VARIABLES
            .iter()
            .filter(|v| !SUBCOMMAND_VARIABLES.contains(v))
    };
    let mut table: Vec<String> = by_config().map(|v| v.name.to_string()).collect();
    table.sort();
    assert_eq!(read, table, "config reads vs src/variables.rs");

    let defaults = format!("{:?}", settings(&[]).unwrap());
    for v in VARIABLES.iter().filter(|v| !v.default.is_empty()) {
        let explicit = format!("{:?}", settings(&[(v.name, v.default)]).unwrap());
        assert_eq!(
            explicit, defaults,
            "{}: {:?} is not its default",
            v.name, v.default
        );
    }

    let example = include_str!("../../.env.example");
    let mut listed: Vec<(String, String)> = example
        .lines()
        .filter(|l| !l.trim_start().starts_with('#') && l.contains('='))
        .map(|l| {
            let (k, v) = l.split_once('=').unwrap();
            (k.trim().to_owned(), v.trim().to_owned())
        })
        .collect();
    listed.sort();
    let mut expected: Vec<(String, String)> = by_config()
        .map(|v| (v.name.to_string(), v.default.to_string()))
        .collect();
    expected.sort();
    assert_eq!(listed, expected, ".env.example vs src/variables.rs");
    for v in SUBCOMMAND_VARIABLES {
        let commented = format!("# {}=", v.name);
        assert!(
            example.lines().any(|l| l.trim() == commented),
            ".env.example shows {commented}"
        );
    }
}

#[test]
fn secrets_do_not_print() {
    let s = settings(&[("SECRET_KEY", "super-secret-value-1234567890abcdef")]).unwrap();
    assert!(!format!("{s:?}").contains("super-secret"));
}

#[test]
fn rabbitmq_url_takes_a_cluster_list_and_names_a_bad_entry_without_its_password() {
    let list = "amqp://u:p@rabbit1:5672/%2f,amqp://u:p@rabbit2:5672/%2f";
    assert!(settings(&[("RABBITMQ_URL", list)]).is_ok());
    let e = settings(&[("RABBITMQ_URL", "amqp://a,http://u:hunter2@b")]).unwrap_err();
    assert_eq!(e.variable, "RABBITMQ_URL");
    assert!(!e.to_string().contains("hunter2"), "{e}");
}
