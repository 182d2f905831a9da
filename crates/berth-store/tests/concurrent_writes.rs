//! Regression guard for docker-machine's torn records: two berth processes writing the same
//! machine's record at once must never leave (or let a reader see) a half-written file.
#![allow(clippy::unwrap_used)]

use std::process::Command;
use std::time::{Duration, Instant};

use berth_store::{RECORD_VERSION, Store};

/// A record with the one field this test needs; the store writes any serde value.
#[derive(serde::Serialize, serde::Deserialize)]
struct Record {
    version: u32,
    name: String,
    error: Option<String>,
}

impl Record {
    fn new(name: &str) -> Self {
        Record {
            version: RECORD_VERSION,
            name: name.to_owned(),
            error: None,
        }
    }
}

const WRITER_ENV: &str = "BERTH_STORE_TEST_WRITER";
const WRITES: usize = 300;

/// In a child process (the test below runs this binary again with `WRITER_ENV` set): writes the
/// record of `web1` many times, each time with a long, writer-specific payload, so a torn file
/// would mix two payloads or end early. Run directly, it has nothing to do and says so by
/// passing: it is not a test of its own, and it is not skipped either.
#[test]
fn writer() {
    let Ok(spec) = std::env::var(WRITER_ENV) else {
        return;
    };
    let (root, id) = spec.split_once('|').unwrap();
    let store = Store::new(root);
    let machine = store.machine("web1").unwrap();
    for i in 0..WRITES {
        let mut record = Record::new("web1");
        record.error = Some(format!("{id}-{i}-{}", id.repeat(20_000)));
        machine.save(&record).unwrap();
    }
}

#[test]
fn two_processes_writing_one_record_never_tear_it() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("machines");
    let store = Store::new(&root);
    drop(store.create_machine("web1", &Record::new("web1")).unwrap());
    let machine = store.machine("web1").unwrap();

    let exe = std::env::current_exe().unwrap();
    let mut children: Vec<_> = ["A", "B"]
        .iter()
        .map(|id| {
            Command::new(&exe)
                .args(["--exact", "writer", "--nocapture", "--test-threads=1"])
                .env(WRITER_ENV, format!("{}|{id}", root.display()))
                .spawn()
                .unwrap()
        })
        .collect();

    let deadline = Instant::now() + Duration::from_secs(120);
    let mut reads = 0;
    let mut running = true;
    while running {
        running = children.iter_mut().any(|c| c.try_wait().unwrap().is_none());
        let record: Record = machine
            .load()
            .unwrap_or_else(|e| panic!("read {reads} saw a broken record: {e}"));
        if let Some(payload) = record.error {
            let mut parts = payload.splitn(3, '-');
            let id = parts.next().unwrap();
            let _index = parts.next().unwrap();
            let body = parts.next().unwrap();
            assert_eq!(body, id.repeat(20_000), "read {reads} saw a mixed record");
        }
        reads += 1;
        assert!(
            Instant::now() < deadline,
            "writers did not finish within two minutes"
        );
    }
    for mut child in children {
        assert!(child.wait().unwrap().success(), "a writer failed");
    }
    assert!(reads > 10, "the reader only got {reads} reads in");
    let leftovers: Vec<_> = std::fs::read_dir(root.join("web1"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != berth_names::MachineFiles::RECORD)
        .collect();
    assert!(
        leftovers.is_empty(),
        "temporary files left behind: {leftovers:?}"
    );
}
