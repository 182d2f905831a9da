//! The provisioning flow against a fake host: which commands run, in which
//! order, with what privilege, and what a second run changes (nothing).

#![allow(clippy::unwrap_used)]

use std::cell::Cell;
use std::time::Duration;

use crate::facts::DETECT_SCRIPT;
use crate::fake::FakeHost;
use crate::flow::{
    CONFIGURE_SCRIPT, HOSTNAME_SCRIPT, INSTALL_SCRIPT, Outcome, Plan, ServerCerts,
    WRITE_FILES_SCRIPT, provision,
};
use crate::{
    CA_PATH, DROPIN_PATH, EngineConfig, ErrorKind, Event, ProvisionError, SERVER_KEY_PATH, Step,
};

#[test]
fn the_server_key_never_shows_in_debug_output() {
    let certs = ServerCerts {
        ca_pem: "CA".into(),
        cert_pem: "CERT".into(),
        key_pem: "-----BEGIN PRIVATE KEY-----SECRET".into(),
    };
    let shown = format!("{certs:?} {certs:#?}");
    assert!(!shown.contains("SECRET"), "{shown}");
    assert!(shown.contains("CERT"), "{shown}");
}

fn certs(serial: u32) -> ServerCerts {
    ServerCerts {
        ca_pem: "-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n".into(),
        cert_pem: format!(
            "-----BEGIN CERTIFICATE-----\nSERVER {serial}\n-----END CERTIFICATE-----\n"
        ),
        key_pem: "-----BEGIN PRIVATE KEY-----\nKEY\n-----END PRIVATE KEY-----\n".into(),
    }
}

/// Runs a provisioning with certificates `serial`, a readiness check that
/// fails `not_ready` times first, and returns the outcome and the events.
fn run(
    host: &FakeHost,
    plan: &Plan<'_>,
    serial: u32,
    not_ready: u32,
) -> (Result<Outcome<String>, ProvisionError>, Vec<String>) {
    let mut events = Vec::new();
    let polls = Cell::new(0);
    let result = provision(
        host,
        plan,
        &mut |facts| {
            assert!(
                !facts.addresses.is_empty(),
                "SANs need the host's addresses"
            );
            Ok::<_, String>(certs(serial))
        },
        &mut || {
            polls.set(polls.get() + 1);
            if polls.get() > not_ready {
                Ok::<_, String>("20.10.24".to_owned())
            } else {
                Err("connection refused".to_owned())
            }
        },
        &mut |event| {
            let line = match event {
                Event::StepStarted(step) => format!("start {step}"),
                Event::StepDone(step) => format!("done {step}"),
                Event::StepSkipped { step, reason } => format!("skip {step}: {reason}"),
                Event::Detail(line) => format!("detail {line}"),
                Event::Warning(line) => format!("warning {line}"),
                Event::RemoteCommand {
                    purpose, status, ..
                } => format!("cmd {purpose} -> {status}"),
            };
            events.push(line);
        },
    );
    (result, events)
}

fn plan<'a>(name: &'a str, engine: &'a EngineConfig) -> Plan<'a> {
    Plan {
        ready_timeout: Duration::from_millis(500),
        // Unit tests dial nothing: the port counts as reachable unless a test says otherwise.
        reach: |_, _| Ok(()),
        ..Plan::new(name, "10.0.0.5", engine)
    }
}

/// What `reach` says for a port a firewall drops.
fn dropped(address: &berth_net::HostPort, timeout: Duration) -> Result<(), String> {
    Err(format!("no answer from {address} within {timeout:?}"))
}

#[test]
fn a_firewall_dropping_the_port_is_named_long_before_the_deadline() {
    let host = FakeHost::debian(true);
    host.listening.set(true);
    let engine = EngineConfig::default();
    let plan = Plan {
        ready_timeout: Duration::from_secs(60),
        reach: dropped,
        ..plan("web1", &engine)
    };
    let started = std::time::Instant::now();
    let (result, events) = run(&host, &plan, 1, u32::MAX);
    let err = result.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(err.step, Step::WaitingForEngine);
    assert!(matches!(*err.kind, ErrorKind::Unreachable { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("the engine listens on the host (LISTEN 0.0.0.0:2376) but this computer cannot reach 10.0.0.5:2376: no answer from 10.0.0.5:2376 within 3s"),
        "{text}"
    );
    assert!(
        text.contains(
            "Open TCP port 2376 from this computer to the host, then run `berth provision web1`"
        ),
        "{text}"
    );
    assert!(
        text.contains("last TLS attempt said: connection refused"),
        "{text}"
    );
    assert!(
        events.contains(
            &"detail waiting for the engine to answer over TLS on 10.0.0.5:2376 (up to 60s)"
                .to_owned()
        ),
        "{events:#?}"
    );
}

#[test]
fn an_engine_not_listening_yet_is_waited_for_until_the_deadline() {
    // The port cannot be reached but nothing listens: no firewall to blame, the wait goes on.
    let host = FakeHost::debian(true);
    let engine = EngineConfig::default();
    let plan = Plan {
        ready_timeout: Duration::from_secs(5),
        reach: dropped,
        ..plan("web1", &engine)
    };
    let started = std::time::Instant::now();
    let err = run(&host, &plan, 1, u32::MAX).0.unwrap_err();
    assert!(started.elapsed() >= Duration::from_secs(5));
    assert!(matches!(*err.kind, ErrorKind::NotReady { .. }), "{err}");
}

#[test]
fn a_host_clock_hours_behind_is_refused_before_anything_changes() {
    let host = FakeHost::debian(false);
    host.clock_offset.set(-3 * 3600);
    let engine = EngineConfig::default();
    let err = run(&host, &plan("web1", &engine), 1, 0).0.unwrap_err();
    assert_eq!(err.step, Step::Detecting);
    let text = err.to_string();
    assert!(
        text.contains("the host's clock is 3h behind this computer's; the engine would reject berth's client certificate as not yet valid"),
        "{text}"
    );
    assert!(text.contains("Nothing was changed on the host"), "{text}");
    assert_eq!(host.scripts(), [DETECT_SCRIPT], "only detection ran");
}

#[test]
fn a_host_clock_hours_ahead_is_refused_too() {
    let host = FakeHost::debian(true);
    host.clock_offset.set(5 * 3600);
    let engine = EngineConfig::default();
    let err = run(&host, &plan("web1", &engine), 1, 0).0.unwrap_err();
    assert_eq!(err.step, Step::Detecting);
    assert!(
        err.to_string()
            .contains("the host's clock is 5h ahead of this computer's"),
        "{err}"
    );
    assert_eq!(host.scripts(), [DETECT_SCRIPT]);
}

#[test]
fn a_host_clock_minutes_off_warns_and_provisions() {
    let host = FakeHost::debian(true);
    host.clock_offset.set(-4 * 60);
    let engine = EngineConfig::default();
    let (result, events) = run(&host, &plan("web1", &engine), 1, 0);
    result.unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("warning the host's clock is 4m behind this computer's")),
        "{events:#?}"
    );
}

#[test]
fn fresh_host_gets_engine_certs_and_dropin() {
    let host = FakeHost::debian(false);
    let engine = EngineConfig::default();
    let (result, events) = run(&host, &plan("web1", &engine), 1, 0);
    let outcome = result.unwrap();
    assert_eq!(
        host.scripts(),
        [
            DETECT_SCRIPT,
            HOSTNAME_SCRIPT,
            INSTALL_SCRIPT,
            DETECT_SCRIPT,
            WRITE_FILES_SCRIPT,
            CONFIGURE_SCRIPT
        ]
    );
    assert_eq!(
        outcome.steps_done,
        [
            Step::Detecting,
            Step::SettingHostname,
            Step::InstallingEngine,
            Step::Certificates,
            Step::Configuring,
            Step::WaitingForEngine
        ]
    );
    let sent = host.sent.borrow();
    assert_eq!(sent[1].args, ["web1"], "the name goes as an argument");
    assert_eq!(
        sent[2].args,
        [""],
        "no install URL: the distribution's package"
    );
    assert_eq!(outcome.engine, "20.10.24");
    assert_eq!(outcome.facts.hostname, "web1");
    assert!(outcome.restarted && outcome.dropin_changed);
    // The install's output reached the caller as progress lines.
    assert!(
        events
            .iter()
            .any(|e| e.starts_with("detail Setting up docker.io")),
        "{events:?}"
    );
    let (mode, dropin) = host.file(DROPIN_PATH).unwrap();
    assert_eq!(mode, "0644");
    assert_eq!(dropin, outcome.dropin);
    assert!(
        dropin.contains("ExecStart=/usr/sbin/dockerd \\\n\t-H fd://"),
        "{dropin}"
    );
    assert_eq!(host.file(SERVER_KEY_PATH).unwrap().0, "0600");
    assert_eq!(host.file(CA_PATH).unwrap().0, "0644");
    assert!(host.file(&format!("{DROPIN_PATH}.previous")).is_none());
}

#[test]
fn a_dropin_with_environment_values_is_private() {
    let host = FakeHost::debian(false);
    let mut engine = EngineConfig::default();
    engine
        .env
        .insert("HTTP_PROXY".into(), "http://user:secret@proxy:3128".into());
    let (result, _) = run(&host, &plan("web1", &engine), 1, 0);
    result.unwrap();
    let (mode, dropin) = host.file(DROPIN_PATH).unwrap();
    assert!(dropin.contains("Environment="), "{dropin}");
    assert_eq!(mode, "0600");
}

#[test]
fn second_run_changes_nothing_and_restarts_nothing() {
    let host = FakeHost::debian(true);
    let engine = EngineConfig::default();
    let (first, _) = run(&host, &plan("web1", &engine), 1, 0);
    let first = first.unwrap();
    let files_after_first = host.files.borrow().clone();
    host.sent.borrow_mut().clear();

    let (second, events) = run(&host, &plan("web1", &engine), 1, 0);
    let second = second.unwrap();
    assert_eq!(*host.files.borrow(), files_after_first);
    assert_eq!(second.dropin, first.dropin);
    assert!(!second.dropin_changed && !second.restarted);
    assert_eq!(host.restarts.get(), 1);
    // Three round trips when the host is already as it should be.
    assert_eq!(
        host.scripts(),
        [DETECT_SCRIPT, WRITE_FILES_SCRIPT, CONFIGURE_SCRIPT]
    );
    assert!(
        events.contains(&"skip setting the hostname: the host already has this name".to_owned())
    );
    assert!(events.contains(
        &"skip installing the engine: the Docker engine is already installed".to_owned()
    ));
}

/// A machine whose driver wrote berth's files into its root before it first booted: its engine
/// is still starting when provisioning looks (not active yet), and everything provisioning
/// would write is already there. Provisioning verifies: it starts nothing twice and restarts
/// nothing (issue 20: the nspawn engine was started, then restarted with TLS).
#[test]
fn files_in_place_before_the_boot_are_verified_not_restarted() {
    let host = FakeHost::debian(true);
    let engine = EngineConfig::default();
    run(&host, &plan("web1", &engine), 1, 0).0.unwrap();
    assert_eq!(host.restarts.get(), 1);
    // The same files, an engine that has not finished starting.
    host.active.set(false);
    host.sent.borrow_mut().clear();
    let outcome = run(&host, &plan("web1", &engine), 1, 0).0.unwrap();
    assert!(!outcome.dropin_changed);
    assert!(
        !outcome.restarted,
        "a start job under way must not become a restart"
    );
    assert_eq!(host.restarts.get(), 1);
    assert_eq!(host.starts.get(), 1);
    assert_eq!(
        host.scripts(),
        [DETECT_SCRIPT, WRITE_FILES_SCRIPT, CONFIGURE_SCRIPT]
    );
}

#[test]
fn new_certificates_restart_the_engine_with_the_same_dropin() {
    let host = FakeHost::debian(true);
    let engine = EngineConfig::default();
    run(&host, &plan("web1", &engine), 1, 0).0.unwrap();
    // What regenerate-certs does: no install, new server certificate.
    let regen = Plan {
        install_engine: false,
        ..plan("web1", &engine)
    };
    let outcome = run(&host, &regen, 2, 0).0.unwrap();
    assert!(!outcome.dropin_changed);
    assert!(outcome.restarted);
    assert_eq!(host.restarts.get(), 2);
}

#[test]
fn changed_options_keep_the_previous_dropin() {
    let host = FakeHost::debian(true);
    let engine = EngineConfig::default();
    let first = run(&host, &plan("web1", &engine), 1, 0).0.unwrap();
    let engine2 = EngineConfig {
        labels: vec!["team=a b".into()],
        ..EngineConfig::default()
    };
    let second = run(&host, &plan("web1", &engine2), 1, 0).0.unwrap();
    assert!(second.dropin_changed && second.restarted);
    assert_eq!(
        host.file(&format!("{DROPIN_PATH}.previous")).unwrap().1,
        first.dropin
    );
}

#[test]
fn non_root_user_goes_through_sudo_after_detection() {
    let mut host = FakeHost::debian(true);
    host.user = "deploy".into();
    host.uid = 1000;
    let engine = EngineConfig::default();
    run(&host, &plan("web1", &engine), 1, 0).0.unwrap();
    let sent = host.sent.borrow();
    assert!(!sent[0].sudo, "detection runs as the user");
    assert!(sent[1..].iter().all(|s| s.sudo), "{sent:?}");
}

#[test]
fn non_root_user_without_sudo_is_refused() {
    let mut host = FakeHost::debian(true);
    host.user = "deploy".into();
    host.uid = 1000;
    host.sudo_ok = false;
    let engine = EngineConfig::default();
    let err = run(&host, &plan("web1", &engine), 1, 0).0.unwrap_err();
    assert_eq!(err.step, Step::Detecting);
    assert_eq!(
        err.to_string(),
        "detecting the OS on 10.0.0.5 failed: user deploy on 10.0.0.5 has no passwordless sudo: give it NOPASSWD in sudoers or use --generic-ssh-user root"
    );
    assert_eq!(host.scripts(), [DETECT_SCRIPT]);
}

#[test]
fn unsupported_os_is_refused_after_one_command() {
    let mut host = FakeHost::debian(false);
    host.os_release = "PRETTY_NAME=\"Alpine Linux v3.20\"\nID=alpine\n".into();
    let engine = EngineConfig::default();
    let err = run(&host, &plan("web1", &engine), 1, 0).0.unwrap_err();
    assert!(
        err.to_string()
            .contains("Alpine Linux v3.20 is not supported"),
        "{err}"
    );
    assert_eq!(host.scripts(), [DETECT_SCRIPT]);
    assert!(err.done.is_empty());
}

#[test]
fn bad_options_fail_before_touching_the_host() {
    let host = FakeHost::debian(true);
    let engine = EngineConfig {
        opts: vec!["host=tcp://0.0.0.0:2375".into()],
        ..EngineConfig::default()
    };
    let err = run(&host, &plan("web1", &engine), 1, 0).0.unwrap_err();
    assert!(matches!(*err.kind, ErrorKind::Config(_)));
    let engine = EngineConfig::default();
    let err = run(&host, &plan("web_1", &engine), 1, 0).0.unwrap_err();
    assert!(matches!(*err.kind, ErrorKind::InvalidName { .. }));
    assert!(host.scripts().is_empty());
}

#[test]
fn apt_failure_names_the_step_and_quotes_apt() {
    let mut host = FakeHost::debian(false);
    host.install_fails = true;
    let engine = EngineConfig::default();
    let err = run(&host, &plan("web1", &engine), 1, 0).0.unwrap_err();
    assert_eq!(err.step, Step::InstallingEngine);
    assert_eq!(err.done, [Step::Detecting, Step::SettingHostname]);
    let text = err.to_string();
    assert!(
        text.starts_with(
            "installing the engine on 10.0.0.5 failed: installing the engine exited with status 100"
        ),
        "{text}"
    );
    assert!(
        text.contains("E: Unable to locate package docker.io"),
        "{text}"
    );
}

#[test]
fn engine_without_install_is_refused_when_installing_is_off() {
    let host = FakeHost::debian(false);
    let engine = EngineConfig {
        install: false,
        ..EngineConfig::default()
    };
    let err = run(&host, &plan("web1", &engine), 1, 0).0.unwrap_err();
    assert!(matches!(*err.kind, ErrorKind::EngineMissing));
}

#[test]
fn engine_start_failure_shows_the_journal_and_the_previous_dropin() {
    let mut host = FakeHost::debian(true);
    host.start_fails = true;
    let engine = EngineConfig::default();
    let err = run(&host, &plan("web1", &engine), 1, 0).0.unwrap_err();
    assert_eq!(err.step, Step::Configuring);
    let text = err.to_string();
    assert!(text.contains("unknown flag: --bogus"), "{text}");
    assert!(!text.contains("rollback="), "{text}");
    assert!(
        text.contains("berth put the previous drop-in and daemon.json back and the engine runs again as it did before"),
        "{text}"
    );
    // The host is as berth found it: no drop-in of berth's, the engine running.
    assert!(host.file(DROPIN_PATH).is_none());
    assert!(host.active.get());
}

#[test]
fn readiness_is_polled_until_it_answers() {
    let host = FakeHost::debian(true);
    let engine = EngineConfig::default();
    let plan = Plan {
        ready_timeout: Duration::from_secs(5),
        ..plan("web1", &engine)
    };
    let outcome = run(&host, &plan, 1, 2).0.unwrap();
    assert_eq!(outcome.engine, "20.10.24");
}

#[test]
fn readiness_timeout_quotes_the_last_error_and_the_journal() {
    let host = FakeHost::debian(true);
    let engine = EngineConfig::default();
    let started = std::time::Instant::now();
    let err = run(&host, &plan("web1", &engine), 1, u32::MAX)
        .0
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the deadline holds"
    );
    assert_eq!(err.step, Step::WaitingForEngine);
    let text = err.to_string();
    assert!(text.contains("last error: connection refused"), "{text}");
    assert!(text.contains("API listen on"), "{text}");
}

#[test]
fn an_exec_start_in_a_later_dropin_is_refused_before_anything_changes() {
    let mut host = FakeHost::debian(true);
    host.extra_detect = "dropin=/etc/systemd/system/docker.service.d/override.conf\ndropin_exec=/etc/systemd/system/docker.service.d/override.conf\n".into();
    let engine = EngineConfig::default();
    let err = run(&host, &plan("web1", &engine), 1, 0).0.unwrap_err();
    assert_eq!(err.step, Step::Detecting);
    assert!(
        err.to_string().contains(
            "/etc/systemd/system/docker.service.d/override.conf on the host sets its own ExecStart"
        ),
        "{err}"
    );
    assert_eq!(host.scripts(), [DETECT_SCRIPT], "nothing but detection ran");
}

#[test]
fn an_exec_start_in_an_earlier_dropin_is_reported_and_kept() {
    let mut host = FakeHost::debian(true);
    host.extra_detect = "dropin=/etc/systemd/system/docker.service.d/05-local.conf\ndropin_exec=/etc/systemd/system/docker.service.d/05-local.conf\n".into();
    let engine = EngineConfig::default();
    let (result, events) = run(&host, &plan("web1", &engine), 1, 0);
    result.unwrap();
    assert!(
        events.iter().any(|e| e.contains("other drop-ins of docker.service, kept as they are: /etc/systemd/system/docker.service.d/05-local.conf")),
        "{events:?}"
    );
}

#[test]
fn hosts_in_daemon_json_move_into_the_dropin_once_and_other_keys_stay() {
    let host = FakeHost::debian(true);
    host.files.borrow_mut().insert(
        crate::DAEMON_JSON_PATH.into(),
        (
            "0644".into(),
            br#"{"hosts": ["unix:///var/run/docker.sock", "tcp://127.0.0.1:2375"], "log-driver": "local", "live-restore": true}"#.to_vec(),
        ),
    );
    let engine = EngineConfig::default();
    let (first, events) = run(&host, &plan("web1", &engine), 1, 0);
    let first = first.unwrap();
    assert!(
        events.iter().any(|e| e.contains("moving \"hosts\"")),
        "{events:?}"
    );
    assert!(
        first.dropin.contains("-H tcp://127.0.0.1:2375"),
        "{}",
        first.dropin
    );
    let (_, json) = host.file(crate::DAEMON_JSON_PATH).unwrap();
    let json: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"log-driver": "local", "live-restore": true})
    );

    let second = run(&host, &plan("web1", &engine), 1, 0).0.unwrap();
    assert_eq!(second.dropin, first.dropin);
    assert!(!second.dropin_changed && !second.restarted);
}

#[test]
fn a_daemon_json_tls_key_is_refused_before_anything_changes() {
    let host = FakeHost::debian(true);
    host.files.borrow_mut().insert(
        crate::DAEMON_JSON_PATH.into(),
        ("0644".into(), br#"{"tlsverify": true}"#.to_vec()),
    );
    let err = run(&host, &plan("web1", &EngineConfig::default()), 1, 0)
        .0
        .unwrap_err();
    assert!(
        matches!(*err.kind, ErrorKind::DaemonJsonConflict { .. }),
        "{err}"
    );
    assert_eq!(host.scripts(), [DETECT_SCRIPT]);
}

#[test]
fn a_stop_between_steps_ends_the_run_before_the_next_step() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let host = FakeHost::debian(true);
    let engine = EngineConfig::default();
    let stop = AtomicBool::new(false);
    let plan = Plan {
        stop: Some(&stop),
        ..plan("web1", &engine)
    };
    let result = provision(
        &host,
        &plan,
        &mut |_| {
            // The interrupt comes while the certificates are made.
            stop.store(true, Ordering::SeqCst);
            Ok::<_, String>(certs(1))
        },
        &mut || Ok::<_, String>("20.10.24".to_owned()),
        &mut |_| {},
    );
    let err = result.unwrap_err();
    assert_eq!(err.step, Step::Configuring);
    assert!(matches!(*err.kind, ErrorKind::Interrupted), "{err}");
    assert!(err.done.contains(&Step::Certificates));
    assert!(
        !host.scripts().contains(&CONFIGURE_SCRIPT),
        "the engine was configured after the stop"
    );
}

#[test]
fn a_stop_while_waiting_for_the_engine_ends_the_wait_at_once() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let host = FakeHost::debian(true);
    let engine = EngineConfig::default();
    let stop = AtomicBool::new(false);
    let plan = Plan {
        stop: Some(&stop),
        ready_timeout: Duration::from_secs(30),
        ..plan("web1", &engine)
    };
    let started = std::time::Instant::now();
    let result = provision(
        &host,
        &plan,
        &mut |_| Ok::<_, String>(certs(1)),
        &mut || {
            stop.store(true, Ordering::SeqCst);
            Err::<String, _>("connection refused".to_owned())
        },
        &mut |_| {},
    );
    let err = result.unwrap_err();
    assert_eq!(err.step, Step::WaitingForEngine);
    assert!(matches!(*err.kind, ErrorKind::Interrupted), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// Provisions with a certificate that is reissued (a new serial) only when the host's
/// addresses are not all covered by the one issued before, as berth-machine's certs policy
/// does; returns the outcome.
fn run_covering(
    host: &FakeHost,
    issued: &std::cell::RefCell<(u32, Vec<String>)>,
) -> Outcome<String> {
    let engine = EngineConfig::default();
    provision(
        host,
        &plan("web1", &engine),
        &mut |facts| {
            let mut issued = issued.borrow_mut();
            if !facts.addresses.iter().all(|a| issued.1.contains(a)) {
                *issued = (issued.0 + 1, facts.addresses.clone());
            }
            Ok::<_, String>(certs(issued.0))
        },
        &mut || Ok::<_, String>("20.10.24".to_owned()),
        &mut |_| {},
    )
    .unwrap()
}

/// `hostname -I` listed docker0 and the gateways of user-made networks: after a
/// `docker network create` the next provision found an address the certificate did not
/// name, reissued it and restarted the engine (stopping containers) without a question.
#[test]
fn engine_made_bridges_on_the_host_reissue_nothing_and_restart_nothing() {
    let mut host = FakeHost::debian(true);
    let issued = std::cell::RefCell::new((0, Vec::new()));
    run_covering(&host, &issued);
    let restarts = host.restarts.get();
    let serial = issued.borrow().0;

    host.extra_detect = "address=docker0 172.17.0.1\naddress=br-3f2a9c1d0e4b 172.18.0.1\naddress=veth9c1d@if12 fe80::9\n".into();
    let outcome = run_covering(&host, &issued);
    assert_eq!(issued.borrow().0, serial, "the certificate was reissued");
    assert!(!outcome.restarted, "the engine was restarted");
    assert_eq!(host.restarts.get(), restarts);
}

#[test]
fn the_engine_hook_reads_detection_s_daemon_json_and_its_options_reach_the_dropin() {
    // berth's live-restore decision needs daemon.json: it gets the text detection read (the
    // host is asked once), and what it adds goes into the drop-in; its warning is shown.
    let host = FakeHost::debian(true);
    host.files.borrow_mut().insert(
        crate::DAEMON_JSON_PATH.to_owned(),
        ("0644".into(), br#"{"log-level": "warn"}"#.to_vec()),
    );
    let engine = EngineConfig::default();
    let seen = std::cell::RefCell::new(None);
    let adjust = |facts: &crate::HostFacts, engine: &mut EngineConfig| {
        *seen.borrow_mut() = facts.daemon_json.clone();
        engine.opts.push("live-restore".to_owned());
        vec!["live-restore turned on".to_owned()]
    };
    let plan = Plan {
        adjust_engine: Some(crate::EngineHook(&adjust)),
        ..plan("web1", &engine)
    };
    let (result, events) = run(&host, &plan, 1, 0);
    let outcome = result.unwrap();
    assert_eq!(
        seen.borrow().as_deref().map(str::trim),
        Some(r#"{"log-level": "warn"}"#)
    );
    assert!(
        outcome.dropin.contains("--live-restore"),
        "{}",
        outcome.dropin
    );
    assert!(
        events.iter().any(|e| e.contains("live-restore turned on")),
        "{events:#?}"
    );
}
