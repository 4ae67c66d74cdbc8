//! Baseline for `make bench`: the same user read as `GET /api/v1/users/{id}`, written as a bare
//! actix-web + sqlx handler (no actors, no auth). The bench reports hexactor's authenticated read
//! through its actors as a ratio of this.

use actix_web::{App, HttpResponse, HttpServer, web};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

type Row = (
    Uuid,
    String,
    String,
    String,
    String,
    bool,
    DateTime<Utc>,
    DateTime<Utc>,
);

async fn get_user(pool: web::Data<PgPool>, id: web::Path<Uuid>) -> HttpResponse {
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, email, username, first_name, last_name, is_active, created_at, updated_at FROM users WHERE id = $1",
    )
    .bind(*id)
    .fetch_optional(pool.get_ref())
    .await
    .unwrap_or(None);
    match row {
        Some((id, email, username, first_name, last_name, is_active, created_at, updated_at)) => {
            HttpResponse::Ok().json(serde_json::json!({
                "id": id, "email": email, "username": username, "first_name": first_name,
                "last_name": last_name, "full_name": format!("{first_name} {last_name}"),
                "is_active": is_active, "created_at": created_at, "updated_at": updated_at,
            }))
        }
        None => HttpResponse::NotFound().finish(),
    }
}

#[actix_web::main]
async fn main() -> std::io::Result<()> {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let port: u16 = std::env::var("PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(8090);
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(20)
        .connect(&url)
        .await
        .expect("database");
    let pool = web::Data::new(pool);
    HttpServer::new(move || {
        App::new()
            .app_data(pool.clone())
            .route("/api/v1/users/{id}", web::get().to(get_user))
    })
    .bind(("127.0.0.1", port))?
    .run()
    .await
}
