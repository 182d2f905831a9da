//! Issue 14: three nspawn machines become one Swarm cluster through berth — init and join, a
//! service with one task per node reached task-to-task over an overlay network, idempotent
//! joins, a stopped worker's task rescheduled, leave and rm taking nodes out safely.
//!
//! One test on purpose: the three hosts and their cluster are the expensive part, and every
//! check here builds on the state the one before left.

use std::process::Command;
use std::time::{Duration, Instant};

use berth_e2e::assert_no_leftovers;
use berth_nspawn::Config;

use crate::cli::Berth;

/// Removes the machines even when an assertion fails half-way.
struct Cleanup<'a> {
    berth: &'a Berth,
    names: Vec<String>,
}

impl Drop for Cleanup<'_> {
    fn drop(&mut self) {
        for name in &self.names {
            if self.berth.machine_dir(name).exists() {
                let _ = self.berth.cmd().args(["rm", "-y", "-f", name]).output();
            }
        }
    }
}

fn text(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `docker ARGS` through `name`'s env; fails the test unless it succeeds, returns stdout.
fn docker_ok(berth: &Berth, name: &str, args: &str) -> String {
    let out = berth.docker(name, args);
    assert!(
        out.status.success(),
        "docker {args} on {name} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text(&out)
}

/// Polls `check` until it returns true or `within` passes.
fn wait_for(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    let mut pause = Duration::from_millis(200);
    while !check() {
        assert!(
            Instant::now() < deadline,
            "{what}: not within {}s",
            within.as_secs()
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_secs(2));
    }
}

/// `docker node ls` as `HOSTNAME STATUS` lines, sorted.
fn node_list(berth: &Berth, manager: &str) -> Vec<String> {
    let mut nodes: Vec<String> = docker_ok(
        berth,
        manager,
        "node ls --format '{{.Hostname}} {{.Status}}'",
    )
    .lines()
    .map(str::to_owned)
    .collect();
    nodes.sort();
    nodes
}

/// The running tasks of `service` as `NODE` lines.
fn running_on(berth: &Berth, manager: &str, service: &str) -> Vec<String> {
    let out = berth.docker(
        manager,
        &format!(
            "service ps {service} --filter desired-state=running --format '{{{{.Node}}}} {{{{.CurrentState}}}}'"
        ),
    );
    let mut nodes: Vec<String> = text(&out)
        .lines()
        .filter(|l| l.contains(" Running"))
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    nodes.sort();
    nodes
}

/// A busybox-static root as a tar file, for `docker import` (no registry is reachable). Its
/// `wget` crashes (a static glibc resolving through NSS), so HTTP goes through `nc`.
fn busybox_tar(dir: &std::path::Path) -> std::path::PathBuf {
    let root = dir.join("root");
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", root.join("bin/busybox"))
        .expect("busybox-static must be installed (/bin/busybox); scripts/test installs it");
    for applet in [
        "sh", "httpd", "nc", "printf", "nslookup", "sed", "grep", "sleep", "hostname", "mkdir",
    ] {
        std::os::unix::fs::symlink("busybox", root.join("bin").join(applet)).unwrap();
    }
    let tar = dir.join("busybox.tar");
    let status = Command::new("tar")
        .arg("-C")
        .arg(&root)
        .arg("-cf")
        .arg(&tar)
        .arg(".")
        .status()
        .unwrap();
    assert!(status.success(), "tar of the busybox root failed");
    tar
}

#[test]
fn three_nspawn_machines_become_one_swarm() {
    let berth = Berth::new();
    let id = std::process::id();
    let [a, b, c, d, e] = ["a", "b", "c", "d", "e"].map(|n| format!("sw{id}{n}"));
    let _cleanup = Cleanup {
        berth: &berth,
        names: vec![a.clone(), b.clone(), c.clone(), d.clone(), e.clone()],
    };

    // From nothing to a cluster of three: one create, one init, one join.
    let started = Instant::now();
    berth.ok(&["create", "-d", "nspawn", &a, &b, &c]);
    let created = started.elapsed();
    let init = berth.run(&["swarm", "init", &a]);
    assert!(init.status.success());
    let init_err = String::from_utf8_lossy(&init.stderr).into_owned();
    assert!(
        init_err.contains("manages the new cluster"),
        "init did not say what it made:\n{init_err}"
    );
    assert!(
        init_err.contains("has no IPVS"),
        "this kernel has no IPVS, and init did not say so:\n{init_err}"
    );
    // With --debug every engine call is traced: the join tokens must not be among them.
    let join = berth.run(&["--debug", "swarm", "join", "--manager", &a, &b, &c]);
    assert!(
        join.status.success(),
        "join failed:\n{}",
        String::from_utf8_lossy(&join.stderr)
    );
    eprintln!(
        "TIMING create of 3 nspawn machines: {:.1}s; with swarm init and join: {:.1}s",
        created.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
    let join_err = String::from_utf8_lossy(&join.stderr).into_owned();
    for kind in ["worker", "manager"] {
        let token = docker_ok(&berth, &a, &format!("swarm join-token -q {kind}"));
        let token = token.trim();
        assert!(
            token.starts_with("SWMTKN-"),
            "{token:?} is not a join token"
        );
        for (what, output) in [("init", &init_err), ("join", &join_err)] {
            assert!(
                !output.contains(token) && !text(&join).contains(token),
                "berth --debug swarm {what} printed the {kind} join token"
            );
        }
        let store = Command::new("grep")
            .args(["-rlF", token])
            .arg(berth.store.path())
            .output()
            .unwrap();
        assert!(
            text(&store).is_empty(),
            "the {kind} join token was written into the store: {}",
            text(&store)
        );
    }

    let ready = |nodes: &[String]| nodes.iter().filter(|n| n.ends_with(" Ready")).count();
    wait_for("three Ready nodes", Duration::from_secs(30), || {
        ready(&node_list(&berth, &a)) == 3
    });
    let nodes = node_list(&berth, &a);
    assert_eq!(
        nodes,
        [&a, &b, &c].map(|n| format!("{n} Ready")),
        "each node's hostname is its machine's name"
    );

    // berth's own views: swarm ls names each node's machine; ls shows each one's cluster.
    let listed: serde_json::Value =
        serde_json::from_str(&berth.ok(&["swarm", "ls", "--format", "json"])).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3, "{listed:?}");
    assert_eq!(listed[0]["machine"], a.as_str());
    assert_eq!(listed[0]["role"], "manager");
    assert_eq!(listed[0]["manager_status"], "leader");
    for row in &listed[1..] {
        assert_eq!(row["role"], "worker");
        assert_eq!(row["state"], "ready");
        assert!(
            !row["engine"].as_str().unwrap().is_empty(),
            "no engine version: {row}"
        );
    }
    let ls: serde_json::Value =
        serde_json::from_str(&berth.ok(&["ls", "--format", "json"])).unwrap();
    let swarm_of = |name: &str| -> String {
        ls.as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == name)
            .map(|r| r["swarm"].as_str().unwrap_or_default().to_owned())
            .unwrap_or_default()
    };
    let cluster = swarm_of(&a)
        .strip_suffix("/manager")
        .unwrap_or_else(|| panic!("ls shows no manager for {a}: {ls}"))
        .to_owned();
    assert_eq!(cluster.len(), 12, "{cluster}");
    assert_eq!(swarm_of(&b), format!("{cluster}/worker"));
    assert_eq!(swarm_of(&c), format!("{cluster}/worker"));
    assert!(berth.ok(&["ls"]).contains(&format!("{cluster}/manager")));

    // A locally made image on every node, a service with one task per node.
    let scratch = tempfile::tempdir().unwrap();
    let tar = busybox_tar(scratch.path());
    for name in [&a, &b, &c] {
        docker_ok(&berth, name, &format!("import {} bb:local", tar.display()));
    }
    docker_ok(&berth, &a, "network create -d overlay --attachable fleet");
    docker_ok(
        &berth,
        &a,
        "service create --detach --no-resolve-image --name web --replicas 3 \
         --replicas-max-per-node 1 --endpoint-mode dnsrr --network fleet \
         --hostname '{{.Node.Hostname}}' bb:local \
         sh -c 'mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www'",
    );
    wait_for(
        "three running tasks of web",
        Duration::from_secs(60),
        || running_on(&berth, &a, "web").len() == 3,
    );
    let mut expected = vec![a.clone(), b.clone(), c.clone()];
    expected.sort();
    assert_eq!(running_on(&berth, &a, "web"), expected, "one task per node");

    // From a container on a, the tasks on b and c by name, over the overlay network.
    let mut answers = String::new();
    wait_for(
        "the tasks of web answering by name from a",
        Duration::from_secs(30),
        || {
            let out = berth.docker(
                &a,
                "run --rm --network fleet bb:local sh -c \
                 'for ip in $(nslookup tasks.web 2>/dev/null | sed -n \"s/^Address: *//p\" | grep -v 127.0.0.11); do printf \"GET / HTTP/1.0\\r\\n\\r\\n\" | nc -w 3 $ip 8080; done'",
            );
            answers = text(&out);
            answers.contains(&b) && answers.contains(&c)
        },
    );
    assert!(answers.contains(&a), "the task on a itself: {answers}");

    // regenerate-certs asks first, and says that a swarm node loses its containers.
    let regen = berth.run(&["regenerate-certs", &b]);
    assert!(
        !regen.status.success(),
        "regenerate-certs went ahead without asking"
    );
    let regen_err = String::from_utf8_lossy(&regen.stderr);
    assert!(
        regen_err.contains(&format!("{b} (worker) is a node in Swarm mode"))
            && regen_err.contains("live-restore cannot be used"),
        "{regen_err}"
    );

    // A second join changes nothing, and says so.
    let ids_before = docker_ok(&berth, &a, "node ls -q");
    let again = berth.run(&["swarm", "join", "--manager", &a, &b, &c, &a]);
    assert!(again.status.success());
    let again_err = String::from_utf8_lossy(&again.stderr);
    assert_eq!(
        again_err.matches("nothing was changed").count(),
        3,
        "{again_err}"
    );
    assert_eq!(docker_ok(&berth, &a, "node ls -q"), ids_before);
    // init on the manager is a no-op too.
    let reinit = berth.run(&["swarm", "init", &a]);
    assert!(reinit.status.success());
    assert!(String::from_utf8_lossy(&reinit.stderr).contains("already a manager"));

    // A machine made straight into the cluster joins in the create, provisioned once: it starts
    // without live-restore, so nothing has to be turned off (and its engine restarted) to join.
    let made = berth.run(&["create", "-d", "nspawn", "--swarm-join", &a, &d]);
    assert!(made.status.success(), "create --swarm-join failed");
    let made_err = String::from_utf8_lossy(&made.stderr).into_owned();
    assert!(
        !made_err.contains("turning live-restore off"),
        "a machine created into a swarm was provisioned twice: {made_err}"
    );
    wait_for("the created node is Ready", Duration::from_secs(60), || {
        node_list(&berth, &a).contains(&format!("{d} Ready"))
    });
    // d runs no task (web's three are on a, b and c): it leaves without being drained.
    let removed = berth.run(&["rm", "-y", &d]);
    assert!(removed.status.success(), "rm of {d} failed");
    let removed_err = String::from_utf8_lossy(&removed.stderr);
    assert!(
        !removed_err.contains("draining"),
        "a node with no task was drained: {removed_err}"
    );
    wait_for("the removed node is gone", Duration::from_secs(60), || {
        !node_list(&berth, &a).iter().any(|n| n.starts_with(&d))
    });

    // A stopped worker's task goes elsewhere; started again, the worker is Ready again.
    docker_ok(
        &berth,
        &a,
        "service create --detach --no-resolve-image --name one --replicas 1 \
         --constraint node.role==worker bb:local sleep 100000",
    );
    wait_for("the task of one running", Duration::from_secs(60), || {
        running_on(&berth, &a, "one").len() == 1
    });
    let first = running_on(&berth, &a, "one").remove(0);
    let other = if first == b { c.clone() } else { b.clone() };
    berth.ok(&["stop", &first]);
    let stopped = Instant::now();
    wait_for(
        "the task of one rescheduled to the other worker",
        Duration::from_secs(60),
        || running_on(&berth, &a, "one") == [other.clone()],
    );
    eprintln!(
        "TIMING task rescheduled {:.1}s after berth stop returned",
        stopped.elapsed().as_secs_f64()
    );
    berth.ok(&["start", &first]);
    wait_for(
        "the started worker Ready again",
        Duration::from_secs(60),
        || node_list(&berth, &a).contains(&format!("{first} Ready")),
    );

    // leave and rm take workers out; a machine in another cluster is refused.
    berth.ok(&["swarm", "leave", &c]);
    wait_for("two nodes after the leave", Duration::from_secs(30), || {
        node_list(&berth, &a).len() == 2
    });
    berth.ok(&["swarm", "init", &c]);
    let foreign = berth.run(&["swarm", "join", "--manager", &a, &c]);
    assert!(!foreign.status.success());
    let foreign_err = String::from_utf8_lossy(&foreign.stderr);
    assert!(
        foreign_err.contains("another cluster") && foreign_err.contains("berth swarm leave"),
        "{foreign_err}"
    );
    berth.ok(&["swarm", "leave", "--force", &c]);
    berth.ok(&["rm", "-y", &c]);
    assert_eq!(
        node_list(&berth, &a),
        [format!("{a} Ready"), format!("{b} Ready")],
        "after leave and rm of a worker"
    );
    berth.ok(&["rm", "-y", &b]);
    assert_eq!(
        node_list(&berth, &a),
        [format!("{a} Ready")],
        "rm of a member leaves the cluster first"
    );

    // The last manager goes only with --force.
    let last = berth.run(&["rm", "-y", &a]);
    assert!(
        !last.status.success(),
        "rm of the last manager was not refused"
    );
    let last_err = String::from_utf8_lossy(&last.stderr);
    assert!(last_err.contains("last manager"), "{last_err}");
    assert!(berth.machine_dir(&a).exists());
    // Issue 20: a forced rm of a whole cluster whose hosts all go with it leaves nothing: no
    // node drains or leaves a cluster that ends with them (the engines' leaves took seconds).
    berth.ok(&["create", "-d", "nspawn", "--swarm-join", &a, &e]);
    wait_for("the new worker is Ready", Duration::from_secs(60), || {
        node_list(&berth, &a).contains(&format!("{e} Ready"))
    });
    let whole = berth.run(&["rm", "-y", "-f", &a, &e]);
    assert!(whole.status.success(), "rm -f of the whole cluster failed");
    let whole_err = String::from_utf8_lossy(&whole.stderr);
    for name in [&a, &e] {
        assert!(
            whole_err.contains(&format!("{name}: ending its cluster with its hosts")),
            "{name} did not say that its cluster ends with it: {whole_err}"
        );
    }
    assert!(
        !whole_err.contains("draining") && !whole_err.contains("leaving the swarm…"),
        "a node of a cluster that ends left it first: {whole_err}"
    );
    assert!(!berth.machine_dir(&a).exists() && !berth.machine_dir(&e).exists());
    for name in [&a, &b, &c, &e] {
        assert_no_leftovers(&Config::default(), name);
    }
}
