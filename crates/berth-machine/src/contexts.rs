//! Each machine is also a context in the docker CLI's own store, so that `docker --context web1`
//! and `docker context use web1` (or `berth use web1`) reach it like any other engine.
//!
//! The policy here: a context is berth's when its owner key names this machine's folder; berth
//! writes and removes only those. A context of the same name that someone else made is never
//! touched: `create` refuses before making anything, and later commands leave it be and say so.

use crate::record::{ContextSettings, MachineRecord};
use berth_context::{ContextSpec, DockerConfig, Selected, StoredContext, TlsFiles};
use berth_names::MachineFiles;
use berth_store::Store;

use crate::driver::Machines;
use crate::error::{Context as _, MachineError};
use crate::event::Event;
use crate::handle::MachineHandle;

/// The prefix of a context name made from a machine name the docker CLI refuses ("a",
/// "default"): still recognisable, and valid since machine names are letters, digits, '-', '.'.
const MAPPED_PREFIX: &str = "berth-";

/// The context name for machine `name` with `settings`: None with `--no-context`; the chosen
/// name; else the machine's name, mapped to `berth-NAME` where the docker CLI refuses it.
pub fn context_name(name: &str, settings: &ContextSettings) -> Option<String> {
    if settings.disabled {
        return None;
    }
    if let Some(chosen) = &settings.name {
        return Some(chosen.to_string());
    }
    Some(if berth_context::validate_name(name).is_ok() {
        name.to_owned()
    } else {
        format!("{MAPPED_PREFIX}{name}")
    })
}

/// What berth writes under the owner key: the machine's folder, absolute, so that two stores
/// with a machine of the same name do not take each other's context.
fn owner(store: &Store, name: &str) -> String {
    let dir = store.root().join(name);
    std::path::absolute(&dir)
        .unwrap_or(dir)
        .to_string_lossy()
        .into_owned()
}

fn is_ours(context: &StoredContext, owner: &str) -> bool {
    context.owner.as_deref() == Some(owner)
}

fn foreign_message(context: &str, found: &StoredContext, machine: &str) -> String {
    format!(
        "a docker context named '{context}' already exists{} and berth did not make it; berth leaves it as it is. Give the machine's context another name with `--context-name NAME`, or make none with `--no-context`{}",
        found
            .host
            .as_deref()
            .map(|h| format!(" (it points at {h})"))
            .unwrap_or_default(),
        if machine == context {
            String::new()
        } else {
            format!(" (machine '{machine}')")
        }
    )
}

/// Before a create: refuses a context name the docker CLI would refuse, or one that a context
/// berth did not make already has. Nothing is made when this fails.
pub fn check_free(
    machines: &Machines,
    name: &str,
    settings: &ContextSettings,
) -> Result<(), MachineError> {
    let Some(docker) = machines.docker_config() else {
        return Ok(());
    };
    let Some(context) = context_name(name, settings) else {
        return Ok(());
    };
    berth_context::validate_name(&context).with_context(|| {
        format!("--context-name '{context}' cannot be used for machine '{name}'")
    })?;
    let store = docker.contexts();
    if let Some(found) = store
        .get(&context)
        .context("cannot read the docker CLI's contexts")?
        && !is_ours(&found, &owner(machines.store(), name))
    {
        return Err(MachineError::msg(foreign_message(&context, &found, name)));
    }
    Ok(())
}

/// Writes (or rewrites) the machine's context from its folder: its engine URL and the CA and
/// client certificate that `berth env` gives too, so env and context always agree. Sets the
/// mapped name in the record (the caller saves it). A foreign context of that name is left as
/// it is, with a warning.
pub fn sync(
    machines: &Machines,
    machine: &mut MachineHandle,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<(), MachineError> {
    let (machine, record) = machine.parts_mut();
    let Some(docker) = machines.docker_config() else {
        return Ok(());
    };
    let Some(context) = context_name(&record.name, &record.context) else {
        return Ok(());
    };
    let Some(url) = record.url.as_ref().map(ToString::to_string) else {
        return Ok(());
    };
    let (Ok(ca), Ok(cert), Ok(key)) = (
        machine.read_file(MachineFiles::CA_CERT),
        machine.read_file(MachineFiles::CLIENT_CERT),
        machine.read_file(MachineFiles::CLIENT_KEY),
    ) else {
        // The none driver's machines may have no certificates of berth's.
        events(Event::Debug(
            "no docker context: the machine has no client certificate",
        ));
        return Ok(());
    };
    let store = docker.contexts();
    let owner = owner(machines.store(), &record.name);
    if let Some(found) = store
        .get(&context)
        .context("cannot read the docker CLI's contexts")?
        && !is_ours(&found, &owner)
    {
        events(Event::Warn(&foreign_message(
            &context,
            &found,
            &record.name,
        )));
        return Ok(());
    }
    if record.name != context && record.context.name.is_none() {
        events(Event::Warn(&format!(
            "the docker CLI refuses '{}' as a context name, so the machine's context is called '{context}'",
            record.name
        )));
        record.context.name = Some(crate::record::ContextName::new(context.clone())?);
    }
    let description = format!(
        "berth machine {} (made by berth; `berth rm {}` removes it)",
        record.name, record.name
    );
    store
        .write(&ContextSpec {
            name: &context,
            description: &description,
            host: &url,
            tls: TlsFiles {
                ca: ca.as_bytes(),
                cert: cert.as_bytes(),
                key: key.as_bytes(),
            },
            owner: &owner,
        })
        .with_context(|| format!("cannot write the docker context '{context}'"))?;
    events(Event::Debug(&format!(
        "docker context '{context}' written in {}",
        store.root().display()
    )));
    Ok(())
}

/// Whether the machine's context exists and is berth's (so that it mirrors the folder).
pub(crate) fn has_own(machines: &Machines, record: &MachineRecord) -> bool {
    let (Some(docker), Some(context)) = (
        machines.docker_config(),
        context_name(&record.name, &record.context),
    ) else {
        return false;
    };
    docker
        .contexts()
        .get(&context)
        .ok()
        .flatten()
        .is_some_and(|found| is_ours(&found, &owner(machines.store(), &record.name)))
}

/// The name of machine `name`'s context, when berth has one for it.
pub fn own_context(machines: &Machines, name: &str) -> Option<String> {
    let machine = machines.load(name).ok()?;
    let record = machine.record();
    has_own(machines, record)
        .then(|| context_name(&record.name, &record.context))
        .flatten()
}

/// Removes the machine's context if it is berth's; when it was the docker CLI's current
/// context, the current context goes back to `default` (as `docker context rm -f` does).
pub(crate) fn remove(
    machines: &Machines,
    name: &str,
    settings: &ContextSettings,
    events: &mut dyn FnMut(Event<'_>),
) -> Result<(), MachineError> {
    let (Some(docker), Some(context)) = (machines.docker_config(), context_name(name, settings))
    else {
        return Ok(());
    };
    let store = docker.contexts();
    match store.get(&context) {
        Ok(Some(found)) if is_ours(&found, &owner(machines.store(), name)) => {}
        Ok(Some(_)) => {
            events(Event::Debug(&format!(
                "the docker context '{context}' is not berth's; left as it is"
            )));
            return Ok(());
        }
        Ok(None) => return Ok(()),
        Err(e) => {
            events(Event::Warn(&format!(
                "the docker context '{context}' was left as it is: {e}"
            )));
            return Ok(());
        }
    }
    if docker
        .clear_current_context_if(&context)
        .context("cannot reset the docker CLI's current context")?
    {
        events(Event::Warn(&format!(
            "'{context}' was the docker CLI's current context; it is `default` again"
        )));
    }
    store
        .remove(&context)
        .with_context(|| format!("cannot remove the docker context '{context}'"))?;
    Ok(())
}

/// `berth use NAME`: makes the machine's context (writing it first when it is missing) the
/// docker CLI's current context. Returns the context's name.
pub fn use_machine(machines: &Machines, name: &str) -> Result<String, MachineError> {
    let docker = docker_config(machines)?;
    let _lock = machines
        .store()
        .lock(name, std::time::Duration::from_secs(30))?;
    let mut machine = machines.load(name)?;
    let Some(context) = context_name(name, &machine.record().context) else {
        return Err(MachineError::msg(format!(
            "machine '{name}' was created with --no-context, so it has no docker context; `eval \"$(berth env {name})\"` points docker at it in this shell"
        )));
    };
    if !has_own(machines, machine.record()) {
        let mut warnings = Vec::new();
        sync(machines, &mut machine, &mut |e| {
            if let Event::Warn(w) = e {
                warnings.push(w.to_owned());
            }
        })?;
        if !has_own(machines, machine.record()) {
            return Err(MachineError::msg(match warnings.first() {
                Some(w) => w.clone(),
                None => format!(
                    "machine '{name}' has no engine URL and certificates yet (state {}); `berth provision {name}` finishes it",
                    machine.record().state
                ),
            }));
        }
        machine.save()?;
    }
    docker
        .set_current_context(Some(&context))
        .context("cannot set the docker CLI's current context")?;
    Ok(context)
}

/// `berth use --unset`: the docker CLI's current context goes back to `default`.
pub fn unset_current(machines: &Machines) -> Result<(), MachineError> {
    docker_config(machines)?
        .set_current_context(None)
        .context("cannot reset the docker CLI's current context")
}

fn docker_config(machines: &Machines) -> Result<&DockerConfig, MachineError> {
    machines
        .docker_config()
        .context("berth was started without the docker CLI's folder; this is a bug in berth")
}

/// The machine the docker CLI talks to: the one whose URL `DOCKER_HOST` is, else the one whose
/// context is selected (`DOCKER_CONTEXT`, then config.json's `currentContext`).
pub fn active_machine<'r>(
    machines: &Machines,
    records: &'r [MachineRecord],
    docker_host: Option<&str>,
    docker_context: Option<&str>,
) -> Option<&'r MachineRecord> {
    let selected = match machines.docker_config() {
        Some(docker) => docker.selected(docker_host, docker_context).ok()?,
        None => Selected::Host(docker_host?.to_owned()),
    };
    match selected {
        Selected::Host(host) => records
            .iter()
            .find(|r| r.url.as_ref().is_some_and(|u| u.to_string() == host)),
        Selected::Context(name) => records.iter().find(|r| {
            context_name(&r.name, &r.context).as_deref() == Some(name.as_str())
                && has_own(machines, r)
        }),
        Selected::Default => None,
    }
}

/// The machine folder, for tests of this module.
#[cfg(test)]
fn folder(store: &Store, name: &str) -> std::path::PathBuf {
    std::path::PathBuf::from(owner(store, name))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_docker_refuses_are_mapped() {
        let none = ContextSettings::default();
        assert_eq!(context_name("web1", &none).as_deref(), Some("web1"));
        assert_eq!(context_name("a", &none).as_deref(), Some("berth-a"));
        assert_eq!(
            context_name("default", &none).as_deref(),
            Some("berth-default")
        );
        let chosen = ContextSettings {
            name: Some("prod".try_into().unwrap()),
            disabled: false,
        };
        assert_eq!(context_name("web1", &chosen).as_deref(), Some("prod"));
        let off = ContextSettings {
            name: None,
            disabled: true,
        };
        assert_eq!(context_name("web1", &off), None);
    }

    fn machines(dir: &std::path::Path) -> Machines {
        Machines::new(Store::new(dir.join("machines")))
            .with_docker_config(DockerConfig::new(dir.join("docker")))
    }

    #[test]
    fn a_foreign_context_refuses_the_create_and_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let machines = machines(dir.path());
        let contexts = machines.docker_config().unwrap().contexts();
        fn foreign(owner: &str) -> ContextSpec<'_> {
            ContextSpec {
                name: "web1",
                description: "mine",
                host: "tcp://192.0.2.1:2376",
                tls: TlsFiles {
                    ca: b"",
                    cert: b"",
                    key: b"",
                },
                owner,
            }
        }
        // Another berth store's machine of the same name is foreign too.
        contexts.write(&foreign("/elsewhere/web1")).unwrap();
        let err = check_free(&machines, "web1", &ContextSettings::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("'web1' already exists (it points at tcp://192.0.2.1:2376)")
                && err.contains("--context-name"),
            "{err}"
        );
        let other = ContextSettings {
            name: Some("web1-berth".try_into().unwrap()),
            disabled: false,
        };
        check_free(&machines, "web1", &other).unwrap();
        let off = ContextSettings {
            name: None,
            disabled: true,
        };
        check_free(&machines, "web1", &off).unwrap();
        // A name the docker CLI refuses cannot even be put in the settings (nor in a record).
        assert!(crate::record::ContextName::new("x").is_err());
        // rm of a machine named web1 leaves the foreign context.
        remove(&machines, "web1", &ContextSettings::default(), &mut |_| {}).unwrap();
        assert_eq!(
            contexts
                .get("web1")
                .unwrap()
                .unwrap()
                .description
                .as_deref(),
            Some("mine")
        );
        // berth's own context (owner = this machine's folder) is free to rewrite.
        let ours = folder(machines.store(), "web1");
        contexts.write(&foreign(&ours.to_string_lossy())).unwrap();
        check_free(&machines, "web1", &ContextSettings::default()).unwrap();
    }
}
