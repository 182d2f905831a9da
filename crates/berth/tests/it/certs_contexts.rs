//! `berth certs` over machines whose certificates expire at different times, and `berth use`
//! with `ls` ACTIVE on a context store of the test's own (no hosts: `none` machines whose
//! certificates are written here).

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use berth_names::{EnvVars, MachineFiles};
use berth_tls::{CA_VALIDITY_DAYS, CertificateAuthority, KeyAlgorithm};

struct World {
    _dir: tempfile::TempDir,
    root: PathBuf,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        World { _dir: dir, root }
    }

    fn docker_config(&self) -> PathBuf {
        self.root.join("docker")
    }

    /// A `none` machine at a loopback port nothing listens on, with a CA and a client
    /// certificate, and a server certificate valid for `server_days`.
    fn machine(&self, name: &str, server_days: u32) {
        let dir = self.root.join("machines").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(MachineFiles::RECORD),
            format!(
                "version = 1\nname = \"{name}\"\ndriver = \"none\"\nstate = \"Running\"\nurl = \"tcp://127.0.0.1:1\"\ncreated_at = \"2026-11-23T12:00:00Z\"\n\n[driver_data]\nurl = \"tcp://127.0.0.1:1\"\n"
            ),
        )
        .unwrap();
        let algo = KeyAlgorithm::default();
        let ca =
            CertificateAuthority::generate(&format!("CA {name}"), algo, CA_VALIDITY_DAYS).unwrap();
        let server = ca
            .issue_server(&["127.0.0.1".to_owned()], algo, server_days)
            .unwrap();
        let client = ca.issue_client("client", algo, 400).unwrap();
        let write = |file: &str, text: &str| std::fs::write(dir.join(file), text).unwrap();
        write(MachineFiles::CA_CERT, &ca.pem().cert_pem);
        write(MachineFiles::CA_KEY, &ca.pem().key_pem);
        write(MachineFiles::SERVER_CERT, &server.cert_pem);
        write(MachineFiles::SERVER_KEY, &server.key_pem);
        write(MachineFiles::CLIENT_CERT, &client.cert_pem);
        write(MachineFiles::CLIENT_KEY, &client.key_pem);
    }

    fn berth(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(args)
            .env_clear()
            .env(EnvVars::PATH, "/usr/bin:/bin")
            .env(EnvVars::HOME, self.root.join("home"))
            .env(EnvVars::DOCKER_CONFIG, self.docker_config())
            .env(EnvVars::BERTH_STORAGE_PATH, self.root.join("machines"))
            .env(EnvVars::NO_COLOR, "1")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    fn ok(&self, args: &[&str], env: &[(&str, &str)]) -> String {
        let out = self.berth(args, env);
        assert!(
            out.status.success(),
            "berth {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

fn current_context(config: &Path) -> Option<String> {
    let text = std::fs::read_to_string(config.join("config.json")).ok()?;
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    value["currentContext"].as_str().map(str::to_owned)
}

#[test]
fn certs_lists_the_soonest_expiry_first_with_the_warnings_ls_shows() {
    let world = World::new();
    world.machine("later", 400);
    world.machine("soon", 5);
    world.machine("middle", 20);
    let table = world.ok(&["certs"], &[]);
    let names: Vec<&str> = table
        .lines()
        .skip(1)
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    assert_eq!(names, ["soon", "middle", "later"], "{table}");
    assert!(table.lines().next().unwrap().starts_with("NAME"), "{table}");
    let ls = world.ok(&["ls"], &[]);
    let json: serde_json::Value =
        serde_json::from_str(&world.ok(&["certs", "--format", "json"], &[])).unwrap();
    for row in json.as_array().unwrap() {
        let name = row["name"].as_str().unwrap();
        let warning = row["warning"].as_str().unwrap();
        let days = row["days_left"].as_i64().unwrap();
        if name == "later" {
            assert_eq!(warning, "", "{json}");
            assert!(days > 390, "{json}");
        } else {
            assert!(
                warning.contains(&format!("the server certificate of '{name}' expires in")),
                "{json}"
            );
            assert!(days <= 20, "{json}");
        }
        // The same words in `certs` and the `ls` table.
        let ls_line = ls.lines().find(|l| l.starts_with(name)).unwrap();
        assert!(ls_line.ends_with(warning), "{ls_line} / {warning}");
        assert!(row["ca_not_after"].is_string() && row["client_not_after"].is_string());
    }
}

#[test]
fn use_sets_the_current_context_and_ls_marks_it_active() {
    let world = World::new();
    world.machine("web1", 400);
    world.machine("web2", 400);
    let config = world.docker_config();
    std::fs::create_dir_all(&config).unwrap();
    std::fs::write(
        config.join("config.json"),
        r#"{"psFormat":"table {{.Names}}"}"#,
    )
    .unwrap();

    // Machines made before contexts existed get theirs on `use`.
    world.ok(&["use", "web2"], &[]);
    assert_eq!(current_context(&config).as_deref(), Some("web2"));
    let text = std::fs::read_to_string(config.join("config.json")).unwrap();
    assert!(text.contains("psFormat"), "{text}");
    let active = |env: &[(&str, &str)]| -> Vec<String> {
        let json: serde_json::Value =
            serde_json::from_str(&world.ok(&["ls", "--format", "json"], env)).unwrap();
        json.as_array()
            .unwrap()
            .iter()
            .filter(|r| r["active"] == true)
            .map(|r| r["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(active(&[]), ["web2"]);
    // DOCKER_CONTEXT wins over config.json, DOCKER_HOST over both.
    world.ok(&["use", "web1"], &[]);
    world.ok(&["use", "web2"], &[]);
    assert_eq!(active(&[("DOCKER_CONTEXT", "web1")]), ["web1"]);
    assert!(active(&[("DOCKER_HOST", "tcp://192.0.2.9:2376")]).is_empty());
    let out = world.berth(&["use", "web1"], &[("DOCKER_HOST", "tcp://192.0.2.9:2376")]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("DOCKER_HOST=tcp://192.0.2.9:2376 is set"),
        "{out:?}"
    );

    world.ok(&["use", "--unset"], &[]);
    assert_eq!(current_context(&config), None);
    assert!(active(&[]).is_empty());

    // rm of the current context's machine resets it and removes the context.
    world.ok(&["use", "web1"], &[]);
    world.ok(&["rm", "-y", "web1"], &[]);
    assert_eq!(current_context(&config), None);
    assert!(
        !config
            .join("contexts/meta")
            .join(berth_context::context_id("web1"))
            .exists()
    );
}
