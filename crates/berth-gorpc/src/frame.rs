//! Reading gob messages off the plugin's connection, bounded.
//!
//! gobwire's own stream reader takes messages up to 8 GiB (gob's limit); a plugin is not
//! trusted with that much of berth's memory. Here each message is at most [`MAX_MESSAGE`] bytes
//! and one value at most [`MAX_MESSAGES_PER_VALUE`] messages (type definitions come first, each
//! in its own message), so a value costs at most a few MiB however the plugin behaves.

use std::io::{self, Read};

use gobwire::{Decode, Decoder, Progress};

/// The largest gob message berth reads. docker-machine's biggest answers (a driver's JSON
/// config, its flag list) are a few KiB.
pub const MAX_MESSAGE: usize = 1 << 20;
/// How many messages (type definitions plus the value) one value may take.
pub const MAX_MESSAGES_PER_VALUE: usize = 64;

/// Why a value could not be read.
#[derive(Debug)]
pub(crate) enum FrameError {
    /// The stream ended; `clean` when it ended between values.
    Closed { clean: bool },
    /// Reading failed.
    Io(io::Error),
    /// The bytes are not a gob stream berth accepts.
    Malformed(String),
}

impl From<io::Error> for FrameError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            FrameError::Closed { clean: false }
        } else {
            FrameError::Io(e)
        }
    }
}

/// One direction of a gob stream: the decoder keeps the type definitions the peer sent.
pub(crate) struct GobReader<R> {
    reader: R,
    decoder: Decoder,
}

impl<R: Read> GobReader<R> {
    pub(crate) fn new(reader: R) -> Self {
        Self {
            reader,
            decoder: Decoder::new(),
        }
    }

    /// The next value, decoded into `T`.
    pub(crate) fn read<T: Decode + Default>(&mut self) -> Result<T, FrameError> {
        for n in 0..MAX_MESSAGES_PER_VALUE {
            let body = match self.message() {
                Ok(body) => body,
                Err(FrameError::Closed { .. }) if n > 0 => {
                    return Err(FrameError::Closed { clean: false });
                }
                Err(e) => return Err(e),
            };
            match self.decoder.push_message(&body) {
                Ok(Progress::Ready) => {
                    return self
                        .decoder
                        .decode::<T>()
                        .map_err(|e| FrameError::Malformed(e.to_string()));
                }
                Ok(_) => {}
                Err(e) => return Err(FrameError::Malformed(e.to_string())),
            }
        }
        Err(FrameError::Malformed(format!(
            "one value took more than {MAX_MESSAGES_PER_VALUE} messages"
        )))
    }

    /// One length-prefixed message body, at most [`MAX_MESSAGE`] bytes.
    fn message(&mut self) -> Result<Vec<u8>, FrameError> {
        let mut first = [0u8; 1];
        match self.reader.read(&mut first) {
            Ok(0) => return Err(FrameError::Closed { clean: true }),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return self.message(),
            Err(e) => return Err(e.into()),
        }
        // gob's unsigned integer: a byte below 0x80 is the value, else the negated count of
        // big-endian bytes that follow.
        let len = if first[0] < 0x80 {
            u64::from(first[0])
        } else {
            let width = usize::from(first[0].wrapping_neg());
            if width > 8 {
                return Err(FrameError::Malformed(
                    "a message length that is not a gob number".to_owned(),
                ));
            }
            let mut b = [0u8; 8];
            self.reader.read_exact(&mut b[..width])?;
            b[..width]
                .iter()
                .fold(0u64, |acc, &x| (acc << 8) | u64::from(x))
        };
        if len == 0 {
            return Err(FrameError::Malformed("an empty message".to_owned()));
        }
        if len > MAX_MESSAGE as u64 {
            return Err(FrameError::Malformed(format!(
                "a message of {len} bytes (berth reads at most {MAX_MESSAGE})"
            )));
        }
        let mut body = vec![0u8; len as usize];
        self.reader.read_exact(&mut body)?;
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_huge_length_is_refused_before_anything_is_allocated() {
        // 0xf8 = eight length bytes follow: 2^56.
        let bytes = [0xf8u8, 1, 0, 0, 0, 0, 0, 0, 0];
        let mut r = GobReader::new(&bytes[..]);
        match r.read::<i64>() {
            Err(FrameError::Malformed(m)) => {
                assert!(m.contains("bytes (berth reads at most"), "{m}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn an_end_inside_a_message_is_not_a_clean_end() {
        let bytes = [0x05u8, 0x04, 0x00];
        let mut r = GobReader::new(&bytes[..]);
        assert!(matches!(
            r.read::<i64>(),
            Err(FrameError::Closed { clean: false })
        ));
        let mut empty = GobReader::new(&[][..]);
        assert!(matches!(
            empty.read::<i64>(),
            Err(FrameError::Closed { clean: true })
        ));
    }

    #[test]
    fn endless_type_definitions_are_cut_off() {
        // A message that is a (bogus) type definition, repeated: never a value.
        let mut bytes = Vec::new();
        for _ in 0..(MAX_MESSAGES_PER_VALUE + 1) {
            bytes.extend_from_slice(&[0x03, 0xff, 0x81, 0x00]);
        }
        let mut r = GobReader::new(&bytes[..]);
        assert!(matches!(r.read::<i64>(), Err(FrameError::Malformed(_))));
    }

    #[test]
    fn an_int_as_go_sends_it() {
        // GetVersion's answer body from the recorded session: int 1.
        let bytes = [0x03u8, 0x04, 0x00, 0x02];
        let mut r = GobReader::new(&bytes[..]);
        assert_eq!(r.read::<i64>().unwrap(), 1);
    }
}
