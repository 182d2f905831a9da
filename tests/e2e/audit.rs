//! Issue 10 item 13: `berth audit` against three real hosts — an engine on 2375 in plain HTTP,
//! one on 2376 with `--tls` but without `--tlsverify`, and a berth machine (mutual TLS).

use berth_e2e::{Fleet, TestHost};

use crate::cli::Berth;

/// Installs Debian's docker.io (engine 20.10, which still accepts a plain TCP listener) and
/// restarts dockerd with `flags` besides `-H fd://`, then waits until `port` listens.
fn engine_by_hand(host: &TestHost, flags: &str, port: u16) {
    host.check("DEBIAN_FRONTEND=noninteractive apt-get -q update && DEBIAN_FRONTEND=noninteractive apt-get -q install -y docker.io >/dev/null")
        .expect("installing docker.io");
    host.check(&format!(
        "mkdir -p /etc/systemd/system/docker.service.d && printf '[Service]\\nExecStart=\\nExecStart=/usr/sbin/dockerd -H fd:// {flags}\\n' > /etc/systemd/system/docker.service.d/audit.conf && systemctl daemon-reload && {{ systemctl restart docker || {{ journalctl -u docker -n 30 --no-pager >&2; exit 1; }}; }}"
    ))
    .expect("restarting dockerd by hand");
    host.check(&format!(
        "for i in $(seq 300); do ss -Hltn | grep -q ':{port} ' && exit 0; sleep 0.1; done; journalctl -u docker -n 20 --no-pager; exit 1"
    ))
    .expect("dockerd listens");
}

#[test]
fn audit_tells_plain_http_tls_without_verification_and_mutual_tls_apart() {
    let fleet = Fleet::boot(3).expect("booting 3 test hosts");
    let (plain, tls_only, machine) = (&fleet.hosts()[0], &fleet.hosts()[1], &fleet.hosts()[2]);
    let berth = Berth::new();
    std::thread::scope(|s| {
        s.spawn(|| engine_by_hand(plain, "-H tcp://0.0.0.0:2375", 2375));
        s.spawn(|| {
            tls_only
                .check("mkdir -p /etc/docker && openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=audit -keyout /etc/docker/audit-key.pem -out /etc/docker/audit-cert.pem 2>/dev/null")
                .expect("a self-signed certificate");
            engine_by_hand(
                tls_only,
                "-H tcp://0.0.0.0:2376 --tls --tlsverify=false --tlscert=/etc/docker/audit-cert.pem --tlskey=/etc/docker/audit-key.pem",
                2376,
            );
        });
        s.spawn(|| {
            let out = berth.create_generic(machine, "root", "audited", &[]);
            assert!(
                out.status.success(),
                "create failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        });
    });
    let (a, b, c) = (
        plain.address().to_string(),
        tls_only.address().to_string(),
        machine.address().to_string(),
    );

    // Each alone: the verdict and the exit status.
    let verdict = |address: &str| {
        let out = berth.run(&["audit", "--format", "json", address]);
        let findings: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let by_port = |port: u64| {
            findings
                .as_array()
                .unwrap()
                .iter()
                .find(|f| f["port"] == port)
                .map(|f| f["verdict"].as_str().unwrap().to_owned())
                .unwrap()
        };
        (out.status.code(), by_port(2375), by_port(2376))
    };
    assert_eq!(
        verdict(&a),
        (Some(1), "plain-http".into(), "closed".into()),
        "the plain engine"
    );
    assert_eq!(
        verdict(&b),
        (
            Some(1),
            "closed".into(),
            "tls-without-client-verification".into()
        ),
        "the engine with --tls but no --tlsverify"
    );
    assert_eq!(
        verdict(&c),
        (
            Some(0),
            "closed".into(),
            "client-certificate-required".into()
        ),
        "the berth machine"
    );

    // All three at once, as a table: one row per port, the exposed ones say so, exit 1.
    let out = berth.run(&["audit", &a, &b, &c]);
    assert_eq!(out.status.code(), Some(1));
    let table = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = table.lines().collect();
    assert_eq!(lines.len(), 7, "{table}");
    assert!(
        lines[0].starts_with("ADDRESS")
            && lines[0].contains("PORT")
            && lines[0].contains("VERDICT")
    );
    let row = |address: &str, port: &str| {
        lines
            .iter()
            .find(|l| l.split_whitespace().take(2).eq([address, port]))
            .copied()
            .unwrap_or_else(|| panic!("no row for {address} {port}:\n{table}"))
    };
    assert!(row(&a, "2375").contains("EXPOSED"), "{table}");
    assert!(row(&b, "2376").contains("EXPOSED"), "{table}");
    assert!(row(&c, "2376").contains("mutual TLS"), "{table}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 of 6 ports"));
}
