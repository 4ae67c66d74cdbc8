//! The people in a test: a registered user, an admin, their passwords, logging in.

use super::TestApp;
use serde_json::{Value, json};

impl TestApp {
    /// Logs in; returns the whole token response.
    pub async fn login(&self, email: &str, password: &str) -> Value {
        let res = self
            .post_json(
                "/api/v1/auth/login",
                &json!({ "email": email, "password": password }),
                &[],
            )
            .await;
        assert_eq!(
            res.status,
            200,
            "login failed: {}",
            String::from_utf8_lossy(&res.body)
        );
        res.json()
    }

    /// Registers `user_body(n)` and logs in as that user; returns (user, access token).
    pub async fn user(&self, n: &str) -> (Value, String) {
        let body = user_body(n);
        let res = self.register(&body, &[]).await;
        assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
        let tokens = self
            .login(
                body["email"].as_str().unwrap(),
                body["password"].as_str().unwrap(),
            )
            .await;
        (
            res.json(),
            tokens["access_token"].as_str().unwrap().to_owned(),
        )
    }

    /// Creates an admin through the same code the `hexactor admin create` CLI runs; returns a token.
    pub async fn admin(&self) -> String {
        hexactor::infrastructure::postgres::bootstrap::create_admin(
            &self.pool,
            "root@example.com",
            "root_admin",
            ADMIN_PASSWORD.into(),
            &hexactor::domain::PasswordHashing::Bcrypt { cost: 4 },
        )
        .await
        .expect("admin created");
        self.login("root@example.com", ADMIN_PASSWORD).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }
}

pub const PASSWORD: &str = "correct horse battery staple";
pub const ADMIN_PASSWORD: &str = "an admin's long passphrase 42";

pub fn user_body(n: &str) -> Value {
    crate::support::registration(&format!("user{n}"), &format!("user_{n}"))
}

/// `user_body(n)` with another password.
pub fn user_body_with(n: &str, password: &str) -> Value {
    let mut body = user_body(n);
    body["password"] = serde_json::json!(password);
    body
}
