//! PostgreSQL helpers for tests: a namespace's database, created and dropped through the
//! server's `postgres` database.

use sqlx::{Connection as _, PgConnection};

async fn admin_connection(base: &str) -> sqlx::Result<PgConnection> {
    PgConnection::connect(&format!("{base}/postgres")).await
}

/// Creates the database `name` on the server at `base` (a URL without a database).
pub async fn create_database(base: &str, name: &str) {
    let mut conn = admin_connection(base).await.expect("connect to postgres");
    sqlx::query(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#)))
        .execute(&mut conn)
        .await
        .expect("create the test database");
}

/// Clean-up: drops the database `name`, connections and all; errors are ignored (a test that
/// leaves one behind is found by `scripts/clean-test-resources.sh`).
pub async fn drop_database(base: &str, name: &str) {
    if let Ok(mut conn) = admin_connection(base).await {
        let _ = sqlx::query(sqlx::AssertSqlSafe(format!(
            r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#
        )))
        .execute(&mut conn)
        .await;
    }
}
