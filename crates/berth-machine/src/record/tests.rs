#![allow(clippy::unwrap_used)]

use super::*;
use berth_store::{Machine, Store};

/// Records as berth 0.1 (record version 1, before the record was typed) writes them. The
/// `*-created`/`*-failed` files are verbatim what that berth's `create` wrote (a `none` machine,
/// and a generic create with every engine and TLS flag that failed at connecting); the others
/// complete that shape by hand with what a provisioning adds (URL, host key, steps, SANs and
/// expiry), an import (an empty algorithm, a dotted name) and a create whose driver never
/// answered.
const FIXTURES: [(&str, &str); 5] = [
    ("web1", include_str!("fixtures/generic.toml")),
    ("old.engine", include_str!("fixtures/none-imported.toml")),
    ("half", include_str!("fixtures/creating.toml")),
    ("web1", include_str!("fixtures/generic-failed.toml")),
    ("imported1", include_str!("fixtures/none-created.toml")),
];

/// A store holding `text` as the record of machine `name`.
fn planted(name: &str, text: &str) -> (tempfile::TempDir, Machine) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::new(dir.path().join("machines"));
    std::fs::create_dir_all(store.root().join(name)).unwrap();
    std::fs::write(
        store
            .root()
            .join(name)
            .join(berth_names::MachineFiles::RECORD),
        text,
    )
    .unwrap();
    let machine = store.machine(name).unwrap();
    (dir, machine)
}

#[test]
fn records_written_by_todays_berth_load_and_round_trip() {
    for (name, text) in FIXTURES {
        let (_dir, machine) = planted(name, text);
        let record: MachineRecord = machine.load().unwrap();
        assert_eq!(record.name, name);
        machine.save(&record).unwrap();
        let again: MachineRecord = machine.load().unwrap();
        assert_eq!(again, record, "{name} round-trips");
    }
}

#[test]
fn a_generic_record_reads_as_typed_values() {
    let (_dir, machine) = planted("web1", FIXTURES[0].1);
    let record: MachineRecord = machine.load().unwrap();
    assert_eq!(record.driver, "generic");
    let address = record.engine_address().unwrap();
    assert_eq!((address.host.as_str(), address.port), ("203.0.113.7", 2376));
    let ssh = record.ssh.as_ref().unwrap();
    assert_eq!(
        (ssh.host.as_str(), ssh.port, ssh.user.as_str()),
        ("203.0.113.7", 22, "root")
    );
    assert_eq!(
        ssh.key_path.as_deref(),
        Some(std::path::Path::new("/root/.ssh/id_ed25519"))
    );
    assert_eq!(record.steps_done.first(), Some(&Step::Connecting));
    assert_eq!(record.steps_done.last(), Some(&Step::WaitingForEngine));
    assert_eq!(record.engine.opts, ["log-level=warn", "live-restore"]);
    assert_eq!(record.engine.storage_driver.as_deref(), Some("overlay2"));
    assert_eq!(
        record.engine.env["HTTP_PROXY"],
        "http://proxy.example.com:3128"
    );
    assert_eq!(record.tls.algorithm, KeyAlgorithm::EcdsaP256);
    assert_eq!(record.driver_data.as_map()["ssh_port"], 22);
    assert_eq!(record.context.name.as_deref(), Some("web1-prod"));
}

#[test]
fn a_failed_generic_create_of_berth_0_1_reads_with_every_option() {
    let (_dir, machine) = planted("web1", FIXTURES[3].1);
    let record: MachineRecord = machine.load().unwrap();
    assert_eq!(record.state, MachineState::Error);
    assert_eq!(record.url, None);
    assert_eq!(record.engine.port, 2380);
    assert_eq!(record.engine.labels, ["env=prod"]);
    assert_eq!(record.tls.algorithm, KeyAlgorithm::Rsa2048);
    assert_eq!(record.tls.extra_sans, ["web1.example.com"]);
    assert_eq!(record.ssh.unwrap().user, "ubuntu");
    assert_eq!(record.driver_data.as_map()["engine_port"], 2380);
}

#[test]
fn an_imported_record_without_an_algorithm_means_the_default() {
    let (_dir, machine) = planted("old.engine", FIXTURES[1].1);
    let record: MachineRecord = machine.load().unwrap();
    assert_eq!(record.tls.algorithm, KeyAlgorithm::default());
    assert_eq!(record.engine.port, 2380);
    assert_eq!(record.url.unwrap().to_string(), "tcp://198.51.100.2:2380");
}

/// A planted or hand-edited record whose values would reach OpenSSH or a shell as something
/// else does not load; the error names the file, the line and the field.
#[test]
fn a_record_with_an_unsafe_value_fails_to_load_naming_the_field_and_file() {
    let base = FIXTURES[0].1;
    for (from, to, field) in [
        (
            "user = \"root\"",
            "user = \"-oProxyCommand=touch /tmp/x\"",
            "ssh.user",
        ),
        (
            "host = \"203.0.113.7\"",
            "host = \"h\\nProxyCommand touch /tmp/x\"",
            "ssh.host",
        ),
        (
            "url = \"tcp://203.0.113.7:2376\"",
            "url = \"tcp://`touch /tmp/x`:2376\"",
            "url",
        ),
        (
            "url = \"tcp://203.0.113.7:2376\"",
            "url = \"ssh://203.0.113.7\"",
            "url",
        ),
        (
            "driver = \"generic\"",
            "driver = \"../../bin/sh\"",
            "driver",
        ),
        ("name = \"web1\"", "name = \"web1;id\"", "name"),
        (
            "key_path = \"/root/.ssh/id_ed25519\"",
            "key_path = \"/k\\nProxyCommand x\"",
            "ssh.key_path",
        ),
        ("name = \"web1-prod\"", "name = \"-x\"", "context.name"),
        (
            "algorithm = \"ecdsa-p256\"",
            "algorithm = \"dsa\"",
            "tls.algorithm",
        ),
        ("\"detecting\", ", "\"rm -rf\", ", "rm -rf"),
    ] {
        assert!(base.contains(from), "{from}");
        let text = base.replacen(from, to, 1);
        let (_dir, machine) = planted("web1", &text);
        let err = machine.load::<MachineRecord>().unwrap_err().to_string();
        assert!(err.contains(field), "{field}: {err}");
        assert!(err.contains("config.toml"), "{field}: {err}");
        assert!(err.contains("line "), "{field}: {err}");
    }
}

#[test]
fn a_new_record_round_trips() {
    let mut record = MachineRecord::new(
        MachineName::new("web1").unwrap(),
        DriverName::new("generic").unwrap(),
    );
    record.url = Some(EngineUrl::parse("tcp://[2001:db8::1]:2376").unwrap());
    record.ssh = Some(SshSettings {
        host: Host::new("2001:db8::1").unwrap(),
        port: 22,
        user: SshUser::new("root").unwrap(),
        key_path: None,
    });
    record.engine.labels = vec!["a=b".into()];
    record.steps_done = vec![Step::Connecting, Step::Detecting];
    record.driver_data =
        DriverData::from_driver(serde_json::json!({"id": 7, "gone": null})).unwrap();
    let text = toml::to_string(&record).unwrap();
    let back: MachineRecord = toml::from_str(&text).unwrap();
    assert_eq!(
        back.created_at.unix_timestamp(),
        record.created_at.unix_timestamp()
    );
    assert_eq!(
        back,
        MachineRecord {
            created_at: back.created_at,
            ..record
        }
    );
}
