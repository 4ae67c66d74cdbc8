//! The HTTP listeners: the public one (API, /health, /ready) and the ops one.

use super::ProcessRole;
use crate::config::Settings;
use crate::http::{self, ApiState, OpsState};
use actix_web::dev::Server;
use actix_web::{App, HttpServer, middleware::from_fn, web};
use std::net::TcpListener;

pub(super) struct Listeners {
    /// The public port; for a worker, which has no public listener, its ops port.
    pub port: u16,
    pub ops_port: u16,
    pub public: Option<Server>,
    pub ops: Server,
}

/// Binds and starts both listeners (only the ops one without `api`); `workers` threads serve
/// the public one.
pub(super) fn start(
    settings: &Settings,
    role: ProcessRole,
    api: Option<ApiState>,
    ops_state: OpsState,
    workers: usize,
) -> anyhow::Result<Listeners> {
    // Two listeners: the public one (API, /health, /ready) and the ops one (/metrics,
    // /debug/*, and /health, /ready again), bound to OPS_HOST so that the actor tree and
    // the metrics are not on the internet. A worker has only the ops listener, on WORKER_PORT.
    let origins = settings.http.allowed_origins.clone();
    let trusted_proxies = web::Data::new(settings.http.trusted_proxies.clone());
    let shared_rate = api
        .as_ref()
        .filter(|_| settings.http.rate_limit_shared)
        .map(|state| state.rate_limits.clone());
    let rate_limit = http::rate_limit::RateLimit::new(
        settings.http.rate_limit_per_minute,
        settings.http.rate_limit_burst,
        shared_rate,
    )
    .map(web::Data::new);
    let pages = settings
        .ui
        .enabled
        .then(|| crate::pages::PageConfig::new(settings));
    let public = match api {
        Some(api_state) => {
            let listener = TcpListener::bind((settings.http.host.as_str(), settings.http.port))?;
            let port = listener.local_addr()?.port();
            let ops_state = ops_state.clone();
            let server = HttpServer::new(move || {
                let (api_state, ops_state) = (api_state.clone(), ops_state.clone());
                let pages = pages.clone();
                let mut app = App::new().app_data(trusted_proxies.clone());
                if let Some(limit) = &rate_limit {
                    app = app.app_data(limit.clone());
                }
                // Innermost: CORS answers preflights before they count against a client.
                app.wrap(from_fn(http::rate_limit::limit))
                    // CORS stays off (no Access-Control-* headers at all) unless ALLOWED_ORIGINS lists origins.
                    .wrap(actix_web::middleware::Condition::new(
                        !origins.is_empty(),
                        http::cors(&origins),
                    ))
                    // Errors to a browser become pages (a no-op when the pages are off).
                    .wrap(from_fn(crate::pages::render::browser_errors))
                    .wrap(from_fn(http::middleware::observe))
                    .configure(move |cfg| {
                        http::routes::configure_api(cfg, api_state);
                        http::routes::configure_probes(cfg, ops_state);
                        if let Some(pages) = pages {
                            crate::pages::configure(cfg, pages);
                            crate::oauth2::configure(cfg);
                        }
                    })
                    .default_service(web::to(http::routes::not_found))
            });
            let server = server
                .workers(workers)
                .disable_signals()
                .shutdown_timeout(settings.runtime.shutdown_timeout.as_secs())
                .listen(listener)?
                .run();
            Some((port, server))
        }
        None => None,
    };
    let ops_port = if role == ProcessRole::Worker {
        settings.http.worker_port
    } else {
        settings.http.ops_port
    };
    let ops_listener = TcpListener::bind((settings.http.ops_host.as_str(), ops_port))?;
    let ops_port = ops_listener.local_addr()?.port();
    let ops_server = HttpServer::new(move || {
        let ops_state = ops_state.clone();
        App::new()
            .wrap(from_fn(http::middleware::observe))
            .configure(move |cfg| http::routes::configure_ops(cfg, ops_state))
            .default_service(web::to(http::routes::not_found))
    });
    let ops = ops_server
        // Scrapes and probes are light: one thread is plenty.
        .workers(1)
        .disable_signals()
        .shutdown_timeout(settings.runtime.shutdown_timeout.as_secs())
        .listen(ops_listener)?
        .run();
    let (port, public) = match public {
        Some((port, server)) => (port, Some(server)),
        None => (ops_port, None),
    };
    Ok(Listeners {
        port,
        ops_port,
        public,
        ops,
    })
}
