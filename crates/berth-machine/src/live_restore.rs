//! Engine restarts that keep containers running. The engine reads its TLS files only at start,
//! so new certificates mean a restart; without `live-restore` that stops every container
//! (docker-machine #4721 lost a user's containers on six servers). berth turns live-restore on
//! in its own drop-in (the `--live-restore` flag) wherever it may:
//!
//! - not when `/etc/docker/daemon.json` sets `live-restore` itself: dockerd refuses to start
//!   when a directive is both a flag and a file key, and a `false` there is the user's choice,
//!   which berth reports rather than overrides;
//! - not in Swarm mode, which live-restore cannot be combined with (`docker swarm init` refuses
//!   it, and so does a manager's reload);
//! - not when the machine's own engine options say `live-restore` already.
//!
//! Around a restart, the running containers are listed before and after (ID and start time),
//! so that berth says plainly which ones, if any, did not survive it.

use std::collections::BTreeMap;
use std::time::Duration;

use berth_engine::RunningContainer;
use berth_provision::EngineConfig;

use crate::handle::MachineHandle;

/// The engine option berth adds (it becomes `--live-restore` in the drop-in).
pub const LIVE_RESTORE_OPT: &str = "live-restore";

/// Where the engine's configuration file is on the host.
const DAEMON_JSON: &str = berth_provision::DAEMON_JSON_PATH;

/// How long the engine may take to answer the questions before and after a restart.
const ASK_TIMEOUT: Duration = Duration::from_secs(5);

/// What the running engine said before provisioning.
#[derive(Debug, Default, Clone)]
pub(crate) struct EngineBefore {
    /// Whether the engine answered at all.
    pub answered: bool,
    /// Its live-restore setting as running now.
    pub live_restore: bool,
    /// Whether it is a Swarm node (active, pending or locked).
    pub swarm: bool,
    /// Its running containers.
    pub running: Vec<RunningContainer>,
}

/// Asks the machine's engine (when it has one recorded) what it runs now.
pub(crate) fn engine_before(machine: &MachineHandle) -> EngineBefore {
    if machine.record().url.is_none() {
        return EngineBefore::default();
    }
    let asked = berth_engine::block_on(async {
        let engine = machine.engine(ASK_TIMEOUT)?;
        let info = engine.info().await?;
        let running = engine.running().await?;
        Ok::<_, crate::MachineError>((info, running))
    });
    match asked {
        Ok((info, running)) => {
            use berth_engine::models::LocalNodeState;
            let state = info.swarm.and_then(|s| s.local_node_state);
            EngineBefore {
                answered: true,
                live_restore: info.live_restore_enabled.unwrap_or(false),
                swarm: matches!(
                    state,
                    Some(LocalNodeState::ACTIVE | LocalNodeState::PENDING | LocalNodeState::LOCKED)
                ),
                running,
            }
        }
        Err(_) => EngineBefore::default(),
    }
}

/// Settles live-restore for one provisioning run from the host's daemon.json (the text the
/// provisioner's detection read, so the host is asked once) and the engine as it ran before:
/// adds the flag to `engine` when berth may, and returns the warnings to show.
pub(crate) fn adjust(
    engine: &mut EngineConfig,
    daemon_json: Option<&str>,
    before: &EngineBefore,
) -> Vec<String> {
    let from_file = daemon_json.and_then(parse_daemon_json);
    match decide(engine, from_file, before) {
        Decision::AddFlag => {
            engine.opts.push(LIVE_RESTORE_OPT.to_owned());
            if before.answered && !before.live_restore {
                vec!["berth turned live-restore on (--live-restore in its drop-in), so engine restarts keep containers running from now on".to_owned()]
            } else {
                Vec::new()
            }
        }
        Decision::AlreadyOn => Vec::new(),
        Decision::Off(why) => {
            let at_risk = at_risk(before);
            if at_risk.is_empty() {
                Vec::new()
            } else {
                vec![format!("{why}: {}", at_risk.join(", "))]
            }
        }
    }
}

/// The `live-restore` key of the host's daemon.json: None when the file or the key is absent
/// (or the file cannot be read, which leaves the decision to the flag).
fn parse_daemon_json(text: &str) -> Option<bool> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    value.get("live-restore")?.as_bool()
}

/// What berth decided, with the sentence that says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Decision {
    /// `--live-restore` goes into berth's drop-in.
    AddFlag,
    /// Already on (daemon.json or the machine's own engine options).
    AlreadyOn,
    /// It cannot or may not be turned on; the sentence says why and what stops.
    Off(String),
}

/// The engine option that keeps live-restore off (`--live-restore=false` in the drop-in).
pub const LIVE_RESTORE_OFF_OPT: &str = "live-restore=false";

/// Whether an engine option is about live-restore (`live-restore`, `--live-restore=false`, …).
pub fn is_live_restore_opt(opt: &str) -> bool {
    let name = opt.trim_start_matches('-');
    name == LIVE_RESTORE_OPT || name.starts_with("live-restore=")
}

/// Decides about live-restore for this provisioning.
pub(crate) fn decide(
    engine: &EngineConfig,
    daemon_json: Option<bool>,
    before: &EngineBefore,
) -> Decision {
    let user_opt = engine.opts.iter().find(|o| is_live_restore_opt(o));
    if let Some(opt) = user_opt {
        return if opt.ends_with("=false") {
            Decision::Off(format!(
                "the machine's engine options say `{opt}`, so an engine restart stops its running containers"
            ))
        } else {
            Decision::AlreadyOn
        };
    }
    match daemon_json {
        Some(true) => return Decision::AlreadyOn,
        Some(false) => {
            return Decision::Off(format!(
                "{DAEMON_JSON} on the host sets \"live-restore\": false, and berth leaves that as it is, so an engine restart stops its running containers; set it to true there (or remove the key) to keep them running"
            ));
        }
        None => {}
    }
    if before.swarm {
        return Decision::Off(
            "the engine is in Swarm mode, where live-restore cannot be used, so an engine restart stops its running containers (Swarm starts its service tasks again)".to_owned(),
        );
    }
    Decision::AddFlag
}

/// What stops if the engine restarts now: the running containers, when the engine runs without
/// live-restore. Empty when nothing would.
pub(crate) fn at_risk(before: &EngineBefore) -> Vec<String> {
    if before.live_restore {
        return Vec::new();
    }
    before.running.iter().map(|c| c.name.clone()).collect()
}

/// Before `regenerate-certs` asks: a sentence about what an engine restart of machine `name`
/// would stop — the running containers when the engine runs without live-restore now (Swarm
/// mode, a daemon.json that says false, or an engine provisioned before berth turned it on),
/// or that berth cannot tell — or None when nothing would stop.
pub fn restart_risk(machines: &crate::Machines, name: &str) -> Option<String> {
    let Ok(machine) = machines.load(name) else {
        return Some(format!(
            "'{name}' cannot be read, so berth cannot tell whether containers there stop"
        ));
    };
    let before = engine_before(&machine);
    if !before.answered {
        return Some(format!(
            "the engine of '{name}' did not answer, so berth cannot tell whether containers there stop (they do unless it runs with live-restore)"
        ));
    }
    risk_of(name, &before)
}

/// What a restart would stop, from what an answering engine said.
fn risk_of(name: &str, before: &EngineBefore) -> Option<String> {
    let at_risk = at_risk(before);
    if at_risk.is_empty() {
        return None;
    }
    let why = if before.swarm {
        "it is in Swarm mode, where live-restore cannot be used"
    } else {
        "it runs without live-restore now (berth turns it on in this restart where daemon.json does not say otherwise, which keeps containers running from the next restart on)"
    };
    Some(format!(
        "on '{name}' the engine restart stops {} running containers, because {why}: {}",
        at_risk.len(),
        at_risk.join(", ")
    ))
}

/// Like [`restart_risk`], for `provision`: an engine that does not answer over TLS is what
/// provisioning is run to repair (an interrupted install, a broken drop-in), and from this
/// computer nothing can be seen running there, so it is not a reason to ask.
pub fn restart_risk_if_answering(machines: &crate::Machines, name: &str) -> Option<String> {
    let machine = machines.load(name).ok()?;
    let before = engine_before(&machine);
    if !before.answered {
        return None;
    }
    risk_of(name, &before)
}

/// The containers that ran before the restart and do not now, or now run with another start
/// time (they were stopped and started again), by name.
pub(crate) fn lost(before: &[RunningContainer], after: &[RunningContainer]) -> Vec<String> {
    let after: BTreeMap<&str, &str> = after
        .iter()
        .map(|c| (c.id.as_str(), c.started_at.as_str()))
        .collect();
    before
        .iter()
        .filter(|c| after.get(c.id.as_str()) != Some(&c.started_at.as_str()))
        .map(|c| c.name.clone())
        .collect()
}

/// The running containers after the restart (empty when the engine does not answer).
pub(crate) fn running_after(machine: &MachineHandle) -> Option<Vec<RunningContainer>> {
    berth_engine::block_on(async {
        let engine = machine.engine(ASK_TIMEOUT)?;
        Ok::<_, crate::MachineError>(engine.running().await?)
    })
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn container(id: &str, started: &str) -> RunningContainer {
        RunningContainer {
            id: id.into(),
            name: format!("n-{id}"),
            started_at: started.into(),
        }
    }

    #[test]
    fn the_flag_is_added_only_where_nothing_else_decides() {
        let plain = EngineConfig::default();
        let before = EngineBefore::default();
        assert_eq!(decide(&plain, None, &before), Decision::AddFlag);
        assert_eq!(decide(&plain, Some(true), &before), Decision::AlreadyOn);
        let Decision::Off(why) = decide(&plain, Some(false), &before) else {
            panic!("daemon.json false must win")
        };
        assert!(why.contains("\"live-restore\": false"), "{why}");
        let swarm = EngineBefore {
            swarm: true,
            ..EngineBefore::default()
        };
        assert!(matches!(decide(&plain, None, &swarm), Decision::Off(w) if w.contains("Swarm")));
        let opted = EngineConfig {
            opts: vec!["live-restore".into()],
            ..EngineConfig::default()
        };
        assert_eq!(decide(&opted, None, &swarm), Decision::AlreadyOn);
        let off = EngineConfig {
            opts: vec!["live-restore=false".into()],
            ..EngineConfig::default()
        };
        assert!(matches!(decide(&off, None, &before), Decision::Off(_)));
    }

    #[test]
    fn daemon_json_is_read_for_its_key_only() {
        assert_eq!(
            parse_daemon_json(r#"{"live-restore": true, "x": 1}"#),
            Some(true)
        );
        assert_eq!(parse_daemon_json(r#"{"live-restore": false}"#), Some(false));
        assert_eq!(parse_daemon_json(r#"{"log-level": "warn"}"#), None);
        assert_eq!(parse_daemon_json(""), None);
        assert_eq!(parse_daemon_json("{broken"), None);
    }

    #[test]
    fn a_container_started_again_counts_as_lost() {
        let before = [
            container("a", "t1"),
            container("b", "t1"),
            container("c", "t1"),
        ];
        let after = [container("a", "t1"), container("b", "t2")];
        assert_eq!(lost(&before, &after), ["n-b", "n-c"]);
        assert!(lost(&before, &before).is_empty());
    }
}
