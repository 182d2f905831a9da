//! Issue 13: a docker context per machine, `berth use`, and certificates renewed without losing
//! a container — with the real docker CLI (28.2) and a DOCKER_CONFIG of the test's own.

use std::time::Duration;

use berth_e2e::Fleet;

use crate::cli::Berth;

/// A busybox image made locally (no registry is reachable), imported through the context.
fn import_busybox(berth: &Berth, context: &str) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rootfs");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", root.join("bin/busybox"))
        .expect("busybox-static is installed (scripts/test does)");
    for tool in ["sh", "sleep"] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(tool)).unwrap();
    }
    let tar = dir.path().join("busybox.tar");
    let status = std::process::Command::new("tar")
        .arg("-C")
        .arg(&root)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success());
    berth.docker_ok(&[
        "--context",
        context,
        "import",
        tar.to_str().unwrap(),
        "berth-busybox:test",
    ]);
}

/// The container's ID and start time, as the docker CLI reports them through the context.
fn id_and_start(berth: &Berth, context: &str, name: &str) -> String {
    berth
        .docker_ok(&[
            "--context",
            context,
            "inspect",
            "--format",
            "{{.Id}} {{.State.Running}} {{.State.StartedAt}}",
            name,
        ])
        .trim()
        .to_owned()
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Whether the engine at `address` answers a client presenting `client` (trusting `ca_pem`).
fn accepts(address: &str, ca_pem: &str, client: &berth_tls::PemPair) -> bool {
    let tls = berth_engine::ClientTls {
        ca_pem: ca_pem.to_owned(),
        client: client.clone(),
    };
    berth_engine::block_on(async {
        berth_engine::Engine::new(
            berth_net::HostPort::new(address.to_owned(), 2376),
            &tls,
            Duration::from_secs(5),
        )?
        .probe()
        .await
    })
    .is_ok()
}

#[test]
fn contexts_and_renewal_keep_docker_working_and_containers_running() {
    let fleet = Fleet::boot(1).expect("booting 1 test host");
    let host = &fleet.hosts()[0];
    let berth = Berth::new();
    let address = host.address().to_string();

    // A context someone else made: a create of that name is refused before anything is made,
    // and the context is never touched.
    berth.docker_ok(&[
        "context",
        "create",
        "delta",
        "--description",
        "the user's own",
        "--docker",
        "host=tcp://192.0.2.1:2376",
    ]);
    let delta_meta = berth
        .docker_config
        .path()
        .join("contexts/meta")
        .join(berth_context::context_id("delta"))
        .join("meta.json");
    let delta_before = read(&delta_meta);
    let out = berth.create_generic(host, "root", "delta", &[]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("docker context named 'delta' already exists")
            && err.contains("--context-name"),
        "{err}"
    );
    assert_eq!(
        berth.ok(&["ls", "-q"]).trim(),
        "",
        "the refused create left a machine"
    );
    assert_eq!(read(&delta_meta), delta_before);

    // create registers the context; the docker CLI lists it and reaches the engine over mutual TLS.
    let out = berth.create_generic(host, "root", "gamma", &[]);
    assert!(
        out.status.success(),
        "create failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ls = berth.docker_ok(&["context", "ls", "--format", "{{.Name}} {{.DockerEndpoint}}"]);
    assert!(
        ls.lines()
            .any(|l| l == format!("gamma tcp://{address}:2376")),
        "{ls}"
    );
    let version = berth.docker_ok(&[
        "--context",
        "gamma",
        "version",
        "--format",
        "{{.Server.Version}}",
    ]);
    assert!(!version.trim().is_empty());
    let dropin = host
        .check("cat /etc/systemd/system/docker.service.d/10-machine.conf")
        .unwrap();
    assert!(dropin.contains("--live-restore"), "{dropin}");

    // A container that must outlive every engine restart below.
    import_busybox(&berth, "gamma");
    berth.docker_ok(&[
        "--context",
        "gamma",
        "run",
        "-d",
        "--name",
        "keeper",
        "berth-busybox:test",
        "sleep",
        "1000000",
    ]);
    let keeper = id_and_start(&berth, "gamma", "keeper");
    assert!(keeper.contains(" true "), "{keeper}");

    // berth use: plain `docker ps` reaches the machine; ls marks it active.
    berth.ok(&["use", "gamma"]);
    let ps = berth.docker_ok(&["ps", "--format", "{{.Names}}"]);
    assert_eq!(ps.trim(), "keeper");
    let ls = berth.ok(&["ls"]);
    assert!(
        ls.lines()
            .any(|l| l.starts_with("gamma") && l.contains(" * ")),
        "{ls}"
    );

    // regenerate-certs --client-certs: new CA and client certificate in env and context at once;
    // the old client certificate is refused; the container runs on, same ID, same start.
    let dir = berth.machine_dir("gamma");
    let old_client = berth_tls::PemPair {
        cert_pem: read(&dir.join("cert.pem")),
        key_pem: read(&dir.join("key.pem")),
    };
    let old_ca = read(&dir.join("ca.pem"));
    berth.ok(&["regenerate-certs", "--client-certs", "-y", "gamma"]);
    let new_ca = read(&dir.join("ca.pem"));
    assert_ne!(new_ca, old_ca, "--client-certs made no new CA");
    let tls = berth
        .docker_config
        .path()
        .join("contexts/tls")
        .join(berth_context::context_id("gamma"))
        .join("docker");
    assert_eq!(read(&tls.join("ca.pem")), new_ca);
    assert_eq!(read(&tls.join("cert.pem")), read(&dir.join("cert.pem")));
    let ps = berth.docker_ok(&["--context", "gamma", "ps", "--format", "{{.Names}}"]);
    assert_eq!(ps.trim(), "keeper");
    assert!(
        berth.docker("gamma", "ps").status.success(),
        "berth env no longer reaches the machine"
    );
    assert!(
        !accepts(&address, &new_ca, &old_client),
        "the engine still accepts the client certificate made before --client-certs"
    );
    assert_eq!(id_and_start(&berth, "gamma", "keeper"), keeper);

    // A server certificate that expires in 10 days: `certs` warns, provision renews it, and
    // the container still runs with the same start time.
    let ca =
        berth_tls::CertificateAuthority::from_pem(&new_ca, &read(&dir.join("ca-key.pem"))).unwrap();
    let short = ca
        .issue_server(
            &[address.clone(), "gamma".to_owned()],
            berth_tls::KeyAlgorithm::default(),
            10,
        )
        .unwrap();
    std::fs::write(dir.join("server.pem"), &short.cert_pem).unwrap();
    std::fs::write(dir.join("server-key.pem"), &short.key_pem).unwrap();
    let certs: serde_json::Value =
        serde_json::from_str(&berth.ok(&["certs", "--format", "json"])).unwrap();
    assert_eq!(certs[0]["name"], "gamma");
    assert!(certs[0]["days_left"].as_i64().unwrap() <= 10, "{certs}");
    assert!(
        certs[0]["warning"]
            .as_str()
            .unwrap()
            .contains("server certificate of 'gamma' expires in"),
        "{certs}"
    );
    berth.ok(&["provision", "gamma"]);
    assert!(
        berth_tls::days_until_expiry(&read(&dir.join("server.pem"))).unwrap() > 30,
        "provision did not renew the server certificate"
    );
    assert_eq!(id_and_start(&berth, "gamma", "keeper"), keeper);
    assert!(
        berth
            .docker_ok(&["ps", "--format", "{{.Names}}"])
            .contains("keeper")
    );

    // use --unset goes back to default; rm leaves no context, and the foreign one as it was.
    berth.ok(&["use", "--unset"]);
    let config = read(&berth.docker_config.path().join("config.json"));
    assert!(!config.contains("currentContext"), "{config}");
    berth.ok(&["use", "gamma"]);
    berth.ok(&["rm", "-y", "gamma"]);
    let ls = berth.docker_ok(&["context", "ls", "--format", "{{.Name}}"]);
    assert!(!ls.lines().any(|l| l.starts_with("gamma")), "{ls}");
    assert!(
        !berth
            .docker_config
            .path()
            .join("contexts/tls")
            .join(berth_context::context_id("gamma"))
            .exists()
    );
    let config = read(&berth.docker_config.path().join("config.json"));
    assert!(
        !config.contains("gamma"),
        "rm left the current context set: {config}"
    );
    assert_eq!(read(&delta_meta), delta_before);
}
