//! The `Prefer` request header (RFC 7240): `respond-async` and `wait=N`.

use actix_web::http::header::HeaderMap;
use std::time::Duration;

/// The longest wait a client may ask for: beyond this a 202 and polling is the better deal.
const MAX_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Prefer {
    pub respond_async: bool,
    pub wait: Option<Duration>,
}

impl Prefer {
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut prefer = Prefer::default();
        for value in headers.get_all("prefer").filter_map(|v| v.to_str().ok()) {
            for token in value
                .split(',')
                .map(|t| t.split(';').next().unwrap_or("").trim())
            {
                if token.eq_ignore_ascii_case("respond-async") {
                    prefer.respond_async = true;
                } else if let Some((k, v)) = token.split_once('=')
                    && k.trim().eq_ignore_ascii_case("wait")
                    && let Ok(seconds) = v.trim().trim_matches('"').parse::<u64>()
                {
                    prefer.wait = Some(Duration::from_secs(seconds).min(MAX_WAIT));
                }
            }
        }
        prefer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn parse(values: &[&str]) -> Prefer {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(
                HeaderName::from_static("prefer"),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        Prefer::from_headers(&h)
    }

    #[test]
    fn parses_respond_async_and_wait() {
        assert_eq!(parse(&[]), Prefer::default());
        assert!(parse(&["respond-async"]).respond_async);
        assert_eq!(parse(&["wait=3"]).wait, Some(Duration::from_secs(3)));
        let both = parse(&["respond-async, wait=10"]);
        assert!(both.respond_async);
        assert_eq!(both.wait, Some(Duration::from_secs(10)));
        assert_eq!(parse(&["wait=9999"]).wait, Some(MAX_WAIT));
        assert_eq!(parse(&["wait=soon"]).wait, None);
    }
}
