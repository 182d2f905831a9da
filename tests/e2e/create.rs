//! Issue 4: `berth create -d generic` on real hosts, and the commands on a created machine.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use berth_e2e::Fleet;

use crate::cli::Berth;

/// A busybox image made locally (no registry is reachable) and loaded into the engine.
fn import_busybox(berth: &Berth, name: &str) {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("rootfs");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", root.join("bin/busybox"))
        .expect("busybox-static is installed (scripts/test does)");
    for tool in ["sh", "echo", "cat", "uname"] {
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
    let out = berth.docker(
        name,
        &format!("import '{}' berth-busybox:test", tar.display()),
    );
    assert!(out.status.success(), "docker import failed");
}

#[test]
fn create_installs_the_engine_behind_mutual_tls() {
    let fleet = Fleet::boot(2).expect("booting 2 test hosts");
    let (a, b) = (&fleet.hosts()[0], &fleet.hosts()[1]);
    let berth = Berth::new();

    let out = berth.create_generic(
        a,
        "root",
        "alpha",
        &[
            "--tls-san",
            "alpha.example.test",
            "--engine-label",
            "team=berth",
            "--engine-env",
            "NOTE=a value with 'quotes' and spaces",
        ],
    );
    assert!(
        out.status.success(),
        "create alpha failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The real docker CLI, over TLS, through `berth env`.
    let out = berth.docker("alpha", "version --format '{{.Server.Version}}'");
    assert!(out.status.success(), "docker version over TLS failed");
    assert!(!String::from_utf8_lossy(&out.stdout).trim().is_empty());
    import_busybox(&berth, "alpha");
    let out = berth.docker("alpha", "run --rm berth-busybox:test echo hello-from-berth");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "hello-from-berth"
    );
    let out = berth.docker("alpha", "info --format '{{json .Labels}}'");
    assert!(String::from_utf8_lossy(&out.stdout).contains("team=berth"));
    let env = a.check("systemctl show docker -p Environment").unwrap();
    assert!(
        env.contains("NOTE=a value with 'quotes' and spaces"),
        "{env}"
    );

    // Plain HTTP to 2376 is refused; nothing listens on 2375.
    let address = a.address().to_string();
    let mut plain = TcpStream::connect_timeout(
        &format!("{address}:2376").parse().unwrap(),
        Duration::from_secs(5),
    )
    .unwrap();
    plain
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    plain.write_all(b"GET /version HTTP/1.0\r\n\r\n").unwrap();
    let mut reply = String::new();
    let _ = plain.read_to_string(&mut reply);
    assert!(
        !reply.contains("ApiVersion"),
        "the engine answered plain HTTP: {reply}"
    );
    assert!(
        TcpStream::connect_timeout(
            &format!("{address}:2375").parse().unwrap(),
            Duration::from_secs(3)
        )
        .is_err(),
        "something listens on 2375"
    );
    let listeners = a.check("ss -Hltn").unwrap();
    assert!(!listeners.contains(":2375 "), "{listeners}");

    // TLS without a client certificate, and with machine B's, is refused by machine A.
    let alpha_dir = berth.machine_dir("alpha");
    let ca = std::fs::read_to_string(alpha_dir.join("ca.pem")).unwrap();
    let no_client = std::process::Command::new("curl")
        .args(["-sS", "--max-time", "5", "--cacert"])
        .arg(alpha_dir.join("ca.pem"))
        .arg(format!("https://{address}:2376/version"))
        .output();
    if let Ok(out) = no_client {
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("ApiVersion"),
            "the engine answered a client without a certificate"
        );
    }
    let out = berth.create_generic(b, "berth", "beta", &[]);
    assert!(
        out.status.success(),
        "create by a sudo user failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let beta_dir = berth.machine_dir("beta");
    let b_client = berth_tls::PemPair {
        cert_pem: std::fs::read_to_string(beta_dir.join("cert.pem")).unwrap(),
        key_pem: std::fs::read_to_string(beta_dir.join("key.pem")).unwrap(),
    };
    let probe = |client: &berth_tls::PemPair| {
        let tls = berth_engine::ClientTls {
            ca_pem: ca.clone(),
            client: client.clone(),
        };
        berth_engine::block_on(async {
            berth_engine::Engine::new(
                berth_net::HostPort::new(address.clone(), 2376),
                &tls,
                Duration::from_secs(5),
            )?
            .probe()
            .await
        })
    };
    let refused = probe(&b_client);
    assert!(
        refused.is_err(),
        "machine A accepted machine B's client certificate"
    );
    let a_client = berth_tls::PemPair {
        cert_pem: std::fs::read_to_string(alpha_dir.join("cert.pem")).unwrap(),
        key_pem: std::fs::read_to_string(alpha_dir.join("key.pem")).unwrap(),
    };
    assert!(probe(&a_client).is_ok());

    // ssh passes the remote exit status; scp round-trips bytes.
    let out = berth.run(&["ssh", "alpha", "--", "sh", "-c", "exit 3"]);
    assert_eq!(out.status.code(), Some(3));
    let data: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let local = tempfile::tempdir().unwrap();
    let src = local.path().join("blob");
    std::fs::write(&src, &data).unwrap();
    berth.ok(&["scp", src.to_str().unwrap(), "alpha:/tmp/blob"]);
    let back = local.path().join("back");
    berth.ok(&["scp", "alpha:/tmp/blob", back.to_str().unwrap()]);
    assert_eq!(std::fs::read(&back).unwrap(), data);

    // An interactive `berth ssh` gets a terminal on the host (driven through `script`'s PTY).
    let interactive = format!(
        "BERTH_STORAGE_PATH='{}' '{}' ssh alpha",
        berth.store.path().display(),
        crate::cli::berth_bin().display()
    );
    let mut child = std::process::Command::new("script")
        .args(["-qec", &interactive, "/dev/null"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"tty; hostname; exit 5\n")
        .unwrap();
    let session = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&session.stdout);
    assert_eq!(session.status.code(), Some(5), "{text}");
    assert!(
        text.contains("/dev/pts/") && text.contains("alpha"),
        "{text}"
    );

    // provision twice leaves the same drop-in; regenerate-certs with a new SAN keeps docker working.
    let dropin = "cat /etc/systemd/system/docker.service.d/10-machine.conf";
    let first = a.check(dropin).unwrap();
    berth.ok(&["provision", "alpha"]);
    berth.ok(&["provision", "alpha"]);
    assert_eq!(a.check(dropin).unwrap(), first);
    // It holds --engine-env's value, so only root may read it (issue 10, item 11).
    assert!(first.contains("Environment="), "{first}");
    let mode = a
        .check("stat -c %a /etc/systemd/system/docker.service.d/10-machine.conf")
        .unwrap();
    assert_eq!(
        mode.trim(),
        "600",
        "the drop-in with Environment= values is private"
    );
    berth.ok(&[
        "regenerate-certs",
        "-y",
        "--tls-san",
        "new-name.example.test",
        "alpha",
    ]);
    let sans = berth_tls::inspect(&std::fs::read_to_string(alpha_dir.join("server.pem")).unwrap())
        .unwrap()
        .sans;
    assert!(
        sans.iter().any(|s| s == "new-name.example.test"),
        "{sans:?}"
    );
    assert!(
        sans.iter().any(|s| s == "alpha.example.test"),
        "the first --tls-san was lost: {sans:?}"
    );
    assert!(
        berth.docker("alpha", "version").status.success(),
        "docker stopped working after regenerate-certs"
    );

    // The engine itself serves the new certificate (it was restarted): a TLS client that
    // verifies the server as new-name.example.test, dialling the address, is accepted.
    assert!(
        engine_serves_name(&address, &alpha_dir, "new-name.example.test"),
        "the engine still serves the old certificate after regenerate-certs"
    );
    assert!(!engine_serves_name(
        &address,
        &alpha_dir,
        "never-asked-for.example.test"
    ));

    // ls shows both with their engine version; status says Running.
    let ls = berth.ok(&["ls"]);
    assert!(
        ls.lines()
            .any(|l| l.starts_with("alpha") && l.contains("Running") && l.contains(" v")),
        "{ls}"
    );
    assert_eq!(berth.ok(&["status", "beta"]).trim(), "Running");

    // A changed host key is refused.
    a.check("rm -f /etc/ssh/ssh_host_* && ssh-keygen -A && systemctl restart ssh")
        .unwrap();
    let out = berth.run(&["provision", "alpha"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("host key") && err.contains("changed"), "{err}");

    // rm says the host is left as it is.
    let out = berth.run(&["rm", "-y", "beta"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("left as it is"));
}

/// Whether the engine at `address` completes a mutual-TLS handshake in which the server
/// certificate is verified for `name` (with the machine's CA and client certificate).
fn engine_serves_name(address: &str, machine_dir: &std::path::Path, name: &str) -> bool {
    use berth_tls::rustls;
    let read = |f: &str| std::fs::read_to_string(machine_dir.join(f)).unwrap();
    let client = berth_tls::PemPair {
        cert_pem: read("cert.pem"),
        key_pem: read("key.pem"),
    };
    let config = berth_tls::client_config(&read("ca.pem"), &client).unwrap();
    let server_name = rustls::pki_types::ServerName::try_from(name.to_owned()).unwrap();
    let mut conn = rustls::ClientConnection::new(config, server_name).unwrap();
    let mut sock = TcpStream::connect_timeout(
        &format!("{address}:2376").parse().unwrap(),
        Duration::from_secs(5),
    )
    .unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut tls = rustls::Stream::new(&mut conn, &mut sock);
    if tls.write_all(b"GET /_ping HTTP/1.0\r\n\r\n").is_err() {
        return false;
    }
    let mut reply = String::new();
    let _ = tls.read_to_string(&mut reply);
    reply.contains("OK")
}
