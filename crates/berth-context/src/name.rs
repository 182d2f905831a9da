//! The docker CLI's rule for context names (docker/cli `cli/context/store`: `restrictedNameChars`).

use crate::ContextError;

/// The context the docker CLI falls back to (DOCKER_HOST or the local socket); reserved.
pub const DEFAULT_CONTEXT: &str = "default";

/// The rule, in the docker CLI's own words.
pub const NAME_RULE: &str = "the docker CLI wants names matching ^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$ (two characters at least), and 'default' is reserved";

/// Checks `name` as `docker context create` does.
pub fn validate_name(name: &str) -> Result<(), ContextError> {
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let mut rest = 0;
    let rest_ok = chars.all(|c| {
        rest += 1;
        c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-')
    });
    if first_ok && rest_ok && rest >= 1 && name != DEFAULT_CONTEXT {
        Ok(())
    } else {
        Err(ContextError::InvalidName {
            name: name.to_owned(),
            rule: NAME_RULE,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_what_docker_accepts() {
        for name in ["web1", "A1", "x_y", "a.b+c-d", "1host"] {
            assert!(validate_name(name).is_ok(), "{name}");
        }
    }

    /// Each of these was refused by `docker context create` 28.2 on this project's machine.
    #[test]
    fn refuses_what_docker_refuses() {
        for name in ["", "a", "-x", "_x", "x y", "default", "a/b", "ü1", ".."] {
            assert!(validate_name(name).is_err(), "{name:?}");
        }
    }
}
