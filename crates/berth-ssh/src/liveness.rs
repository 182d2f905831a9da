//! Is the peer's kernel still acknowledging what we send? Tells a host that is alive but whose
//! sshd is busy (a first login waiting in PAM for systemd-logind) from a cut network, without
//! unsafe code: the socket's line in /proc/net/tcp{,6} (found by its inode) carries `tx_queue`,
//! the bytes sent and not yet acknowledged.

use std::net::TcpStream;

/// `Some(true)` when every byte sent on `sock` has been acknowledged by the peer's TCP stack,
/// `Some(false)` when some wait for an acknowledgement, `None` when the kernel's table could not
/// be read (then nothing is concluded).
pub(crate) fn all_acked(sock: &TcpStream) -> Option<bool> {
    let inode = rustix::fs::fstat(sock).ok()?.st_ino.to_string();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        if let Some(queued) = tx_queue_of(&text, &inode) {
            return Some(queued == 0);
        }
    }
    None
}

/// The `tx_queue` of the socket with `inode` in a /proc/net/tcp table.
fn tx_queue_of(table: &str, inode: &str) -> Option<u64> {
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // sl local rem st tx_queue:rx_queue tr:when retrnsmt uid timeout inode ...
        if fields.get(9) != Some(&inode) {
            return None;
        }
        let (tx, _) = fields.get(4)?.split_once(':')?;
        u64::from_str_radix(tx, 16).ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &str = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0000000000000000 100 0 0 10 0
   1: 0200D50A:B2C4 0300D50A:0016 01 00000024:00000000 01:00000014 00000003     0        0 2222 1 0000000000000000 20 4 30 10 -1
";

    #[test]
    fn reads_the_unacknowledged_bytes_of_one_socket() {
        assert_eq!(tx_queue_of(TABLE, "2222"), Some(0x24));
        assert_eq!(tx_queue_of(TABLE, "1111"), Some(0));
        assert_eq!(tx_queue_of(TABLE, "3333"), None);
    }

    #[test]
    fn a_connected_loopback_socket_is_found_and_acked() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let sock = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
        assert_eq!(all_acked(&sock), Some(true));
    }
}
