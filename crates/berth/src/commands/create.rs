//! `create`: everything that can be refused without a network is refused first, then the
//! machines are created (berth-machine) all at once, one line each.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::bail;
use berth_machine::CreateSpec;
use berth_plugin::Driver;
use berth_provision::EngineConfig;
use berth_ssh::HostKeyPolicy;
use berth_tls::KeyAlgorithm;

use super::Ctx;
use crate::cli::CreateArgs;
use crate::driver_flags::ChosenDriver;
use berth_compat::words::Sentence;

pub(super) fn run(ctx: &Ctx, args: &CreateArgs, chosen: ChosenDriver) -> anyhow::Result<ExitCode> {
    // Everything that can be refused without touching a network is refused first.
    if ctx.dialect.is_docker_machine() && args.names.len() > 1 {
        return Err(Sentence::ExtraArguments(args.names[1..].to_vec()).into());
    }
    for name in &args.names {
        if let Err(err) = berth_store::validate_new_name(name) {
            return Err(ctx
                .dialect
                .error(err.to_string(), Sentence::InvalidHostname));
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    if let Some(dup) = args.names.iter().find(|n| !seen.insert(n.as_str())) {
        bail!("the name '{dup}' is given twice; each machine needs its own name");
    }
    for san in &args.tls_san {
        berth_tls::check_san(san)?;
    }
    if let Some(context) = &args.context_name {
        berth_context::validate_name(context)?;
        if args.names.len() > 1 {
            bail!(
                "--context-name names one machine's context, but {} machines are being created; create them one at a time",
                args.names.len()
            );
        }
    }
    let mut engine = engine_config(args)?;
    // Machines made straight into a swarm start without live-restore, which Swarm mode refuses:
    // otherwise each would be provisioned (and its engine restarted) a second time to join.
    if args.swarm_join.is_some()
        && !engine
            .opts
            .iter()
            .any(|o| berth_machine::is_live_restore_opt(o))
    {
        engine
            .opts
            .push(berth_machine::LIVE_RESTORE_OFF_OPT.to_owned());
    }
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
    let driver: Arc<dyn Driver> = Arc::from(driver);
    let spec = CreateSpec {
        flags,
        engine,
        algorithm,
        tls_sans: args.tls_san.clone(),
        host_key: policy,
        context: berth_machine::ContextSettings {
            name: args
                .context_name
                .clone()
                .map(berth_machine::record::ContextName::new)
                .transpose()?,
            disabled: args.no_context,
        },
    };
    // The cluster is read before anything is made: a manager that is not one refuses the whole
    // command, not each machine after its create.
    let swarm = match &args.swarm_join {
        Some(manager) => Some((
            super::swarm::open_cluster(ctx, manager)?,
            super::swarm::role(args.swarm_role),
        )),
        None => None,
    };
    super::for_each_machine(ctx, &args.names, move |machines, name, events| {
        berth_machine::create(machines, driver.as_ref(), name, &spec, events)?;
        let hint = match berth_machine::own_context(machines, name) {
            Some(context) => {
                format!("`docker --context {context} ps` or `berth use {name}` points docker at it")
            }
            None => format!("`eval \"$(berth env {name})\"` points docker at it"),
        };
        if let Some((cluster, role)) = &swarm {
            let outcome = cluster.join(machines, name, *role, events).map_err(|e| {
                anyhow::anyhow!(
                    "'{name}' was created but did not join the swarm: {}; `berth swarm join --manager {} {name}` tries again",
                    e.full_message(),
                    cluster.manager()
                )
            })?;
            return Ok(format!(
                "created and {}; {hint}",
                super::swarm::joined(cluster, outcome)
            ));
        }
        Ok(format!("created; {hint}"))
    })
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
