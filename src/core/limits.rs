//! The caps on what djmig reads from a repository, by what a file is
//! ([`Kind`]), and the refusal that names a file over its cap or of the
//! wrong type with the fix. Pure: reading the files themselves is
//! `adapters::fs::read`'s; trees (a git revision, the virtual merge) check
//! their bytes with [`within`] and [`narrow`].

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;

/// What a file is to djmig, which sets how much of it is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A migration module (any Python file read through a project tree).
    Migration,
    /// `apps.py`, `manage.py`, the settings module.
    Module,
    /// django-linear-migrations' `max_migration.txt`.
    MaxMigration,
    /// `.djmig.yml`.
    Config,
    /// A small file git writes that djmig reads itself: `MERGE_HEAD`,
    /// `ORIG_HEAD`, `rebase-merge/onto`, a `.git` file, …
    GitState,
    /// A file libgit2 reads: the index, `HEAD`, `config`, `packed-refs`.
    GitData,
    /// djmig's parse cache.
    ParseCache,
    /// One file of djmig's result cache.
    ResultCache,
    /// The journal's manifest.
    Journal,
}

impl Kind {
    /// The most bytes read of this kind of file.
    pub const fn cap(self) -> u64 {
        match self {
            Kind::Migration => 16 * MIB,
            Kind::Module => MIB,
            Kind::MaxMigration => 64 * KIB,
            Kind::Config => 256 * KIB,
            Kind::GitState => MIB,
            Kind::GitData => 2048 * MIB,
            Kind::ParseCache => 512 * MIB,
            Kind::ResultCache => 256 * MIB,
            Kind::Journal => 64 * MIB,
        }
    }

    fn noun(self) -> &'static str {
        match self {
            Kind::Migration => "a migration file",
            Kind::Module => "apps.py, manage.py or a settings module",
            Kind::MaxMigration => "max_migration.txt",
            Kind::Config => "the configuration file",
            Kind::GitState | Kind::GitData => "a file of git's",
            Kind::ParseCache | Kind::ResultCache => "a cache file of djmig's",
            Kind::Journal => "the journal's manifest",
        }
    }

    /// What to do about a file of this kind that is too large.
    fn fix_large(self) -> &'static str {
        match self {
            Kind::Migration => {
                "if it is genuine, squash or split it; a directory djmig should not read can be left out with `exclude:` in .djmig.yml"
            }
            Kind::Module => {
                "give djmig what it reads there in .djmig.yml instead (`app_labels:` for apps.py, `settings:` for manage.py and the settings module)"
            }
            Kind::MaxMigration => "it holds one migration name: write just that",
            Kind::Config => "a configuration file needs a few hundred bytes: remove what is not djmig's",
            _ => self.fix(),
        }
    }

    /// What to do about a refused file of this kind.
    fn fix(self) -> &'static str {
        match self {
            Kind::Migration => {
                "replace it with the migration file itself, or leave its directory out with `exclude:` in .djmig.yml"
            }
            Kind::Module => {
                "replace it with a regular file, or give djmig what it reads there in .djmig.yml (`app_labels:` for apps.py, `settings:` for manage.py and the settings module)"
            }
            Kind::MaxMigration => {
                "replace it with a regular file holding the app's latest migration name"
            }
            Kind::Config => "replace it with a regular file, or pass --config FILE",
            Kind::GitState | Kind::GitData => {
                "git never writes such a file: move it out of the git directory (for the index, `git reset` writes it again)"
            }
            Kind::ParseCache | Kind::ResultCache => {
                "delete the djmig directory in the git directory (always safe)"
            }
            Kind::Journal => {
                "move the journal directory away; `djmig undo` cannot use it"
            }
        }
    }
}

/// Why a file was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Not a regular file: a FIFO, a device, a socket, a directory.
    NotRegular {
        what: &'static str,
        via: Option<PathBuf>,
    },
    /// A symbolic link leading out of the project.
    Outside { target: PathBuf },
    /// A symbolic link that leads nowhere, or to itself.
    Dangling { target: PathBuf },
    /// More bytes than the kind allows.
    TooLarge { size: u64 },
}

/// A file djmig declined to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    pub kind: Kind,
    pub reason: Reason,
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |p: &Path| p.display().to_string().escape_debug().to_string();
        match &self.reason {
            Reason::NotRegular { what, via: None } => {
                write!(f, "{what}, not a regular file; djmig reads only regular files")?
            }
            Reason::NotRegular {
                what,
                via: Some(target),
            } => write!(
                f,
                "a symbolic link to {} ({what}), not a regular file; djmig reads only regular files",
                shown(target)
            )?,
            Reason::Outside { target } => write!(
                f,
                "a symbolic link to {}, outside the project; djmig follows links only inside the project",
                shown(target)
            )?,
            Reason::Dangling { target } => write!(
                f,
                "a symbolic link to {}, which does not lead to a file",
                shown(target)
            )?,
            Reason::TooLarge { size } => write!(
                f,
                "{} bytes, more than the {} djmig reads of {}",
                size,
                human(self.kind.cap()),
                self.kind.noun()
            )?,
        }
        let fix = match self.reason {
            Reason::TooLarge { .. } => self.kind.fix_large(),
            _ => self.kind.fix(),
        };
        write!(f, ": {fix}")
    }
}

impl std::error::Error for Refused {}

impl Refused {
    fn into_io(self) -> io::Error {
        io::Error::new(io::ErrorKind::InvalidData, self)
    }
}

pub fn refuse(kind: Kind, reason: Reason) -> io::Error {
    Refused { kind, reason }.into_io()
}

/// The refusal inside an error, if it is one.
pub fn refusal(e: &io::Error) -> Option<&Refused> {
    e.get_ref()
        .and_then(|inner| inner.downcast_ref::<Refused>())
}

/// `16 MiB`, `64 KiB`.
pub fn human(bytes: u64) -> String {
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// A read through a tree (capped as a migration file) narrowed to a
/// smaller kind: its bytes checked against `kind`'s cap, a refusal
/// reworded with `kind`'s fix.
pub fn narrow(read: io::Result<Vec<u8>>, kind: Kind) -> io::Result<Vec<u8>> {
    match read {
        Ok(b) => within(b, kind),
        Err(e) => match refusal(&e) {
            Some(r) => Err(refuse(kind, r.reason.clone())),
            None => Err(e),
        },
    }
}

/// Bytes already read (up to a larger cap) checked against `kind`'s.
pub fn within(bytes: Vec<u8>, kind: Kind) -> io::Result<Vec<u8>> {
    if bytes.len() as u64 > kind.cap() {
        return Err(refuse(
            kind,
            Reason::TooLarge {
                size: bytes.len() as u64,
            },
        ));
    }
    Ok(bytes)
}
