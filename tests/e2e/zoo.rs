//! Issue 11: a zoo of hosts that do not look like ours. On each shape `berth create` works (the
//! docker CLI over TLS answers, and a second `provision` changes nothing) or refuses before
//! changing anything, with the sentence docs/hosts.md quotes.

use std::time::Instant;

use berth_e2e::{Fleet, Shape};

use crate::cli::Berth;

/// A create that must work: docker over TLS answers, and a second provision restarts nothing.
fn assert_works(berth: &Berth, name: &str, out: &std::process::Output) {
    assert!(
        out.status.success(),
        "create {name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let version = berth.docker(name, "version --format '{{.Server.Version}}'");
    assert!(version.status.success(), "docker over TLS to {name} failed");
    let again = berth.run(&["--debug", "provision", name]);
    assert!(again.status.success(), "second provision of {name} failed");
    let text = String::from_utf8_lossy(&again.stderr);
    assert!(text.contains("changed=0"), "second provision changed the drop-in:\n{text}");
    assert!(
        text.contains("restarted=0"),
        "second provision restarted the engine:\n{text}"
    );
}

#[test]
fn a_host_slow_to_open_its_first_session_is_waited_for() {
    let fleet = Fleet::boot_shaped(1, &Shape::SlowLogin).expect("booting a slow-login host");
    let host = &fleet.hosts()[0];
    let berth = Berth::new();
    let started = Instant::now();
    let out = berth.create_generic(host, "berth", "slow", &[]);
    eprintln!("create on a host whose logins wait for logind took {:.1?}", started.elapsed());
    assert_works(&berth, "slow", &out);
}
