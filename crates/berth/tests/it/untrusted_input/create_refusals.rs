//! Names and values berth cannot use safely are refused before any driver runs or any record
//! is kept: names of the store's own folders, names that are not hostnames, malformed
//! `--tls-san` values and install URLs that are not https.

use berth_names::MachineFiles;
use berth_testkit::{Sandbox, stderr};

use super::{WithPlugin, ssh_record};

#[test]
fn names_of_the_stores_own_folders_are_refused() {
    let sb = Sandbox::new(crate::BERTH);
    for name in ["plugins", "Plugins"] {
        let out = sb.run(&[
            "create",
            "-d",
            "none",
            "--url",
            "tcp://127.0.0.1:2376",
            name,
        ]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        assert!(stderr(&out).contains("berth uses"), "{}", stderr(&out));
        assert!(
            !sb.root.join(name).join(MachineFiles::RECORD).exists(),
            "{name}: a record was written into the store's own folder"
        );
    }
    // The plugins folder is never read as a machine.
    std::fs::create_dir_all(sb.root.join("plugins")).unwrap();
    let out = sb.run(&["inspect", "plugins"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
}

#[test]
fn names_that_are_not_hostnames_are_refused_before_the_driver_runs() {
    let p = WithPlugin::new();
    let long = format!("{}.b", "a".repeat(62));
    for name in ["web-", "a..b", "web.", "a.-b", long.as_str()] {
        let out = p.run("", &["create", "-d", "probe", name]);
        assert_eq!(out.status.code(), Some(1), "{name}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains("hostname") || (name.len() > 63 && err.contains("at most 63")),
            "{name}: {err}"
        );
        assert!(
            !p.methods().iter().any(|m| m == "Driver.Create"),
            "{name}: the driver was asked to create it"
        );
    }
    // Names that are hostnames still work, as they did for docker-machine.
    let out = p.run("", &["create", "-d", "probe", "web-1.example"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn a_malformed_tls_san_is_refused_before_anything_runs() {
    let p = WithPlugin::new();
    for san in ["not a host", "-x.example", "a..b", "bad_\u{1b}"] {
        let flag = format!("--tls-san={san}");
        let out = p.run("", &["create", "-d", "probe", &flag, "m1"]);
        assert_eq!(out.status.code(), Some(1), "{san}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("subject alternative name"),
            "{san}: {}",
            stderr(&out)
        );
        assert!(
            !p.methods().iter().any(|m| m == "Driver.Create"),
            "{san}: the driver was asked to create"
        );
        assert!(!p.sb.root.join("m1").exists(), "{san}: a record was kept");
    }

    // regenerate-certs refuses it before it connects to the host or changes the record.
    let dir =
        p.sb.write_record("web", &ssh_record("web", "127.0.0.1", "root"));
    let before = std::fs::read_to_string(dir.join(MachineFiles::RECORD)).unwrap();
    let out = p.run(
        "",
        &["regenerate-certs", "-y", "--tls-san", "not a host", "web"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("subject alternative name"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(dir.join(MachineFiles::RECORD)).unwrap(),
        before
    );
}

#[test]
fn an_engine_install_url_must_be_https() {
    let sb = Sandbox::new(crate::BERTH);
    for url in ["http://get.docker.com", "ftp://x/y.sh", "get.docker.com"] {
        let out = sb.run(&[
            "create",
            "-d",
            "generic",
            "--generic-ip-address",
            "127.0.0.1",
            "--generic-ssh-port",
            "1",
            "--engine-install-url",
            url,
            "web",
        ]);
        assert_eq!(out.status.code(), Some(1), "{url}: {}", stderr(&out));
        assert!(stderr(&out).contains("https://"), "{url}: {}", stderr(&out));
        assert!(!sb.root.join("web").exists(), "{url}: a record was kept");
    }
}
