//! Machine folders in a state berth did not leave them in: a removal that did not finish is
//! finished by the next command, and a folder that is a symbolic link is never followed.

use berth_names::MachineFiles;
use berth_testkit::{Sandbox, stderr, stdout};

use super::ssh_record;

#[test]
fn a_removal_left_half_done_is_finished_by_the_next_command() {
    let sb = Sandbox::new(crate::BERTH);
    sb.add_machine("web1", "tcp://127.0.0.1:2376");
    let trash = sb.root.join(".removing-old-4242-0");
    std::fs::create_dir_all(&trash).unwrap();
    std::fs::write(trash.join("key.pem"), "SECRET").unwrap();
    std::fs::write(trash.join(MachineFiles::RECORD), "").unwrap();
    let out = sb.run(&["ls", "-q"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "web1\n");
    assert!(!trash.exists(), "the next command finishes the removal");
}

#[test]
fn a_machine_folder_that_is_a_symlink_is_not_followed() {
    let sb = Sandbox::new(crate::BERTH);
    sb.add_machine("web1", "tcp://127.0.0.1:2376");
    // Somewhere outside the store, a folder that looks like a machine.
    let outside = sb.root.parent().unwrap().join("elsewhere");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(
        outside.join(MachineFiles::RECORD),
        ssh_record("linked", "127.0.0.1", "root"),
    )
    .unwrap();
    std::os::unix::fs::symlink(&outside, sb.root.join("linked")).unwrap();

    let out = sb.run(&["inspect", "linked"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("symbolic link"), "{}", stderr(&out));
    let out = sb.run(&["ls", "--timeout", "1"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let line = stdout(&out)
        .lines()
        .find(|l| l.starts_with("linked"))
        .map(str::to_owned)
        .unwrap_or_default();
    assert!(line.contains("symbolic link"), "{}", stdout(&out));
    let out = sb.run(&["rm", "-y", "linked"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        outside.join(MachineFiles::RECORD).exists(),
        "rm followed the link"
    );
}
