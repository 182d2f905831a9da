//! Secrets kept out of what berth prints unless the user asks for them.
//!
//! A machine's record holds values that are secrets in everything but name: `--engine-env`
//! values (a proxy URL with its password, a registry token) and a driver's data (a cloud
//! driver's access key and secret). `inspect` printed them all, as docker-machine's `inspect`
//! does (it marshals the whole host, `SecretKey` included); a terminal, a CI log or a pasted
//! bug report then carries them. berth prints `KEY=<redacted>` and `<redacted>` instead, and
//! `inspect --show-secrets` prints them as they are.

use serde_json::Value;

/// What a redacted value reads as.
pub(crate) const REDACTED: &str = "<redacted>";

/// Words in a field name that mark its value as a secret (case is ignored): what cloud
/// drivers call their credentials (amazonec2 `AccessKey`/`SecretKey`/`SessionToken`,
/// digitalocean `AccessToken`, azure `ClientSecret`, openstack and vsphere `Password`,
/// exoscale `APIKey`/`APISecretKey`).
const SECRET_WORDS: [&str; 8] = [
    "secret",
    "password",
    "passwd",
    "token",
    "apikey",
    "api_key",
    "accesskey",
    "access_key",
];

/// Field names whose value is a list of `KEY=VALUE` (the engine's environment).
const ENV_FIELDS: [&str; 2] = ["env", "engine_env"];

/// Redacts, in place and at any depth: every string under a field whose name holds a secret
/// word, and the value half of every `KEY=VALUE` in an environment list (or every value of an
/// environment table).
pub(crate) fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                let lower = key.to_ascii_lowercase();
                if ENV_FIELDS.contains(&lower.as_str()) {
                    redact_env(child);
                } else if SECRET_WORDS.iter().any(|w| lower.contains(w)) {
                    redact_all(child);
                } else {
                    redact(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

fn redact_env(value: &mut Value) {
    match value {
        Value::Array(items) => {
            for item in items {
                if let Value::String(text) = item {
                    let key = text.split_once('=').map_or(text.as_str(), |(k, _)| k);
                    *text = format!("{key}={REDACTED}");
                }
            }
        }
        Value::Object(map) => map.values_mut().for_each(redact_all),
        other => redact_all(other),
    }
}

fn redact_all(value: &mut Value) {
    match value {
        Value::String(text) if !text.is_empty() => *text = REDACTED.to_owned(),
        Value::Array(items) => items.iter_mut().for_each(redact_all),
        Value::Object(map) => map.values_mut().for_each(redact_all),
        _ => {}
    }
}

/// [`redact`] for docker-machine's view of a machine, in place, so that its fields keep
/// docker-machine's order in the output.
pub(crate) fn redact_host(host: &mut berth_compat::host::Host) {
    let env = |list: &mut Vec<String>| {
        for item in list.iter_mut() {
            let key = item.split_once('=').map_or(item.as_str(), |(k, _)| k);
            *item = format!("{key}={REDACTED}");
        }
    };
    env(&mut host.host_options.engine_options.env);
    if let Some(list) = host.host_options.swarm_options.env.as_mut() {
        env(list);
    }
    let mut other = Value::Object(std::mem::take(&mut host.driver.other));
    redact(&mut other);
    if let Value::Object(map) = other {
        host.driver.other = map;
    }
}

/// What `--debug` shows of the facts script's output: everything up to daemon.json, then only
/// the names of daemon.json's top-level keys (its values can hold proxy passwords and registry
/// credentials).
pub(crate) fn facts_output(stdout: &str) -> String {
    const MARK: &str = "\n--- daemon.json\n";
    let Some((before, daemon)) = stdout.split_once(MARK) else {
        return stdout.to_owned();
    };
    let keys = serde_json::from_str::<serde_json::Map<String, Value>>(daemon)
        .map(|m| m.keys().cloned().collect::<Vec<_>>().join(", "))
        .unwrap_or_else(|_| "not a JSON object".to_owned());
    format!(
        "{before}{MARK}(daemon.json: {} bytes, keys: {keys}; values not shown, they can hold secrets)",
        daemon.len()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_env_values_and_driver_credentials_are_redacted_the_rest_kept() {
        let mut host = serde_json::json!({
            "Driver": {"IPAddress": "203.0.113.7", "SecretKey": "wJalr", "AccessKey": "AKIA", "SSHUser": "root"},
            "HostOptions": {"EngineOptions": {"Env": ["HTTPS_PROXY=http://u:pw@proxy:3128", "FLAG"]}},
            "engine": {"env": {"HTTP_PROXY": "http://u:pw@proxy"}},
            "driver_data": {"password": "hunter2", "ssh_port": 22}
        });
        redact(&mut host);
        assert_eq!(host["Driver"]["IPAddress"], "203.0.113.7");
        assert_eq!(host["Driver"]["SSHUser"], "root");
        assert_eq!(host["Driver"]["SecretKey"], REDACTED);
        assert_eq!(host["Driver"]["AccessKey"], REDACTED);
        assert_eq!(
            host["HostOptions"]["EngineOptions"]["Env"],
            serde_json::json!(["HTTPS_PROXY=<redacted>", "FLAG=<redacted>"])
        );
        assert_eq!(host["engine"]["env"]["HTTP_PROXY"], REDACTED);
        assert_eq!(host["driver_data"]["password"], REDACTED);
        assert_eq!(host["driver_data"]["ssh_port"], 22);
        assert!(!host.to_string().contains("pw@"), "{host}");
    }

    #[test]
    fn debug_shows_daemon_json_keys_not_values() {
        let out = facts_output(
            "os=debian\n--- daemon.json\n{\"proxies\":{\"http-proxy\":\"http://u:pw@p\"},\"debug\":true}",
        );
        assert!(out.starts_with("os=debian\n"), "{out}");
        assert!(out.contains("debug") && out.contains("proxies"), "{out}");
        assert!(!out.contains("pw@"), "{out}");
        assert_eq!(facts_output("no marker"), "no marker");
    }
}
