use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::{Context as _, bail};
use berth_driver::{CreateRequest, Driver};
use berth_provision::EngineConfig;
use berth_ssh::HostKeyPolicy;
use berth_store::{MachineRecord, MachineState};
use berth_tls::KeyAlgorithm;

use super::Ctx;
use crate::certs::Renewal;
use crate::cli::CreateArgs;
use crate::driver_flags::ChosenDriver;
use crate::progress::{MachineProgress, Progress};
use crate::provisioning::{self, Options};

pub fn run(ctx: &Ctx, args: &CreateArgs, chosen: ChosenDriver) -> anyhow::Result<ExitCode> {
    // Everything that can be refused without touching a network is refused first.
    for name in &args.names {
        berth_store::validate_name(name)?;
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(dup) = args.names.iter().find(|n| !seen.insert(n.as_str())) {
        bail!("the name '{dup}' is given twice; each machine needs its own name");
    }
    let engine = engine_config(args)?;
    let algorithm: KeyAlgorithm = args.tls_algorithm.parse()?;
    let policy = args
        .ssh_host_key_fingerprint
        .clone()
        .map(HostKeyPolicy::Fingerprint);
    if policy.is_some() && args.names.len() > 1 {
        bail!(
            "--ssh-host-key-fingerprint names one host's key, but {} machines are being created; create them one at a time",
            args.names.len()
        );
    }
    // Opened while parsing the command line (its flags are part of it): a plugin runs once.
    let ChosenDriver { driver, flags } = chosen;

    let progress = Progress::new(ctx.printer);
    let failures: Vec<(String, anyhow::Error)> = std::thread::scope(|scope| {
        let handles: Vec<_> = args
            .names
            .iter()
            .map(|name| {
                let mut line = progress.machine(name);
                let (engine, flags, policy, driver) = (&engine, &flags, policy.clone(), &driver);
                scope.spawn(move || {
                    let result = create_one(
                        ctx,
                        driver.as_ref(),
                        name,
                        flags,
                        engine,
                        algorithm,
                        &args.tls_san,
                        policy,
                        &mut line,
                    );
                    match &result {
                        Ok(()) => line.finish(&format!(
                            "created; `eval \"$(berth env {name})\"` points docker at it"
                        )),
                        Err(_) => line.abandon(),
                    }
                    result.map_err(|e| (name.clone(), e))
                })
            })
            .collect();
        handles
            .into_iter()
            .filter_map(|h| match h.join() {
                Ok(Ok(())) => None,
                Ok(Err(failure)) => Some(failure),
                Err(_) => Some((
                    "?".into(),
                    anyhow::anyhow!("a create thread panicked; this is a bug in berth"),
                )),
            })
            .collect()
    });
    if failures.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    if failures.len() == 1 && args.names.len() == 1 {
        let (_, err) = failures.into_iter().next().context("one failure")?;
        return Err(err);
    }
    for (name, err) in &failures {
        ctx.printer.error(&format!("{name}: {err:#}"));
    }
    bail!(
        "{} of {} machines could not be created",
        failures.len(),
        args.names.len()
    )
}

#[allow(clippy::too_many_arguments)]
fn create_one(
    ctx: &Ctx,
    driver: &dyn Driver,
    name: &str,
    flags: &BTreeMap<String, serde_json::Value>,
    engine: &EngineConfig,
    algorithm: KeyAlgorithm,
    tls_sans: &[String],
    policy: Option<HostKeyPolicy>,
    line: &mut MachineProgress,
) -> anyhow::Result<()> {
    let mut record = MachineRecord::new(name, driver.name());
    record.engine = toml::Table::try_from(engine).context("cannot record the engine options")?;
    record.tls.algorithm = algorithm.as_str().to_owned();
    record.tls.extra_sans = tls_sans.to_vec();
    let (machine, lock) = ctx.store.create_machine(&record)?;

    line.step(&format!("creating the host ({} driver)", driver.name()));
    let request = CreateRequest {
        machine: name.to_owned(),
        machine_dir: machine.dir().to_path_buf(),
        flags: flags.clone(),
        ssh_public_key: None,
    };
    let created = match driver.create(&request, &|message| line.detail(message)) {
        Ok(created) => created,
        // A refused flag means the driver made nothing: the machine goes again, so that fixing
        // the command line and running it again just works.
        Err(err @ berth_driver::DriverError::InvalidFlag { .. }) => {
            ctx.store.remove(machine, &lock)?;
            return Err(err.into());
        }
        Err(err) => {
            record.state = MachineState::Error;
            record.error = Some(format!(
                "the {} driver could not create the host: {err}",
                driver.name()
            ));
            machine.save(&record)?;
            return Err(anyhow::Error::new(err).context(format!(
                "the {} driver could not create '{name}'; `berth rm {name}` cleans up what is left",
                driver.name()
            )));
        }
    };
    record.driver_data = super::json_to_toml(&created.data)?;
    record.ssh = created.ssh.map(|ssh| berth_store::SshSettings {
        host: ssh.host,
        port: ssh.port,
        user: ssh.user,
        key_path: ssh.key_path,
    });
    line.step_done(&format!("creating the host ({} driver)", driver.name()));
    if record.ssh.is_none() {
        // The `none` driver: an engine that is already set up; berth only records it.
        record.url = created.engine_url;
        record.state = MachineState::Running;
        machine.save(&record)?;
        return Ok(());
    }
    machine.save(&record)?;

    provisioning::provision(&machine, &mut record, policy, Options { renewal: Renewal::KeepIfValid, install_engine: engine.install }, line)
        .with_context(|| {
            format!("machine '{name}' is kept in state Error: `berth provision {name}` finishes it, `berth rm {name}` removes it")
        })
        .map_err(reorder)
}

/// Puts the cause (which step failed and what the host said) before the what-to-do hint.
fn reorder(err: anyhow::Error) -> anyhow::Error {
    let hint = err.to_string();
    let cause = err
        .chain()
        .skip(1)
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n  caused by: ");
    anyhow::anyhow!("{cause}\n  {hint}")
}

fn engine_config(args: &CreateArgs) -> anyhow::Result<EngineConfig> {
    let e = &args.engine;
    let mut env = BTreeMap::new();
    for assignment in &e.engine_env {
        let (k, v) = berth_provision::parse_env(assignment)?;
        env.insert(k, v);
    }
    let config = EngineConfig {
        install_url: e.engine_install_url.clone(),
        opts: e.engine_opt.clone(),
        labels: e.engine_label.clone(),
        insecure_registries: e.engine_insecure_registry.clone(),
        registry_mirrors: e.engine_registry_mirror.clone(),
        storage_driver: e.engine_storage_driver.clone(),
        env,
        ..EngineConfig::default()
    };
    config.validate()?;
    Ok(config)
}
