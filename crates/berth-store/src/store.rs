//! [`Store`] and [`Machine`]: the storage folder and one machine's folder in it — create, list,
//! lock, load, save and remove, each consistent when several berth processes run at once.

use std::fs::{self, DirBuilder};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::{
    FileMode, MachineLock, MachineRecord, RECORD_VERSION, StoreError, validate_name,
    validate_new_name, write_atomic,
};

/// The record's file name inside a machine's folder.
const RECORD_FILE: &str = "config.toml";
/// Folders under the root that are not machines.
const LOCKS_DIR: &str = ".locks";
const PLUGINS_DIR: &str = "plugins";

/// The certificate files of a machine and who may read them, as Docker's CLI expects them in
/// `DOCKER_CERT_PATH` (ca.pem, cert.pem, key.pem) plus the CA key and the server's copies.
pub const CERT_FILES: [(&str, FileMode); 6] = [
    ("ca.pem", FileMode::Public),
    ("ca-key.pem", FileMode::Secret),
    ("cert.pem", FileMode::Public),
    ("key.pem", FileMode::Secret),
    ("server.pem", FileMode::Public),
    ("server-key.pem", FileMode::Secret),
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

/// A machine as `ls` sees it: its record, or why the record could not be read.
#[derive(Debug)]
pub struct MachineEntry {
    pub name: String,
    pub record: Result<MachineRecord, StoreError>,
}

impl Store {
    /// A store rooted at `root`; nothing is created until a machine is.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Store { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where plugin executables may be dropped (`berth-driver-<name>`).
    pub fn plugins_dir(&self) -> PathBuf {
        self.root.join(PLUGINS_DIR)
    }

    /// The existing machine `name`.
    pub fn machine(&self, name: &str) -> Result<Machine, StoreError> {
        validate_name(name)?;
        let dir = self.root.join(name);
        if dir.is_dir() {
            Ok(Machine {
                name: name.to_owned(),
                dir,
            })
        } else {
            Err(StoreError::NotFound {
                name: name.to_owned(),
                root: self.root.clone(),
            })
        }
    }

    /// Takes the lock of machine `name` (which need not exist yet).
    pub fn lock(&self, name: &str, wait: Duration) -> Result<MachineLock, StoreError> {
        validate_name(name)?;
        MachineLock::acquire(name, &self.root.join(LOCKS_DIR), wait)
    }

    /// Makes the folder of a new machine and writes its first record, under the machine's lock.
    ///
    /// The folder is created with `mkdir` (which fails if it exists), so two processes creating
    /// the same name cannot both succeed.
    pub fn create_machine(
        &self,
        record: &MachineRecord,
    ) -> Result<(Machine, MachineLock), StoreError> {
        validate_new_name(&record.name)?;
        self.ensure_root()?;
        let lock = self.lock(&record.name, Duration::from_secs(0))?;
        let dir = self.root.join(&record.name);
        match DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(StoreError::AlreadyExists {
                    name: record.name.clone(),
                    root: self.root.clone(),
                });
            }
            Err(e) => return Err(StoreError::io("create", &dir, e)),
        }
        let machine = Machine {
            name: record.name.clone(),
            dir,
        };
        machine.save(record)?;
        Ok((machine, lock))
    }

    /// Every machine folder in the store, sorted by name. A machine whose record cannot be read
    /// is still listed, with the error, so one corrupt file does not hide the others.
    pub fn list(&self) -> Result<Vec<MachineEntry>, StoreError> {
        let entries = match fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(StoreError::io("read", &self.root, e)),
        };
        let mut machines = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| StoreError::io("read", &self.root, e))?;
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            // `validate_name` also skips the store's own entries (plugins/, .locks/).
            if validate_name(&name).is_err() || !entry.path().is_dir() {
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
    /// a removal interrupted half-way leaves no half-machine for `ls` to show.
    pub fn remove(&self, machine: Machine, _lock: &MachineLock) -> Result<(), StoreError> {
        let trash = self
            .root
            .join(format!(".removing-{}-{}", machine.name, std::process::id()));
        fs::rename(&machine.dir, &trash).map_err(|e| StoreError::io("remove", &machine.dir, e))?;
        fs::remove_dir_all(&trash).map_err(|e| StoreError::io("remove", &trash, e))
    }

    fn ensure_root(&self) -> Result<(), StoreError> {
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.root)
            .map_err(|e| StoreError::io("create", &self.root, e))
    }
}

impl Machine {
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

    /// Reads `config.toml`.
    pub fn load(&self) -> Result<MachineRecord, StoreError> {
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
            path,
            message: e.message().to_owned(),
        })
    }

    /// Writes `config.toml` atomically. The caller holds the machine's lock.
    pub fn save(&self, record: &MachineRecord) -> Result<(), StoreError> {
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
    use crate::MachineState;
    use std::os::unix::fs::PermissionsExt;

    fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::new(dir.path().join("machines"));
        (dir, store)
    }

    #[test]
    fn an_empty_store_lists_nothing_and_finds_nothing() {
        let (_dir, store) = store();
        assert!(store.list().expect("list").is_empty());
        let err = store.machine("nosuch").expect_err("missing");
        assert!(err.to_string().contains("'nosuch'"), "{err}");
    }

    #[test]
    fn create_save_load_and_remove() {
        let (_dir, store) = store();
        let mut record = MachineRecord::new("web1", "generic");
        let (machine, lock) = store.create_machine(&record).expect("create");
        let mode = fs::metadata(machine.dir())
            .expect("stat")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o700);
        record.state = MachineState::Running;
        machine.save(&record).expect("save");
        assert_eq!(machine.load().expect("load").state, MachineState::Running);
        let again = store.create_machine(&record).expect_err("duplicate");
        assert!(
            matches!(
                again,
                StoreError::Locked { .. } | StoreError::AlreadyExists { .. }
            ),
            "{again}"
        );
        store.remove(machine, &lock).expect("remove");
        drop(lock);
        assert!(store.list().expect("list").is_empty());
        let again = store.create_machine(&record).map(|_| ());
        assert!(again.is_ok(), "the name is free again: {again:?}");
    }

    #[test]
    fn an_existing_name_is_refused() {
        let (_dir, store) = store();
        let record = MachineRecord::new("web1", "generic");
        let (_machine, lock) = store.create_machine(&record).expect("create");
        drop(lock);
        let err = store.create_machine(&record).expect_err("exists");
        assert!(matches!(err, StoreError::AlreadyExists { .. }), "{err}");
    }

    #[test]
    fn a_corrupt_record_shows_as_an_error_and_others_still_list() {
        let (_dir, store) = store();
        for name in ["a", "b", "c"] {
            store
                .create_machine(&MachineRecord::new(name, "generic"))
                .expect("create");
        }
        fs::write(
            store.root().join("b").join(RECORD_FILE),
            "this is = = not toml",
        )
        .expect("corrupt");
        let list = store.list().expect("list");
        let names: Vec<_> = list.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(list[0].record.is_ok() && list[2].record.is_ok());
        let err = list[1].record.as_ref().expect_err("corrupt");
        assert!(err.to_string().contains("corrupt"), "{err}");
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
