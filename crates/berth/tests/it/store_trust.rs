//! What berth does with a store someone else could have changed: planted records, planted
//! links and folders other users can write (issue 18). Each test failed before its fix.

use std::os::unix::fs::PermissionsExt as _;

use berth_names::{EnvVars, MachineFiles};
use berth_testkit::{Sandbox, fake_openssh, stderr};

/// A record with an SSH host written as TOML's escaped string `host` (so it can hold `\n`).
fn planted(sb: &Sandbox, name: &str, host_toml: &str) {
    let dir = sb.root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(MachineFiles::RECORD),
        format!(
            "version = 1\nname = \"{name}\"\ndriver = \"generic\"\nstate = \"Running\"\n\
             url = \"tcp://127.0.0.1:2376\"\ncreated_at = \"2026-11-23T12:00:00Z\"\n\n\
             [ssh]\nhost = \"{host_toml}\"\nport = 22\nuser = \"root\"\n"
        ),
    )
    .unwrap();
}

#[test]
fn scp_between_machines_refuses_a_planted_host_and_runs_nothing() {
    let sb = Sandbox::new(crate::BERTH);
    let top = sb.root.parent().unwrap().to_path_buf();
    let canary = top.join("canary");
    planted(&sb, "good", "127.0.0.1");
    planted(
        &sb,
        "evil",
        &format!("127.0.0.1\\n  ProxyCommand touch {}", canary.display()),
    );
    let bin = fake_openssh(&top);
    let args_file = top.join("args");
    for args in [
        ["scp", "good:/etc/hostname", "evil:/tmp/x"],
        ["scp", "evil:/etc/hostname", "good:/tmp/x"],
    ] {
        let out = sb
            .berth()
            .env(
                "PATH",
                format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
            )
            .env("ARGS_FILE", &args_file)
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("host") && stderr(&out).contains("evil"),
            "{args:?}: {}",
            stderr(&out)
        );
        assert!(
            !args_file.exists(),
            "{args:?}: scp ran with {:?}",
            std::fs::read_to_string(&args_file)
        );
    }
    assert!(!canary.exists());
}

#[test]
fn a_removing_link_in_the_store_deletes_nothing_where_it_points() {
    let sb = Sandbox::new(crate::BERTH);
    sb.add_machine("web1", "tcp://127.0.0.1:2376");
    let target = sb.root.parent().unwrap().join("dot-ssh");
    std::fs::create_dir_all(&target).unwrap();
    for file in ["id_ed25519", "id_ed25519.pub", "config"] {
        std::fs::write(target.join(file), file).unwrap();
    }
    let link = sb.root.join(".removing-x");
    std::os::unix::fs::symlink(&target, &link).unwrap();

    let out = sb.run(&["ls", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    for file in ["id_ed25519", "id_ed25519.pub", "config"] {
        assert_eq!(
            std::fs::read_to_string(target.join(file)).unwrap(),
            file,
            "the clean-up deleted {file} through the link"
        );
    }
    assert!(
        std::fs::symlink_metadata(&link).is_err(),
        "the planted link itself is removed"
    );
}

#[test]
fn under_root_a_store_other_users_can_write_is_refused_with_the_fix() {
    let root = rustix::process::geteuid().is_root();
    for folder in ["", "plugins", ".locks"] {
        let sb = Sandbox::new(crate::BERTH);
        sb.add_machine("web1", "tcp://127.0.0.1:2376");
        let dir = if folder.is_empty() {
            sb.root.clone()
        } else {
            sb.root.join(folder)
        };
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let out = sb.run(&["ls", "-q"]);
        if root {
            assert_eq!(out.status.code(), Some(1), "{folder}: {}", stderr(&out));
            let err = stderr(&out);
            assert!(
                err.contains("writable by every user")
                    && err.contains("runs as root")
                    && err.contains(&format!("chmod go-w {}", dir.display())),
                "{folder}: {err}"
            );
            // Made private again, the store works.
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
            let out = sb.run(&["ls", "-q"]);
            assert!(out.status.success(), "{folder}: {}", stderr(&out));
        } else {
            // Under another user berth can do no more than that user: nothing is refused.
            assert!(out.status.success(), "{folder}: {}", stderr(&out));
        }
    }
}

#[test]
fn under_root_a_docker_config_other_users_can_write_is_refused() {
    let sb = Sandbox::new(crate::BERTH);
    sb.add_machine("web1", "tcp://127.0.0.1:2376");
    let docker = sb.root.parent().unwrap().join("docker");
    std::fs::create_dir_all(&docker).unwrap();
    std::fs::set_permissions(&docker, std::fs::Permissions::from_mode(0o775)).unwrap();
    let out = sb
        .berth()
        .env(EnvVars::DOCKER_CONFIG, &docker)
        .args(["ls", "-q"])
        .output()
        .unwrap();
    if rustix::process::geteuid().is_root() {
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("docker CLI's configuration folder")
                && stderr(&out).contains("writable by its group"),
            "{}",
            stderr(&out)
        );
    } else {
        assert!(out.status.success(), "{}", stderr(&out));
    }
}
