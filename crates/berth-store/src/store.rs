//! [`Store`] and [`Machine`]: the storage folder and one machine's folder in it — create, list,
//! lock, load, save and remove, each consistent when several berth processes run at once.

use std::fs::{self, DirBuilder};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_names::MachineFiles;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{FileMode, MachineLock, StoreError, validate_name, validate_new_name, write_atomic};

/// The newest format version of `config.toml` this berth reads; a record names its own in a
/// top-level `version`, bumped when a change would confuse an older berth.
pub const RECORD_VERSION: u32 = 1;

/// The record's file name inside a machine's folder.
const RECORD_FILE: &str = MachineFiles::RECORD;
/// Folders under the root that are not machines.
pub(crate) const LOCKS_DIR: &str = ".locks";
pub(crate) const PLUGINS_DIR: &str = "plugins";
/// The prefix of a machine folder being removed: `.removing-PID-SEQ-NAME`.
const REMOVING_PREFIX: &str = ".removing-";

/// The certificate files of a machine and who may read them, as Docker's CLI expects them in
/// `DOCKER_CERT_PATH` (ca.pem, cert.pem, key.pem) plus the CA key and the server's copies.
pub const CERT_FILES: [(&str, FileMode); 6] = [
    (MachineFiles::CA_CERT, FileMode::Public),
    (MachineFiles::CA_KEY, FileMode::Secret),
    (MachineFiles::CLIENT_CERT, FileMode::Public),
    (MachineFiles::CLIENT_KEY, FileMode::Secret),
    (MachineFiles::SERVER_CERT, FileMode::Public),
    (MachineFiles::SERVER_KEY, FileMode::Secret),
];

/// The storage folder.
#[derive(Clone, Debug)]
pub struct Store {
    root: PathBuf,
}

/// One machine's folder (which exists).
#[derive(Clone, Debug)]
pub struct Machine {
    name: String,
    dir: PathBuf,
}

/// A machine as `ls` sees it: its record (whatever type the caller reads `config.toml` as), or
/// why the record could not be read.
#[derive(Debug)]
pub struct MachineEntry<R> {
    /// The machine's name (its folder's).
    pub name: String,
    /// The record, or why it could not be read: `ls` shows a broken machine rather than
    /// hiding it.
    pub record: Result<R, StoreError>,
}

impl Store {
    /// A store rooted at `root`; nothing is created until a machine is.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Store { root: root.into() }
    }

    /// The storage folder, which holds one folder per machine.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where plugin executables may be dropped (`berth-driver-<name>`).
    pub fn plugins_dir(&self) -> PathBuf {
        self.root.join(PLUGINS_DIR)
    }

    /// The existing machine `name`. A folder that is a symbolic link is refused: everything
    /// berth writes for a machine (keys included) would land wherever the link points.
    pub fn machine(&self, name: &str) -> Result<Machine, StoreError> {
        validate_name(name)?;
        let dir = self.root.join(name);
        match fs::symlink_metadata(&dir) {
            Ok(meta) if meta.file_type().is_symlink() => Err(StoreError::Symlinked {
                name: name.to_owned(),
                path: dir,
            }),
            Ok(meta) if meta.is_dir() => Ok(Machine {
                name: name.to_owned(),
                dir,
            }),
            _ => Err(StoreError::NotFound {
                name: name.to_owned(),
                root: self.root.clone(),
            }),
        }
    }

    /// Takes the lock of machine `name` (which need not exist yet).
    pub fn lock(&self, name: &str, wait: Duration) -> Result<MachineLock, StoreError> {
        validate_name(name)?;
        MachineLock::acquire(name, &self.root.join(LOCKS_DIR), wait)
    }

    /// Makes the folder of a new machine `name` and writes its first record, under the
    /// machine's lock.
    ///
    /// The folder is created with `mkdir` (which fails if it exists), so two processes creating
    /// the same name cannot both succeed.
    pub fn create_machine<R: Serialize>(
        &self,
        name: &str,
        record: &R,
    ) -> Result<(Machine, MachineLock), StoreError> {
        validate_new_name(name)?;
        self.ensure_root()?;
        let lock = self.lock(name, Duration::from_secs(0))?;
        let dir = self.root.join(name);
        match DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(StoreError::AlreadyExists {
                    name: name.to_owned(),
                    root: self.root.clone(),
                });
            }
            Err(e) => return Err(StoreError::io("create", &dir, e)),
        }
        let machine = Machine {
            name: name.to_owned(),
            dir,
        };
        machine.save(record)?;
        Ok((machine, lock))
    }

    /// Every machine folder in the store, sorted by name. A machine whose record cannot be read
    /// is still listed, with the error, so one corrupt file does not hide the others.
    ///
    /// Removals that an earlier command left half done are finished first; those that still
    /// cannot be are listed too, with why, so that a folder still holding keys is not hidden.
    pub fn list<R: DeserializeOwned>(&self) -> Result<Vec<MachineEntry<R>>, StoreError> {
        let mut machines: Vec<MachineEntry<R>> = self
            .finish_removals()
            .into_iter()
            .filter_map(|err| match &err {
                StoreError::RemovalUnfinished { name, .. } => Some(MachineEntry {
                    name: name.clone(),
                    record: Err(err),
                }),
                _ => None,
            })
            .collect();
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::io("read", &self.root, e)),
        };
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io("read", &self.root, e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            // `validate_name` also skips the store's own entries (plugins/, .locks/).
            if validate_name(&name).is_err() {
                continue;
            }
            // The entry's own type, not its target's: a link is shown as one, never followed.
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_symlink() {
                machines.push(MachineEntry {
                    record: Err(StoreError::Symlinked {
                        name: name.clone(),
                        path: entry.path(),
                    }),
                    name,
                });
                continue;
            }
            if !kind.is_dir() {
                continue;
            }
            let machine = Machine {
                name: name.clone(),
                dir: entry.path(),
            };
            machines.push(MachineEntry {
                name,
                record: machine.load(),
            });
        }
        machines.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(machines)
    }

    /// Deletes a machine's folder. The caller holds its lock.
    ///
    /// The folder is first renamed to a hidden name so that the machine disappears at once and
    /// a removal interrupted half-way leaves no half-machine for `ls` to show. Its files (the
    /// keys, the record) go before anything else in it, so a folder that cannot be deleted
    /// entirely (a busy mount, an immutable file) keeps no secrets; what is left is finished
    /// by [`Store::finish_removals`], which every berth command runs.
    pub fn remove(&self, machine: Machine, _lock: &MachineLock) -> Result<(), StoreError> {
        let trash = self.trash_path(&machine.name);
        fs::rename(&machine.dir, &trash).map_err(|e| StoreError::io("remove", &machine.dir, e))?;
        delete_trash(&machine.name, &trash)
    }

    /// Finishes removals that an earlier command left half done (it died, or a file could not
    /// be deleted then), and returns a [`StoreError::RemovalUnfinished`] for each that still
    /// cannot be. A removal under way in another process (its machine's lock held) is left to it.
    pub fn finish_removals(&self) -> Vec<StoreError> {
        let Ok(entries) = fs::read_dir(&self.root) else {
            return Vec::new();
        };
        let mut unfinished = Vec::new();
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let Some(rest) = file_name
                .to_str()
                .and_then(|n| n.strip_prefix(REMOVING_PREFIX))
            else {
                continue;
            };
            let name = trash_machine_name(rest);
            // Held by the process removing it now; an unparseable name is berth's own trash
            // all the same, and has no lock to take.
            let _lock = match self.lock(&name, Duration::ZERO) {
                Ok(lock) => Some(lock),
                Err(StoreError::Locked { .. }) => continue,
                Err(_) => None,
            };
            if let Err(err) = delete_trash(&name, &entry.path()) {
                unfinished.push(err);
            }
        }
        unfinished
    }

    /// A fresh hidden name for a folder being removed. The pid and a sequence number make it
    /// unique, so a removal never meets an earlier one's leftovers.
    fn trash_path(&self, name: &str) -> PathBuf {
        let pid = std::process::id();
        let mut seq = 0u32;
        loop {
            let path = self
                .root
                .join(format!("{REMOVING_PREFIX}{pid}-{seq}-{name}"));
            if fs::symlink_metadata(&path).is_err() {
                return path;
            }
            seq += 1;
        }
    }

    fn ensure_root(&self) -> Result<(), StoreError> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
            .map_err(|e| StoreError::io("create", &self.root, e))
    }
}

/// The 1-based line of byte `at` in `text`.
fn line_of(text: &[u8], at: usize) -> usize {
    let end = at.min(text.len());
    text[..end].iter().filter(|b| **b == b'\n').count() + 1
}

/// The machine's name in a trash folder's name after [`REMOVING_PREFIX`]: `PID-SEQ-NAME`, or
/// `NAME-PID` as berths before 0.1 wrote it.
fn trash_machine_name(rest: &str) -> String {
    let mut parts = rest.splitn(3, '-');
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match (parts.next(), parts.next(), parts.next()) {
        (Some(pid), Some(seq), Some(name)) if digits(pid) && digits(seq) => name.to_owned(),
        _ => match rest.rsplit_once('-') {
            Some((name, pid)) if digits(pid) => name.to_owned(),
            _ => rest.to_owned(),
        },
    }
}

/// Deletes a folder being removed: first every file directly in it (the keys and the record
/// live there), then the rest. Nothing is followed: a `.removing-*` that is a link (planted, as
/// berth never makes one) is unlinked itself, and so is every link inside the folder.
fn delete_trash(name: &str, trash: &Path) -> Result<(), StoreError> {
    crate::remove_tree::remove_tree_nofollow(trash).map_err(|reason| {
        StoreError::RemovalUnfinished {
            name: name.to_owned(),
            path: trash.to_path_buf(),
            reason,
        }
    })
}

impl Machine {
    /// The machine's name, which is its folder's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The machine's folder: what `DOCKER_CERT_PATH` points at.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// A file inside the machine's folder.
    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    /// Reads `config.toml` as `R`. A record whose `version` is newer than [`RECORD_VERSION`]
    /// is refused before `R` is asked to read it; an error of `R`'s own (a field that fails its
    /// check) is [`StoreError::Corrupt`] naming the file and the line.
    pub fn load<R: DeserializeOwned>(&self) -> Result<R, StoreError> {
        let path = self.path(RECORD_FILE);
        let text = fs::read_to_string(&path).map_err(|e| StoreError::io("read", &path, e))?;
        let header: toml::Table = toml::from_str(&text).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            message: e.message().to_owned(),
        })?;
        if let Some(found) = header.get("version").and_then(toml::Value::as_integer) {
            let found = u32::try_from(found).unwrap_or(u32::MAX);
            if found > RECORD_VERSION {
                return Err(StoreError::TooNew {
                    path,
                    found,
                    supported: RECORD_VERSION,
                });
            }
        }
        toml::from_str(&text).map_err(|e| StoreError::Corrupt {
            message: match e.span() {
                Some(span) => format!(
                    "line {}: {}",
                    line_of(text.as_bytes(), span.start),
                    e.message()
                ),
                None => e.message().to_owned(),
            },
            path,
        })
    }

    /// Writes `config.toml` atomically. The caller holds the machine's lock.
    pub fn save<R: Serialize>(&self, record: &R) -> Result<(), StoreError> {
        let text = toml::to_string(record).map_err(|e| StoreError::Serialize {
            name: self.name.clone(),
            message: e.to_string(),
        })?;
        write_atomic(&self.path(RECORD_FILE), text.as_bytes(), FileMode::Secret)
    }

    /// Writes one file of the machine's folder atomically.
    pub fn write_file(&self, file: &str, bytes: &[u8], mode: FileMode) -> Result<(), StoreError> {
        write_atomic(&self.path(file), bytes, mode)
    }

    /// Reads one text file of the machine's folder.
    pub fn read_file(&self, file: &str) -> Result<String, StoreError> {
        let path = self.path(file);
        fs::read_to_string(&path).map_err(|e| StoreError::io("read", &path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    /// A record as small as the store's tests need: the store reads and writes any serde value.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct TestRecord {
        version: u32,
        name: String,
        state: String,
    }

    impl TestRecord {
        fn new(name: &str) -> Self {
            TestRecord {
                version: RECORD_VERSION,
                name: name.to_owned(),
                state: "Creating".to_owned(),
            }
        }
    }

    /// Lists the store as [`TestRecord`]s.
    fn entries(store: &Store) -> Vec<MachineEntry<TestRecord>> {
        store.list().expect("list")
    }

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::new(dir.path().join("machines"));
        (dir, store)
    }

    #[test]
    fn an_empty_store_lists_nothing_and_finds_nothing() {
        let (_dir, store) = store();
        assert!(entries(&store).is_empty());
        let err = store.machine("nosuch").expect_err("missing");
        assert!(err.to_string().contains("'nosuch'"), "{err}");
    }

    #[test]
    fn create_save_load_and_remove() {
        let (_dir, store) = store();
        let mut record = TestRecord::new("web1");
        let (machine, lock) = store.create_machine("web1", &record).expect("create");
        let mode = fs::metadata(machine.dir())
            .expect("stat")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o700);
        record.state = "Running".to_owned();
        machine.save(&record).expect("save");
        assert_eq!(machine.load::<TestRecord>().expect("load"), record);
        let again = store
            .create_machine("web1", &record)
            .expect_err("duplicate");
        assert!(
            matches!(
                again,
                StoreError::Locked { .. } | StoreError::AlreadyExists { .. }
            ),
            "{again}"
        );
        store.remove(machine, &lock).expect("remove");
        drop(lock);
        assert!(entries(&store).is_empty());
        let again = store.create_machine("web1", &record).map(|_| ());
        assert!(again.is_ok(), "the name is free again: {again:?}");
    }

    #[test]
    fn an_existing_name_is_refused() {
        let (_dir, store) = store();
        let record = TestRecord::new("web1");
        let (_machine, lock) = store.create_machine("web1", &record).expect("create");
        drop(lock);
        let err = store.create_machine("web1", &record).expect_err("exists");
        assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err}");
    }

    #[test]
    fn a_corrupt_record_shows_as_an_error_and_others_still_list() {
        let (_dir, store) = store();
        for name in ["a", "b", "c"] {
            store
                .create_machine(name, &TestRecord::new(name))
                .expect("create");
        }
        fs::write(
            store.root().join("b").join(RECORD_FILE),
            "this is = = not toml",
        )
        .expect("corrupt");
        let list = entries(&store);
        let names: Vec<_> = list.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(list[0].record.is_ok() && list[2].record.is_ok());
        let err = list[1].record.as_ref().expect_err("corrupt");
        assert!(err.to_string().contains("corrupt"), "{err}");
    }

    /// Makes `dir` impossible to delete, as a real failure would: its file immutable as root
    /// (root ignores permissions), the folder read-only otherwise. `undo` is the way back.
    fn make_undeletable(dir: &Path) {
        fs::create_dir_all(dir).expect("mkdir");
        fs::write(dir.join("stuck"), "x").expect("write");
        if rustix::process::geteuid().is_root() {
            chattr("+i", &dir.join("stuck"));
        } else {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o500)).expect("chmod");
        }
    }

    fn undo(dir: &Path) {
        if rustix::process::geteuid().is_root() {
            chattr("-i", &dir.join("stuck"));
        } else {
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).expect("chmod");
        }
    }

    /// Undoes [`make_undeletable`] wherever the folder went (renamed by the removal), also
    /// when the test fails, so no immutable file outlives it.
    struct Unstick(PathBuf);

    impl Drop for Unstick {
        fn drop(&mut self) {
            for entry in fs::read_dir(&self.0).into_iter().flatten().flatten() {
                let busy = entry.path().join("busy");
                if busy.join("stuck").exists() {
                    undo(&busy);
                }
            }
        }
    }

    fn chattr(flag: &str, path: &Path) {
        let status = std::process::Command::new("chattr")
            .arg(flag)
            .arg(path)
            .status()
            .expect("chattr (e2fsprogs) is needed by this test when it runs as root");
        assert!(status.success(), "chattr {flag} {}", path.display());
    }

    #[test]
    fn a_failed_removal_keeps_no_keys_and_the_next_command_finishes_it() {
        let (_dir, store) = store();
        let (machine, lock) = store
            .create_machine("web1", &TestRecord::new("web1"))
            .expect("create");
        for key in [
            MachineFiles::CA_KEY,
            MachineFiles::CLIENT_KEY,
            MachineFiles::SERVER_KEY,
            "id_ed25519",
        ] {
            machine
                .write_file(key, b"SECRET", FileMode::Secret)
                .expect("key");
        }
        // Enough files that some come after `busy` in the folder's order, whatever it is.
        for i in 0..64 {
            let name = format!("key-{i}.pem");
            machine
                .write_file(&name, b"SECRET", FileMode::Secret)
                .expect("key");
        }
        make_undeletable(&machine.path("busy"));
        let unstick = Unstick(store.root().to_path_buf());
        let err = store.remove(machine, &lock).expect_err("cannot delete all");
        assert!(matches!(err, StoreError::RemovalUnfinished { .. }), "{err}");
        assert!(err.to_string().contains("berth ls"), "{err}");
        drop(lock);

        // What is left holds no file but the undeletable one.
        let trash: Vec<PathBuf> = fs::read_dir(store.root())
            .expect("ls")
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().contains(".removing-"))
            .collect();
        assert_eq!(trash.len(), 1, "{trash:?}");
        let left: Vec<_> = fs::read_dir(&trash[0])
            .expect("ls")
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(
            left,
            [std::ffi::OsString::from("busy")],
            "keys were left behind"
        );

        // `ls` says so until it is done...
        let list = entries(&store);
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].name, "web1");
        let shown = list[0].record.as_ref().expect_err("unfinished");
        assert!(
            matches!(shown, StoreError::RemovalUnfinished { .. }),
            "{shown}"
        );
        // ...and the next command finishes it once it can.
        drop(unstick);
        assert!(store.finish_removals().is_empty());
        assert!(!trash[0].exists());
        assert!(entries(&store).is_empty());
    }

    #[test]
    fn leftovers_of_an_interrupted_removal_are_deleted_by_the_next_listing() {
        let (_dir, store) = store();
        store.ensure_root().expect("root");
        for leftover in [".removing-4242-0-web1", ".removing-web-2-4242"] {
            let trash = store.root().join(leftover);
            fs::create_dir_all(trash.join("sub")).expect("mkdir");
            fs::write(trash.join("key.pem"), "SECRET").expect("key");
        }
        assert!(entries(&store).is_empty());
        assert_eq!(
            fs::read_dir(store.root()).expect("ls").flatten().count(),
            1,
            "only .locks"
        );
        assert_eq!(trash_machine_name("4242-0-web-1"), "web-1");
        assert_eq!(trash_machine_name("web-1-4242"), "web-1");
    }

    /// Regression: the clean-up before every command read a `.removing-*` link's target and
    /// deleted every file in it.
    #[test]
    fn a_removing_link_in_the_store_is_unlinked_and_its_target_survives() {
        let (dir, store) = store();
        store.ensure_root().expect("root");
        let outside = dir.path().join("dot-ssh");
        fs::create_dir_all(outside.join("sub")).expect("mkdir");
        fs::write(outside.join("id_ed25519"), "KEY").expect("key");
        fs::write(outside.join("sub/config"), "x").expect("file");
        let link = store.root().join(".removing-x");
        std::os::unix::fs::symlink(&outside, &link).expect("link");
        assert!(store.finish_removals().is_empty());
        assert!(fs::symlink_metadata(&link).is_err(), "the link stays");
        assert_eq!(
            fs::read_to_string(outside.join("id_ed25519")).expect("kept"),
            "KEY"
        );
        assert!(outside.join("sub/config").exists());
    }

    #[test]
    fn a_machine_folder_that_is_a_symlink_is_refused_and_listed_as_one() {
        let (dir, store) = store();
        store.ensure_root().expect("root");
        let outside = dir.path().join("outside");
        fs::create_dir_all(&outside).expect("mkdir");
        fs::write(outside.join(RECORD_FILE), "version = 1\nname = \"linked\"\ndriver = \"none\"\nstate = \"Running\"\ncreated_at = \"2026-11-23T12:00:00Z\"\n").expect("record");
        std::os::unix::fs::symlink(&outside, store.root().join("linked")).expect("link");
        let err = store.machine("linked").expect_err("a link");
        assert!(matches!(err, StoreError::Symlinked { .. }), "{err}");
        let list = entries(&store);
        assert_eq!(list.len(), 1);
        assert!(
            matches!(list[0].record, Err(StoreError::Symlinked { .. })),
            "{:?}",
            list[0].record
        );
    }

    #[test]
    fn a_second_lock_on_the_same_machine_waits_then_fails() {
        let (_dir, store) = store();
        let _held = store.lock("web1", Duration::ZERO).expect("first");
        let err = store
            .lock("web1", Duration::from_millis(50))
            .expect_err("second");
        assert!(matches!(err, StoreError::Locked { .. }), "{err}");
        assert!(
            store.lock("web2", Duration::ZERO).is_ok(),
            "other machines are not blocked"
        );
    }
}
