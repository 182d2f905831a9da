//! Reading a create request's flag values by type. Apart from `types.rs`, so that the wire
//! types need nothing of the error type and `error.rs` can name an [`Operation`] without a
//! circle between the two modules.
//!
//! [`Operation`]: crate::Operation

use crate::error::DriverError;
use crate::types::CreateRequest;

impl CreateRequest {
    /// A string flag, `None` when absent; a value of another type is an error.
    pub fn string_flag(&self, driver: &str, name: &str) -> Result<Option<String>, DriverError> {
        match self.flags.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(wrong_type(driver, name, "a string", other)),
        }
    }

    /// An integer flag, `None` when absent; strings holding a number are accepted
    /// because a shell user types them as text.
    pub fn int_flag(&self, driver: &str, name: &str) -> Result<Option<i64>, DriverError> {
        match self.flags.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| wrong_type(driver, name, "a whole number", &self.flags[name])),
            Some(serde_json::Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| wrong_type(driver, name, "a whole number", &self.flags[name])),
            Some(other) => Err(wrong_type(driver, name, "a whole number", other)),
        }
    }

    /// A boolean flag, `None` when absent.
    pub fn bool_flag(&self, driver: &str, name: &str) -> Result<Option<bool>, DriverError> {
        match self.flags.get(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::Bool(b)) => Ok(Some(*b)),
            Some(serde_json::Value::String(s)) if s == "true" || s == "false" => {
                Ok(Some(s == "true"))
            }
            Some(other) => Err(wrong_type(driver, name, "true or false", other)),
        }
    }

    /// A repeatable string flag, empty when absent; a single string counts as a
    /// list of one.
    pub fn string_list_flag(&self, driver: &str, name: &str) -> Result<Vec<String>, DriverError> {
        match self.flags.get(name) {
            None | Some(serde_json::Value::Null) => Ok(Vec::new()),
            Some(serde_json::Value::String(s)) => Ok(vec![s.clone()]),
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => Ok(s.clone()),
                    other => Err(wrong_type(driver, name, "a list of strings", other)),
                })
                .collect(),
            Some(other) => Err(wrong_type(driver, name, "a list of strings", other)),
        }
    }
}

fn wrong_type(driver: &str, flag: &str, expected: &str, got: &serde_json::Value) -> DriverError {
    DriverError::InvalidFlag {
        driver: driver.to_owned(),
        flag: flag.to_owned(),
        reason: format!("expected {expected}, got {got}"),
    }
}
