//! Logging an error with everything that caused it: `tracing::warn!(error = %ErrorChain(&e), ..)`
//! prints "what failed: why: why that", so the typed errors of the runtime keep their causes in
//! the log without flattening them into strings where they are made.

use std::error::Error;
use std::fmt;

pub struct ErrorChain<'a>(pub &'a (dyn Error + 'static));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = self.0.to_string();
        let mut source = self.0.source();
        while let Some(cause) = source {
            let text = cause.to_string();
            // Some errors (`PublishError::Amqp`, sqlx's) already print their source: not twice.
            if !line.contains(&text) {
                line.push_str(": ");
                line.push_str(&text);
            }
            source = cause.source();
        }
        f.write_str(&line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("could not subscribe")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("channel closed: {0}")]
    struct Middle(#[source] std::io::Error);

    #[test]
    fn prints_every_cause_once() {
        let error = Outer(Middle(std::io::Error::other("reset by peer")));
        assert_eq!(
            ErrorChain(&error).to_string(),
            "could not subscribe: channel closed: reset by peer"
        );
    }
}
