//! Living with the user's /etc/docker/daemon.json. dockerd refuses to start when a setting is
//! given both as a flag and in that file ("the following directives are specified both as a
//! flag and in the configuration file"), and berth's drop-in passes `-H` and the TLS flags.
//! So: `hosts` moves into berth's drop-in (the other keys stay as they are); keys that berth
//! would set as flags and cannot merge are refused before anything on the host changes.

use serde_json::{Map, Value};

use crate::config::EngineConfig;
use crate::error::ErrorKind;

/// Where the engine's configuration file lives.
pub const DAEMON_JSON_PATH: &str = "/etc/docker/daemon.json";

/// What berth does to daemon.json.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DaemonPlan {
    /// Addresses taken out of `hosts`, for berth's drop-in.
    pub moved_hosts: Vec<String>,
    /// The file's new text, when it changes.
    pub new_text: Option<String>,
}

/// TLS keys: berth's TLS flags own these.
const TLS_KEYS: &[&str] = &["tls", "tlsverify", "tlscacert", "tlscert", "tlskey"];

/// Decides what to do with `text` (daemon.json as found, if any) for `engine`'s flags.
pub(crate) fn plan(text: Option<&str>, engine: &EngineConfig) -> Result<DaemonPlan, ErrorKind> {
    let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
        return Ok(DaemonPlan::default());
    };
    let mut map: Map<String, Value> =
        serde_json::from_str(text).map_err(|e| ErrorKind::DaemonJsonInvalid {
            reason: e.to_string(),
        })?;
    let mut flag_keys: Vec<String> = TLS_KEYS.iter().map(|k| (*k).to_owned()).collect();
    if !engine.labels.is_empty() {
        flag_keys.push("labels".into());
    }
    if engine.storage_driver.is_some() {
        flag_keys.push("storage-driver".into());
    }
    flag_keys.extend(engine.opts.iter().map(|o| {
        o.split('=')
            .next()
            .unwrap_or(o)
            .trim_start_matches('-')
            .to_owned()
    }));
    if let Some(key) = flag_keys.iter().find(|k| map.contains_key(k.as_str())) {
        return Err(ErrorKind::DaemonJsonConflict { key: key.clone() });
    }
    let Some(hosts) = map.remove("hosts") else {
        return Ok(DaemonPlan::default());
    };
    let moved_hosts = match hosts {
        Value::String(one) => vec![one],
        Value::Array(items) => items
            .into_iter()
            .map(|v| match v {
                Value::String(s) => Ok(s),
                other => Err(other),
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|other| ErrorKind::DaemonJsonInvalid {
                reason: format!("\"hosts\" holds {other}, not an address"),
            })?,
        other => {
            return Err(ErrorKind::DaemonJsonInvalid {
                reason: format!("\"hosts\" is {other}, not a list of addresses"),
            });
        }
    };
    let new_text =
        serde_json::to_string_pretty(&map).map_err(|e| ErrorKind::DaemonJsonInvalid {
            reason: e.to_string(),
        })? + "\n";
    Ok(DaemonPlan {
        moved_hosts,
        new_text: Some(new_text),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const FOREIGN: &str = r#"{
  "hosts": ["unix:///var/run/docker.sock", "tcp://127.0.0.1:2375"],
  "log-driver": "local",
  "data-root": "/srv/docker",
  "live-restore": true
}"#;

    #[test]
    fn hosts_move_out_and_every_other_key_stays() {
        let plan = plan(Some(FOREIGN), &EngineConfig::default()).unwrap();
        assert_eq!(
            plan.moved_hosts,
            ["unix:///var/run/docker.sock", "tcp://127.0.0.1:2375"]
        );
        let kept: Value = serde_json::from_str(plan.new_text.as_deref().unwrap()).unwrap();
        assert_eq!(
            kept,
            serde_json::json!({"log-driver": "local", "data-root": "/srv/docker", "live-restore": true})
        );
    }

    #[test]
    fn no_file_or_no_hosts_changes_nothing() {
        assert_eq!(
            plan(None, &EngineConfig::default()).unwrap(),
            DaemonPlan::default()
        );
        assert_eq!(
            plan(Some("{\"debug\": true}"), &EngineConfig::default()).unwrap(),
            DaemonPlan::default()
        );
    }

    #[test]
    fn flags_berth_sets_are_refused_with_the_key() {
        let err = plan(Some("{\"tlsverify\": true}"), &EngineConfig::default()).unwrap_err();
        assert!(err.to_string().contains("\"tlsverify\""), "{err}");
        let engine = EngineConfig {
            opts: vec!["log-level=warn".into()],
            ..EngineConfig::default()
        };
        let err = plan(Some("{\"log-level\": \"info\"}"), &engine).unwrap_err();
        assert!(matches!(err, ErrorKind::DaemonJsonConflict { ref key } if key == "log-level"));
    }

    #[test]
    fn broken_json_is_refused() {
        let err = plan(Some("{ \"hosts\": "), &EngineConfig::default()).unwrap_err();
        assert!(err.to_string().contains(DAEMON_JSON_PATH), "{err}");
    }
}
