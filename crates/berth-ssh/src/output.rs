//! What a finished command gave back. The provisioner's transport trait uses this same type.

/// Which stream a line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// Exit status and both streams of a command.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Output {
    /// Exit status; 128 + signal number when the command was killed by a signal.
    pub status: i32,
    /// Everything written to stdout.
    pub stdout: Vec<u8>,
    /// Everything written to stderr.
    pub stderr: Vec<u8>,
}

impl Output {
    /// Stdout as text (invalid UTF-8 replaced), surrounding whitespace trimmed.
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).trim().to_string()
    }

    /// Stderr as text (invalid UTF-8 replaced), surrounding whitespace trimmed.
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).trim().to_string()
    }

    /// Stdout as text (invalid UTF-8 replaced), untrimmed, for parsing.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Stderr as text (invalid UTF-8 replaced), untrimmed, for messages.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// Whether the command exited with status 0.
    pub fn success(&self) -> bool {
        self.status == 0
    }
}

/// The longest line [`LineSplitter`] holds before it hands on what it has.
pub(crate) const MAX_LINE: usize = 64 * 1024;

/// Splits a byte stream into lines for [`crate::Session::exec_streaming`].
#[derive(Debug, Default)]
pub(crate) struct LineSplitter {
    pending: Vec<u8>,
}

impl LineSplitter {
    /// Feeds bytes and calls `emit` for each complete line (without its newline).
    ///
    /// A line longer than [`MAX_LINE`] is handed on in pieces of that size: a host that never
    /// prints a newline must not make berth hold all it prints.
    pub(crate) fn feed(&mut self, bytes: &[u8], emit: &mut dyn FnMut(&str)) {
        self.pending.extend_from_slice(bytes);
        while let Some(pos) = self.pending.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=pos).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]);
            emit(text.strip_suffix('\r').unwrap_or(&text));
        }
        while self.pending.len() > MAX_LINE {
            let piece: Vec<u8> = self.pending.drain(..MAX_LINE).collect();
            emit(&String::from_utf8_lossy(&piece));
        }
    }

    /// Emits a last line that had no newline.
    pub(crate) fn finish(&mut self, emit: &mut dyn FnMut(&str)) {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            emit(&String::from_utf8_lossy(&line));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitter_joins_chunks_and_flushes_the_tail() {
        let mut s = LineSplitter::default();
        let mut lines = Vec::new();
        s.feed(b"ab", &mut |l| lines.push(l.to_string()));
        s.feed(b"c\r\nde\nf", &mut |l| lines.push(l.to_string()));
        s.finish(&mut |l| lines.push(l.to_string()));
        assert_eq!(lines, ["abc", "de", "f"]);
    }

    #[test]
    fn a_line_without_end_is_handed_on_in_bounded_pieces() {
        let mut s = LineSplitter::default();
        let mut lines = Vec::new();
        for _ in 0..10 {
            s.feed(&[b'x'; MAX_LINE / 4 + 1], &mut |l| lines.push(l.len()));
            assert!(s.pending.len() <= MAX_LINE);
        }
        s.finish(&mut |l| lines.push(l.len()));
        assert_eq!(lines.iter().sum::<usize>(), 10 * (MAX_LINE / 4 + 1));
        assert!(lines.iter().all(|n| *n <= MAX_LINE), "{lines:?}");
    }

    #[test]
    fn stdout_str_trims() {
        let o = Output {
            status: 0,
            stdout: b" running\n".to_vec(),
            stderr: vec![],
        };
        assert_eq!(o.stdout_str(), "running");
        assert!(o.success());
    }
}
