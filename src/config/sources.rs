//! Where configuration values come from: the process environment, then `./.env`.

use super::ConfigError;

/// Where variables come from: the process environment wins, then the `.env` file.
#[derive(Debug, Default)]
pub struct Vars {
    dotenv: std::collections::HashMap<String, String>,
}

impl Vars {
    /// Reads `path` if it exists (a missing file is not an error; a malformed one is).
    pub fn load(path: &std::path::Path) -> Result<Self, ConfigError> {
        let iter = match dotenvy::from_path_iter(path) {
            Ok(iter) => iter,
            Err(dotenvy::Error::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Self::default());
            }
            Err(e) => return Err(dotenv_error(e)),
        };
        let dotenv = iter.collect::<Result<_, _>>().map_err(dotenv_error)?;
        Ok(Self { dotenv })
    }

    pub fn get(&self, name: &str) -> Option<String> {
        std::env::var(name)
            .ok()
            .or_else(|| self.dotenv.get(name).cloned())
    }
}

fn dotenv_error(e: dotenvy::Error) -> ConfigError {
    ConfigError {
        variable: ".env",
        message: e.to_string(),
    }
}
