//! Checks of a plugin's results beyond their serde shape, each failing with a sentence that
//! names the field, so that a plugin author reading only docs/plugins.md learns which value
//! of theirs berth cannot take (serde alone says "unknown variant `float`" without saying of
//! which flag, and a state of `5` or `"Sleeping"` used to end in a bare `Unknown`).

use serde_json::Value;

use berth_plugin::{FlagKind, FlagSpec, MachineState};

/// The words a flag's `kind` may be.
const KINDS: &[(&str, FlagKind)] = &[
    ("string", FlagKind::String),
    ("int", FlagKind::Int),
    ("bool", FlagKind::Bool),
    ("string_list", FlagKind::StringList),
];

/// The words a state may be.
const STATES: &[MachineState] = &[
    MachineState::Running,
    MachineState::Stopped,
    MachineState::Starting,
    MachineState::Stopping,
    MachineState::Paused,
    MachineState::Error,
    MachineState::NotFound,
    MachineState::Unknown,
];

/// `Driver.CreateFlags`'s result: every flag's `kind` must be one berth parses by.
pub(crate) fn flags(raw: Value) -> Result<Vec<FlagSpec>, String> {
    let Some(list) = raw.get("flags").and_then(Value::as_array) else {
        return Err("`flags` is missing or not an array".to_owned());
    };
    for (i, flag) in list.iter().enumerate() {
        let name = flag
            .get("name")
            .and_then(Value::as_str)
            .map_or_else(|| format!("flags[{i}]"), |n| format!("flag {n:?}"));
        match flag.get("kind") {
            Some(Value::String(kind)) if KINDS.iter().any(|(k, _)| k == kind) => {}
            Some(other) => {
                return Err(format!(
                    "{name} has kind {other}, which berth does not know (kind is one of {})",
                    KINDS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
                ));
            }
            None => return Err(format!("{name} has no `kind`")),
        }
    }
    #[derive(serde::Deserialize)]
    struct Flags {
        flags: Vec<FlagSpec>,
    }
    serde_json::from_value::<Flags>(raw)
        .map(|f| f.flags)
        .map_err(|e| e.to_string())
}

/// `Driver.State`'s result: `state` must be one of the states of docs/plugins.md.
pub(crate) fn state(raw: &Value) -> Result<MachineState, String> {
    let known = || {
        STATES
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match raw.get("state") {
        None => Err("missing field `state`".to_owned()),
        Some(Value::String(s)) => {
            STATES
                .iter()
                .copied()
                .find(|k| k.as_str() == s)
                .ok_or_else(|| {
                    format!(
                        "`state` is {s:?}, which is not a state berth knows (one of {})",
                        known()
                    )
                })
        }
        Some(other) => Err(format!(
            "`state` is {other}, not a string (one of {})",
            known()
        )),
    }
}

/// `Driver.Create`'s `data`: berth keeps it in config.toml, which has no null. Null members of
/// objects are dropped (the plugin later sees them absent, which is what a null member means
/// to nearly every reader); a null in an array cannot be dropped without moving the elements
/// after it, and data that is not an object cannot be stored at all, so those are refused.
pub(crate) fn data(data: &Value) -> Result<(), String> {
    fn walk(v: &Value, at: &str) -> Result<(), String> {
        match v {
            Value::Object(map) => map
                .iter()
                .try_for_each(|(k, v)| walk(v, &format!("{at}.{k}"))),
            Value::Array(items) => items.iter().enumerate().try_for_each(|(i, v)| {
                if v.is_null() {
                    Err(format!(
                        "`{at}[{i}]` is null, and berth keeps data in TOML, which has no null \
                         (leave the element out, or use an object)"
                    ))
                } else {
                    walk(v, &format!("{at}[{i}]"))
                }
            }),
            _ => Ok(()),
        }
    }
    match data {
        Value::Null | Value::Object(_) => walk(data, "data"),
        other => Err(format!(
            "`data` is {}, but it must be an object (or absent)",
            match other {
                Value::Array(_) => "an array",
                Value::String(_) => "a string",
                Value::Number(_) => "a number",
                _ => "a boolean",
            }
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn an_unknown_kind_names_the_flag() {
        let e = flags(json!({"flags":[{"name":"kvm-mem","help":"","kind":"float"}]})).unwrap_err();
        assert!(
            e.contains("flag \"kvm-mem\"") && e.contains("\"float\""),
            "{e}"
        );
        let e = flags(json!({"flags":[{"name":"x","help":"","kind":3}]})).unwrap_err();
        assert!(e.contains("kind 3"), "{e}");
        let ok = flags(json!({"flags":[{"name":"x","help":"","kind":"string_list"}]})).unwrap();
        assert_eq!(ok[0].kind, FlagKind::StringList);
    }

    #[test]
    fn unknown_states_name_the_field() {
        assert!(
            state(&json!({"state":"Sleeping"}))
                .unwrap_err()
                .contains("\"Sleeping\"")
        );
        assert!(
            state(&json!({"state":5}))
                .unwrap_err()
                .contains("`state` is 5")
        );
        assert_eq!(
            state(&json!({"state":"Paused"})).unwrap(),
            MachineState::Paused
        );
    }

    #[test]
    fn nulls_in_arrays_and_non_objects_are_refused_null_members_pass() {
        assert!(data(&json!({"a": null, "b": {"c": null}})).is_ok());
        assert!(data(&Value::Null).is_ok());
        let e = data(&json!({"disks": ["a", null]})).unwrap_err();
        assert!(e.contains("`data.disks[1]` is null"), "{e}");
        assert!(data(&json!([1])).unwrap_err().contains("an array"));
    }
}
