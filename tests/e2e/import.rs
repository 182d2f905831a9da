//! Issue 12, item 3: `berth import` of a docker-machine store laid out exactly as docker-machine
//! 0.16.2 writes it, against a real host whose engine was configured with that store's shared
//! CA the way docker-machine's provisioner does (certificates in /etc/docker, a systemd drop-in,
//! port 2376): docker works through the imported machine at once, server-only
//! regenerate-certs refuses and changes nothing, `regenerate-certs --client-certs` moves it onto a
//! CA of its own (docker still works, the old shared-CA client certificate is refused), and the
//! docker-machine store is byte for byte what it was.

use std::path::Path;
use std::process::Command;

use berth_e2e::{Fleet, TestHost};
use berth_names::EnvVars;
use berth_tls::{CertificateAuthority, KeyAlgorithm, PemPair};

use crate::cli::Berth;

/// libmachine's `host.Host` for a generic machine (ConfigVersion 3), as `json.MarshalIndent`
/// writes it: the generic driver's struct (BaseDriver's fields, then EnginePort and SSHKey),
/// then `host.Options` with its engine, swarm and auth options (libmachine/host/host.go,
/// libmachine/auth/options.go, libmachine/engine/engine.go, libmachine/swarm/swarm.go,
/// drivers/generic/generic.go). The paths are docker-machine's: the CA and the client
/// certificate in the shared `certs/`, the server's in the machine's folder.
fn generic_config(store: &Path, name: &str, host: &TestHost, user_key: &Path) -> String {
    let store_s = store.display().to_string();
    let machine = format!("{store_s}/machines/{name}");
    let config = serde_json::json!({
        "ConfigVersion": 3,
        "Driver": {
            "IPAddress": host.address().to_string(),
            "MachineName": name,
            "SSHUser": "root",
            "SSHPort": host.port(),
            "SSHKeyPath": format!("{machine}/id_rsa"),
            "StorePath": store_s,
            "SwarmMaster": false,
            "SwarmHost": "",
            "SwarmDiscovery": "",
            "EnginePort": 2376,
            "SSHKey": user_key.display().to_string(),
        },
        "DriverName": "generic",
        "HostOptions": host_options(&store_s, &machine),
        "Name": name,
    });
    serde_json::to_string_pretty(&config).unwrap()
}

/// A virtualbox machine's config.json (the VirtualBox driver's fields after BaseDriver's),
/// pointed at the same engine: berth has no virtualbox driver.
fn virtualbox_config(store: &Path, name: &str, host: &TestHost) -> String {
    let store_s = store.display().to_string();
    let machine = format!("{store_s}/machines/{name}");
    let config = serde_json::json!({
        "ConfigVersion": 3,
        "Driver": {
            "IPAddress": host.address().to_string(),
            "MachineName": name,
            "SSHUser": "docker",
            "SSHPort": 40001,
            "SSHKeyPath": format!("{machine}/id_rsa"),
            "StorePath": store_s,
            "SwarmMaster": false,
            "SwarmHost": "tcp://0.0.0.0:3376",
            "SwarmDiscovery": "",
            "VBoxManager": {},
            "HostInterfaces": {},
            "CPU": 1,
            "Memory": 1024,
            "DiskSize": 20000,
            "NatNicType": "82540EM",
            "Boot2DockerURL": "",
            "Boot2DockerImportVM": "",
            "HostDNSResolver": false,
            "HostOnlyCIDR": "192.168.99.1/24",
            "HostOnlyNicType": "82540EM",
            "HostOnlyPromiscMode": "deny",
            "UIType": "headless",
            "HostOnlyNoDHCP": false,
            "NoShare": false,
            "DNSProxy": true,
            "NoVTXCheck": false,
            "ShareFolder": ""
        },
        "DriverName": "virtualbox",
        "HostOptions": host_options(&store_s, &machine),
        "Name": name,
    });
    serde_json::to_string_pretty(&config).unwrap()
}

pub(crate) fn host_options(store: &str, machine: &str) -> serde_json::Value {
    serde_json::json!({
        "Driver": "",
        "Memory": 0,
        "Disk": 0,
        "EngineOptions": {
            "ArbitraryFlags": [],
            "Dns": null,
            "GraphDir": "",
            "Env": [],
            "Ipv6": false,
            "InsecureRegistry": [],
            "Labels": [],
            "LogLevel": "",
            "StorageDriver": "",
            "SelinuxEnabled": false,
            "TlsVerify": true,
            "RegistryMirror": [],
            "InstallURL": "https://get.docker.com"
        },
        "SwarmOptions": {
            "IsSwarm": false,
            "Address": "",
            "Discovery": "",
            "Agent": false,
            "Master": false,
            "Host": "tcp://0.0.0.0:3376",
            "Image": "swarm:latest",
            "Strategy": "spread",
            "Heartbeat": 0,
            "Overcommit": 0,
            "ArbitraryFlags": [],
            "ArbitraryJoinFlags": [],
            "Env": null,
            "IsExperimental": false
        },
        "AuthOptions": {
            "CertDir": format!("{store}/certs"),
            "CaCertPath": format!("{store}/certs/ca.pem"),
            "CaPrivateKeyPath": format!("{store}/certs/ca-key.pem"),
            "CaCertRemotePath": "",
            "ServerCertPath": format!("{machine}/server.pem"),
            "ServerKeyPath": format!("{machine}/server-key.pem"),
            "ClientKeyPath": format!("{store}/certs/key.pem"),
            "ServerCertRemotePath": "",
            "ServerKeyRemotePath": "",
            "ClientCertPath": format!("{store}/certs/cert.pem"),
            "ServerCertSANs": [],
            "StorePath": machine
        }
    })
}

pub(crate) fn write(path: &Path, text: &[u8], mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// Every file of the folder with its mode and SHA-256, sorted: equal listings mean nothing
/// was written, removed, added or re-moded.
pub(crate) fn fingerprint(dir: &Path) -> String {
    let out = Command::new("bash")
        .arg("-c")
        .arg("cd \"$1\" && find . -printf '%p %m %s\\n' | sort && find . -type f -print0 | sort -z | xargs -0 sha256sum")
        .arg("fingerprint")
        .arg(dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

/// The docker CLI with explicit TLS files (no berth involved).
fn docker_with(address: &str, ca: &Path, cert: &Path, key: &Path) -> std::process::Output {
    Command::new("docker")
        .arg("--tlsverify")
        .arg(format!("--tlscacert={}", ca.display()))
        .arg(format!("--tlscert={}", cert.display()))
        .arg(format!("--tlskey={}", key.display()))
        .arg(format!("--host=tcp://{address}:2376"))
        .args(["version", "--format", "{{.Server.Version}}"])
        .env_remove(EnvVars::DOCKER_HOST)
        .env_remove(EnvVars::DOCKER_CERT_PATH)
        .env_remove(EnvVars::DOCKER_TLS_VERIFY)
        .output()
        .expect("running docker")
}

/// The shared CA and certificates, as docker-machine makes them (RSA 2048), written into the
/// store's `certs/`: the server's names are the address and localhost
/// (libmachine/provision/utils.go ConfigureAuth).
struct DmCerts {
    ca_pem: String,
    client: PemPair,
    server: PemPair,
}

impl DmCerts {
    fn new(store: &Path, address: &str) -> DmCerts {
        let algo = KeyAlgorithm::Rsa2048;
        let ca = CertificateAuthority::generate("root", algo, 1080).unwrap();
        let client = ca.issue_client("root", algo, 1080).unwrap();
        let server = ca
            .issue_server(&[address.to_owned(), "localhost".into()], algo, 1080)
            .unwrap();
        let PemPair {
            cert_pem: ca_pem,
            key_pem: ca_key,
        } = ca.pem();
        let certs = store.join("certs");
        write(&certs.join("ca.pem"), ca_pem.as_bytes(), 0o644);
        write(&certs.join("ca-key.pem"), ca_key.as_bytes(), 0o600);
        write(&certs.join("cert.pem"), client.cert_pem.as_bytes(), 0o644);
        write(&certs.join("key.pem"), client.key_pem.as_bytes(), 0o600);
        DmCerts {
            ca_pem,
            client,
            server,
        }
    }
}

/// A machine folder as docker-machine leaves it: config.json, the copies ConfigureAuth makes
/// for `docker-machine env`, the server's pair, and the generic driver's copy of the SSH key.
fn write_machine(
    store: &Path,
    name: &str,
    config: &str,
    ca_pem: &str,
    client: &PemPair,
    server: &PemPair,
    host: &TestHost,
) {
    let dir = store.join("machines").join(name);
    write(&dir.join("config.json"), config.as_bytes(), 0o600);
    write(&dir.join("ca.pem"), ca_pem.as_bytes(), 0o644);
    write(&dir.join("cert.pem"), client.cert_pem.as_bytes(), 0o644);
    write(&dir.join("key.pem"), client.key_pem.as_bytes(), 0o600);
    write(&dir.join("server.pem"), server.cert_pem.as_bytes(), 0o644);
    write(
        &dir.join("server-key.pem"),
        server.key_pem.as_bytes(),
        0o600,
    );
    write(
        &dir.join("id_rsa"),
        &std::fs::read(host.key_path()).unwrap(),
        0o600,
    );
}

/// The host as docker-machine leaves it: the engine with the shared CA's certificates in
/// /etc/docker, and a systemd drop-in putting it on 2376 behind TLS.
fn engine_as_docker_machine_leaves_it(host: &TestHost, ca_pem: &str, server: &PemPair) {
    host.check(
        "DEBIAN_FRONTEND=noninteractive apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io",
    )
    .expect("installing the engine");
    let session = host.ssh("root").unwrap();
    for (path, pem) in [
        ("/etc/docker/ca.pem", ca_pem),
        ("/etc/docker/server.pem", server.cert_pem.as_str()),
        ("/etc/docker/server-key.pem", server.key_pem.as_str()),
    ] {
        let out = session
            .exec_with_stdin(
                &format!("mkdir -p /etc/docker && cat > {path}"),
                pem.as_bytes(),
            )
            .unwrap();
        assert!(out.success(), "{}", out.stderr_str());
    }
    drop(session);
    host.check(
        "mkdir -p /etc/systemd/system/docker.service.d && cat > /etc/systemd/system/docker.service.d/10-machine.conf <<'EOF'
[Service]
ExecStart=
ExecStart=/usr/sbin/dockerd -H fd:// -H tcp://0.0.0.0:2376 --tlsverify --tlscacert /etc/docker/ca.pem --tlscert /etc/docker/server.pem --tlskey /etc/docker/server-key.pem --label provider=generic
Environment=
EOF
systemctl daemon-reload && systemctl restart docker",
    )
    .expect("configuring the engine as docker-machine does");
}

#[test]
fn a_docker_machine_store_is_imported_works_at_once_and_moves_onto_its_own_ca() {
    let fleet = Fleet::boot(1).expect("booting a test host");
    let host = &fleet.hosts()[0];
    let address = host.address().to_string();

    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("machine");
    let DmCerts {
        ca_pem,
        client,
        server,
    } = DmCerts::new(&store, &address);
    let certs = store.join("certs");
    for (name, config) in [
        ("dm1", generic_config(&store, "dm1", host, host.key_path())),
        ("vbox1", virtualbox_config(&store, "vbox1", host)),
    ] {
        write_machine(&store, name, &config, &ca_pem, &client, &server, host);
    }
    engine_as_docker_machine_leaves_it(host, &ca_pem, &server);
    // docker-machine's own `env` would work now: the docker CLI with the store's files.
    let dm_dir = store.join("machines/dm1");
    let before_import = docker_with(
        &address,
        &dm_dir.join("ca.pem"),
        &dm_dir.join("cert.pem"),
        &dm_dir.join("key.pem"),
    );
    assert!(
        before_import.status.success(),
        "the engine answers docker-machine's certificates: {}",
        String::from_utf8_lossy(&before_import.stderr)
    );
    let untouched = fingerprint(&store);

    let berth = Berth::new();
    let out = berth.run(&["import", "--from", &store.display().to_string()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "import: {stderr}");
    assert!(stderr.contains("imported as a generic machine"), "{stderr}");
    // Issue 19: the machine keeps its driver; without the driver's binary berth says what to
    // install, and the machine works over its engine URL.
    assert!(
        stderr.contains("imported with its virtualbox driver")
            && stderr.contains("the virtualbox driver is not installed"),
        "said per machine: {stderr}"
    );
    assert!(
        stderr.contains("shared") && stderr.contains("regenerate-certs --client-certs"),
        "the shared CA is named as the weakness, with the fix: {stderr}"
    );
    // Copies, not links; the shared CA's key is not among them.
    let dir = berth.machine_dir("dm1");
    assert!(!dir.join("ca-key.pem").exists());
    assert_eq!(std::fs::read_to_string(dir.join("ca.pem")).unwrap(), ca_pem);

    // docker works at once through each, with the certificates it already had.
    for name in ["dm1", "vbox1"] {
        let ps = berth.docker(name, "ps");
        assert!(ps.status.success(), "docker ps through imported {name}");
    }
    let ls = berth.ok(&["ls", "--format", "{{.Name}} {{.DriverName}} {{.State}}"]);
    assert!(ls.contains("dm1 generic Running"), "{ls}");
    assert!(ls.contains("vbox1 virtualbox Running"), "{ls}");
    // The host key was pinned at import: OpenSSH with StrictHostKeyChecking=yes gets in.
    assert_eq!(berth.ok(&["ssh", "dm1", "hostname"]).trim(), host.name());

    // Server-only regeneration needs the shared CA's key: refused with the fix, state kept.
    let out = berth.run(&["regenerate-certs", "-y", "dm1"]);
    assert!(!out.status.success());
    let refusal = String::from_utf8_lossy(&out.stderr);
    assert!(
        refusal.contains("--client-certs dm1") && refusal.contains("shared CA"),
        "{refusal}"
    );
    let record = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    assert!(record.contains("state = \"Running\""), "{record}");
    assert!(berth.docker("dm1", "ps").status.success());
    // Its SSH (docker-machine's virtualbox port) does not answer here: refused, still usable.
    assert!(
        !berth
            .run(&["regenerate-certs", "-y", "vbox1"])
            .status
            .success()
    );
    assert!(berth.docker("vbox1", "ps").status.success());

    // Onto a CA of its own.
    let out = berth.run(&["regenerate-certs", "--client-certs", "-y", "dm1"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(dir.join("ca-key.pem").is_file());
    let own_ca = std::fs::read_to_string(dir.join("ca.pem")).unwrap();
    assert_ne!(own_ca, ca_pem, "a new CA");
    let ps = berth.docker("dm1", "ps");
    assert!(ps.status.success(), "docker through its own CA");
    // The engine now trusts only that CA: the shared CA's client certificate is refused (the
    // server is verified with the new CA, so the refusal is the client's certificate's).
    let old = docker_with(
        &address,
        &dir.join("ca.pem"),
        &certs.join("cert.pem"),
        &certs.join("key.pem"),
    );
    assert!(
        !old.status.success(),
        "the old shared-CA client certificate must be refused"
    );
    let old_err = String::from_utf8_lossy(&old.stderr);
    assert!(
        old_err.contains("certificate") || old_err.contains("tls"),
        "a TLS refusal: {old_err}"
    );
    // And provision keeps working on its own CA now.
    berth.ok(&["provision", "dm1"]);

    assert_eq!(
        fingerprint(&store),
        untouched,
        "the docker-machine store was not changed"
    );
}

/// Issue 18: a docker-machine store someone handed over is hostile. Next to a good machine,
/// machines whose config.json or files try to reach this computer or a shell: a newline in
/// IPAddress (an ssh_config ProxyCommand), a backquote in URL (tcsh/cmd `env`), a server key
/// that is a link to the user's SSH key, a server key named by absolute path in the user's
/// home, a FIFO where a certificate is, a client key that is not its certificate's, and a
/// folder name with a terminal escape. The good machine works with the docker CLI; each hostile
/// one is refused with a sentence naming the field or file (the absolute path is not read and
/// is named); no file of the planted HOME changed, nothing of it reached berth's store, and
/// the docker-machine store is as it was.
#[test]
fn a_hostile_store_is_refused_beside_a_good_machine_and_nothing_outside_changes() {
    use std::os::unix::fs::symlink;

    let fleet = Fleet::boot(1).expect("booting a test host");
    let host = &fleet.hosts()[0];
    let address = host.address().to_string();
    let work = tempfile::tempdir().unwrap();
    let store = work.path().join("machine");
    let home = work.path().join("home");
    let pwned = home.join("pwned");
    let DmCerts {
        ca_pem,
        client,
        server,
    } = DmCerts::new(&store, &address);
    // The user's secrets: a real private key (so only confinement keeps it out, not a parse
    // error), and other files a store could name.
    let secret_key = CertificateAuthority::generate("secret", KeyAlgorithm::EcdsaP256, 10)
        .unwrap()
        .pem()
        .key_pem;
    write(&home.join(".ssh/id_ed25519"), secret_key.as_bytes(), 0o600);
    write(
        &home.join(".ssh/known_hosts"),
        b"example.invalid ssh-ed25519 AAAA\n",
        0o644,
    );
    write(&home.join(".bashrc"), b"# mine\n", 0o644);
    let stolen = home.join(".ssh/id_ed25519");

    let good = generic_config(&store, "good", host, host.key_path());
    write_machine(&store, "good", &good, &ca_pem, &client, &server, host);
    let config = |name: &str, edit: &dyn Fn(&mut serde_json::Value)| {
        let mut value: serde_json::Value =
            serde_json::from_str(&generic_config(&store, name, host, host.key_path())).unwrap();
        edit(&mut value);
        let text = serde_json::to_string_pretty(&value).unwrap();
        write_machine(&store, name, &text, &ca_pem, &client, &server, host);
        store.join("machines").join(name)
    };
    let touch = format!("touch {}", pwned.display());
    config("evil-ip", &|v| {
        v["Driver"]["IPAddress"] = format!("{address}\nProxyCommand {touch}").into();
    });
    config("evil-url", &|v| {
        v["DriverName"] = "none".into();
        v["Driver"]["URL"] = format!("tcp://{address}:2376`{touch}`").into();
    });
    let dir = config("evil-link", &|_| {});
    std::fs::remove_file(dir.join("server-key.pem")).unwrap();
    symlink(&stolen, dir.join("server-key.pem")).unwrap();
    let stolen_text = stolen.display().to_string();
    let dir = config("evil-abs", &|v| {
        v["HostOptions"]["AuthOptions"]["ServerKeyPath"] = stolen_text.clone().into();
    });
    std::fs::remove_file(dir.join("server-key.pem")).unwrap();
    let dir = config("evil-fifo", &|_| {});
    std::fs::remove_file(dir.join("server.pem")).unwrap();
    let fifo = Command::new("mkfifo")
        .arg(dir.join("server.pem"))
        .status()
        .unwrap();
    assert!(fifo.success());
    let dir = config("evil-key", &|_| {});
    write(&dir.join("key.pem"), server.key_pem.as_bytes(), 0o600);
    config("evil\u{1b}]0;owned\u{7}", &|_| {});

    engine_as_docker_machine_leaves_it(host, &ca_pem, &server);
    let home_before = fingerprint(&home);
    let store_before = fingerprint(&store);

    let berth = Berth::new();
    let started = std::time::Instant::now();
    let out = berth
        .cmd()
        .env("HOME", &home)
        .args(["import", "--from", &store.display().to_string()])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("{stderr}");
    assert!(!out.status.success(), "some machines must fail: {stderr}");
    // The FIFO did not hang it (the import has a 5 s engine probe per machine at most).
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    assert!(
        stderr.contains("good: imported as a generic machine"),
        "{stderr}"
    );
    for (name, words) in [
        ("evil-ip", &["Driver.IPAddress", "config.json", "\\n"][..]),
        ("evil-url", &["Driver.URL", "config.json", "`"][..]),
        ("evil-link", &["server-key.pem", "symbolic link"][..]),
        ("evil-fifo", &["server.pem", "FIFO"][..]),
        ("evil-key", &["client key", "does not belong"][..]),
    ] {
        let line = stderr
            .lines()
            .find(|l| l.contains(&format!("{name}: ")) && l.starts_with("error"))
            .unwrap_or_else(|| panic!("no refusal for {name}: {stderr}"));
        for word in words {
            assert!(line.contains(word), "{name}: {word} not in {line}");
        }
        assert!(!berth.machine_dir(name).exists(), "{name} left a folder");
    }
    // The folder name with a terminal escape: refused, and shown escaped, never raw.
    assert!(
        !stderr.contains('\u{1b}'),
        "a raw escape reached the terminal"
    );
    assert!(
        stderr.contains("not a valid machine name"),
        "the escaped name is refused: {stderr}"
    );
    // The absolute path outside the store was not read, and is named with the way to trust it.
    assert!(
        stderr.contains(&stolen_text) && stderr.contains("--trust-recorded-paths"),
        "{stderr}"
    );
    assert!(
        !berth
            .machine_dir("evil-abs")
            .join("server-key.pem")
            .exists()
    );

    // The good machine works with the real docker CLI.
    let ps = berth.docker("good", "ps");
    assert!(
        ps.status.success(),
        "docker ps through the good machine: {}",
        String::from_utf8_lossy(&ps.stderr)
    );
    // Nothing outside the two stores changed, nothing ran, and no secret of HOME reached
    // berth's store.
    assert!(!pwned.exists(), "a planted command ran");
    assert_eq!(fingerprint(&home), home_before, "HOME was changed");
    assert_eq!(
        fingerprint(&store),
        store_before,
        "the docker-machine store was changed"
    );
    let copied = Command::new("grep")
        .args(["-rlF", secret_key.lines().nth(1).unwrap()])
        .arg(berth.store.path())
        .output()
        .unwrap();
    assert!(
        copied.stdout.is_empty(),
        "the user's key was copied into berth's store: {}",
        String::from_utf8_lossy(&copied.stdout)
    );
}
