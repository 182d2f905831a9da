//! berth-fs: reading files in a folder someone else laid out, without being led elsewhere.
//!
//! berth reads folders it did not write: a machine's root that a guest filled (the nspawn
//! driver, running as root), a docker-machine store someone handed over (`berth import`).
//! Whoever made them can put a symbolic link where a file is expected (`server-key.pem ->
//! ~/.ssh/id_ed25519`), a FIFO that blocks a reader forever, or a file larger than memory.
//!
//! So a path is resolved beneath a descriptor of the folder by the kernel, with
//! `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)` (Linux 5.6+): a link
//! anywhere on the path, a `..` that climbs out, or an absolute path is refused in the same
//! call that opens the file, so no rename between a check and the open can slip one in. The
//! file is opened `O_NONBLOCK` (a FIFO cannot hang the open), its type is read from the open
//! descriptor (`fstat`), and at most `limit + 1` bytes are ever read.
//!
//! Writing is the other half of the same care: [`write_atomic`] never follows a link planted
//! where its temporary file goes, and readers never see half a file.

use std::ffi::OsString;
use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use rustix::fs::{self as rfs, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

mod write;

pub use write::{WriteError, no_follow, write_atomic};

/// What a lookup beneath a folder may not do: leave it (absolute paths, `..` above it) or
/// follow any link on the way, `/proc`'s magic links included.
pub fn resolve_flags() -> ResolveFlags {
    ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS
}

/// What is at a path, when it is not the regular file a reader wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    Regular,
    /// A folder.
    Folder,
    /// A symbolic link.
    Link,
    /// A named pipe: opening it for reading blocks until a writer comes.
    Fifo,
    /// A Unix socket.
    Socket,
    /// A character device (`/dev/zero` never ends).
    CharDevice,
    /// A block device (a disk).
    BlockDevice,
    /// Anything else.
    Other,
}

impl Kind {
    fn of(mode: u32) -> Kind {
        match FileType::from_raw_mode(mode) {
            FileType::RegularFile => Kind::Regular,
            FileType::Directory => Kind::Folder,
            FileType::Symlink => Kind::Link,
            FileType::Fifo => Kind::Fifo,
            FileType::Socket => Kind::Socket,
            FileType::CharacterDevice => Kind::CharDevice,
            FileType::BlockDevice => Kind::BlockDevice,
            FileType::Unknown => Kind::Other,
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Kind::Regular => "a regular file",
            Kind::Folder => "a folder",
            Kind::Link => "a symbolic link",
            Kind::Fifo => "a FIFO",
            Kind::Socket => "a socket",
            Kind::CharDevice => "a character device",
            Kind::BlockDevice => "a block device",
            Kind::Other => "a special file",
        })
    }
}

/// Why a file was not read. The caller names the file: it knows what the file was for.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// Nothing is there (or a component of the path is not a folder).
    #[error("there is no such file")]
    Absent,
    /// A symbolic link is the file or a folder on the way to it; it was not followed.
    #[error("it is or goes through a symbolic link, which berth does not follow here")]
    Link,
    /// The path leaves the folder: absolute, `..` above it, or across a mount point.
    #[error("the path leaves the folder it must stay in")]
    Escapes,
    /// Something other than a regular file is there.
    #[error("it is {0}, not a regular file")]
    NotRegular(Kind),
    /// Something other than a folder is where a folder was expected.
    #[error("it is {0}, not a folder")]
    NotFolder(Kind),
    /// The file is larger than the reader accepts.
    #[error("it is larger than {limit} bytes")]
    TooLarge {
        /// The most the reader accepts.
        limit: u64,
    },
    /// The system refused otherwise (permissions, I/O, a kernel without `openat2`).
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

impl ReadError {
    fn from_open(errno: Errno) -> ReadError {
        match errno {
            Errno::NOENT | Errno::NOTDIR => ReadError::Absent,
            Errno::LOOP => ReadError::Link,
            Errno::XDEV => ReadError::Escapes,
            Errno::NOSYS => ReadError::Io(std::io::Error::other(
                "this kernel has no openat2 (Linux 5.6 or newer is needed to read folders without following links)",
            )),
            e => ReadError::Io(e.into()),
        }
    }
}

/// Opens `rel` beneath `dir` with `resolve`, retrying the rare `EAGAIN` the kernel returns
/// when a rename raced the lookup.
fn open_beneath(
    dir: BorrowedFd<'_>,
    rel: &Path,
    flags: OFlags,
    resolve: ResolveFlags,
) -> Result<OwnedFd, ReadError> {
    let mut tries = 0;
    loop {
        match rfs::openat2(dir, rel, flags, Mode::empty(), resolve) {
            Err(Errno::AGAIN) if tries < 8 => tries += 1,
            Err(e) => return Err(ReadError::from_open(e)),
            Ok(fd) => return Ok(fd),
        }
    }
}

/// The flags a reader opens with: no link at the last name, no waiting on a FIFO, no
/// terminal taken over.
fn read_flags() -> OFlags {
    OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC
}

/// The bytes of an open descriptor when it is a regular file of at most `limit` bytes.
fn read_open(fd: OwnedFd, limit: u64) -> Result<Vec<u8>, ReadError> {
    let stat = rfs::fstat(&fd).map_err(|e| ReadError::Io(e.into()))?;
    let kind = Kind::of(stat.st_mode);
    if kind != Kind::Regular {
        return Err(ReadError::NotRegular(kind));
    }
    // The size from fstat can change while reading; the `take` is what bounds memory.
    let mut bytes = Vec::new();
    File::from(fd)
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { limit });
    }
    Ok(bytes)
}

/// The regular file `rel` beneath the folder `dir`, resolved with `resolve` (at least
/// [`resolve_flags`]), at most `limit` bytes.
pub fn read_at(
    dir: BorrowedFd<'_>,
    rel: &Path,
    resolve: ResolveFlags,
    limit: u64,
) -> Result<Vec<u8>, ReadError> {
    let fd = open_beneath(dir, rel, read_flags(), resolve | resolve_flags())?;
    read_open(fd, limit)
}

/// The regular file at `path`, a path the user vouched for (links in it are followed), still
/// as a regular file of at most `limit` bytes: a FIFO or a device is refused, never waited on.
pub fn read_path(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC;
    let fd = rfs::open(path, flags, Mode::empty()).map_err(|e| match e {
        Errno::NOENT | Errno::NOTDIR => ReadError::Absent,
        e => ReadError::Io(e.into()),
    })?;
    read_open(fd, limit)
}

/// A folder opened once; every path is resolved beneath it without following links.
#[derive(Debug)]
pub struct Beneath {
    fd: OwnedFd,
    path: PathBuf,
}

impl Beneath {
    /// Opens the folder at `path`. The path itself is the caller's (the user named it), so
    /// links in it are followed; nothing beneath it is.
    pub fn open(path: &Path) -> std::io::Result<Beneath> {
        let fd = rfs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )?;
        Ok(Beneath {
            fd,
            path: path.to_path_buf(),
        })
    }

    /// Where the folder is, for messages.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The regular file `rel` (relative and beneath this folder), at most `limit` bytes.
    pub fn read(&self, rel: impl AsRef<Path>, limit: u64) -> Result<Vec<u8>, ReadError> {
        read_at(self.fd.as_fd(), rel.as_ref(), resolve_flags(), limit)
    }

    /// What is at `rel`, looked at without opening it for reading (a FIFO is not waited on).
    pub fn kind(&self, rel: impl AsRef<Path>) -> Result<Kind, ReadError> {
        // O_PATH | O_NOFOLLOW at a link as the last name gives the link itself (the kernel
        // lets RESOLVE_NO_SYMLINKS pass there): it is reported as the link it is. A link on
        // the way is refused as everywhere.
        let fd = open_beneath(
            self.fd.as_fd(),
            rel.as_ref(),
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            resolve_flags(),
        )?;
        let stat = rfs::fstat(&fd).map_err(|e| ReadError::Io(e.into()))?;
        Ok(Kind::of(stat.st_mode))
    }

    /// The folder `rel` beneath this one, opened the same way.
    pub fn folder(&self, rel: impl AsRef<Path>) -> Result<Beneath, ReadError> {
        let rel = rel.as_ref();
        let fd = open_beneath(
            self.fd.as_fd(),
            rel,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            resolve_flags(),
        )
        .map_err(|e| match e {
            // O_DIRECTORY | O_NOFOLLOW says ENOTDIR for a link or a file as the last name.
            ReadError::Absent => match self.kind(rel) {
                Ok(Kind::Link) => ReadError::Link,
                Ok(kind) => ReadError::NotFolder(kind),
                Err(e) => e,
            },
            e => e,
        })?;
        Ok(Beneath {
            fd,
            path: self.path.join(rel),
        })
    }

    /// The names in this folder (without `.` and `..`), unsorted.
    pub fn names(&self) -> Result<Vec<OsString>, ReadError> {
        let dup = rfs::openat(
            &self.fd,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| ReadError::Io(e.into()))?;
        let dir = rfs::Dir::new(dup).map_err(|e| ReadError::Io(e.into()))?;
        let mut names = Vec::new();
        for entry in dir {
            let entry = entry.map_err(|e| ReadError::Io(e.into()))?;
            let name = entry.file_name().to_bytes();
            if name != b"." && name != b".." {
                names.push(OsString::from_vec(name.to_vec()));
            }
        }
        Ok(names)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    /// A folder to read beneath, and beside it a "home" with a secret.
    fn setup() -> (tempfile::TempDir, PathBuf, PathBuf, Beneath) {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("store");
        let home = dir.path().join("home");
        fs::create_dir_all(root.join("machines/m")).unwrap();
        fs::create_dir_all(&home).unwrap();
        fs::write(home.join("id_ed25519"), "secret key\n").unwrap();
        fs::write(root.join("machines/m/ca.pem"), "ca\n").unwrap();
        let beneath = Beneath::open(&root).unwrap();
        (dir, root, home, beneath)
    }

    #[test]
    fn a_regular_file_beneath_is_read() {
        let (_d, _root, _home, b) = setup();
        assert_eq!(b.read("machines/m/ca.pem", 1024).unwrap(), b"ca\n");
        assert_eq!(b.kind("machines/m/ca.pem").unwrap(), Kind::Regular);
        assert_eq!(b.kind("machines/m").unwrap(), Kind::Folder);
        assert!(matches!(
            b.read("machines/m/absent", 1024),
            Err(ReadError::Absent)
        ));
        let m = b.folder("machines").unwrap();
        assert_eq!(m.names().unwrap(), vec![OsString::from("m")]);
    }

    #[test]
    fn links_are_refused_not_followed() {
        let (_d, root, home, b) = setup();
        let m = root.join("machines/m");
        symlink(home.join("id_ed25519"), m.join("server-key.pem")).unwrap();
        symlink("../../../home/id_ed25519", m.join("key.pem")).unwrap();
        symlink("ca.pem", m.join("inside.pem")).unwrap();
        symlink(&home, root.join("machines/evil")).unwrap();
        for rel in [
            "machines/m/server-key.pem",
            "machines/m/key.pem",
            // Even a link that stays inside is refused: nothing the folder's author made is
            // followed.
            "machines/m/inside.pem",
            "machines/evil/id_ed25519",
        ] {
            assert!(matches!(b.read(rel, 1024), Err(ReadError::Link)), "{rel}");
        }
        assert_eq!(b.kind("machines/m/server-key.pem").unwrap(), Kind::Link);
        assert!(matches!(
            b.kind("machines/evil/id_ed25519"),
            Err(ReadError::Link)
        ));
        assert!(matches!(b.folder("machines/evil"), Err(ReadError::Link)));
    }

    #[test]
    fn paths_that_leave_the_folder_are_refused() {
        let (_d, _root, home, b) = setup();
        for rel in [
            home.join("id_ed25519"),
            PathBuf::from("../home/id_ed25519"),
            PathBuf::from("machines/../../home/id_ed25519"),
        ] {
            assert!(
                matches!(b.read(&rel, 1024), Err(ReadError::Escapes)),
                "{}",
                rel.display()
            );
        }
    }

    #[test]
    fn a_fifo_does_not_hang_and_special_files_are_refused() {
        let (_d, root, _home, b) = setup();
        let fifo = root.join("machines/m/server.pem");
        rfs::mknodat(
            rfs::CWD,
            &fifo,
            FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .unwrap();
        // No writer ever comes: a blocking open would hang the test here.
        assert!(matches!(
            b.read("machines/m/server.pem", 1024),
            Err(ReadError::NotRegular(Kind::Fifo))
        ));
        assert!(matches!(
            read_path(&fifo, 1024),
            Err(ReadError::NotRegular(Kind::Fifo))
        ));
        assert!(matches!(
            b.read("machines/m", 1024),
            Err(ReadError::NotRegular(Kind::Folder))
        ));
        assert!(matches!(
            read_path(Path::new("/dev/zero"), 1024),
            Err(ReadError::NotRegular(Kind::CharDevice))
        ));
    }

    #[test]
    fn sizes_are_capped() {
        let (_d, root, _home, b) = setup();
        fs::write(root.join("machines/m/big"), vec![b'x'; 4097]).unwrap();
        assert!(matches!(
            b.read("machines/m/big", 4096),
            Err(ReadError::TooLarge { limit: 4096 })
        ));
        assert_eq!(b.read("machines/m/big", 4097).unwrap().len(), 4097);
        assert!(matches!(
            read_path(&root.join("machines/m/big"), 10),
            Err(ReadError::TooLarge { limit: 10 })
        ));
    }
}
