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
//! how to fix it; [`crate::core::limits::refusal`] tells it apart from
//! other errors. The caps and the refusals themselves are pure and live in
//! [`crate::core::limits`].

use std::fs::{self, File, Metadata};
use std::io::{self, Read};
use std::path::Path;

use crate::core::limits::{refuse, Kind, Reason};

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
    use crate::core::limits::refusal;
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
