//! `berth man DIR` writes a page for berth and each of its commands, and `man -l` renders every
//! one of them without a groff warning.

use std::process::Command;

use berth_testkit::{Sandbox, require, stderr, stdout};

#[test]
fn every_page_renders_with_man() {
    let man = require("man", "man-db");
    require("groff", "groff-base");
    let sb = Sandbox::new(crate::BERTH);
    let dir = tempfile::tempdir().unwrap();
    let pages = dir.path().join("man1");
    let out = sb.run(&["man", pages.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let mut names: Vec<String> = std::fs::read_dir(&pages)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(
        stderr(&out).contains(&format!("wrote {} manual pages", names.len())),
        "{}",
        stderr(&out)
    );
    // The commands `berth --help` lists, each with its page.
    let help = stdout(&sb.run(&["--help"]));
    let commands: Vec<&str> = help
        .split("Commands:")
        .nth(1)
        .unwrap()
        .lines()
        .skip(1)
        .take_while(|l| !l.is_empty())
        .filter_map(|l| {
            let rest = l.strip_prefix("  ")?;
            (!rest.starts_with(' ')).then(|| rest.split_whitespace().next())?
        })
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.len() > 20, "{help}");
    for command in &commands {
        let page = format!("berth-{command}.1");
        assert!(names.contains(&page), "no {page} in {names:?}");
    }
    for page in [
        "berth.1",
        "berth-swarm-init.1",
        "berth-compat-install-symlink.1",
    ] {
        assert!(names.contains(&page.to_owned()), "no {page} in {names:?}");
    }

    for name in &names {
        let out = Command::new(&man)
            .args(["--warnings", "-l"])
            .arg(pages.join(name))
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .env("LC_ALL", "C.UTF-8")
            .output()
            .unwrap();
        let text = stdout(&out);
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert!(
            stderr(&out).is_empty(),
            "{name}: groff warns: {}",
            stderr(&out)
        );
        let title = name.trim_end_matches(".1");
        assert!(
            text.contains("NAME") && text.contains(title),
            "{name}: {text}"
        );
    }
    let mount = std::fs::read_to_string(pages.join("berth-mount.1")).unwrap();
    assert!(mount.contains("unmount"), "{mount}");

    // Without a folder, berth.1 goes to stdout, ready for `man -l -`.
    let out = sb.run(&["man"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).starts_with(".ie"), "{}", stdout(&out));
    assert!(!sb.root.exists(), "man pages touch no store");
}
