//! The systemd drop-in that puts the engine API on TCP behind mutual TLS,
//! rendered from the crate's templates/10-machine.conf with what was found on the host.

use crate::config::EngineConfig;
use crate::facts::HostFacts;
use crate::systemd::{environment_line, exec_arg};

/// The drop-in's template, embedded so the binary carries it.
const TEMPLATE: &str = include_str!("../templates/10-machine.conf");

/// Where the engine's TLS files go on the host.
pub const CA_PATH: &str = "/etc/docker/ca.pem";
/// The engine's server certificate on the host.
pub const SERVER_CERT_PATH: &str = "/etc/docker/server.pem";
/// The engine's server key on the host (mode 0600).
pub const SERVER_KEY_PATH: &str = "/etc/docker/server-key.pem";

/// Used only when detection found no dockerd, which provisioning refuses
/// before rendering; docker-ce's path, as the likelier guess.
const FALLBACK_DOCKERD: &str = "/usr/bin/dockerd";

/// Fills `{{ name }}` placeholders from `vars`. Unknown placeholders are left
/// as written (a unit test keeps the template free of them), so a typo shows
/// in the output instead of vanishing.
fn fill(template: &str, vars: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 256);
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                match vars.iter().find(|(key, _)| *key == name) {
                    Some((_, value)) => out.push_str(value),
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// The full dockerd command line, one word per element, unquoted.
pub fn dockerd_args(facts: &HostFacts, engine: &EngineConfig) -> Vec<String> {
    let dockerd = facts.dockerd_path.as_deref().unwrap_or(FALLBACK_DOCKERD);
    let mut args = vec![dockerd.to_owned()];
    if facts.socket_activated {
        // The packaged docker.socket hands the engine its local socket.
        args.extend(["-H".to_owned(), "fd://".to_owned()]);
    } else {
        // No socket unit: the engine must open the local socket itself, or the
        // docker CLI on the host loses it once ExecStart= is replaced.
        args.extend(["-H".to_owned(), "unix:///var/run/docker.sock".to_owned()]);
    }
    // Addresses the user had in daemon.json's `hosts` (dockerd refuses them there next to -H
    // flags): kept, except those berth's own listeners replace.
    for host in kept_hosts(facts, engine) {
        args.extend(["-H".to_owned(), host]);
    }
    args.extend([
        "-H".to_owned(),
        format!("tcp://0.0.0.0:{}", engine.port),
        "--tlsverify".to_owned(),
        format!("--tlscacert={CA_PATH}"),
        format!("--tlscert={SERVER_CERT_PATH}"),
        format!("--tlskey={SERVER_KEY_PATH}"),
    ]);
    // Validation runs before rendering; an invalid option left here would only
    // be one the engine refuses, so it is dropped rather than rendered.
    args.extend(engine.dockerd_flags().unwrap_or_default());
    args
}

/// The moved daemon.json addresses that go into the drop-in: not the local socket berth already
/// serves (through docker.socket, or its own `-H unix://`), not berth's TCP port, no repeats.
fn kept_hosts(facts: &HostFacts, engine: &EngineConfig) -> Vec<String> {
    let port = format!(":{}", engine.port);
    let mut kept: Vec<String> = Vec::new();
    for host in &facts.moved_hosts {
        let local = matches!(
            host.as_str(),
            "fd://" | "unix:///var/run/docker.sock" | "unix:///run/docker.sock"
        );
        let ours = host.starts_with("tcp://") && host.ends_with(&port);
        if !local && !ours && !kept.contains(host) {
            kept.push(host.clone());
        }
    }
    kept
}

/// Renders the drop-in for this host and these engine options. Pure: the same
/// inputs give the same bytes, which is what makes provisioning idempotent.
pub fn render_dropin(facts: &HostFacts, engine: &EngineConfig) -> String {
    let args = dockerd_args(facts, engine);
    // One flag per line (systemd joins lines ending in a backslash), so a human
    // reading the host's unit sees each option at a glance.
    let mut lines: Vec<String> = Vec::new();
    let mut words = args.iter().map(|a| exec_arg(a));
    while let Some(word) = words.next() {
        // `-H` and its value stay on one line.
        if word == "-H"
            && let Some(value) = words.next()
        {
            lines.push(format!("-H {value}"));
        } else {
            lines.push(word);
        }
    }
    let exec_start = lines.join(" \\\n\t");
    let environment: String = engine
        .env
        .iter()
        .map(|(name, value)| environment_line(name, value) + "\n")
        .collect();
    let text = fill(
        TEMPLATE,
        &[("exec_start", &exec_start), ("environment", &environment)],
    );
    // An empty environment leaves blank lines at the end; the file ends with one newline.
    let mut text = format!("{}\n", text.trim_end());
    if !facts.moved_hosts.is_empty() {
        // Read back by the detection script, so a re-run renders the same file.
        text.push_str(&format!(
            "# hosts from daemon.json: {}\n",
            facts.moved_hosts.join(" ")
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(socket: bool, dockerd: &str) -> HostFacts {
        HostFacts {
            dockerd_path: Some(dockerd.into()),
            socket_activated: socket,
            engine_installed: true,
            ..HostFacts::default()
        }
    }

    #[test]
    fn fill_replaces_known_and_keeps_unknown_placeholders() {
        assert_eq!(
            fill("a {{ x }} b {{y}} c", &[("x", "1"), ("y", "2")]),
            "a 1 b 2 c"
        );
        assert_eq!(fill("{{ nope }} {{ x", &[("x", "1")]), "{{ nope }} {{ x");
    }

    #[test]
    fn template_has_only_known_placeholders() {
        let filled = fill(TEMPLATE, &[("exec_start", "X"), ("environment", "Y")]);
        assert!(!filled.contains("{{"), "{filled}");
    }

    const HEADER: &str = "# Written by berth. `berth provision` rewrites this file, so change the
# machine's engine options rather than editing it here. The version before the
# last change is kept beside it as 10-machine.conf.previous (systemd ignores it).
[Service]
# The empty ExecStart= clears the packaged command line; the next one replaces it.
ExecStart=
";

    #[test]
    fn golden_debian_socket_activated() {
        let text = render_dropin(&facts(true, "/usr/sbin/dockerd"), &EngineConfig::default());
        let expected = format!(
            "{HEADER}ExecStart=/usr/sbin/dockerd \\
\t-H fd:// \\
\t-H tcp://0.0.0.0:2376 \\
\t--tlsverify \\
\t--tlscacert=/etc/docker/ca.pem \\
\t--tlscert=/etc/docker/server.pem \\
\t--tlskey=/etc/docker/server-key.pem
"
        );
        assert_eq!(text, expected);
        assert!(!text.contains("2375"));
    }

    #[test]
    fn golden_with_options_and_environment() {
        let mut engine = EngineConfig {
            opts: vec!["log-level=warn".into()],
            labels: vec!["team=a b".into()],
            storage_driver: Some("overlay2".into()),
            port: 3376,
            ..EngineConfig::default()
        };
        engine
            .env
            .insert("HTTP_PROXY".into(), "http://proxy:3128".into());
        engine.env.insert("MOTTO".into(), r#"say "hi" 100%"#.into());
        let text = render_dropin(&facts(false, "/usr/bin/dockerd"), &engine);
        let expected = format!(
            "{HEADER}ExecStart=/usr/bin/dockerd \\
\t-H unix:///var/run/docker.sock \\
\t-H tcp://0.0.0.0:3376 \\
\t--tlsverify \\
\t--tlscacert=/etc/docker/ca.pem \\
\t--tlscert=/etc/docker/server.pem \\
\t--tlskey=/etc/docker/server-key.pem \\
\t\"--label=team=a b\" \\
\t--storage-driver=overlay2 \\
\t--log-level=warn
Environment=\"HTTP_PROXY=http://proxy:3128\"
Environment=\"MOTTO=say \\\"hi\\\" 100%%\"
"
        );
        assert_eq!(text, expected);
    }

    #[test]
    fn hosts_moved_from_daemon_json_are_served_and_remembered() {
        let mut f = facts(false, "/usr/bin/dockerd");
        f.moved_hosts = vec![
            "unix:///var/run/docker.sock".into(),
            "tcp://127.0.0.1:2375".into(),
            "tcp://0.0.0.0:2376".into(),
        ];
        let text = render_dropin(&f, &EngineConfig::default());
        assert!(text.contains("\t-H unix:///var/run/docker.sock \\\n\t-H tcp://127.0.0.1:2375 \\\n\t-H tcp://0.0.0.0:2376 \\\n"), "{text}");
        assert_eq!(
            text.matches("unix:///var/run/docker.sock").count(),
            2,
            "{text}"
        );
        assert!(text.ends_with("# hosts from daemon.json: unix:///var/run/docker.sock tcp://127.0.0.1:2375 tcp://0.0.0.0:2376\n"), "{text}");
    }

    #[test]
    fn rendering_is_deterministic() {
        let engine = EngineConfig::default();
        let f = facts(true, "/usr/sbin/dockerd");
        assert_eq!(render_dropin(&f, &engine), render_dropin(&f, &engine));
    }
}
