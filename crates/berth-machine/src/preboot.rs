//! Provisioning before the first boot. A driver that can write files into its machine's root
//! before the guest runs (the nspawn driver) makes the machine without booting it and says how
//! the engine sits there ([`GuestEngine`]); berth then hands it the engine's certificates and
//! the drop-in that provisioning would write, so the engine starts once, already behind mutual
//! TLS. Provisioning over SSH runs afterwards as on any host and finds nothing to change: it
//! verifies instead of restarting (issue 20: the engine started, then was restarted with TLS).
//!
//! Whatever is predicted wrong here (a daemon.json in the guest, another dockerd path) costs
//! only the restart that provisioning then does: it renders the drop-in from what it finds.

use berth_plugin::{GuestEngine, GuestFile};
use berth_provision::{
    CA_PATH, DROPIN_PATH, HostFacts, SERVER_CERT_PATH, SERVER_KEY_PATH, dropin_mode_bits,
    render_dropin,
};
use berth_store::Machine;

use crate::record::MachineRecord;

use crate::certs::{self, Renewal};
use crate::error::MachineError;
use crate::live_restore;

/// The files for the guest's root: the engine's CA, server certificate and key (made now in
/// the machine's folder, naming `address` and the machine), and berth's drop-in.
pub(crate) fn files(
    machine: &Machine,
    record: &mut MachineRecord,
    guest: &GuestEngine,
    address: &str,
) -> Result<Vec<GuestFile>, MachineError> {
    let mut engine = record.engine.clone();
    // The decision provisioning makes for a fresh host: no daemon.json, no engine answering.
    if live_restore::decide(&engine, None, &live_restore::EngineBefore::default())
        == live_restore::Decision::AddFlag
    {
        engine.opts.push(live_restore::LIVE_RESTORE_OPT.to_owned());
    }
    let facts = HostFacts {
        dockerd_path: Some(guest.dockerd_path.clone()),
        socket_activated: guest.socket_activated,
        ..HostFacts::default()
    };
    let dropin = render_dropin(&facts, &engine);
    let sans = sans(address, record);
    let server = certs::ensure(machine, &mut record.tls, &sans, Renewal::KeepIfValid)?.server;
    Ok(vec![
        GuestFile::new(CA_PATH, 0o644, server.ca_pem),
        GuestFile::new(SERVER_CERT_PATH, 0o644, server.cert_pem),
        GuestFile::new(SERVER_KEY_PATH, 0o600, server.key_pem),
        GuestFile::new(DROPIN_PATH, dropin_mode_bits(&dropin), dropin),
    ])
}

/// What provisioning will ask the server certificate to name on a machine the driver named
/// after it: its address, its name (also its hostname), and the user's `--tls-san`s.
fn sans(address: &str, record: &MachineRecord) -> Vec<String> {
    let mut sans = vec![address.to_owned(), record.name.to_string()];
    sans.extend(record.tls.extra_sans.iter().cloned());
    let mut seen = std::collections::HashSet::new();
    sans.retain(|s| !s.is_empty() && seen.insert(s.clone()));
    sans
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_files_are_what_provisioning_writes_there() {
        let dir = tempfile::tempdir().unwrap();
        let store = berth_store::Store::new(dir.path().to_path_buf());
        let mut record = MachineRecord::new(
            crate::record::MachineName::new("web1").unwrap(),
            crate::record::DriverName::new("nspawn").unwrap(),
        );
        record.tls.extra_sans = vec!["web1.example".into()];
        let (machine, _lock) = store.create_machine("web1", &record).unwrap();
        let guest = GuestEngine {
            dockerd_path: "/usr/sbin/dockerd".into(),
            socket_activated: true,
        };
        let files = files(&machine, &mut record, &guest, "10.213.0.5").unwrap();
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [CA_PATH, SERVER_CERT_PATH, SERVER_KEY_PATH, DROPIN_PATH]
        );
        let key = &files[2];
        assert_eq!(key.mode, 0o600);
        assert!(!format!("{key:?}").contains("PRIVATE KEY"), "{key:?}");
        let dropin = &files[3].contents;
        assert!(dropin.contains("/usr/sbin/dockerd"), "{dropin}");
        assert!(dropin.contains("-H fd://"), "{dropin}");
        assert!(dropin.contains("--live-restore"), "{dropin}");
        // The certificate provisioning will find fits what it asks for: kept, not remade.
        let wanted = sans("10.213.0.5", &record);
        let again = certs::ensure(&machine, &mut record.tls, &wanted, Renewal::KeepIfValid)
            .unwrap()
            .server;
        assert_eq!(again.cert_pem, files[1].contents);
        // And it is the machine folder's copy.
        assert_eq!(
            machine
                .read_file(berth_names::MachineFiles::SERVER_CERT)
                .unwrap(),
            files[1].contents
        );
    }
}
