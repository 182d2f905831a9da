//! The protocol against traffic recorded from the real docker-machine 0.16.2 plugin host (its
//! `none` driver, through a logging proxy): a TCP server in the test answers berth's requests
//! with the recorded answers, one by one, and keeps what berth sent, so the tests check both
//! directions byte for byte. A shell script stands in for the plugin process: it prints the
//! server's address as a plugin prints its own, then waits.
//!
//! Fixtures (tests/fixtures): `none-0` is `create -d none --help` (flags only), `none-1` a whole
//! `create`, `none-2` `ls`, `none-3` `stop` (refused by the driver), `none-4` `rm`; `.c2s` is what
//! docker-machine sent, `.s2c` what the plugin answered. The `generic-*` sessions are the same
//! for docker-machine's `generic` driver against a real test host: `generic-0` is
//! `create -d generic --help`, `generic-1` create's flag lookup, `generic-2` the create itself
//! (docker-machine's own provisioning of Debian 12 then failed, after the driver's part),
//! `generic-3` `ls`, `generic-4` `stop` (refused by the driver), `generic-5` `rm`.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use berth_gorpc::{GoDeadlines, GoPlugin, GoRpcError, GoState, GoValue, LaunchOptions};
use gobwire::{Decoder, Progress};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name),
    )
    .unwrap()
}

/// Splits a recorded stream after its CONNECT line into messages, grouped by value: each group
/// is the bytes of one gob value (type definitions included). Requests and responses are two
/// values each, a header and a body.
fn values(stream: &[u8]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let at = stream.windows(2).position(|w| w == b"\n\n").unwrap() + 2;
    let (head, mut rest) = stream.split_at(at);
    let mut decoder = Decoder::new();
    let mut out = Vec::new();
    let mut current = Vec::new();
    while !rest.is_empty() {
        let (width, len) = gobwire::parse_length_prefix(rest).unwrap().unwrap();
        current.extend_from_slice(&rest[..width + len]);
        let progress = decoder.push_message(&rest[width..width + len]).unwrap();
        rest = &rest[width + len..];
        if progress == Progress::Ready {
            decoder.discard().unwrap();
            out.push(std::mem::take(&mut current));
        }
    }
    (head.to_vec(), out)
}

/// Reads one gob value's bytes from `stream`.
fn read_value(stream: &mut TcpStream, decoder: &mut Decoder) -> Option<Vec<u8>> {
    let mut raw = Vec::new();
    loop {
        let mut first = [0u8; 1];
        if stream.read_exact(&mut first).is_err() {
            return None;
        }
        let mut prefix = vec![first[0]];
        if first[0] >= 0x80 {
            let mut more = vec![0u8; usize::from(first[0].wrapping_neg())];
            stream.read_exact(&mut more).ok()?;
            prefix.extend_from_slice(&more);
        }
        let (width, len) = gobwire::parse_length_prefix(&prefix).unwrap().unwrap();
        assert_eq!(width, prefix.len());
        let mut body = vec![0u8; len];
        stream.read_exact(&mut body).ok()?;
        raw.extend_from_slice(&prefix);
        raw.extend_from_slice(&body);
        if decoder.push_message(&body).unwrap() == Progress::Ready {
            decoder.discard().unwrap();
            return Some(raw);
        }
    }
}

/// What the fake plugin does at request number `n` (0-based) instead of answering.
#[derive(Clone, Copy)]
enum Misbehave {
    Never,
    /// Say nothing more, keep the connection open.
    Silence(usize),
    /// Send these bytes instead of the answer.
    Garbage(usize, &'static [u8]),
    /// Close the connection and let the process exit with status 3.
    Exit(usize),
}

struct Fake {
    dir: tempfile::TempDir,
    script: PathBuf,
    /// What berth sent after CONNECT, one entry per request (header and body bytes).
    sent: mpsc::Receiver<(Vec<u8>, Vec<Vec<u8>>)>,
}

/// A plugin that answers with the recorded `s2c` of `session`.
fn fake(session: &str, misbehave: Misbehave) -> Fake {
    let (connect_answer, answers) = values(&fixture(&format!("{session}.s2c")));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("exit");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let script = dir.path().join("docker-machine-driver-fake");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\necho 127.0.0.1:{port}\necho 'a log line' >&2\nread x < '{}'\nexit 3\n",
            fifo.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (tx, sent) = mpsc::channel();
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut connect = Vec::new();
        while !connect.ends_with(b"\n\n") {
            let mut b = [0u8; 1];
            if stream.read_exact(&mut b).is_err() {
                return;
            }
            connect.push(b[0]);
        }
        stream.write_all(&connect_answer).unwrap();
        let mut decoder = Decoder::new();
        let mut requests = Vec::new();
        let mut answers = answers.chunks(2);
        let mut n = 0;
        while let Some(header) = read_value(&mut stream, &mut decoder) {
            let Some(body) = read_value(&mut stream, &mut decoder) else {
                break;
            };
            requests.push([header, body].concat());
            match misbehave {
                Misbehave::Silence(at) if at == n => {
                    std::thread::sleep(Duration::from_secs(5));
                    break;
                }
                Misbehave::Garbage(at, bytes) if at == n => {
                    let _ = stream.write_all(bytes);
                    std::thread::sleep(Duration::from_secs(5));
                    break;
                }
                Misbehave::Exit(at) if at == n => {
                    drop(stream);
                    std::fs::write(&fifo, "go\n").unwrap();
                    break;
                }
                _ => {}
            }
            let Some(answer) = answers.next() else { break };
            if stream.write_all(&answer.concat()).is_err() {
                break;
            }
            n += 1;
        }
        let _ = tx.send((connect, requests));
    });
    Fake { dir, script, sent }
}

fn options(deadline: Duration) -> LaunchOptions {
    LaunchOptions {
        // The stand-in script does not exit on Close: it is killed after a short grace.
        deadlines: GoDeadlines {
            close: Duration::from_millis(200),
            ..GoDeadlines::all(deadline)
        },
        heartbeat: Duration::from_secs(3600),
        ..LaunchOptions::default()
    }
}

/// What docker-machine sent in `session`, request by request.
fn recorded_requests(session: &str) -> (Vec<u8>, Vec<Vec<u8>>) {
    let (connect, values) = values(&fixture(&format!("{session}.c2s")));
    (connect, values.chunks(2).map(<[Vec<u8>]>::concat).collect())
}

const BARE: &[u8] = br#"{"IPAddress":"","MachineName":"n1","SSHUser":"","SSHPort":0,"SSHKeyPath":"","StorePath":"/tmp/gorec/store","SwarmMaster":false,"SwarmHost":"","SwarmDiscovery":""}"#;

/// The handshake and every request kind of a whole create, as docker-machine 0.16.2 sends them,
/// byte for byte — except `SetConfigFromFlags`, whose map Go writes in random order — and
/// every answer as the real plugin gave it.
#[test]
fn a_create_session_matches_docker_machines_bytes() {
    let fake = fake("none-1", Misbehave::Never);
    let p = GoPlugin::launch("none", &fake.script, options(Duration::from_secs(10))).unwrap();
    // docker-machine's order (client_driver.go NewRPCClientDriver, then create.go).
    p.set_config_raw(BARE).unwrap();
    assert_eq!(p.get_machine_name().unwrap(), "n1");
    assert_eq!(p.get_machine_name().unwrap(), "n1");
    assert_eq!(p.driver_name().unwrap(), "none");
    let flags = p.get_create_flags().unwrap();
    assert_eq!(flags.len(), 1);
    assert_eq!(flags[0].name, "url");
    assert_eq!(flags[0].usage, "URL of host when no driver is selected");
    assert_eq!(flags[0].default, GoValue::String(String::new()));
    let mut values = BTreeMap::new();
    values.insert(
        "url".to_owned(),
        GoValue::String("tcp://127.0.0.1:2376".into()),
    );
    values.insert("swarm".to_owned(), GoValue::Bool(false));
    values.insert(
        "engine-opt".to_owned(),
        GoValue::StringSlice(vec!["a=b".into()]),
    );
    values.insert("engine-port".to_owned(), GoValue::Int(2376));
    p.set_config_from_flags(&values).unwrap();
    p.pre_create_check(&|_| {}).unwrap();
    let _ = p.get_config_raw().unwrap();
    p.create(&|_| {}).unwrap();
    let raw = p.get_config_raw().unwrap();
    let config: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(config["URL"], "tcp://127.0.0.1:2376");
    assert_eq!(config["MachineName"], "n1");
    p.close();

    let (connect, sent) = fake.sent.recv_timeout(Duration::from_secs(10)).unwrap();
    let (want_connect, want) = recorded_requests("none-1");
    assert_eq!(connect, want_connect, "the CONNECT line");
    assert_eq!(connect, b"CONNECT /_goRPC_ HTTP/1.0\n\n");
    // GetVersion … GetCreateFlags: the first six requests, identical bytes.
    for i in 0..6 {
        assert_eq!(
            sent[i], want[i],
            "request {i} differs from docker-machine's"
        );
    }
    // SetConfigFromFlags: its header and the registered name of its value's type.
    let flags_request = &sent[6];
    let name = b"*rpcdriver.RPCFlags";
    assert!(flags_request.windows(name.len()).any(|w| w == name));
    // PreCreateCheck … GetConfigRaw: the same bytes as docker-machine's (the seq numbers agree).
    for i in 7..10 {
        assert_eq!(
            sent[i], want[i],
            "request {i} differs from docker-machine's"
        );
    }
}

/// Every getter of `ls`, and the answer that carries the driver's own refusal (`stop`).
#[test]
fn the_drivers_own_error_is_passed_on_and_the_session_goes_on() {
    let fake = fake("none-3", Misbehave::Never);
    let p = GoPlugin::launch("none", &fake.script, options(Duration::from_secs(10))).unwrap();
    p.set_config_raw(br#"{"MachineName":"n1"}"#).unwrap();
    assert_eq!(p.get_machine_name().unwrap(), "n1");
    assert_eq!(p.get_state().unwrap(), GoState::Running);
    let e = p.stop_machine(&|_| {}).unwrap_err();
    assert_eq!(
        e.remote_message(),
        Some("hosts without a driver cannot be stopped")
    );
    assert!(e.to_string().contains("none"), "{e}");
}

#[test]
fn a_plugin_that_stops_answering_is_stopped_at_the_deadline() {
    let fake = fake("none-1", Misbehave::Silence(2));
    let p = GoPlugin::launch("none", &fake.script, options(Duration::from_millis(500))).unwrap();
    p.set_config_raw(BARE).unwrap();
    let t = Instant::now();
    let e = p.get_machine_name().unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(3), "{:?}", t.elapsed());
    match &e {
        GoRpcError::TimedOut {
            driver,
            method,
            stderr_tail,
            ..
        } => {
            assert_eq!(
                (driver.as_str(), method.as_str()),
                ("none", "GetMachineName")
            );
            assert_eq!(stderr_tail, &["a log line".to_owned()]);
        }
        other => panic!("{other}"),
    }
    // The plugin was stopped: the next call fails at once, no hang.
    let t = Instant::now();
    assert!(p.driver_name().is_err());
    assert!(t.elapsed() < Duration::from_secs(2));
    drop(fake.dir);
}

#[test]
fn a_huge_message_is_refused_without_reading_it() {
    // A length prefix of 2^32 bytes (five length bytes follow 0xfb).
    let fake = fake("none-1", Misbehave::Garbage(1, &[0xfb, 0x01, 0, 0, 0, 0]));
    let p = GoPlugin::launch("none", &fake.script, options(Duration::from_secs(5))).unwrap();
    let t = Instant::now();
    let e = p.set_config_raw(BARE).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(2));
    match &e {
        GoRpcError::Malformed { detail, method, .. } => {
            assert_eq!(method, "SetConfigRaw");
            assert!(detail.contains("4294967296 bytes"), "{detail}");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn a_malformed_gob_stream_is_a_protocol_error() {
    // A well-framed message whose content is no gob value (a type id never defined).
    let fake = fake("none-1", Misbehave::Garbage(1, &[0x03, 0x7e, 0x00, 0x01]));
    let p = GoPlugin::launch("none", &fake.script, options(Duration::from_secs(5))).unwrap();
    let e = p.set_config_raw(BARE).unwrap_err();
    assert!(matches!(e, GoRpcError::Malformed { .. }), "{e}");
    assert!(
        e.to_string()
            .contains("broke the Go RPC protocol during SetConfigRaw"),
        "{e}"
    );
}

#[test]
fn a_plugin_that_exits_mid_call_is_reported_with_its_status() {
    let fake = fake("none-1", Misbehave::Exit(1));
    let p = GoPlugin::launch("none", &fake.script, options(Duration::from_secs(5))).unwrap();
    let t = Instant::now();
    let e = p.set_config_raw(BARE).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(4));
    match &e {
        GoRpcError::Exited {
            status,
            stderr_tail,
            ..
        } => {
            assert_eq!(status, "exit status 3");
            assert_eq!(stderr_tail, &["a log line".to_owned()]);
        }
        other => panic!("{other}"),
    }
}

#[test]
fn an_address_that_is_not_loopback_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("docker-machine-driver-far");
    std::fs::write(&script, "#!/bin/sh\necho 192.0.2.1:4000\nsleep 30\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let e = GoPlugin::launch("far", &script, options(Duration::from_secs(5))).unwrap_err();
    assert!(matches!(e, GoRpcError::NotLoopback { .. }), "{e}");
    assert!(e.to_string().contains("192.0.2.1:4000"), "{e}");
}

#[test]
fn a_binary_that_prints_no_address_is_given_up_on_in_time() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("docker-machine-driver-mute");
    std::fs::write(&script, "#!/bin/sh\nexec sleep 30\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let t = Instant::now();
    let e = GoPlugin::launch("mute", &script, options(Duration::from_millis(300))).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(2));
    assert!(matches!(e, GoRpcError::NoAddress { .. }), "{e}");
    // Without the token, docker-machine's plugins print a notice and exit 1: that is said too.
    let script = dir.path().join("docker-machine-driver-notice");
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'This is a Docker Machine plugin binary.' >&2\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let e = GoPlugin::launch("notice", &script, options(Duration::from_secs(5))).unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("exit status 1") && text.contains("This is a Docker Machine plugin binary."),
        "{text}"
    );
}

/// The driver config docker-machine handed back in `session`'s `SetConfigRaw` (request 1): the
/// JSON text inside the gob bytes, exactly as it was sent.
fn recorded_config(session: &str) -> Vec<u8> {
    let (_, requests) = recorded_requests(session);
    let request = &requests[1];
    let start = request.iter().position(|b| *b == b'{').unwrap();
    let mut values =
        serde_json::Deserializer::from_slice(&request[start..]).into_iter::<serde_json::Value>();
    values.next().unwrap().unwrap();
    request[start..start + values.byte_offset()].to_vec()
}

/// Requests `range` of what berth sent are docker-machine's bytes.
fn same_requests(sent: &[Vec<u8>], want: &[Vec<u8>], range: std::ops::Range<usize>) {
    for i in range {
        assert_eq!(
            sent[i], want[i],
            "request {i} differs from docker-machine's"
        );
    }
}

/// docker-machine's `generic` driver: a create as docker-machine 0.16.2 drives it, byte for byte
/// up to the driver's Create (SetConfigFromFlags aside: Go writes its map in random order).
#[test]
fn a_generic_create_session_matches_docker_machines_bytes() {
    let fake = fake("generic-2", Misbehave::Never);
    let p = GoPlugin::launch("generic", &fake.script, options(Duration::from_secs(10))).unwrap();
    p.set_config_raw(&recorded_config("generic-2")).unwrap();
    assert_eq!(p.get_machine_name().unwrap(), "g1");
    assert_eq!(p.get_machine_name().unwrap(), "g1");
    assert_eq!(p.driver_name().unwrap(), "generic");
    let flags = p.get_create_flags().unwrap();
    let names: Vec<&str> = flags.iter().map(|f| f.name.as_str()).collect();
    for name in [
        "generic-engine-port",
        "generic-ip-address",
        "generic-ssh-key",
        "generic-ssh-port",
        "generic-ssh-user",
    ] {
        assert!(names.contains(&name), "{names:?}");
    }
    let port = flags.iter().find(|f| f.name == "generic-ssh-port").unwrap();
    assert_eq!(port.default, GoValue::Int(22));
    let mut values = BTreeMap::new();
    values.insert(
        "generic-ip-address".to_owned(),
        GoValue::String("10.213.0.2".into()),
    );
    values.insert("generic-ssh-port".to_owned(), GoValue::Int(22));
    p.set_config_from_flags(&values).unwrap();
    p.pre_create_check(&|_| {}).unwrap();
    let _ = p.get_config_raw().unwrap();
    p.create(&|_| {}).unwrap();
    let raw = p.get_config_raw().unwrap();
    let config: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(config["MachineName"], "g1");
    assert_eq!(config["SSHUser"], "root");
    p.close();

    let (connect, sent) = fake.sent.recv_timeout(Duration::from_secs(10)).unwrap();
    let (want_connect, want) = recorded_requests("generic-2");
    assert_eq!(connect, want_connect, "the CONNECT line");
    // GetVersion, SetConfigRaw (the same config text), GetMachineName ×2, DriverName,
    // GetCreateFlags; then PreCreateCheck, GetConfigRaw, Create, GetConfigRaw.
    same_requests(&sent, &want, 0..6);
    let name = b"*rpcdriver.RPCFlags";
    assert!(sent[6].windows(name.len()).any(|w| w == name));
    same_requests(&sent, &want, 7..11);
}

/// Replays a whole generic session: a stand-in answering as the recorded plugin did, handed
/// docker-machine's own config first, then `calls`, then `Close`; every request berth sent must
/// be docker-machine's, byte for byte.
fn replay_whole_generic_session(session: &str, calls: impl FnOnce(&GoPlugin)) {
    let fake = fake(session, Misbehave::Never);
    let p = GoPlugin::launch("generic", &fake.script, options(Duration::from_secs(10))).unwrap();
    p.set_config_raw(&recorded_config(session)).unwrap();
    calls(&p);
    p.close();
    let (_, sent) = fake.sent.recv_timeout(Duration::from_secs(10)).unwrap();
    let (_, want) = recorded_requests(session);
    same_requests(&sent, &want, 0..want.len());
}

/// `stop` of a generic machine: the same requests as docker-machine's, and the driver's own
/// refusal passed on as its sentence.
#[test]
fn a_generic_stop_is_refused_in_the_driver_s_words_with_docker_machines_bytes() {
    replay_whole_generic_session("generic-4", |p| {
        assert_eq!(p.get_machine_name().unwrap(), "g1");
        assert_eq!(p.get_state().unwrap(), GoState::Running);
        let e = p.stop_machine(&|_| {}).unwrap_err();
        assert_eq!(
            e.remote_message(),
            Some("generic driver does not support stop")
        );
    });
}

/// `ls` and `rm` of a generic machine: every request as docker-machine sent it.
#[test]
fn generic_ls_and_rm_sessions_match_docker_machines_bytes() {
    replay_whole_generic_session("generic-3", |p| {
        assert_eq!(p.get_machine_name().unwrap(), "g1");
        assert_eq!(p.get_url().unwrap(), "tcp://10.213.0.2:2376");
        assert_eq!(p.driver_name().unwrap(), "generic");
    });
    replay_whole_generic_session("generic-5", |p| {
        assert_eq!(p.get_machine_name().unwrap(), "g1");
        p.remove(&|_| {}).unwrap();
    });
}
