//! Makes the generated OpenAPI document an exact contract: the answers every operation can give
//! because of how it is served (a malformed body, a missing token, a rate limit, a dependency
//! down) and the constraints the domain types enforce, added in one place instead of repeated on
//! every handler annotation. `make contract` (schemathesis) checks the result against the server.

use super::rate_limit;
use crate::application::commands::Command;
use serde_json::{Value, json};

/// The document served at `/api-docs/openapi.json`.
pub fn document(generated: Value) -> Value {
    let mut doc = generated;
    constrain_schemas(&mut doc);
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, operation) in item.iter_mut() {
                if let Some(operation) = operation.as_object_mut() {
                    complete_operation(path, method, operation);
                }
            }
        }
    }
    doc
}

fn problem(description: &str) -> Value {
    json!({
        "description": description,
        "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } }
    })
}

fn complete_operation(path: &str, method: &str, op: &mut serde_json::Map<String, Value>) {
    let has_body = op.contains_key("requestBody");
    let body_schema = op
        .get("requestBody")
        .map(|b| b["content"]["application/json"]["schema"]["$ref"].to_string())
        .unwrap_or_default();
    // Registration, a password change and a reset set a new password: screened against breached
    // passwords when screening is configured.
    let sets_password = [
        "RegisterUserRequest",
        "ChangePasswordRequest",
        "PasswordResetConfirmation",
    ]
    .iter()
    .any(|s| body_schema.contains(s));
    // Registration and profile changes can collide with another account's email or username.
    let may_conflict = ["RegisterUserRequest", "UpdateUserRequest"]
        .iter()
        .any(|s| body_schema.contains(s));
    let secured = op.contains_key("security");
    let params_in = |place: &str| {
        op.get("parameters")
            .and_then(Value::as_array)
            .is_some_and(|ps| ps.iter().any(|p| p["in"] == place))
    };
    let has_path_or_query = params_in("path") || params_in("query");
    if let Some(params) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        for p in params.iter_mut() {
            constrain_parameter(p);
        }
    }
    let responses = op
        .entry("responses")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .expect("responses is an object");
    let mut add = |status: &str, response: Value| {
        responses.entry(status).or_insert(response);
    };
    if has_body {
        add(
            "400",
            problem("Malformed request: the body is not JSON, or a header is malformed"),
        );
        add("413", problem("The body exceeds 64 KiB"));
        add("415", problem("The body must be application/json"));
        add("422", problem("Invalid fields; `errors` lists each one"));
    }
    if may_conflict {
        add("409", problem("The email or username is already taken"));
    }
    if has_path_or_query {
        add("400", problem("A malformed path or query parameter"));
    }
    if secured {
        add("401", problem("Missing, invalid or revoked access token"));
    }
    // OAuth client registration is for admins, each client at its own path.
    if path.starts_with("/api/v1/oauth2/clients") {
        add("403", problem("Admins only"));
        if path.contains("{id}") {
            add("404", problem("No such client"));
        }
    }
    if rate_limit::is_limited(&method.to_ascii_uppercase(), path) {
        add(
            "429",
            problem("Too many requests from this client; see Retry-After"),
        );
    }
    if path.starts_with("/api/") {
        add(
            "503",
            problem("A backing service (PostgreSQL, RabbitMQ) is unavailable; retry later"),
        );
    }
    if sets_password {
        describe_screening(responses);
    }
}

/// The answers of breached-password screening, added to whatever the operation's own 422 and 503
/// say (they are set at the end, once every other answer is in).
fn describe_screening(responses: &mut serde_json::Map<String, Value>) {
    let extra = [
        (
            "422",
            "Invalid fields (`errors` lists each one, type /problems/validation-error), or the new password appears in known data breaches (type /problems/breached-password; `errors` names the field, code `breached`)",
            " Or the new password appears in known data breaches (type /problems/breached-password; `errors` names the field, code `breached`).",
        ),
        (
            "503",
            "A backing service (PostgreSQL, RabbitMQ) is unavailable, or the breached-password check failed and BREACHED_PASSWORDS_ON_ERROR=deny (type /problems/password-screening-unavailable); retry later",
            " Or the breached-password check failed and BREACHED_PASSWORDS_ON_ERROR=deny (type /problems/password-screening-unavailable).",
        ),
    ];
    for (status, fresh, appended) in extra {
        match responses.get_mut(status) {
            Some(response) => {
                let description = response["description"].as_str().unwrap_or_default();
                response["description"] =
                    json!(format!("{description}.{appended}").replace("..", "."));
            }
            None => {
                responses.insert(status.to_owned(), problem(fresh));
            }
        }
    }
}

/// Header and path parameters as the handlers parse them.
fn constrain_parameter(p: &mut Value) {
    let name = p["name"].as_str().unwrap_or_default().to_ascii_lowercase();
    let schema = match (p["in"].as_str(), name.as_str()) {
        (Some("path"), "id") => json!({ "type": "string", "format": "uuid" }),
        // Idempotency-Key: 1 to 255 visible ASCII characters.
        (Some("header"), "idempotency-key") => {
            json!({ "type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$" })
        }
        // RFC 7240: preferences the server does not know are ignored, so any value is valid;
        // `respond-async` and `wait=N` are the ones it honours.
        (Some("header"), "prefer") => json!({
            "type": "string",
            "examples": ["respond-async", "wait=1", "respond-async, wait=0"]
        }),
        (Some("query"), "limit") => json!({ "type": "integer", "minimum": 1, "maximum": 100 }),
        (Some("query"), "offset") => {
            json!({ "type": "integer", "minimum": 0, "maximum": i64::MAX })
        }
        _ => return,
    };
    p["schema"] = schema;
}

/// What the domain value objects accept (src/domain/*), as far as JSON Schema can say it. What it
/// cannot (a guessable or breached password, a password over 1,024 *bytes*, a duplicate) is a 409
/// or 422.
fn constrain_schemas(doc: &mut Value) {
    let email = json!({ "type": "string", "format": "email", "minLength": 3, "maxLength": 254 });
    let username = json!({ "type": "string", "pattern": "^[A-Za-z0-9_]{3,50}$" });
    let name = json!({ "type": "string", "minLength": 1, "maxLength": 100,
        "pattern": "^[^\\x00-\\x1f\\x7f-\\x9f]*[^\\s\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*$" });
    // JSON Schema counts code points, like the domain's minimum (`Password::parse`); the maximum is
    // in bytes, which JSON Schema cannot say: 1,024 code points are at least 1,024 bytes, so
    // anything over maxLength is refused, and a shorter string of over 1,024 bytes is a 422.
    let password = json!({
        "type": "string",
        "minLength": 8,
        "maxLength": 1024,
        "description": "A new password. Normalised to Unicode NFKC before anything else (the strength check, the breached-password check, hashing), so composed and decomposed forms of the same characters are one password. At least 8 characters (Unicode code points), counted as sent and again after normalisation; at most 1,024 bytes of UTF-8, as sent and after normalisation (71 bytes with PASSWORD_HASH=bcrypt, all that bcrypt hashes whole). Refused with 422 when guessable (zxcvbn), when it contains the username or email, and, with screening configured, when it appears in known data breaches (type /problems/breached-password)."
    });
    // A password offered to prove who someone is: only bounded, so that one set under an older
    // policy (shorter, say) still works; anything else is a wrong password (401 or 422).
    let presented = json!({
        "type": "string",
        "minLength": 1,
        "description": "Normalised to Unicode NFKC, then verified (a hash made before normalisation is also tried against the password as sent). Longer than 1,024 bytes never matches."
    });
    let nullable = |v: &Value| {
        let mut v = v.clone();
        v["type"] = json!(["string", "null"]);
        v
    };
    let fields: &[(&str, &str, Value)] = &[
        ("RegisterUserRequest", "email", email.clone()),
        ("RegisterUserRequest", "username", username.clone()),
        ("RegisterUserRequest", "first_name", name.clone()),
        ("RegisterUserRequest", "last_name", name.clone()),
        ("RegisterUserRequest", "password", password.clone()),
        ("UpdateUserRequest", "username", nullable(&username)),
        ("UpdateUserRequest", "first_name", nullable(&name)),
        ("UpdateUserRequest", "last_name", nullable(&name)),
        ("ChangePasswordRequest", "new_password", password.clone()),
        (
            "PasswordResetConfirmation",
            "new_password",
            password.clone(),
        ),
        (
            "ChangePasswordRequest",
            "current_password",
            presented.clone(),
        ),
        ("LoginRequest", "password", presented.clone()),
        (
            "RefreshRequest",
            "refresh_token",
            json!({ "type": "string", "minLength": 1 }),
        ),
    ];
    // A command's `type` is one of the declared command types (their table).
    let kinds: Vec<&str> = Command::DECLARED.iter().map(|d| d.kind).collect();
    let command_type = (
        "CommandResponse",
        "type",
        json!({ "type": "string", "enum": kinds }),
    );
    for (schema, field, constraint) in fields.iter().chain([&command_type]) {
        let property = &mut doc["components"]["schemas"][*schema]["properties"][*field];
        if property.is_object() {
            *property = constraint.clone();
        }
    }
}
