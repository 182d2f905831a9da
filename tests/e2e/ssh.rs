//! berth-ssh against a real sshd: output and status, stdin, streaming, large
//! stderr without deadlock, and the host-key and authentication errors.

use std::fs;

use berth_e2e::Fleet;
use berth_ssh::{Auth, HostKeyPolicy, Session, SshError, Stream};

#[test]
fn exec_reports_status_streams_and_stdin() {
    let fleet = Fleet::boot(1).expect("booting a test host");
    let host = &fleet.hosts()[0];
    let s = host
        .ssh("root")
        .expect("connect as root with an OpenSSH-format ed25519 key");

    let out = s.exec("echo out; echo err >&2; exit 7").expect("exec");
    assert_eq!(
        (out.status, out.stdout_str(), out.stderr_str()),
        (7, "out".into(), "err".into())
    );

    let out = s
        .exec_with_stdin("tr a-z A-Z", b"hello\n")
        .expect("exec with stdin");
    assert_eq!(out.stdout_str(), "HELLO");

    // Regression guard: 8 MB on stderr before any stdout must not deadlock a reader waiting on stdout.
    let out = s
        .exec("head -c 8000000 /dev/zero | tr '\\0' e >&2; echo done")
        .expect("exec with large stderr");
    assert_eq!(out.stderr.len(), 8_000_000);
    assert_eq!(out.stdout_str(), "done");

    let mut lines = Vec::new();
    let status = s
        .exec_streaming(
            "echo one; echo two >&2; printf three",
            &mut |stream, line| {
                lines.push((stream, line.to_string()));
            },
        )
        .expect("streaming exec");
    assert_eq!(status, 0);
    assert!(lines.contains(&(Stream::Stdout, "one".into())), "{lines:?}");
    assert!(lines.contains(&(Stream::Stderr, "two".into())), "{lines:?}");
    assert!(
        lines.contains(&(Stream::Stdout, "three".into())),
        "{lines:?}"
    );

    let killed = s.exec("kill -9 $$").expect("exec killed by a signal");
    assert_eq!(killed.status, 137);
}

#[test]
fn host_keys_are_pinned_and_auth_errors_say_what_was_tried() {
    let fleet = Fleet::boot(1).expect("booting a test host");
    let host = &fleet.hosts()[0];
    let addr = format!("{}:22", host.address());
    let pinned = host
        .ssh("root")
        .expect("first contact pins")
        .host_key_fingerprint();
    let line = fs::read_to_string(host.known_hosts()).expect("known_hosts was written");
    assert!(
        line.starts_with(&format!("{} ssh-", host.address())),
        "{line}"
    );

    let mut t = host.target("root");
    t.policy = HostKeyPolicy::Fingerprint(pinned.clone());
    Session::connect(&t).expect("the right fingerprint is accepted");
    t.policy =
        HostKeyPolicy::Fingerprint("SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into());
    t.known_hosts = host.known_hosts().with_extension("empty");
    let err = Session::connect(&t).expect_err("a wrong fingerprint is refused");
    assert!(matches!(err, SshError::FingerprintMismatch { .. }), "{err}");

    t.policy = HostKeyPolicy::Strict;
    let err = Session::connect(&t).expect_err("strict with an empty known_hosts");
    assert!(
        matches!(err, SshError::HostKeyUnknown { .. }) && err.to_string().contains(&addr),
        "{err}"
    );

    // Another key recorded for the address: the connection is refused and the message says what to do.
    let forged = host.known_hosts().with_extension("forged");
    fs::write(
        &forged,
        format!(
            "{} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEM8ZmuaLY3gNvUDiul1a4atqXI+la73VNEWIHpfam5o\n",
            host.address()
        ),
    )
    .expect("write forged known_hosts");
    t.known_hosts = forged.clone();
    t.policy = HostKeyPolicy::Pin;
    let err = Session::connect(&t).expect_err("a changed host key");
    let text = err.to_string();
    assert!(matches!(err, SshError::HostKeyMismatch { .. }), "{text}");
    assert!(
        text.contains(&addr) && text.contains(&forged.display().to_string()),
        "{text}"
    );
    assert!(
        text.contains("SHA256:Xc+/IVpbv+ENHFJmqf8OD3TW+lmH4lE0dV+7j82otms")
            && text.contains(&pinned),
        "{text}"
    );

    // A private key without its .pub beside it (libssh2 derives the public half itself).
    let lone = host.known_hosts().with_extension("lonekey");
    fs::copy(host.key_path(), &lone).expect("copy the private key alone");
    let mut t = host.target("berth");
    t.auth = Auth::KeyFile(lone);
    Session::connect(&t).expect("ed25519 OpenSSH-format key without .pub");

    t.auth = Auth::KeyFile(host.key_path().with_extension("missing"));
    let err = Session::connect(&t).expect_err("no usable key");
    assert!(
        matches!(err, SshError::AuthFailed { .. }) && err.to_string().contains(&addr),
        "{err}"
    );
}
