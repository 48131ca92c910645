//! Reading files a repository may have planted: djmig runs in CI on
//! untrusted pull requests and in git hooks on whatever `git pull` brought,
//! so a file it reads may be a link to `/dev/zero`, a FIFO, or gigabytes.
//!
//! Only regular files are read, each up to a cap that depends on what it is
//! ([`Kind`]). A file is checked with `stat` before it is opened (opening a
//! device can have effects), opened without blocking (a FIFO's `open` waits
//! for a writer otherwise), checked again with `fstat` on what was opened,
//! and read no further than the cap. Project files may be symbolic links only
//! to files inside the project ([`read_inside`]). A refusal is an
//! [`io::Error`] of kind `InvalidData` whose message says what the file is and
//! how to fix it; [`refusal`] tells it apart from other errors.

use std::fmt;
use std::fs::{self, File, Metadata};
use std::io::{self, Read};
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

fn refuse(kind: Kind, reason: Reason) -> io::Error {
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

/// What a non-regular file is, in words.
fn describe(md: &Metadata) -> &'static str {
    let ft = md.file_type();
    if ft.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a FIFO";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
        if ft.is_socket() {
            return "a socket";
        }
    }
    "a special file"
}

/// Check what `stat` says before opening: only a regular file within the
/// cap is opened at all.
fn check_meta(md: &Metadata, kind: Kind, via: Option<&Path>) -> io::Result<()> {
    if !md.is_file() {
        return Err(refuse(
            kind,
            Reason::NotRegular {
                what: describe(md),
                via: via.map(Path::to_path_buf),
            },
        ));
    }
    if md.len() > kind.cap() {
        return Err(refuse(kind, Reason::TooLarge { size: md.len() }));
    }
    Ok(())
}

/// Open a path that `stat` said is a regular file, without blocking and
/// (with `nofollow`) without following a link swapped in since; then
/// check again what was opened.
fn open_checked(path: &Path, kind: Kind, nofollow: bool, via: Option<&Path>) -> io::Result<File> {
    let mut opts = fs::OpenOptions::new();
    opts.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        let mut flags = libc::O_NONBLOCK | libc::O_NOCTTY;
        if nofollow {
            flags |= libc::O_NOFOLLOW;
        }
        opts.custom_flags(flags);
    }
    #[cfg(not(unix))]
    let _ = nofollow;
    let f = opts.open(path)?;
    check_meta(&f.metadata()?, kind, via)?;
    Ok(f)
}

/// Read an opened file up to the cap; a file that grew past it meanwhile
/// is refused too.
fn read_open(f: File, kind: Kind, hint: u64) -> io::Result<Vec<u8>> {
    let cap = kind.cap();
    let mut out = Vec::with_capacity(hint.min(cap) as usize);
    f.take(cap + 1).read_to_end(&mut out)?;
    if out.len() as u64 > cap {
        return Err(refuse(
            kind,
            Reason::TooLarge {
                size: out.len() as u64,
            },
        ));
    }
    Ok(out)
}

/// Read a file of `kind`, following symbolic links wherever they lead
/// (for paths the user gave, and git's own files).
pub fn read(path: &Path, kind: Kind) -> io::Result<Vec<u8>> {
    let lmd = fs::symlink_metadata(path)?;
    let via = if lmd.file_type().is_symlink() {
        Some(fs::read_link(path).unwrap_or_default())
    } else {
        None
    };
    let md = match &via {
        Some(target) => fs::metadata(path).map_err(|e| dangling(e, kind, target))?,
        None => lmd,
    };
    check_meta(&md, kind, via.as_deref())?;
    let f = open_checked(path, kind, false, via.as_deref())?;
    read_open(f, kind, md.len())
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

/// [`read`] as text; invalid UTF-8 is replaced.
pub fn read_string(path: &Path, kind: Kind) -> io::Result<String> {
    read(path, kind).map(|b| match String::from_utf8(b) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })
}

fn dangling(e: io::Error, kind: Kind, target: &Path) -> io::Error {
    let loops = e.raw_os_error() == Some(libc_eloop());
    if e.kind() == io::ErrorKind::NotFound || loops {
        refuse(
            kind,
            Reason::Dangling {
                target: target.to_path_buf(),
            },
        )
    } else {
        e
    }
}

#[cfg(unix)]
fn libc_eloop() -> i32 {
    libc::ELOOP
}

#[cfg(not(unix))]
fn libc_eloop() -> i32 {
    -1
}

/// Read the file at `path` (inside `root`, which must be canonical) of
/// `kind`; a symbolic link, in the file's name or on the way to it, is
/// followed only while it stays inside `root`.
pub fn read_inside(root: &Path, path: &Path, kind: Kind) -> io::Result<Vec<u8>> {
    let lmd = fs::symlink_metadata(path)?;
    let link = lmd.file_type().is_symlink();
    let target = if link {
        Some(fs::read_link(path).unwrap_or_default())
    } else {
        None
    };
    let real = match fs::canonicalize(path) {
        Ok(r) => r,
        Err(e) => {
            return Err(match &target {
                Some(t) => dangling(e, kind, t),
                None => e,
            })
        }
    };
    if !real.starts_with(root) {
        let shown = target.unwrap_or_else(|| real.clone());
        return Err(refuse(kind, Reason::Outside { target: shown }));
    }
    let md = if link { fs::metadata(&real)? } else { lmd };
    check_meta(&md, kind, target.as_deref())?;
    let f = open_checked(&real, kind, true, target.as_deref())?;
    read_open(f, kind, md.len())
}

/// Whether a file of `kind` that something else (libgit2) will read is
/// safe to read: absent (`Ok(false)`), or a regular file within the cap
/// (`Ok(true)`, links followed); else the refusal.
pub fn check(path: &Path, kind: Kind) -> io::Result<bool> {
    let lmd = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    if lmd.file_type().is_symlink() {
        let target = fs::read_link(path).unwrap_or_default();
        let md = fs::metadata(path).map_err(|e| dangling(e, kind, &target))?;
        check_meta(&md, kind, Some(&target))?;
    } else {
        check_meta(&lmd, kind, None)?;
    }
    Ok(true)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;
    use std::time::{Duration, Instant};

    fn mkfifo(p: &Path) {
        let c = std::ffi::CString::new(p.as_os_str().to_str().unwrap()).unwrap();
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    }

    #[test]
    fn a_regular_file_is_read_whole() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("a.py");
        fs::write(&f, b"x = 1\n").unwrap();
        assert_eq!(read(&f, Kind::Migration).unwrap(), b"x = 1\n");
        let root = d.path().canonicalize().unwrap();
        assert_eq!(
            read_inside(&root, &root.join("a.py"), Kind::Migration).unwrap(),
            b"x = 1\n"
        );
        assert!(check(&f, Kind::GitState).unwrap());
        assert!(!check(&d.path().join("none"), Kind::GitState).unwrap());
        assert_eq!(
            read(&d.path().join("none"), Kind::Module)
                .unwrap_err()
                .kind(),
            io::ErrorKind::NotFound
        );
    }

    #[test]
    fn devices_and_fifos_are_refused_at_once() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().canonicalize().unwrap();
        symlink("/dev/zero", root.join("zero.py")).unwrap();
        mkfifo(&root.join("fifo.py"));
        let t = Instant::now();
        for (name, what, inside) in [
            ("zero.py", "character device", "outside the project"),
            ("fifo.py", "FIFO", "FIFO"),
        ] {
            let e = read_inside(&root, &root.join(name), Kind::Module).unwrap_err();
            assert!(e.to_string().contains(inside), "{e}");
            for e in [
                read(&root.join(name), Kind::Module).unwrap_err(),
                check(&root.join(name), Kind::GitState).unwrap_err(),
            ] {
                let r = refusal(&e).unwrap_or_else(|| panic!("{e}"));
                assert!(r.to_string().contains(what), "{r}");
            }
        }
        assert!(t.elapsed() < Duration::from_secs(2));
        let e = read_inside(&root, &root.join("zero.py"), Kind::Module).unwrap_err();
        assert!(e.to_string().contains("/dev/zero"), "{e}");
    }

    #[test]
    fn links_out_of_the_root_and_dangling_links_are_refused() {
        let d = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = d.path().canonicalize().unwrap();
        fs::write(outside.path().join("secret"), "s").unwrap();
        fs::write(root.join("real.py"), "r").unwrap();
        symlink(outside.path().join("secret"), root.join("out.py")).unwrap();
        symlink("real.py", root.join("in.py")).unwrap();
        symlink(root.join("real.py"), root.join("abs.py")).unwrap();
        symlink("nowhere.py", root.join("dangling.py")).unwrap();
        symlink("loop.py", root.join("loop.py")).unwrap();
        fs::create_dir(root.join("sub")).unwrap();
        symlink(outside.path(), root.join("sub/dir")).unwrap();
        assert_eq!(
            read_inside(&root, &root.join("in.py"), Kind::Migration).unwrap(),
            b"r"
        );
        assert_eq!(
            read_inside(&root, &root.join("abs.py"), Kind::Migration).unwrap(),
            b"r"
        );
        for (name, word) in [
            ("out.py", "outside the project"),
            ("sub/dir/secret", "outside the project"),
            ("dangling.py", "does not lead to a file"),
            ("loop.py", "does not lead to a file"),
        ] {
            let e = read_inside(&root, &root.join(name), Kind::Migration).unwrap_err();
            assert!(refusal(&e).is_some(), "{name}: {e}");
            assert!(e.to_string().contains(word), "{name}: {e}");
        }
        // Followed anywhere when the path is the user's own.
        assert_eq!(read(&root.join("out.py"), Kind::Config).unwrap(), b"s");
    }

    #[test]
    fn files_over_the_cap_are_refused_before_reading() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join("max_migration.txt");
        let big = File::create(&f).unwrap();
        // Sparse: as large as it says, nothing written.
        big.set_len(Kind::Migration.cap() * 64).unwrap();
        let t = Instant::now();
        let e = read(&f, Kind::MaxMigration).unwrap_err();
        assert!(t.elapsed() < Duration::from_secs(1));
        assert!(e.to_string().contains("more than the 64 KiB"), "{e}");
        let e = read(&f, Kind::Migration).unwrap_err();
        assert!(e.to_string().contains("16 MiB"), "{e}");
    }
}
