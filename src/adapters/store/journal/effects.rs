//! What the journal records besides files: the local database as it was
//! (the applied migrations, and a byte-for-byte copy of a SQLite file), and
//! every side effect that is not a file write — djmig's `git rebase`, each
//! `manage.py migrate`, each rename of `django_migrations` rows — recorded
//! before it runs and marked done after, so `djmig undo` can reverse them
//! even after djmig was killed half-way.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::atomic::{remove_logged, sync_dir, write_atomic, write_synced};
use super::files::fresh_dir;
use super::location::{current_journal, locate};
use super::manifest::{now_rfc3339, read_manifest, write_manifest, Manifest, State};
use super::Journal;
use crate::adapters::git::blob_hex;
use crate::core::keys::MigrationKey;
use crate::core::resolve::AppliedRename;
use crate::error::{Error, Result};

/// When a database step ran, relative to the file changes: `undo` reverses
/// it with the files it ran against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Before any file was changed (with files set aside).
    BeforeFiles,
    /// After every file change.
    AfterFiles,
}

/// A side effect that is not a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Effect {
    /// djmig ran `git rebase <onto>`.
    Rebase {
        /// The branch rebased, if HEAD was on one.
        branch: Option<String>,
        /// HEAD before.
        orig_head: String,
        onto: String,
        /// HEAD after, once it finished.
        #[serde(default)]
        new_head: Option<String>,
    },
    /// `manage.py migrate …`.
    Migrate {
        phase: Phase,
        /// The command, for messages.
        command: String,
        /// Per app, the `migrate APP TARGET` target that gives back the
        /// state before this step (`zero` for none applied).
        restore: BTreeMap<String, String>,
        /// Files set aside while it ran (and while undo reverses it).
        #[serde(default)]
        aside: Vec<String>,
    },
    /// `django_migrations` rows renamed.
    RenameApplied { renames: Vec<AppliedRename> },
}

/// An effect and how far it got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectRecord {
    pub effect: Effect,
    /// It finished.
    #[serde(default)]
    pub done: bool,
    /// `undo` reversed it.
    #[serde(default)]
    pub undone: bool,
}

/// The local database before the resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatabaseRecord {
    /// How it is shown: `SQLite database /path/db.sqlite3`.
    pub display: String,
    /// The migrations recorded as applied.
    pub applied_before: Vec<MigrationKey>,
    /// A copy of the SQLite file, when the database is one.
    #[serde(default)]
    pub sqlite: Option<SqliteCopy>,
}

/// A byte-for-byte copy of a SQLite database file in the journal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SqliteCopy {
    /// The database file (absolute).
    pub path: PathBuf,
    /// The copy, relative to the journal directory.
    pub backup: String,
    /// git's blob id of the bytes.
    pub blob: String,
    /// Whether the file existed at all.
    pub existed: bool,
    /// The database was restored by `undo`.
    #[serde(default)]
    pub restored: bool,
}

/// The last journal, for `undo` to plan from.
#[derive(Debug, Clone)]
pub struct Record {
    pub dir: PathBuf,
    pub description: String,
    pub started: String,
    pub state: State,
    pub effects: Vec<EffectRecord>,
    pub database: Option<DatabaseRecord>,
}

impl Journal {
    /// Record the local database before anything changes it; a SQLite
    /// file is copied into the journal, byte for byte.
    pub fn record_database(
        &mut self,
        display: &str,
        applied_before: Vec<MigrationKey>,
        sqlite: Option<&Path>,
    ) -> Result<()> {
        let sqlite = match sqlite {
            None => None,
            Some(path) => Some(self.copy_database(path)?),
        };
        self.manifest.database = Some(DatabaseRecord {
            display: display.to_string(),
            applied_before,
            sqlite,
        });
        write_manifest(&self.dir, &self.manifest)
    }

    fn copy_database(&self, path: &Path) -> Result<SqliteCopy> {
        let backup = "database/sqlite".to_string();
        let dest = self.dir.join(&backup);
        let io_err = |e: std::io::Error| {
            Error::failed(format!(
                "cannot copy the database {} into the journal",
                path.display()
            ))
            .cause(e)
        };
        fs::create_dir_all(dest.parent().unwrap_or(&self.dir)).map_err(io_err)?;
        let (bytes, existed) = match fs::read(path) {
            Ok(b) => (b, true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Vec::new(), false),
            Err(e) => return Err(io_err(e)),
        };
        write_synced(&dest, &bytes).map_err(io_err)?;
        if let Some(parent) = dest.parent() {
            sync_dir(parent);
        }
        Ok(SqliteCopy {
            path: path.to_path_buf(),
            blob: blob_hex(&bytes),
            backup,
            existed,
            restored: false,
        })
    }

    /// Record an effect before it runs; returns its index.
    pub fn begin_effect(&mut self, effect: Effect) -> Result<usize> {
        self.manifest.effects.push(EffectRecord {
            effect,
            done: false,
            undone: false,
        });
        write_manifest(&self.dir, &self.manifest)?;
        Ok(self.manifest.effects.len() - 1)
    }

    /// Replace a recorded effect (a rebase's new head, once known).
    pub fn update_effect(&mut self, index: usize, effect: Effect) -> Result<()> {
        if let Some(r) = self.manifest.effects.get_mut(index) {
            r.effect = effect;
        }
        write_manifest(&self.dir, &self.manifest)
    }

    /// Mark an effect finished.
    pub fn effect_done(&mut self, index: usize) -> Result<()> {
        if let Some(r) = self.manifest.effects.get_mut(index) {
            r.done = true;
        }
        write_manifest(&self.dir, &self.manifest)
    }
}

/// The last journal with its effects and database record, if any.
pub fn last_record(root: &Path) -> Result<Option<Record>> {
    let (home, _) = locate(root)?;
    let Some(dir) = current_journal(&home) else {
        return Ok(None);
    };
    let m = read_manifest(&dir)?;
    Ok(Some(Record {
        dir,
        description: m.description,
        started: m.started,
        state: m.state,
        effects: m.effects,
        database: m.database,
    }))
}

/// Mark an effect of the last journal reversed by undo.
pub fn mark_effect_undone(root: &Path, index: usize) -> Result<()> {
    edit_last(root, |m| {
        if let Some(r) = m.effects.get_mut(index) {
            r.undone = true;
        }
    })
}

/// Mark the last journal undone: nothing left to undo.
pub fn mark_undone(root: &Path) -> Result<()> {
    edit_last(root, |m| {
        m.state = State::Undone;
        m.undone = Some(now_rfc3339());
    })
}

fn edit_last(root: &Path, f: impl FnOnce(&mut Manifest)) -> Result<()> {
    let (home, _) = locate(root)?;
    let Some(dir) = current_journal(&home) else {
        return Err(Error::usage("nothing to undo"));
    };
    let mut m = read_manifest(&dir)?;
    f(&mut m);
    write_manifest(&dir, &m)
}

/// Put the SQLite database back as the journal copied it, byte for byte;
/// the file it replaces is kept in the journal (`before-undo-database`).
/// Returns where that was kept.
pub fn restore_database(root: &Path) -> Result<Option<PathBuf>> {
    let (home, _) = locate(root)?;
    let Some(dir) = current_journal(&home) else {
        return Err(Error::usage("nothing to undo"));
    };
    let mut m = read_manifest(&dir)?;
    let Some(copy) = m.database.as_mut().and_then(|d| d.sqlite.as_mut()) else {
        return Ok(None);
    };
    let backup = dir.join(&copy.backup);
    let bytes = fs::read(&backup).map_err(|e| {
        Error::failed(format!(
            "cannot read the database copy {}",
            backup.display()
        ))
        .cause(e)
    })?;
    if blob_hex(&bytes) != copy.blob {
        return Err(Error::failed(format!(
            "the database copy {} is damaged; the database was not changed",
            backup.display()
        )));
    }
    let mut kept = None;
    if let Ok(now) = fs::read(&copy.path) {
        if blob_hex(&now) != copy.blob {
            let save = fresh_dir(&dir, "before-undo-database")?;
            let name = copy
                .path
                .file_name()
                .map(|n| n.to_os_string())
                .unwrap_or_else(|| "database".into());
            write_synced(&save.join(&name), &now).map_err(|e| {
                Error::failed(format!("cannot save {}", copy.path.display())).cause(e)
            })?;
            kept = Some(save.join(name));
        }
    }
    let io_err = |e: std::io::Error| {
        Error::failed(format!("cannot restore {}", copy.path.display()))
            .cause(e)
            .hint("fix the cause and run `djmig undo` again: it starts over safely")
    };
    if copy.existed {
        write_atomic(&copy.path, &bytes).map_err(io_err)?;
    } else {
        remove_logged(&copy.path).map_err(io_err)?;
    }
    // SQLite's side files belong to the state that was replaced.
    for suffix in ["-journal", "-wal", "-shm"] {
        let mut side = copy.path.clone().into_os_string();
        side.push(suffix);
        let _ = remove_logged(Path::new(&side));
    }
    copy.restored = true;
    write_manifest(&dir, &m)?;
    Ok(kept)
}
