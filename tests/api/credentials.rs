//! Password hashing and normalisation end to end: the minimum in characters, composed and
//! decomposed Unicode as one password, bcrypt hashes re-made as Argon2id at login, long
//! passphrases, hashes made before normalisation, and one test at OWASP's Argon2id defaults.

use crate::helpers::*;
use hexactor::application::ports::Verified;
use hexactor::domain::{Password, PasswordHash, PasswordHashing};
use hexactor::infrastructure::password_hashing;
use hexactor::startup::ProcessRole;
use serde_json::json;
use std::time::Duration;

async fn stored_hash(app: &TestApp, email: &str) -> String {
    let (hash,): (String,) = sqlx::query_as("SELECT password_hash FROM users WHERE email = $1")
        .bind(email)
        .fetch_one(&app.pool)
        .await
        .unwrap();
    hash
}

fn verifies(password: &str, hash: &str) -> Verified {
    password_hashing::verify(
        &Password::presented(password.to_owned()).unwrap(),
        &PasswordHash::new(hash.to_owned()),
    )
}

#[actix_web::test]
async fn seven_multibyte_characters_are_too_short_and_eight_are_enough() {
    let app = spawn_app().await;
    let seven = "Ω9λ#π÷Ê";
    assert_eq!((seven.chars().count(), seven.len()), (7, 12));
    let p = app
        .register(&user_body_with("1", seven), &[])
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["field"], "password");
    assert_eq!(p["errors"][0]["code"], "too_short");
    assert_eq!(app.count("SELECT count(*) FROM commands").await, 0);
    let res = app.register(&user_body_with("1", "Ω9λ#π÷Êж"), &[]).await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
}

#[actix_web::test]
async fn a_password_typed_composed_or_decomposed_is_the_same_password() {
    let app = spawn_app().await;
    let composed = "cr\u{e8}me br\u{fb}l\u{e9}e \u{e0} volont\u{e9}";
    let decomposed = "cre\u{300}me bru\u{302}le\u{301}e a\u{300} volonte\u{301}";
    assert_ne!(composed, decomposed);
    for (n, registered, typed) in [("1", composed, decomposed), ("2", decomposed, composed)] {
        let res = app.register(&user_body_with(n, registered), &[]).await;
        assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
        let email = format!("user{n}@example.com");
        app.login(&email, typed).await;
        app.login(&email, registered).await;
        // What is stored is a hash of the normalised (composed) form.
        let hash = stored_hash(&app, &email).await;
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        let wrong = app
            .post_json(
                "/api/v1/auth/login",
                &json!({ "email": email, "password": "creme brulee a volonte" }),
                &[],
            )
            .await;
        assert_eq!(wrong.status, 401, "accents still count");
    }
}

#[actix_web::test]
async fn a_bcrypt_user_logs_in_under_argon2id_and_is_stored_as_argon2id_afterwards() {
    let ns = Namespace::new().await;
    let old = spawn_role(&ns, ProcessRole::All, &[("PASSWORD_HASH", "bcrypt")]).await;
    old.user("1").await;
    let bcrypt = stored_hash(&old, "user1@example.com").await;
    assert!(bcrypt.starts_with("$2b$04$"), "{bcrypt}");
    let new = spawn_role(&ns, ProcessRole::Api, &[]).await;
    new.login("user1@example.com", PASSWORD).await;
    eventually(
        "the bcrypt hash is re-made as Argon2id",
        Duration::from_secs(10),
        async || {
            stored_hash(&new, "user1@example.com")
                .await
                .starts_with("$argon2id$v=19$m=1024,t=1,p=1$")
        },
    )
    .await;
    assert_eq!(
        verifies(PASSWORD, &stored_hash(&new, "user1@example.com").await),
        Verified::Yes
    );
    new.login("user1@example.com", PASSWORD).await;
}

#[actix_web::test]
async fn a_200_byte_passphrase_registers_and_logs_in_and_over_1024_bytes_is_refused() {
    let app = spawn_app().await;
    let passphrase: String = "a long passphrase, the kind people type, with ümlauts and 42 words; "
        .repeat(4)
        .chars()
        .take(197)
        .collect();
    assert_eq!(passphrase.len(), 200, "ü is two bytes");
    let res = app.register(&user_body_with("1", &passphrase), &[]).await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    app.login("user1@example.com", &passphrase).await;
    // bcrypt would have hashed only a prefix: a different tail must not log in.
    let mut other = passphrase.clone();
    other.replace_range(190.., "different!");
    let res = app
        .post_json(
            "/api/v1/auth/login",
            &json!({ "email": "user1@example.com", "password": other }),
            &[],
        )
        .await;
    assert_eq!(res.status, 401);
    let p = app
        .register(&user_body_with("2", &"x".repeat(1025)), &[])
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["code"], "too_long");

    // Under PASSWORD_HASH=bcrypt the cap is what bcrypt hashes whole.
    let bcrypt = spawn_role(
        &Namespace::new().await,
        ProcessRole::All,
        &[("PASSWORD_HASH", "bcrypt")],
    )
    .await;
    let p = bcrypt
        .register(&user_body_with("3", &passphrase), &[])
        .await
        .problem(422);
    assert_eq!(p["errors"][0]["code"], "too_long");
    assert!(
        p["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("bcrypt"),
        "{p}"
    );
}

#[actix_web::test]
async fn a_hash_of_the_password_as_typed_before_normalisation_verifies_and_is_rehashed() {
    let app = spawn_app().await;
    app.user("1").await;
    // A hash made the old way: from the decomposed bytes as typed, not normalised.
    let decomposed = "cafe\u{301} au lait, typed on a Mac";
    let cheap = PasswordHashing::Argon2id(hexactor::domain::Argon2Params {
        memory_kib: 1024,
        iterations: 1,
        parallelism: 1,
    });
    let raw = password_hashing::hash(&cheap, decomposed)
        .unwrap()
        .into_inner();
    sqlx::query("UPDATE users SET password_hash = $1")
        .bind(&raw)
        .execute(&app.pool)
        .await
        .unwrap();
    assert_eq!(verifies(decomposed, &raw), Verified::AsTyped);
    app.login("user1@example.com", decomposed).await;
    eventually(
        "the hash is re-made from the normalised form",
        Duration::from_secs(10),
        async || stored_hash(&app, "user1@example.com").await != raw,
    )
    .await;
    let rehashed = stored_hash(&app, "user1@example.com").await;
    assert_eq!(verifies(decomposed, &rehashed), Verified::Yes);
    assert_eq!(
        verifies("caf\u{e9} au lait, typed on a Mac", &rehashed),
        Verified::Yes
    );
    app.login("user1@example.com", "caf\u{e9} au lait, typed on a Mac")
        .await;
}

/// The one test at OWASP's Argon2id parameters (the harness uses cheaper ones): what production
/// stores, and what a registration and a login cost with it in this build.
#[actix_web::test]
async fn owasp_defaults_are_what_is_stored_and_verify() {
    let ns = Namespace::new().await;
    let app = spawn_role(
        &ns,
        ProcessRole::All,
        &[("ARGON2_MEMORY_KIB", "19456"), ("ARGON2_ITERATIONS", "2")],
    )
    .await;
    let started = std::time::Instant::now();
    app.user("1").await;
    let hash = stored_hash(&app, "user1@example.com").await;
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    let started_hash = std::time::Instant::now();
    assert_eq!(verifies(PASSWORD, &hash), Verified::Yes);
    println!(
        "registration + login at OWASP defaults: {:?}; one verification in the test process: {:?}",
        started.elapsed(),
        started_hash.elapsed()
    );
}
