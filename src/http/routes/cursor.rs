//! The opaque cursor of the user list: the last item's `(created_at, id)`, base64url-encoded.

use crate::http::dto::UserResponse;
use crate::http::problem::ApiError;
use base64::Engine as _;
use uuid::Uuid;

pub fn encode_cursor(u: &UserResponse) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!(
        "{}|{}",
        u.created_at.to_rfc3339(),
        u.id
    ))
}

pub fn decode_cursor(raw: &str) -> Result<(chrono::DateTime<chrono::Utc>, Uuid), ApiError> {
    let bad = || ApiError::BadRequest("the cursor is not one this API issued".into());
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(raw)
        .map_err(|_| bad())?;
    let text = String::from_utf8(bytes).map_err(|_| bad())?;
    let (at, id) = text.split_once('|').ok_or_else(bad)?;
    let at = chrono::DateTime::parse_from_rfc3339(at)
        .map_err(|_| bad())?
        .with_timezone(&chrono::Utc);
    Ok((at, Uuid::parse_str(id).map_err(|_| bad())?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_decodes_to_the_item_it_was_made_from_and_garbage_is_a_bad_request() {
        let at = chrono::DateTime::parse_from_rfc3339("2026-11-30T12:34:56.789Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        let id = Uuid::now_v7();
        let item = UserResponse {
            id: id.to_string(),
            email: "a@example.com".into(),
            username: "someone".into(),
            role: "user".into(),
            first_name: "A".into(),
            last_name: "B".into(),
            full_name: "A B".into(),
            is_active: true,
            email_verified: false,
            created_at: at,
            updated_at: at,
        };
        assert_eq!(decode_cursor(&encode_cursor(&item)).unwrap(), (at, id));
        assert!(matches!(
            decode_cursor("not a cursor"),
            Err(ApiError::BadRequest(_))
        ));
    }
}
