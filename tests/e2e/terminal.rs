//! Issue 9, item 6: what a person at a terminal is left with. berth runs in a real
//! pseudo-terminal and the bytes it writes go through a terminal emulator (`vt100`), so the
//! test reads the screen the way a person would, after the cursor movements and line clears of
//! the progress bars. The regression guarded against: finished machines printed beside the live
//! bars, which moved the bars' idea of where they were, so that stale spinner lines stayed on the
//! screen and some outcome lines were overwritten.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use berth_e2e::assert_no_leftovers;
use berth_nspawn::Config;

use crate::cli::{Berth, berth_bin};

/// The size of the terminal the issue was found in (tmux, 120×20).
const COLS: u16 = 120;
const ROWS: u16 = 20;
/// Narrower than a progress line, so that the bars wrap.
const NARROW: u16 = 40;

/// How long a create of a few nspawn machines may take before the test gives up.
const DEADLINE: Duration = Duration::from_secs(600);

/// What berth left on a terminal: the emulator's screen once berth has exited.
struct Terminal {
    status: ExitStatus,
    cols: u16,
    parser: vt100::Parser,
}

impl Terminal {
    /// Every line the terminal holds, the scrolled-off ones first, without the blank ones (text
    /// that runs past the right edge is one line).
    fn lines(&mut self) -> Vec<String> {
        let cols = self.cols;
        let screen = self.parser.screen_mut();
        screen.set_scrollback(usize::MAX);
        let scrolled = screen.scrollback();
        let mut rows: Vec<(String, bool)> = Vec::new();
        // Scrolled-off rows, one per offset: at offset `n`, the top row is the n-th above.
        for offset in (1..=scrolled).rev() {
            screen.set_scrollback(offset);
            let row = screen.rows(0, cols).next().unwrap_or_default();
            rows.push((row, screen.row_wrapped(0)));
        }
        screen.set_scrollback(0);
        for (i, row) in screen.rows(0, cols).enumerate() {
            let wrapped = screen.row_wrapped(u16::try_from(i).unwrap());
            rows.push((row, wrapped));
        }
        // A row continues on the next only when its text reaches the edge (the last cell may be
        // the space where a line broke): indicatif pads its lines with spaces to the edge and
        // writes the next one without a newline, which a terminal marks as wrapping too.
        let mut lines = Vec::new();
        let mut current = String::new();
        for (row, wrapped) in rows {
            let full = row.trim_end().chars().count() + 1 >= usize::from(cols);
            current.push_str(&row);
            if !(wrapped && full) {
                lines.push(std::mem::take(&mut current));
            }
        }
        lines.push(current);
        lines
            .into_iter()
            .map(|l| l.trim_end().to_owned())
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// The whole screen, for failure messages.
    fn dump(&mut self) -> String {
        self.lines().join("\n")
    }
}

/// Runs berth with `args` in a new pseudo-terminal of `cols`×`rows` (its stdin, stdout and
/// stderr, and its controlling terminal) and returns the screen once it has exited.
fn run_in_terminal(berth: &Berth, (cols, rows): (u16, u16), args: &[&str]) -> Terminal {
    use rustix::pty::{OpenptFlags, grantpt, openpt, ptsname, unlockpt};

    let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)
        .expect("opening a pseudo-terminal");
    grantpt(&master).expect("grantpt");
    unlockpt(&master).expect("unlockpt");
    let slave_path = ptsname(&master, Vec::new()).expect("ptsname");
    let slave: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(slave_path.as_bytes()))
        .expect("opening the terminal's slave side")
        .into();
    rustix::termios::tcsetwinsize(
        &slave,
        rustix::termios::Winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        },
    )
    .expect("setting the terminal's size");

    // `setsid --ctty` makes the terminal berth's controlling terminal, as a shell would.
    let mut cmd = Command::new("setsid");
    cmd.arg("--ctty").arg(berth_bin()).args(args);
    for (key, value) in berth.cmd().get_envs() {
        match value {
            Some(value) => cmd.env(key, value),
            None => cmd.env_remove(key),
        };
    }
    // A terminal as people have it: colour allowed, a terminal type that is not dumb.
    cmd.env_remove("NO_COLOR").env("TERM", "xterm-256color");
    let stdio = |fd: &OwnedFd| Stdio::from(fd.try_clone().expect("dup of the terminal"));
    cmd.stdin(stdio(&slave))
        .stdout(stdio(&slave))
        .stderr(stdio(&slave));
    let mut child = cmd.spawn().expect("starting berth in the terminal");
    drop(cmd);
    drop(slave);

    // Everything berth writes, read until the last holder of the slave side closes it (the
    // kernel then answers EIO).
    let (bytes_tx, bytes_rx) = mpsc::channel::<Vec<u8>>();
    let mut reader = std::fs::File::from(master);
    std::thread::spawn(move || {
        let mut all = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => all.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            }
        }
        let _ = bytes_tx.send(all);
    });

    let pid = child.id();
    let (status_tx, status_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = status_tx.send(child.wait());
    });
    let status = match status_rx.recv_timeout(DEADLINE) {
        Ok(status) => status.expect("waiting for berth"),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!(
                "berth {} did not finish within {DEADLINE:?}",
                args.join(" ")
            );
        }
    };
    let bytes = bytes_rx
        .recv_timeout(Duration::from_secs(30))
        .expect("berth has exited, but something it started still holds its terminal open");

    let size = |n: u16| std::num::NonZeroU16::new(n).expect("a terminal has rows and columns");
    let mut parser = vt100::Parser::new(size(rows), size(cols), 10_000);
    parser.process(&bytes);
    let mut terminal = Terminal {
        status,
        cols,
        parser,
    };
    eprintln!(
        "$ berth {}  (in a {cols}x{rows} terminal) -> {:?}\n{}",
        args.join(" "),
        terminal.status.code(),
        terminal.dump()
    );
    terminal
}

/// Removes the machines (in one `rm`) even when an assertion fails half-way.
struct Cleanup<'a> {
    berth: &'a Berth,
    names: Vec<String>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        let left: Vec<&str> = self
            .names
            .iter()
            .filter(|n| self.berth.machine_dir(n).exists())
            .map(String::as_str)
            .collect();
        if !left.is_empty() {
            let mut args = vec!["rm", "-y", "-f"];
            args.extend(left);
            let _ = self.berth.cmd().args(args).output();
        }
    }
}

fn names(tag: &str, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| format!("{tag}{}x{i}", std::process::id()))
        .collect()
}

/// What a created machine's line starts with.
fn created(name: &str) -> String {
    format!("{name}: created; ")
}

/// The screen holds exactly one line per machine, each saying it was created, and nothing else.
fn assert_one_created_line_each(terminal: &mut Terminal, names: &[String]) {
    let lines = terminal.lines();
    let screen = lines.join("\n");
    assert!(terminal.status.success(), "create failed:\n{screen}");
    assert_eq!(
        lines.len(),
        names.len(),
        "expected one line per machine and nothing else, the screen is:\n{screen}"
    );
    for name in names {
        let mine: Vec<&String> = lines
            .iter()
            .filter(|l| l.starts_with(&created(name)))
            .collect();
        assert_eq!(
            mine.len(),
            1,
            "expected exactly one 'created' line for {name}, the screen is:\n{screen}"
        );
    }
}

fn create_in_terminal(size: (u16, u16), tag: &str, n: usize) {
    let berth = Berth::new();
    let names = names(tag, n);
    let _cleanup = Cleanup {
        berth: &berth,
        names: names.clone(),
    };
    let mut args = vec!["create", "-d", "nspawn"];
    args.extend(names.iter().map(String::as_str));
    let mut terminal = run_in_terminal(&berth, size, &args);
    assert_one_created_line_each(&mut terminal, &names);

    let mut rm = vec!["rm", "-y"];
    rm.extend(names.iter().map(String::as_str));
    berth.ok(&rm);
    for name in &names {
        assert_no_leftovers(&Config::default(), name);
    }
}

#[test]
fn creating_one_machine_leaves_one_line_on_the_terminal() {
    create_in_terminal((COLS, ROWS), "tty", 1);
}

#[test]
fn creating_five_machines_leaves_one_line_each_on_the_terminal() {
    create_in_terminal((COLS, ROWS), "ttf", 5);
}

/// A machine that fails half-way through provisioning leaves its error and no spinner.
#[test]
fn a_failed_create_leaves_its_error_and_no_spinner() {
    let berth = Berth::new();
    let name = names("ttx", 1).remove(0);
    let _cleanup = Cleanup {
        berth: &berth,
        names: vec![name.clone()],
    };
    // dockerd refuses to start with a storage driver that does not exist.
    let mut terminal = run_in_terminal(
        &berth,
        (COLS, ROWS),
        &[
            "create",
            "-d",
            "nspawn",
            "--engine-storage-driver",
            "nosuchdriver",
            &name,
        ],
    );
    let lines = terminal.lines();
    let screen = lines.join("\n");
    assert!(!terminal.status.success(), "create succeeded:\n{screen}");
    assert!(
        lines.first().is_some_and(|l| l.starts_with("error: ")),
        "the screen should start with the error, it is:\n{screen}"
    );
    assert_no_spinner(&screen);
    assert!(
        screen.contains(&format!("berth rm {name}")),
        "the error should say what to do:\n{screen}"
    );
}

/// No braille spinner frame and no step name is left on the screen.
fn assert_no_spinner(screen: &str) {
    assert!(
        !screen
            .chars()
            .any(|c| ('\u{2800}'..='\u{28ff}').contains(&c)),
        "a spinner line was left on the screen:\n{screen}"
    );
}

/// A storage folder with the `slowexample` plugin in it: machines that take a while and need no
/// host, so that the display is tested without root, in seconds, and many times over.
fn berth_with_slow_plugin() -> Berth {
    let berth = Berth::new();
    let plugins = berth.store.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    let source =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("plugins/berth-driver-slowexample");
    // Copied by a child process (see plugins.rs: ETXTBSY from a forked sibling otherwise).
    let status = Command::new("install")
        .arg("-m0755")
        .arg(&source)
        .arg(plugins.join("berth-driver-slowexample"))
        .status()
        .unwrap();
    assert!(status.success(), "installing the slowexample plugin");
    berth
}

fn create_slow(size: (u16, u16), names: &[&str]) -> Terminal {
    let berth = berth_with_slow_plugin();
    let mut args = vec!["create", "-d", "slowexample"];
    args.extend(names);
    run_in_terminal(&berth, size, &args)
}

#[test]
fn five_live_lines_end_as_five_outcome_lines() {
    let names = ["m0", "m1", "m2", "m3", "m4"].map(String::from);
    let mut terminal = create_slow((COLS, ROWS), &names.each_ref().map(String::as_str));
    assert_one_created_line_each(&mut terminal, &names);
}

/// Progress lines wider than the terminal take two rows each; the redraws count them so.
#[test]
fn a_terminal_narrower_than_the_lines_still_gets_one_line_each() {
    let names = ["m0", "m1", "m2", "m3", "m4"].map(String::from);
    let mut terminal = create_slow((NARROW, ROWS), &names.each_ref().map(String::as_str));
    assert_one_created_line_each(&mut terminal, &names);
}

/// Five live lines in a terminal of three rows: the bars that do not fit are not drawn, and the
/// outcome lines, scrolled off or not, are each there once.
#[test]
fn a_terminal_shorter_than_the_machines_still_gets_one_line_each() {
    let names = ["m0", "m1", "m2", "m3", "m4"].map(String::from);
    let mut terminal = create_slow((COLS, 3), &names.each_ref().map(String::as_str));
    assert_one_created_line_each(&mut terminal, &names);
}

/// One machine fails half-way while the others are still at work: the created ones have their
/// line, the failed one its error, and no spinner is left of any.
#[test]
fn one_failure_among_several_leaves_its_error_beside_the_created_lines() {
    let mut terminal = create_slow((COLS, ROWS), &["m0", "fail2", "m4"]);
    let lines = terminal.lines();
    let screen = lines.join("\n");
    assert!(!terminal.status.success(), "create succeeded:\n{screen}");
    assert_no_spinner(&screen);
    for name in ["m0", "m4"] {
        let mine = lines
            .iter()
            .filter(|l| l.starts_with(&created(name)))
            .count();
        assert_eq!(mine, 1, "{name} should have one line:\n{screen}");
    }
    let errors: Vec<&String> = lines.iter().filter(|l| l.starts_with("error: ")).collect();
    assert_eq!(
        errors.len(),
        2,
        "expected the machine's error and the summary:\n{screen}"
    );
    assert!(errors[0].starts_with("error: fail2: "), "{screen}");
    assert!(errors[1].contains("1 of 3"), "{screen}");
    assert_eq!(
        lines.len(),
        4,
        "expected two created lines and two error lines, nothing else:\n{screen}"
    );
}
