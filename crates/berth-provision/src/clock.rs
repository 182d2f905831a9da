//! The host's clock against this computer's, read in the detect step (`date +%s`) before
//! anything changes. berth makes the certificates here, dated by this computer's clock, and
//! the engine checks them by the host's: a host far behind sees berth's client certificate as
//! not yet valid (its validity starts [`CERT_MARGIN`] before it was made), and apt on it
//! refuses Debian's package lists as "not valid yet". A host far ahead dates everything it
//! makes (its logs, the certificates Swarm issues on it) hours off for every other machine.
//! Test hosts share the kernel clock of the computer that runs them, so this is tested against
//! the fake host only (docs/hosts.md).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::error::ErrorKind;

/// How far before its making a certificate berth makes is valid (berth-tls's `CLOCK_SKEW`):
/// a host whose clock is further behind rejects a fresh client certificate.
pub(crate) const CERT_MARGIN: Duration = Duration::from_secs(10 * 60);
/// Beyond this either way berth refuses: an hour apart is no network delay or drift, and no
/// deployment of certificates and logs works with it.
pub(crate) const REFUSE_AHEAD: Duration = Duration::from_secs(60 * 60);
/// Beyond this berth warns (NTP keeps hosts well within a second).
pub(crate) const WARN_AFTER: Duration = Duration::from_secs(60);

/// What berth makes of the host's clock.
#[derive(Debug)]
pub(crate) enum Clock {
    /// Within [`WARN_AFTER`].
    InStep,
    /// Off by minutes: a warning, and the provisioning goes on.
    Off(String),
    /// Too far off to go on.
    TooFar(ErrorKind),
}

/// Compares the host's `date +%s` with this computer's clock around the round trip that read
/// it (`sent` and `answered`): the host's second lies between them, so the delay of the round
/// trip itself never counts as skew.
pub(crate) fn compare(host: i64, sent: SystemTime, answered: SystemTime) -> Clock {
    let secs = |t: SystemTime| match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    // `date +%s` truncates: the host's real time is within [host, host + 1).
    let (earliest, latest) = (secs(sent), secs(answered) + 1);
    let skew = if host + 1 < earliest {
        host + 1 - earliest
    } else if host > latest {
        host - latest
    } else {
        0
    };
    let off = Duration::from_secs(skew.unsigned_abs());
    if off < WARN_AFTER {
        return Clock::InStep;
    }
    let behind = skew < 0;
    // Said as the distance from the middle of the round trip, which is what a user compares.
    let middle = (secs(sent) + secs(answered)) / 2;
    let amount = human(Duration::from_secs(host.abs_diff(middle)));
    let too_far = if behind {
        off > CERT_MARGIN
    } else {
        off >= REFUSE_AHEAD
    };
    if too_far {
        return Clock::TooFar(ErrorKind::ClockSkew { behind, amount });
    }
    Clock::Off(format!(
        "the host's clock is {amount} {} this computer's; set it right (NTP, e.g. `timedatectl set-ntp true`) before it drifts further: a host more than {} behind rejects berth's certificates",
        if behind { "behind" } else { "ahead of" },
        human(CERT_MARGIN)
    ))
}

/// "3h 5m", "12m", "45s".
fn human(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, (s % 3600) / 60) {
        (0, 0) => format!("{s}s"),
        (0, m) => format!("{m}m"),
        (h, 0) => format!("{h}h"),
        (h, m) => format!("{h}h {m}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs as u64)
    }

    #[test]
    fn the_round_trip_is_not_skew() {
        // The host answered somewhere within a 20 s round trip.
        assert!(matches!(
            compare(1_000_010, at(1_000_000), at(1_000_020)),
            Clock::InStep
        ));
        assert!(matches!(
            compare(1_000_059, at(1_000_000), at(1_000_000)),
            Clock::InStep
        ));
    }

    #[test]
    fn minutes_off_warn_and_hours_refuse() {
        let now = 1_700_000_000;
        let Clock::Off(note) = compare(now - 5 * 60, at(now), at(now)) else {
            panic!("5 minutes behind warns");
        };
        assert!(
            note.starts_with("the host's clock is 5m behind this computer's"),
            "{note}"
        );
        let Clock::Off(note) = compare(now + 30 * 60, at(now), at(now)) else {
            panic!("30 minutes ahead warns");
        };
        assert!(note.contains("30m ahead of"), "{note}");
        assert!(matches!(
            compare(now - 3 * 3600, at(now), at(now)),
            Clock::TooFar(ErrorKind::ClockSkew { behind: true, .. })
        ));
        // Behind by more than the certificates' margin already breaks TLS.
        assert!(matches!(
            compare(now - 11 * 60, at(now), at(now)),
            Clock::TooFar(ErrorKind::ClockSkew { behind: true, .. })
        ));
        assert!(matches!(
            compare(now + 2 * 3600 + 5 * 60, at(now), at(now)),
            Clock::TooFar(ErrorKind::ClockSkew { behind: false, ref amount }) if amount == "2h 5m"
        ));
    }
}
