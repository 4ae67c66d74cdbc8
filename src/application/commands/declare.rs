//! How a command is declared: one line of the table in `commands/mod.rs` states its kind (the
//! variant), its payload type, its routing key, the model's operation label and its schema
//! version. Everything that lists commands derives from that line: the `Command` enum and its
//! serde tag, [`CommandType`] for the payload, the worker's dispatch ([`Command::apply_with`]),
//! the metric labels, the schema-version check and the OpenAPI enum of command types. The
//! statements that apply a command are the one thing written elsewhere (by the adapter that owns
//! its tables), and [`Applies`] makes a missing one a compile error at the dispatch.

use serde::Serialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

/// What a command's payload type declares about itself (generated from its table line).
pub trait CommandType: Serialize + DeserializeOwned + Send + 'static {
    const DECLARATION: Declaration;

    fn command_id(&self) -> Uuid;
}

/// An adapter that can apply commands of type `C` (its statements). The worker's dispatch
/// requires `Applies<C>` for every declared `C`, with one `Output` for all of them.
pub trait Applies<C> {
    type Output;
    fn apply(self, command: C) -> Self::Output;
}

/// One command type, as its table line states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Declaration {
    /// The `type` tag on the wire, the `commands.type` column and the `type` metric label.
    pub kind: &'static str,
    /// Its routing key on the commands exchange.
    pub routing_key: &'static str,
    /// The model service's `user_operations_total{operation}` label.
    pub operation: &'static str,
    /// Bumped when the payload's shape changes incompatibly; workers dead-letter versions they
    /// do not speak, so a new version is deployed to the workers first.
    pub schema_version: u32,
}

/// The table: `Kind(PayloadType) => "routing.key", "operation", version;` per command. Every
/// payload type has a `command_id: Uuid` field.
macro_rules! commands {
    ($($(#[$doc:meta])* $kind:ident($payload:ty) => $key:literal, $operation:literal, v $version:literal;)+) => {
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
        #[serde(tag = "type")]
        pub enum Command {
            $($(#[$doc])* $kind($payload),)+
        }

        $(
            impl $crate::application::commands::declare::CommandType for $payload {
                const DECLARATION: $crate::application::commands::declare::Declaration =
                    $crate::application::commands::declare::Declaration {
                        kind: stringify!($kind),
                        routing_key: $key,
                        operation: $operation,
                        schema_version: $version,
                    };

                fn command_id(&self) -> uuid::Uuid {
                    self.command_id
                }
            }

            impl From<$payload> for Command {
                fn from(payload: $payload) -> Self {
                    Command::$kind(payload)
                }
            }
        )+

        impl Command {
            /// Every declared command type, in table order.
            pub const DECLARED: &'static [$crate::application::commands::declare::Declaration] = &[
                $(<$payload as $crate::application::commands::declare::CommandType>::DECLARATION,)+
            ];

            pub fn declaration(&self) -> &'static $crate::application::commands::declare::Declaration {
                match self {
                    $(Command::$kind(_) => {
                        &<$payload as $crate::application::commands::declare::CommandType>::DECLARATION
                    })+
                }
            }

            pub fn id(&self) -> uuid::Uuid {
                match self {
                    $(Command::$kind(c) => c.command_id,)+
                }
            }

            /// Hands the payload to the adapter's statements for its type.
            pub fn apply_with<A, O>(self, adapter: A) -> O
            where
                $(A: $crate::application::commands::declare::Applies<$payload, Output = O>,)+
            {
                match self {
                    $(Command::$kind(c) => {
                        $crate::application::commands::declare::Applies::<$payload>::apply(adapter, c)
                    })+
                }
            }
        }
    };
}

pub(crate) use commands;

impl super::Command {
    pub fn kind(&self) -> &'static str {
        self.declaration().kind
    }

    pub fn routing_key(&self) -> &'static str {
        self.declaration().routing_key
    }

    pub fn operation(&self) -> &'static str {
        self.declaration().operation
    }

    pub fn schema_version(&self) -> u32 {
        self.declaration().schema_version
    }

    /// The declaration of the command type named `kind` (the wire's `type` tag).
    pub fn declared(kind: &str) -> Option<&'static Declaration> {
        Self::DECLARED.iter().find(|d| d.kind == kind)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Command;
    use std::collections::HashSet;

    #[test]
    fn kinds_routing_keys_and_operation_labels_are_each_unique() {
        for field in [
            |d: &super::Declaration| d.kind,
            |d: &super::Declaration| d.routing_key,
            |d: &super::Declaration| d.operation,
        ] {
            let values: HashSet<_> = Command::DECLARED.iter().map(field).collect();
            assert_eq!(values.len(), Command::DECLARED.len());
        }
        assert!(Command::DECLARED.iter().all(|d| d.schema_version >= 1));
    }
}
