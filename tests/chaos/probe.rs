//! Looking at the running system: an AMQP connection to any node, `/ready` and `/metrics`.

use crate::harness::sleep;
use crate::processes::Proc;
use lapin::{Connection, ConnectionProperties};
use serde_json::Value;
use std::time::{Duration, Instant};

/// A connection to whichever node of the private cluster answers first.
pub async fn amqp() -> Connection {
    let deadline = Instant::now() + Duration::from_secs(60);
    let urls = crate::services::rabbitmq_url_list();
    for attempt in 0usize.. {
        match Connection::connect(&urls[attempt % urls.len()], ConnectionProperties::default())
            .await
        {
            Ok(c) => return c,
            Err(e) if Instant::now() > deadline => panic!("AMQP connect: {e}"),
            Err(_) => sleep(Duration::from_millis(100)).await,
        }
    }
    unreachable!()
}

pub async fn get_json(http: &awc::Client, url: &str) -> Option<(u16, Value)> {
    let mut res = http
        .get(url)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?;
    let status = res.status().as_u16();
    let body = res.body().await.ok()?;
    Some((status, serde_json::from_slice(&body).unwrap_or(Value::Null)))
}

pub async fn metric(
    http: &awc::Client,
    proc: &Proc,
    name: &str,
    selectors: &[&str],
) -> Option<f64> {
    // A busy process (draining a backlog) may answer a scrape slowly: try a few times.
    let mut text = None;
    for _ in 0..5 {
        let scraped = async {
            let mut res = http
                .get(proc.url("/metrics"))
                .timeout(Duration::from_secs(10))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let body = res
                .body()
                .limit(16 * 1024 * 1024)
                .await
                .map_err(|e| e.to_string())?;
            Ok::<_, String>(String::from_utf8_lossy(&body).into_owned())
        };
        match scraped.await {
            Ok(t) => {
                text = Some(t);
                break;
            }
            Err(e) => {
                eprintln!("scraping {} failed: {e}", proc.name);
                sleep(Duration::from_millis(200)).await;
            }
        }
    }
    let mut found = None;
    for line in text?.lines() {
        if line.starts_with('#') {
            continue;
        }
        let Some((series, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let metric_name = series.split('{').next().unwrap_or(series);
        if metric_name == name
            && selectors.iter().all(|s| series.contains(s))
            && let Ok(v) = value.parse::<f64>()
        {
            *found.get_or_insert(0.0) += v;
        }
    }
    found
}
