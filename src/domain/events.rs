use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::user::{User, UserId};

/// Declares the events, each once: its variant and fields (the first one names the subject, the
/// entity the event is about), its routing key on the events exchange, its public type name for
/// outside subscribers (`None`: internal only, e.g. a request for the mail sender) and its schema
/// version. Every variant also gets `event_id` (consumers de-duplicate by it) and `occurred_at`.
/// The accessors, [`EventKind`] and [`DomainEvent::KINDS`] derive from the table.
macro_rules! events {
    ($(
        $(#[$doc:meta])*
        $kind:ident {
            $(#[$subject_doc:meta])* $subject:ident: $subject_ty:ty
            $(, $(#[$field_doc:meta])* $field:ident: $ty:ty)* $(,)?
        } => $key:literal, $public:expr, v $version:literal;
    )+) => {
        /// Facts published to other services.
        ///
        /// This is a public wire contract: fields are plain strings rather than domain newtypes so
        /// that tightening a validation rule later can never make an already-published event
        /// undeserialisable. Add variants or optional fields freely; renaming or removing one
        /// breaks consumers (bump the version instead).
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(tag = "type")]
        pub enum DomainEvent {
            $($(#[$doc])* $kind {
                event_id: Uuid,
                $(#[$subject_doc])* $subject: $subject_ty,
                occurred_at: DateTime<Utc>,
                $($(#[$field_doc])* $field: $ty,)*
            },)+
        }

        /// The event types by name, for consumers that bind to or decode some of them.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum EventKind {
            $($kind,)+
        }

        impl EventKind {
            pub fn declaration(self) -> &'static EventDeclaration {
                match self {
                    $(Self::$kind => &EventDeclaration {
                        kind: stringify!($kind),
                        routing_key: $key,
                        public_type: $public,
                        schema_version: $version,
                    },)+
                }
            }
        }

        impl DomainEvent {
            /// Every declared event type, in table order.
            pub const KINDS: &'static [EventKind] = &[$(EventKind::$kind,)+];

            pub fn kind(&self) -> EventKind {
                match self {
                    $(Self::$kind { .. } => EventKind::$kind,)+
                }
            }

            pub fn declaration(&self) -> &'static EventDeclaration {
                self.kind().declaration()
            }

            pub fn event_id(&self) -> Uuid {
                match self {
                    $(Self::$kind { event_id, .. } => *event_id,)+
                }
            }

            /// The id of the entity the event is about.
            pub fn subject(&self) -> Uuid {
                match self {
                    $(Self::$kind { $subject, .. } => Uuid::from(*$subject),)+
                }
            }

            pub fn occurred_at(&self) -> DateTime<Utc> {
                match self {
                    $(Self::$kind { occurred_at, .. } => *occurred_at,)+
                }
            }
        }
    };
}

/// One event type, as its table line states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventDeclaration {
    /// The `"type"` tag on the wire (the variant's name).
    pub kind: &'static str,
    /// Topic-exchange key; consumers bind to these (or `users.user.*`).
    pub routing_key: &'static str,
    /// The name outside subscribers see (`user.created`); `None` for internal events.
    pub public_type: Option<&'static str>,
    pub schema_version: u32,
}

events! {
    UserCreated { user_id: UserId, email: String, username: String }
        => "users.user.created", Some("user.created"), v 1;
    UserUpdated {
        user_id: UserId,
        /// Names of the fields that changed, e.g. `["username"]`.
        changed: Vec<String>,
    } => "users.user.updated", Some("user.updated"), v 1;
    UserDeactivated { user_id: UserId } => "users.user.deactivated", Some("user.deactivated"), v 1;
    UserRoleChanged {
        user_id: UserId,
        /// `"user"` or `"admin"`.
        role: String,
        previous_role: String,
    } => "users.user.role-changed", Some("user.role_changed"), v 1;
    /// A password reset was asked for an active account. `request_id` names the one-time token;
    /// the token itself is never in an event (the mail sender derives it from the id).
    PasswordResetRequested {
        user_id: UserId,
        request_id: Uuid,
        email: String,
        username: String,
        expires_at: DateTime<Utc>,
    } => "users.user.password-reset-requested", None, v 1;
    PasswordReset { user_id: UserId } => "users.user.password-reset", Some("user.password_reset"), v 1;
    /// The address must be proved: at registration, and on request. Same rule as above for the token.
    EmailVerificationRequested {
        user_id: UserId,
        request_id: Uuid,
        email: String,
        username: String,
        expires_at: DateTime<Utc>,
    } => "users.user.email-verification-requested", None, v 1;
    EmailVerified { user_id: UserId } => "users.user.email-verified", Some("user.email_verified"), v 1;
    /// An email change was asked for. `revert_request_id` names the token mailed to the old
    /// address (a notice with an undo link); `confirm_request_id` the one mailed to the new
    /// address, and both it and `new_email` are `None` when another account has that address
    /// (nothing is sent there). Same rule as above for the tokens.
    EmailChangeRequested {
        user_id: UserId,
        username: String,
        old_email: String,
        new_email: Option<String>,
        confirm_request_id: Option<Uuid>,
        confirm_expires_at: Option<DateTime<Utc>>,
        revert_request_id: Uuid,
        revert_expires_at: DateTime<Utc>,
    } => "users.user.email-change-requested", None, v 1;
    /// The new address was proved; it is the account's address (and verified) from now on.
    UserEmailChanged { user_id: UserId, old_email: String, new_email: String }
        => "users.user.email-changed", Some("user.email_changed"), v 1;
    /// The owner of the old address undid a change (or a pending request): `email` is the
    /// address restored, `reverted_email` the one it replaces; every session ended.
    UserEmailChangeReverted { user_id: UserId, email: String, reverted_email: String }
        => "users.user.email-change-reverted", Some("user.email_change_reverted"), v 1;
    /// An OAuth client was registered (its secret is never in an event).
    OAuthClientRegistered { client_id: Uuid, name: String }
        => "users.oauth2-client.registered", Some("oauth2_client.registered"), v 1;
    OAuthClientUpdated {
        client_id: Uuid,
        /// Names of the registration fields that changed.
        changed: Vec<String>,
    } => "users.oauth2-client.updated", Some("oauth2_client.updated"), v 1;
    /// Deleted: its grants are revoked, its tokens stop working.
    OAuthClientDeleted { client_id: Uuid }
        => "users.oauth2-client.deleted", Some("oauth2_client.deleted"), v 1;
    OAuthClientSecretRotated { client_id: Uuid }
        => "users.oauth2-client.secret-rotated", Some("oauth2_client.secret_rotated"), v 1;
}

impl DomainEvent {
    /// Timestamped with the user's creation time, not "now", so a retried
    /// publish still describes when the fact happened.
    pub fn user_created(user: &User) -> Self {
        Self::UserCreated {
            event_id: Uuid::now_v7(),
            user_id: user.id,
            email: user.email.as_str().to_owned(),
            username: user.username.as_str().to_owned(),
            occurred_at: user.created_at,
        }
    }

    pub fn user_updated(user_id: UserId, changed: Vec<String>, occurred_at: DateTime<Utc>) -> Self {
        Self::UserUpdated {
            event_id: Uuid::now_v7(),
            user_id,
            occurred_at,
            changed,
        }
    }

    pub fn user_deactivated(user_id: UserId, occurred_at: DateTime<Utc>) -> Self {
        Self::UserDeactivated {
            event_id: Uuid::now_v7(),
            user_id,
            occurred_at,
        }
    }

    pub fn user_role_changed(
        user_id: UserId,
        previous: super::user::Role,
        role: super::user::Role,
        occurred_at: DateTime<Utc>,
    ) -> Self {
        Self::UserRoleChanged {
            event_id: Uuid::now_v7(),
            user_id,
            occurred_at,
            role: role.as_str().to_owned(),
            previous_role: previous.as_str().to_owned(),
        }
    }

    pub fn routing_key(&self) -> &'static str {
        self.declaration().routing_key
    }

    /// Same string as the serialised `"type"` tag.
    pub fn event_type(&self) -> &'static str {
        self.declaration().kind
    }

    pub fn schema_version(&self) -> u32 {
        self.declaration().schema_version
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, PersonName, Role, Username};

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap()
    }

    fn user() -> User {
        User {
            id: UserId::parse_str("0190f5c2-6f1a-7b3c-8d4e-5f6a7b8c9d0e").unwrap(),
            email: Email::parse("ada@example.com").unwrap(),
            username: Username::parse("Ada").unwrap(),
            first_name: PersonName::parse("first_name", "Ada").unwrap(),
            last_name: PersonName::parse("last_name", "Lovelace").unwrap(),
            role: Role::User,
            is_active: true,
            email_verified: false,
            created_at: at(1_700_000_000),
            updated_at: at(1_700_000_500),
            version: 1,
        }
    }

    fn all_events() -> [DomainEvent; 3] {
        let id = user().id;
        [
            DomainEvent::user_created(&user()),
            DomainEvent::user_updated(id, vec!["email".to_owned()], at(1_700_000_100)),
            DomainEvent::user_deactivated(id, at(1_700_000_200)),
        ]
    }

    #[test]
    fn user_created_copies_the_user() {
        let user = user();
        let event = DomainEvent::user_created(&user);
        let DomainEvent::UserCreated {
            event_id,
            user_id,
            email,
            username,
            occurred_at,
        } = &event
        else {
            panic!("expected UserCreated, got {event:?}");
        };
        assert_eq!(*user_id, user.id);
        assert_eq!(email, "ada@example.com");
        assert_eq!(username, "Ada");
        assert_eq!(*occurred_at, user.created_at);
        assert_eq!(event.event_id(), *event_id);
        assert_eq!(event_id.get_version_num(), 7);
    }

    #[test]
    fn each_event_gets_a_fresh_id() {
        let user = user();
        assert_ne!(
            DomainEvent::user_created(&user).event_id(),
            DomainEvent::user_created(&user).event_id()
        );
    }

    #[test]
    fn user_created_json_round_trip() {
        let event = DomainEvent::user_created(&user());
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "UserCreated");
        assert_eq!(json["user_id"], "0190f5c2-6f1a-7b3c-8d4e-5f6a7b8c9d0e");
        assert_eq!(json["email"], "ada@example.com");
        assert_eq!(json["username"], "Ada");
        assert_eq!(json["occurred_at"], "2023-11-14T22:13:20Z");
        assert_eq!(json["event_id"], event.event_id().to_string());
        let text = serde_json::to_string(&event).unwrap();
        assert!(text.contains("\"type\":\"UserCreated\""), "{text}");
        let back: DomainEvent = serde_json::from_str(&text).unwrap();
        assert_eq!(back, event);
    }

    #[test]
    fn every_variant_round_trips_with_its_type_tag() {
        for event in all_events() {
            let json = serde_json::to_value(&event).unwrap();
            assert_eq!(json["type"], event.event_type());
            let back: DomainEvent = serde_json::from_value(json).unwrap();
            assert_eq!(back, event);
        }
    }

    #[test]
    fn routing_keys_and_types() {
        let [created, updated, deactivated] = all_events();
        assert_eq!(created.routing_key(), "users.user.created");
        assert_eq!(created.event_type(), "UserCreated");
        assert_eq!(updated.routing_key(), "users.user.updated");
        assert_eq!(updated.event_type(), "UserUpdated");
        assert_eq!(deactivated.routing_key(), "users.user.deactivated");
        assert_eq!(deactivated.event_type(), "UserDeactivated");
    }

    #[test]
    fn common_accessors() {
        let [_, updated, deactivated] = all_events();
        assert_eq!(updated.subject(), user().id.as_uuid());
        assert_eq!(updated.occurred_at(), at(1_700_000_100));
        assert_eq!(deactivated.occurred_at(), at(1_700_000_200));
        let json = serde_json::to_value(&updated).unwrap();
        assert_eq!(json["changed"], serde_json::json!(["email"]));
    }

    #[test]
    fn role_changed_round_trips() {
        let event =
            DomainEvent::user_role_changed(user().id, Role::User, Role::Admin, at(1_700_000_300));
        assert_eq!(event.routing_key(), "users.user.role-changed");
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["type"], "UserRoleChanged");
        assert_eq!(json["role"], "admin");
        assert_eq!(json["previous_role"], "user");
        assert_eq!(serde_json::from_value::<DomainEvent>(json).unwrap(), event);
    }

    #[test]
    fn unknown_type_is_rejected() {
        let json = serde_json::json!({"type": "UserExploded", "event_id": Uuid::nil()});
        assert!(serde_json::from_value::<DomainEvent>(json).is_err());
    }
}
