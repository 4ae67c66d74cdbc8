//! Talking to a test app over HTTP: requests on the public and ops listeners, and the reply with
//! its problem+json check.

use super::TestApp;
use serde_json::Value;

pub struct Reply {
    pub status: u16,
    pub headers: awc::http::header::HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    /// Asserts an RFC 9457 problem document with this status, and returns it.
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(
            self.status,
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(
            self.header("content-type").as_deref(),
            Some("application/problem+json")
        );
        let p = self.json();
        assert_eq!(p["status"], status);
        assert!(
            p["type"].is_string() && p["title"].is_string() && p["detail"].is_string(),
            "{p}"
        );
        p
    }
}

impl TestApp {
    pub async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        self.request_url(method, &format!("{}{}", self.address, path), headers, body)
            .await
    }

    pub async fn request_url(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> Reply {
        let method = awc::http::Method::from_bytes(method.as_bytes()).unwrap();
        let mut req = self.client.request(method, url);
        for (k, v) in headers {
            req = req.insert_header((*k, *v));
        }
        let mut res = match body {
            Some(b) => req.send_body(b).await,
            None => req.send().await,
        }
        .expect("request sent");
        let body = res
            .body()
            .limit(10 * 1024 * 1024)
            .await
            .expect("body read")
            .to_vec();
        Reply {
            status: res.status().as_u16(),
            headers: res.headers().clone(),
            body,
        }
    }

    /// The one place that knows where metrics are served (the ops listener, not the public port).
    pub fn metrics_url(&self) -> String {
        format!("{}/metrics", self.ops_address)
    }

    /// The Prometheus text this process exposes right now.
    pub async fn metrics(&self) -> String {
        let mut res = self
            .client
            .get(self.metrics_url())
            .send()
            .await
            .expect("metrics scraped");
        assert_eq!(res.status().as_u16(), 200, "GET {}", self.metrics_url());
        let body = res.body().limit(10 * 1024 * 1024).await.expect("body");
        String::from_utf8(body.to_vec()).expect("UTF-8 metrics")
    }

    /// A GET on the ops listener.
    pub async fn get_ops(&self, path: &str) -> Reply {
        self.request_url("GET", &format!("{}{path}", self.ops_address), &[], None)
            .await
    }

    pub async fn get(&self, path: &str) -> Reply {
        self.request("GET", path, &[], None).await
    }

    pub async fn post_json(&self, path: &str, body: &Value, headers: &[(&str, &str)]) -> Reply {
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        self.request("POST", path, &all, Some(serde_json::to_vec(body).unwrap()))
            .await
    }

    pub async fn register(&self, body: &Value, headers: &[(&str, &str)]) -> Reply {
        self.post_json("/api/v1/users", body, headers).await
    }

    pub async fn get_as(&self, path: &str, token: &str) -> Reply {
        let bearer = format!("Bearer {token}");
        self.request("GET", path, &[("authorization", &bearer)], None)
            .await
    }

    pub async fn send_as(
        &self,
        method: &str,
        path: &str,
        token: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Reply {
        let bearer = format!("Bearer {token}");
        let mut all = vec![
            ("authorization", bearer.as_str()),
            ("content-type", "application/json"),
        ];
        all.extend_from_slice(headers);
        self.request(
            method,
            path,
            &all,
            body.map(|b| serde_json::to_vec(b).unwrap()),
        )
        .await
    }
}
