//! The online check: a k-anonymity range API compatible with Have I Been Pwned's. Only the first
//! 5 hex characters of the password's SHA-1 leave the process (`GET {base}/range/{prefix}`); the
//! answer is every known suffix under that prefix (`SUFFIX:COUNT` lines), matched here. With
//! `Add-Padding: true` the server mixes in fake entries with count 0, so that the size of the
//! answer says nothing either; those are not hits.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum RangeError {
    /// awc's error is neither `Send` nor `Sync` (it may hold a boxed one that is not), and an
    /// `InfraError` crosses threads: its text is kept instead.
    #[error("range request: {0}")]
    Request(String),
    #[error("range API address")]
    Address(#[source] crate::infrastructure::outbound::PrivateAddress),
    #[error("range API answered {0}")]
    Status(awc::http::StatusCode),
    #[error("range response body")]
    Body(#[source] awc::error::PayloadError),
}

/// A range answer is about 40 KB padded; anything much larger is not one.
const MAX_BODY: usize = 2 * 1024 * 1024;

/// Is `sha1` (40 uppercase hex) a breached password's hash?
pub async fn contains(
    client: &awc::Client,
    base_url: &str,
    allow_private: bool,
    sha1: &str,
    timeout: Duration,
) -> Result<bool, RangeError> {
    let (prefix, suffix) = sha1.split_at(5);
    let url = format!("{base_url}/range/{prefix}");
    crate::infrastructure::outbound::check_literal_host(&url, allow_private)
        .map_err(RangeError::Address)?;
    let mut response = client
        .get(url)
        .insert_header(("Add-Padding", "true"))
        .insert_header(("User-Agent", "hexactor"))
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| RangeError::Request(e.to_string()))?;
    if !response.status().is_success() {
        return Err(RangeError::Status(response.status()));
    }
    let body = response
        .body()
        .limit(MAX_BODY)
        .await
        .map_err(RangeError::Body)?;
    Ok(is_listed(&String::from_utf8_lossy(&body), suffix))
}

/// Is `suffix` among the `SUFFIX:COUNT` lines with a count above 0?
fn is_listed(body: &str, suffix: &str) -> bool {
    body.lines().any(|line| {
        let (listed, count) = line.trim().split_once(':').unwrap_or((line.trim(), "1"));
        listed.eq_ignore_ascii_case(suffix) && count.trim().parse::<u64>().is_ok_and(|n| n > 0)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_suffix_with_a_count_is_a_hit_and_padding_is_not() {
        let body = "0018A45C4D1DEF81644B54AB7F969B88D65:10\r\n\
                    1E4C9B93F3F0682250B6CF8331B7EE68FD8:9545824\r\n\
                    AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA:0\r\n";
        assert!(is_listed(body, "1E4C9B93F3F0682250B6CF8331B7EE68FD8"));
        assert!(is_listed(body, "1e4c9b93f3f0682250b6cf8331b7ee68fd8"));
        assert!(
            !is_listed(body, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"),
            "padding"
        );
        assert!(!is_listed(body, "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"));
        assert!(!is_listed("", "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"));
    }
}
