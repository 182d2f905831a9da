//! Writing into a machine's root without following anything the guest made.
//!
//! A machine's root is an overlayfs mounted in the host's own mount namespace, and this driver
//! runs as root. Whatever guest root left in it — an absolute symlink (`/home/berth/.ssh ->
//! /root/.ssh`), a relative one that climbs out (`../../../../etc/shadow`), a FIFO that blocks a
//! reader, a device node of a host disk — would be resolved by a plain `open` or `chown` on the
//! host, outside the machine. So every path here is walked one component at a time from a
//! descriptor of the root with `openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
//! RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV)`: a link anywhere in the path is refused, never
//! followed, and no mount point inside the root is crossed.
//!
//! Files are written to a fresh temporary name (`O_CREAT | O_EXCL | O_NOFOLLOW`) in the already
//! opened folder, given their mode and owner through that descriptor, and renamed over the
//! target: a link or special file the guest put at the target's name is replaced, and what it
//! pointed to is never opened. Owners are ids the caller chose, never ids read from the guest.

use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use berth_fs::ReadError;
use rustix::fs::{self as rfs, AtFlags, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;

use crate::error::NspawnError;

/// How a file or a folder berth makes is to be: its permission bits and, if not root's, owner.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Perm {
    /// Permission bits, e.g. 0o644.
    pub mode: u32,
    /// uid and gid, chosen by the caller; `None` leaves root (the driver) as the owner.
    pub owner: Option<(u32, u32)>,
}

impl Perm {
    /// Root's, with these bits.
    pub(crate) const fn root(mode: u32) -> Self {
        Perm { mode, owner: None }
    }
}

/// A machine's root, opened once; every path is resolved beneath it without following links.
pub(crate) struct GuestRoot {
    fd: OwnedFd,
    /// The host path of the root, for messages.
    path: PathBuf,
    /// Where a user fixes what the guest left (the machine's upper layer), for messages.
    fix_in: PathBuf,
}

/// What every lookup beneath the root may not do: berth-fs's flags (no link, nothing outside), and no mount point inside the root crossed.
fn resolve() -> ResolveFlags {
    berth_fs::resolve_flags() | ResolveFlags::NO_XDEV
}

/// A unique temporary name in a folder (this process, a counter).
fn temp_name() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        ".berth-write-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

impl GuestRoot {
    /// Opens the root at `path` (a host path the driver made); `fix_in` is where the user would
    /// remove what the guest left (the upper layer, for a stopped machine).
    pub(crate) fn open(path: &Path, fix_in: &Path) -> Result<Self, NspawnError> {
        let fd = rfs::open(
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| NspawnError::io("could not open the machine's root", path)(e.into()))?;
        Ok(GuestRoot {
            fd,
            path: path.to_path_buf(),
            fix_in: fix_in.to_path_buf(),
        })
    }

    /// The plain names of `rel` (`etc/hosts` → `etc`, `hosts`); `..`, `.` and absolute paths are
    /// the caller's mistake.
    fn names(rel: &str) -> Result<Vec<String>, NspawnError> {
        let mut names = Vec::new();
        for c in Path::new(rel).components() {
            match c {
                Component::Normal(n) => names.push(n.to_string_lossy().into_owned()),
                _ => {
                    return Err(NspawnError::io("refusing the path", rel)(
                        std::io::Error::new(
                            std::io::ErrorKind::InvalidInput,
                            "paths in a machine's root are relative and plain",
                        ),
                    ));
                }
            }
        }
        if names.is_empty() {
            return Err(NspawnError::io("refusing the empty path", rel)(
                std::io::ErrorKind::InvalidInput.into(),
            ));
        }
        Ok(names)
    }

    /// The error for a lookup of `name` in `parent` that `openat2` refused.
    fn refused(
        &self,
        parent: BorrowedFd<'_>,
        name: &str,
        guest_path: &str,
        errno: Errno,
    ) -> NspawnError {
        // O_DIRECTORY | O_NOFOLLOW on a link says ENOTDIR, not ELOOP: look at what is there.
        let is_link = || {
            rfs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW)
                .is_ok_and(|st| rfs::FileType::from_raw_mode(st.st_mode) == rfs::FileType::Symlink)
        };
        let what = match errno {
            Errno::LOOP => "a symbolic link",
            Errno::NOTDIR if is_link() => "a symbolic link",
            Errno::NOTDIR => "not a folder",
            Errno::XDEV => "a mount point",
            _ => {
                return NspawnError::io("could not open", self.path.join(guest_path))(errno.into());
            }
        };
        NspawnError::GuestLink {
            guest_path: format!("/{guest_path}"),
            what,
            fix: self.fix_in.join(guest_path),
        }
    }

    /// Opens the folder `rel` beneath the root; with `create`, makes missing folders with that
    /// mode and owner. `Ok(None)`: it does not exist (and `create` was `None`).
    fn dir(&self, rel: &[String], create: Option<Perm>) -> Result<Option<OwnedFd>, NspawnError> {
        let mut current: Option<OwnedFd> = None;
        for (i, name) in rel.iter().enumerate() {
            let guest_path = rel[..=i].join("/");
            let parent = current.as_ref().map_or(self.fd.as_fd(), |f| f.as_fd());
            let open = || {
                rfs::openat2(
                    parent,
                    name.as_str(),
                    OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                    resolve(),
                )
            };
            let fd = match open() {
                Ok(fd) => fd,
                Err(Errno::NOENT) => {
                    let Some(perm) = create else { return Ok(None) };
                    match rfs::mkdirat(parent, name.as_str(), Mode::from_raw_mode(perm.mode)) {
                        // Another writer made it in between: open what is there now.
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => {
                            return Err(NspawnError::io(
                                "could not create",
                                self.path.join(&guest_path),
                            )(e.into()));
                        }
                    }
                    let fd = open().map_err(|e| self.refused(parent, name, &guest_path, e))?;
                    self.set_perm(&fd, perm, &guest_path)?;
                    fd
                }
                Err(e) => return Err(self.refused(parent, name, &guest_path, e)),
            };
            current = Some(fd);
        }
        Ok(current)
    }

    /// Mode and owner through the descriptor (umask does not apply; no path is resolved again).
    fn set_perm(&self, fd: &OwnedFd, perm: Perm, guest_path: &str) -> Result<(), NspawnError> {
        let err = |action| NspawnError::io(action, self.path.join(guest_path));
        rfs::fchmod(fd, Mode::from_raw_mode(perm.mode))
            .map_err(|e| err("could not chmod")(e.into()))?;
        if let Some((uid, gid)) = perm.owner {
            rfs::fchown(
                fd,
                Some(rustix::fs::Uid::from_raw(uid)),
                Some(rustix::fs::Gid::from_raw(gid)),
            )
            .map_err(|e| err("could not chown")(e.into()))?;
        }
        Ok(())
    }

    /// Replaces the file `rel` with `contents`; missing folders on the way are made as
    /// `new_dirs`. A link anywhere on the way is refused ([`NspawnError::GuestLink`]); a link,
    /// FIFO or device at the file's own name is replaced, not opened.
    pub(crate) fn write(
        &self,
        rel: &str,
        contents: &[u8],
        file: Perm,
        new_dirs: Perm,
    ) -> Result<(), NspawnError> {
        let names = Self::names(rel)?;
        let (name, parents) = names.split_last().ok_or_else(|| {
            NspawnError::io("refusing the empty path", rel)(std::io::ErrorKind::InvalidInput.into())
        })?;
        let dir = match self.dir(parents, Some(new_dirs))? {
            Some(d) => d,
            None => rfs::openat(
                &self.fd,
                ".",
                OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
                Mode::empty(),
            )
            .map_err(|e| NspawnError::io("could not open", &self.path)(e.into()))?,
        };
        let target = self.path.join(rel);
        let tmp = temp_name();
        let fd = rfs::openat(
            &dir,
            tmp.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(file.mode),
        )
        .map_err(|e| NspawnError::io("could not write", &target)(e.into()))?;
        let written = (|| {
            let mut f = File::from(fd);
            f.write_all(contents)
                .map_err(NspawnError::io("could not write", &target))?;
            let fd = OwnedFd::from(f);
            self.set_perm(&fd, file, rel)?;
            rfs::fsync(&fd).map_err(|e| NspawnError::io("could not sync", &target)(e.into()))?;
            rfs::renameat(&dir, tmp.as_str(), &dir, name.as_str()).map_err(|e| {
                if e == Errno::ISDIR || e == Errno::NOTEMPTY || e == Errno::EXIST {
                    NspawnError::GuestLink {
                        guest_path: format!("/{rel}"),
                        what: "a folder",
                        fix: self.fix_in.join(rel),
                    }
                } else {
                    NspawnError::io("could not rename into place", &target)(e.into())
                }
            })
        })();
        if written.is_err() {
            let _ = rfs::unlinkat(&dir, tmp.as_str(), AtFlags::empty());
        }
        written
    }

    /// The text of the regular file `rel`, at most `limit` bytes; `Ok(None)` when it is absent,
    /// or is a link, FIFO, device or folder (nothing the guest points at is ever opened).
    /// A link on the way to it is refused as in [`GuestRoot::write`].
    pub(crate) fn read(&self, rel: &str, limit: u64) -> Result<Option<String>, NspawnError> {
        let names = Self::names(rel)?;
        let (name, parents) = names.split_last().ok_or_else(|| {
            NspawnError::io("refusing the empty path", rel)(std::io::ErrorKind::InvalidInput.into())
        })?;
        let dir = self.dir(parents, None)?;
        if dir.is_none() && !parents.is_empty() {
            return Ok(None);
        }
        let parent = dir.as_ref().map_or(self.fd.as_fd(), |f| f.as_fd());
        let path = self.path.join(rel);
        // berth-fs opens it O_NONBLOCK (a FIFO must not hang the driver) and refuses anything
        // but a regular file by the type of the open descriptor.
        match berth_fs::read_at(parent, Path::new(name.as_str()), resolve(), limit) {
            Ok(bytes) => String::from_utf8(bytes).map(Some).map_err(|e| {
                NspawnError::io("could not read", &path)(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    e,
                ))
            }),
            Err(
                ReadError::Absent
                | ReadError::Link
                | ReadError::Escapes
                | ReadError::NotRegular(_)
                | ReadError::NotFolder(_),
            ) => Ok(None),
            Err(ReadError::TooLarge { limit }) => Err(NspawnError::io("refusing to read", &path)(
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("it is larger than {limit} bytes"),
                ),
            )),
            Err(ReadError::Io(e)) => Err(NspawnError::io("could not read", &path)(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{MetadataExt, PermissionsExt, symlink};

    /// A root and, beside it, a folder standing for the host outside the machine.
    fn setup() -> (tempfile::TempDir, PathBuf, PathBuf, GuestRoot) {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("root");
        let host = dir.path().join("host");
        fs::create_dir_all(root.join("etc")).expect("etc");
        fs::create_dir_all(&host).expect("host");
        fs::write(host.join("secret"), "host secret\n").expect("secret");
        let guest = GuestRoot::open(&root, &root).expect("open root");
        (dir, root, host, guest)
    }

    fn mode(p: &Path) -> u32 {
        fs::symlink_metadata(p).expect("stat").permissions().mode() & 0o7777
    }

    #[test]
    fn writes_files_and_makes_folders_with_the_given_modes() {
        let (_d, root, _host, guest) = setup();
        guest
            .write(
                "etc/hostname",
                b"web\n",
                Perm::root(0o644),
                Perm::root(0o755),
            )
            .expect("write");
        assert_eq!(
            fs::read_to_string(root.join("etc/hostname")).expect("read"),
            "web\n"
        );
        assert_eq!(mode(&root.join("etc/hostname")), 0o644);
        guest
            .write(
                "home/u/.ssh/keys",
                b"k\n",
                Perm::root(0o600),
                Perm::root(0o700),
            )
            .expect("write with new folders");
        assert_eq!(mode(&root.join("home/u/.ssh")), 0o700);
        assert_eq!(mode(&root.join("home/u/.ssh/keys")), 0o600);
        // Replacing keeps no temporary file behind.
        guest
            .write(
                "etc/hostname",
                b"db\n",
                Perm::root(0o640),
                Perm::root(0o755),
            )
            .expect("rewrite");
        assert_eq!(
            fs::read_to_string(root.join("etc/hostname")).expect("read"),
            "db\n"
        );
        assert_eq!(mode(&root.join("etc/hostname")), 0o640);
        let names: Vec<_> = fs::read_dir(root.join("etc"))
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, ["hostname"]);
    }

    #[test]
    fn owners_are_the_ones_given() {
        let (_d, root, _host, guest) = setup();
        // Ids this process may always give: its own (the e2e test checks other ids as root).
        let (uid, gid) = (
            rustix::process::getuid().as_raw(),
            rustix::process::getgid().as_raw(),
        );
        let perm = Perm {
            mode: 0o600,
            owner: Some((uid, gid)),
        };
        guest
            .write(
                "home/b/.ssh/k",
                b"x",
                perm,
                Perm {
                    mode: 0o700,
                    owner: Some((uid, gid)),
                },
            )
            .expect("write");
        let meta = fs::metadata(root.join("home/b/.ssh/k")).expect("stat");
        assert_eq!((meta.uid(), meta.gid()), (uid, gid));
    }

    #[test]
    fn a_link_at_the_file_is_replaced_and_its_target_untouched() {
        let (_d, root, host, guest) = setup();
        let secret = host.join("secret");
        symlink(&secret, root.join("etc/hosts")).expect("absolute link");
        symlink("../../host/secret", root.join("etc/resolv.conf")).expect("relative link");
        symlink(host.join("absent"), root.join("etc/hostname")).expect("dangling link");
        for f in ["etc/hosts", "etc/resolv.conf", "etc/hostname"] {
            guest
                .write(f, b"mine\n", Perm::root(0o644), Perm::root(0o755))
                .expect(f);
            let meta = fs::symlink_metadata(root.join(f)).expect("stat");
            assert!(meta.is_file(), "{f} is still a link");
            assert_eq!(fs::read_to_string(root.join(f)).expect("read"), "mine\n");
        }
        assert_eq!(
            fs::read_to_string(&secret).expect("secret"),
            "host secret\n"
        );
        assert!(
            !host.join("absent").exists(),
            "a dangling link made a host file"
        );
        assert_eq!(mode(&secret), 0o644);
    }

    #[test]
    fn a_link_on_the_way_is_refused_and_nothing_is_made_outside() {
        let (_d, root, host, guest) = setup();
        fs::create_dir_all(root.join("home")).expect("home");
        symlink(&host, root.join("home/berth")).expect("absolute link to a host folder");
        let err = guest
            .write(
                "home/berth/.ssh/authorized_keys",
                b"k",
                Perm::root(0o600),
                Perm::root(0o700),
            )
            .expect_err("followed a link");
        assert!(
            matches!(&err, NspawnError::GuestLink { guest_path, .. } if guest_path == "/home/berth"),
            "{err}"
        );
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(
            !host.join(".ssh").exists(),
            "made a folder through the link"
        );
        // The same through a relative link that climbs out, and for reading.
        fs::remove_file(root.join("home/berth")).expect("rm");
        symlink("../../host", root.join("home/berth")).expect("relative link");
        assert!(
            guest
                .write("home/berth/x", b"k", Perm::root(0o600), Perm::root(0o700))
                .is_err()
        );
        assert!(guest.read("home/berth/secret", 1024).is_err());
        assert!(!host.join("x").exists());
        // A link where the root's own folder is: refused as well.
        fs::remove_dir(root.join("etc")).expect("rm etc");
        symlink(&host, root.join("etc")).expect("etc link");
        assert!(
            guest
                .write("etc/hostname", b"h", Perm::root(0o644), Perm::root(0o755))
                .is_err()
        );
        assert!(!host.join("hostname").exists());
    }

    #[test]
    fn reading_never_opens_what_a_link_or_special_file_names() {
        let (_d, root, host, guest) = setup();
        symlink(host.join("secret"), root.join("etc/keys")).expect("link");
        assert_eq!(guest.read("etc/keys", 1024).expect("read"), None);
        // A FIFO must not block the driver.
        rustix::fs::mknodat(
            rustix::fs::CWD,
            root.join("etc/fifo"),
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o644),
            0,
        )
        .expect("mkfifo");
        assert_eq!(guest.read("etc/fifo", 1024).expect("read fifo"), None);
        fs::write(root.join("etc/plain"), "a\n").expect("plain");
        assert_eq!(
            guest.read("etc/plain", 1024).expect("read"),
            Some("a\n".into())
        );
        assert_eq!(guest.read("etc/absent", 1024).expect("read"), None);
        assert_eq!(guest.read("nowhere/absent", 1024).expect("read"), None);
        assert!(guest.read("etc/plain", 1).is_err(), "the size limit holds");
        // A FIFO at a written file's name is replaced without opening it.
        guest
            .write("etc/fifo", b"f", Perm::root(0o644), Perm::root(0o755))
            .expect("replace fifo");
        assert!(
            fs::symlink_metadata(root.join("etc/fifo"))
                .expect("stat")
                .is_file()
        );
    }

    #[test]
    fn a_folder_at_the_file_name_and_odd_paths_are_refused() {
        let (_d, root, _host, guest) = setup();
        fs::create_dir_all(root.join("etc/hostname/x")).expect("folder");
        assert!(matches!(
            guest.write("etc/hostname", b"h", Perm::root(0o644), Perm::root(0o755)),
            Err(NspawnError::GuestLink { .. })
        ));
        for bad in ["/etc/x", "../x", "etc/../x", ""] {
            assert!(
                guest
                    .write(bad, b"h", Perm::root(0o644), Perm::root(0o755))
                    .is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_mount_point_inside_is_not_crossed() {
        // /proc is a mount point under "/": opening "/" as a root and walking into proc fails.
        let guest = GuestRoot::open(Path::new("/"), Path::new("/")).expect("open /");
        assert!(guest.read("proc/self/status", 1 << 20).is_err());
    }
}
