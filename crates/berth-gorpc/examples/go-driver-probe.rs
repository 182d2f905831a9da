//! Starts a docker-machine driver binary and shows what it declares: its API version, name and
//! create flags. `cargo run -p berth-gorpc --example go-driver-probe -- NAME PATH`
#![allow(clippy::print_stdout)]

use std::path::PathBuf;

use berth_gorpc::{GoPlugin, LaunchOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(name), Some(path)) = (args.next(), args.next()) else {
        return Err("usage: go-driver-probe NAME PATH".into());
    };
    let started = std::time::Instant::now();
    let plugin = GoPlugin::launch(&name, &PathBuf::from(path), LaunchOptions::default())?;
    println!("launched and handshaken in {:?}", started.elapsed());
    plugin.set_config_raw(br#"{"MachineName":"probe","StorePath":"/nonexistent"}"#)?;
    println!("machine name: {}", plugin.get_machine_name()?);
    println!("driver name: {}", plugin.driver_name()?);
    for flag in plugin.get_create_flags()? {
        println!(
            "--{} {:?} env={:?} default={:?}: {}",
            flag.name, flag.kind, flag.env_var, flag.default, flag.usage
        );
    }
    println!("state: {:?}", plugin.get_state());
    let closing = std::time::Instant::now();
    plugin.close();
    println!("closed in {:?}", closing.elapsed());
    Ok(())
}
