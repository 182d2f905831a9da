//! What the detection script found on the host, parsed from its key=value
//! lines, and the decision whether berth can provision that host.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::ErrorKind;

/// The script that prints the facts; one round trip, read-only, runs without sudo.
pub(crate) const DETECT_SCRIPT: &str = include_str!("../templates/scripts/detect.sh");

/// Distributions whose `docker.io` package and apt berth knows how to drive.
const SUPPORTED: &[&str] = &["debian", "ubuntu"];

/// What berth knows about a host after detection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostFacts {
    /// `ID` from os-release, e.g. `debian`.
    pub os_id: String,
    /// `ID_LIKE` from os-release, e.g. `["debian"]` on Ubuntu derivatives.
    pub os_id_like: Vec<String>,
    /// `VERSION_ID` from os-release, e.g. `12`.
    pub os_version_id: String,
    /// `PRETTY_NAME` from os-release, what messages call the OS.
    pub pretty_name: String,
    /// Whether systemd is the running init (`/run/systemd/system` exists).
    pub systemd: bool,
    /// The host's current name.
    pub hostname: String,
    /// The host's own addresses, for certificate SANs: the global addresses of its interfaces
    /// except those the engine made ([`engine_made`]).
    pub addresses: Vec<String>,
    /// Where dockerd is, when installed.
    pub dockerd_path: Option<String>,
    /// Whether a docker.socket unit exists, so the engine takes its local socket via `-H fd://`.
    pub socket_activated: bool,
    /// Whether the engine is installed: dockerd and a docker.service unit both exist.
    pub engine_installed: bool,
    /// Whether docker.service was active at detection time.
    pub engine_active: bool,
    /// The SSH user's uid: 0 runs commands directly, others go through `sudo -n`.
    pub uid: u32,
    /// Whether `sudo -n true` worked (always true for root).
    pub passwordless_sudo: bool,
    /// Whether cloud-init is present (the install waits for it).
    pub cloud_init: bool,
    /// The `127.0.1.1` line of /etc/hosts, if any.
    pub hosts_line: Option<String>,
    /// Drop-ins of docker.service other than berth's (they stay, and are reported).
    #[serde(default)]
    pub other_dropins: Vec<String>,
    /// Those of them that set ExecStart.
    #[serde(default)]
    pub exec_dropins: Vec<String>,
    /// Engine addresses berth moved out of daemon.json into its drop-in (kept there on re-runs).
    #[serde(default)]
    pub moved_hosts: Vec<String>,
    /// /etc/docker/daemon.json as found, when readable.
    #[serde(default)]
    pub daemon_json: Option<String>,
    /// The host's clock at detection (`date +%s`), when it printed one.
    #[serde(default)]
    pub clock: Option<i64>,
}

/// Reads os-release text into its keys and unquoted values (os-release(5):
/// values follow shell quoting rules).
pub fn parse_os_release(text: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((key, raw)) = line.split_once('=') {
            map.insert(key.to_owned(), unquote(raw));
        }
    }
    map
}

/// Undoes shell quoting in an os-release value; a value that does not parse
/// (an unbalanced quote) is kept as written rather than lost.
fn unquote(raw: &str) -> String {
    match shlex::split(raw) {
        Some(words) => words.join(" "),
        None => raw.to_owned(),
    }
}

fn flag(map: &BTreeMap<String, String>, key: &str) -> bool {
    map.get(key).is_some_and(|v| v == "1")
}

impl HostFacts {
    /// Parses the detection script's output. Fails when the output does not look
    /// like the script's at all, or the host has no os-release.
    pub(crate) fn parse(output: &str) -> Result<Self, ErrorKind> {
        let mut values = BTreeMap::new();
        let mut os_lines = String::new();
        let (output, daemon_json) = match output.split_once("\n--- daemon.json\n") {
            Some((head, json)) => (head, Some(json.to_owned())),
            None => (output, None),
        };
        let (mut other_dropins, mut exec_dropins, mut moved_hosts) = (vec![], vec![], vec![]);
        let mut addresses: Vec<String> = Vec::new();
        for line in output.lines() {
            if let Some(entry) = line.strip_prefix("address=") {
                if let Some((iface, address)) = entry.split_once(' ') {
                    let address = address.trim();
                    if !engine_made(iface)
                        && !address.is_empty()
                        && !addresses.iter().any(|a| a == address)
                    {
                        addresses.push(address.to_owned());
                    }
                }
            } else if let Some(path) = line.strip_prefix("dropin=") {
                other_dropins.push(path.to_owned());
            } else if let Some(path) = line.strip_prefix("dropin_exec=") {
                exec_dropins.push(path.to_owned());
            } else if let Some(hosts) = line.strip_prefix("moved_hosts=") {
                moved_hosts.extend(hosts.split_whitespace().map(str::to_owned));
            } else if let Some(os_line) = line.strip_prefix("os.") {
                os_lines.push_str(os_line);
                os_lines.push('\n');
            } else if let Some((key, value)) = line.split_once('=') {
                values.insert(key.to_owned(), value.trim().to_owned());
            }
        }
        let uid = values
            .get("uid")
            .and_then(|v| v.parse::<u32>().ok())
            .ok_or_else(|| ErrorKind::UnexpectedOutput {
                output: output.to_owned(),
            })?;
        if os_lines.is_empty() {
            return Err(ErrorKind::NoOsRelease);
        }
        let os = parse_os_release(&os_lines);
        let get = |key: &str| os.get(key).cloned().unwrap_or_default();
        let dockerd_path = values.get("dockerd").filter(|p| !p.is_empty()).cloned();
        let pretty_name = match os.get("PRETTY_NAME") {
            Some(name) if !name.is_empty() => name.clone(),
            _ => format!("{} {}", get("NAME"), get("VERSION_ID"))
                .trim()
                .to_owned(),
        };
        Ok(Self {
            os_id: get("ID"),
            os_id_like: get("ID_LIKE")
                .split_whitespace()
                .map(str::to_owned)
                .collect(),
            os_version_id: get("VERSION_ID"),
            pretty_name,
            systemd: flag(&values, "systemd"),
            hostname: values.get("hostname").cloned().unwrap_or_default(),
            addresses,
            engine_installed: dockerd_path.is_some() && flag(&values, "service"),
            dockerd_path,
            socket_activated: flag(&values, "socket"),
            engine_active: flag(&values, "active"),
            uid,
            passwordless_sudo: uid == 0 || flag(&values, "sudo"),
            cloud_init: flag(&values, "cloud_init"),
            hosts_line: values.get("hosts").filter(|l| !l.is_empty()).cloned(),
            other_dropins,
            exec_dropins,
            moved_hosts,
            daemon_json,
            clock: values.get("now").and_then(|v| v.parse().ok()),
        })
    }

    /// Refuses hosts berth cannot provision: not Debian, Ubuntu or a derivative
    /// of them (by `ID_LIKE`), or without systemd.
    pub(crate) fn check_supported(&self) -> Result<(), ErrorKind> {
        let debian_family = SUPPORTED.contains(&self.os_id.as_str())
            || self
                .os_id_like
                .iter()
                .any(|like| SUPPORTED.contains(&like.as_str()));
        if !debian_family {
            return Err(ErrorKind::UnsupportedOs {
                pretty_name: self.pretty_name.clone(),
            });
        }
        if !self.systemd {
            return Err(ErrorKind::NoSystemd {
                pretty_name: self.pretty_name.clone(),
            });
        }
        Ok(())
    }

    /// Whether the host already answers to `name`: its hostname and its
    /// /etc/hosts `127.0.1.1` line both say so.
    pub(crate) fn named(&self, name: &str) -> bool {
        self.hostname == name
            && self
                .hosts_line
                .as_deref()
                .is_some_and(|line| line.split_whitespace().skip(1).any(|n| n == name))
    }
}

/// Whether interface `iface` (as `ip -o addr` names it, `veth1a2b@if7` for a pair) is one the
/// engine made: its default bridge, a user-made network's bridge, a container's veth, or the
/// Swarm gateway bridge. Their addresses are gateways for containers, not addresses anyone
/// reaches the engine at, and they come and go with `docker network create`: naming them in
/// the certificate would make every new network look like a certificate that no longer covers
/// the host, reissued with an engine restart.
pub(crate) fn engine_made(iface: &str) -> bool {
    let name = iface.split('@').next().unwrap_or(iface);
    name == "docker0"
        || name == "docker_gwbridge"
        || name.starts_with("br-")
        || name.starts_with("veth")
}

/// Checks that `name` can be a hostname (RFC 1123 labels), before it is sent anywhere.
pub(crate) fn check_hostname(name: &str) -> Result<(), ErrorKind> {
    let invalid = |reason: &str| ErrorKind::InvalidName {
        name: name.to_owned(),
        reason: reason.to_owned(),
    };
    if name.is_empty() || name.len() > 253 {
        return Err(invalid("a hostname has 1 to 253 characters"));
    }
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(invalid("each dot-separated part has 1 to 63 characters"));
        }
        if !label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(invalid("only letters, digits, '-' and '.' are allowed"));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(invalid("a part cannot start or end with '-'"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const DEBIAN: &str = r#"PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
ID=debian
HOME_URL="https://www.debian.org/"
"#;

    #[test]
    fn os_release_values_are_unquoted() {
        let os = parse_os_release(DEBIAN);
        assert_eq!(os["PRETTY_NAME"], "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(os["ID"], "debian");
        assert_eq!(os["VERSION_ID"], "12");
        let odd = parse_os_release(
            "# comment\n\nNAME='Single Quoted'\nX=\"esc \\\"q\\\"\"\nBROKEN=\"open\n",
        );
        assert_eq!(odd["NAME"], "Single Quoted");
        assert_eq!(odd["X"], "esc \"q\"");
        assert_eq!(odd["BROKEN"], "\"open");
    }

    fn detect_output(os: &str, extra: &str) -> String {
        let os: String = os.lines().map(|l| format!("os.{l}\n")).collect();
        format!(
            "uid=0\n{os}systemd=1\nhostname=box\naddress=eth0 10.0.0.5\naddress=eth0 fd00::5\ndockerd=/usr/sbin/dockerd\nsocket=1\nservice=1\nactive=1\ncloud_init=0\nhosts=127.0.1.1\tbox\n{extra}"
        )
    }

    /// `hostname -I` gave docker0's and user networks' gateways too; a new network then made
    /// the certificate "not covering" and provision restarted the engine without asking.
    #[test]
    fn addresses_of_bridges_and_veths_the_engine_made_are_left_out() {
        let out = detect_output(
            DEBIAN,
            "address=docker0 172.17.0.1\naddress=br-3f2a9c1d0e4b 172.18.0.1\naddress=veth12ab@if9 fe80::1\naddress=docker_gwbridge 172.19.0.1\naddress=host0@if4 192.0.2.7\naddress=eth0 10.0.0.5\n",
        );
        let facts = HostFacts::parse(&out).unwrap();
        assert_eq!(facts.addresses, ["10.0.0.5", "fd00::5", "192.0.2.7"]);
    }

    #[test]
    fn detect_output_becomes_facts() {
        let facts = HostFacts::parse(&detect_output(DEBIAN, "")).unwrap();
        assert_eq!(facts.os_id, "debian");
        assert_eq!(facts.os_version_id, "12");
        assert_eq!(facts.pretty_name, "Debian GNU/Linux 12 (bookworm)");
        assert_eq!(facts.addresses, ["10.0.0.5", "fd00::5"]);
        assert_eq!(facts.dockerd_path.as_deref(), Some("/usr/sbin/dockerd"));
        assert!(facts.socket_activated && facts.engine_installed && facts.engine_active);
        assert!(facts.systemd && facts.passwordless_sudo);
        assert!(facts.named("box"));
        assert!(!facts.named("web1"));
        assert!(facts.check_supported().is_ok());
    }

    #[test]
    fn no_dockerd_means_no_engine() {
        let out = detect_output(DEBIAN, "").replace("dockerd=/usr/sbin/dockerd", "dockerd=");
        let facts = HostFacts::parse(&out).unwrap();
        assert_eq!(facts.dockerd_path, None);
        assert!(!facts.engine_installed);
    }

    #[test]
    fn non_root_without_sudo_is_seen() {
        let out = detect_output(DEBIAN, "sudo=0\n").replace("uid=0", "uid=1000");
        let facts = HostFacts::parse(&out).unwrap();
        assert_eq!(facts.uid, 1000);
        assert!(!facts.passwordless_sudo);
        let out = detect_output(DEBIAN, "sudo=1\n").replace("uid=0", "uid=1000");
        assert!(HostFacts::parse(&out).unwrap().passwordless_sudo);
    }

    #[test]
    fn ubuntu_and_derivatives_are_supported_others_refused_by_name() {
        let ubuntu =
            "PRETTY_NAME=\"Ubuntu 24.04.1 LTS\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"24.04\"\n";
        let facts = HostFacts::parse(&detect_output(ubuntu, "")).unwrap();
        assert!(facts.check_supported().is_ok());
        let mint = "PRETTY_NAME=\"Linux Mint 22\"\nID=linuxmint\nID_LIKE=\"ubuntu debian\"\n";
        let facts = HostFacts::parse(&detect_output(mint, "")).unwrap();
        assert_eq!(facts.os_id_like, ["ubuntu", "debian"]);
        assert!(facts.check_supported().is_ok());
        let fedora = "PRETTY_NAME=\"Fedora Linux 40 (Server Edition)\"\nID=fedora\n";
        let err = HostFacts::parse(&detect_output(fedora, ""))
            .unwrap()
            .check_supported()
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Fedora Linux 40 (Server Edition) is not supported: berth provisions Debian and Ubuntu hosts (and their derivatives); use one of those, or install and configure the engine yourself and use the none driver"
        );
    }

    #[test]
    fn systemd_is_required() {
        let out = detect_output(DEBIAN, "").replace("systemd=1", "systemd=0");
        let err = HostFacts::parse(&out)
            .unwrap()
            .check_supported()
            .unwrap_err();
        assert!(err.to_string().contains("without systemd"), "{err}");
    }

    #[test]
    fn garbage_and_missing_os_release_are_errors() {
        assert!(matches!(
            HostFacts::parse("Welcome to my shell!\n"),
            Err(ErrorKind::UnexpectedOutput { .. })
        ));
        assert!(matches!(
            HostFacts::parse("uid=0\nsystemd=1\n"),
            Err(ErrorKind::NoOsRelease)
        ));
    }

    #[test]
    fn hostnames_are_checked() {
        for good in ["web1", "a", "web-1.example.com", "X9"] {
            assert!(check_hostname(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "-web",
            "web-",
            "a..b",
            "we b",
            "web_1",
            "a;reboot",
            &"x".repeat(64),
        ] {
            assert!(check_hostname(bad).is_err(), "{bad:?}");
        }
    }
}
