//! The sentence for a machine berth cannot log in to because its driver records only an
//! engine URL (the none driver): one wording wherever berth would have needed SSH.

/// Why berth cannot `attempt` ("provision it", "log in to it") on `machine`, whose `driver`
/// records only an engine URL, and what the user can do instead.
pub fn no_ssh_access(machine: &str, driver: &str, attempt: &str) -> String {
    format!(
        "machine '{machine}' uses the {driver} driver, which records only an engine URL: berth \
         has no SSH access to {attempt}; do that on the host itself, or create the machine with \
         the generic driver so that berth can log in to it"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_machine_the_driver_and_what_was_tried() {
        assert_eq!(
            no_ssh_access("web", "none", "provision it"),
            "machine 'web' uses the none driver, which records only an engine URL: berth has no \
             SSH access to provision it; do that on the host itself, or create the machine with \
             the generic driver so that berth can log in to it"
        );
    }
}
