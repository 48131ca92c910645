//! The journal: nothing a user had is ever lost.
//!
//! Before a resolution writes anything, [`Journal::begin`] copies every file
//! it may touch, byte for byte, into the journal directory and writes a
//! manifest that says what each file was (content hash, mode, or absent).
//! [`undo`] puts every recorded file back from the manifest alone, so it
//! works after djmig was killed half-way as well as after a finished
//! resolution.
//!
//! Layout: `<git dir>/djmig/journal/` inside a git repository (the git dir of
//! the work tree, so each linked worktree has its own), else
//! `<root>/.djmig/journal/`:
//!
//! ```text
//! djmig/journal/manifest.json     what was recorded, and the state
//! djmig/journal/files/0000        the original bytes (or a symlink's target)
//! djmig/journal/before-undo/      what undo replaced, in case it was wanted
//! djmig/journal.prev/             the journal before, kept for reference
//! ```
//!
//! Crash safety: the journal is built in `journal.tmp-*` and renamed into
//! place, manifest included, before `begin` returns; every later manifest
//! change is written to a temporary file, fsynced and renamed. A journal is
//! `in_progress` until [`Journal::finish`]; while one is, `begin` refuses.
//! Undo is idempotent until it marks the journal `undone`, so an undo that
//! was itself interrupted can be run again.

mod atomic;
pub mod effects;
mod files;
mod location;
mod manifest;
mod record;
mod undo;

pub use atomic::write_atomic;
pub use effects::{
    last_record, mark_effect_undone, mark_undone, restore_database, Effect, Phase, Record,
};
#[cfg(test)]
pub use effects::{DatabaseRecord, EffectRecord};
pub use location::{last, JournalInfo};
pub use manifest::State;
pub use record::Journal;
pub use undo::restore_files;
#[cfg(test)]
pub use undo::undo;

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::{Path, PathBuf};
    use std::time::{Duration, Instant};

    #[cfg(unix)]
    pub(super) fn mode(p: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(p).unwrap().permissions().mode() & 0o7777
    }

    /// A project in a git-like directory (`.git/` is all `locate` needs).
    pub(super) fn project() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join(".git")).unwrap();
        fs::create_dir_all(d.path().join("blog/migrations")).unwrap();
        d
    }

    pub(super) const BINARY: &[u8] = b"\x00\xff\xfe\r\n\x80binary\x00\r";

    const CRASH_ENV: &str = "DJMIG_JOURNAL_CRASH_CHILD";

    /// The child half of `killed_halfway_is_undone`: begins a journal, makes
    /// half the changes, says so, and waits to be killed. A no-op unless the
    /// parent test started it.
    #[test]
    fn crash_child() {
        let Some(root) = std::env::var_os(CRASH_ENV) else {
            return;
        };
        let r = PathBuf::from(root);
        let files: Vec<PathBuf> = (0..6).map(|i| r.join(format!("f{i}.py"))).collect();
        let mut all = files.clone();
        all.push(r.join("new.py"));
        let mut j = Journal::begin(&r, "killed", &all).unwrap();
        for f in &files[..3] {
            write_atomic(f, b"changed by the child").unwrap();
        }
        fs::remove_file(&files[3]).unwrap();
        write_atomic(&r.join("new.py"), b"created").unwrap();
        j.record_extra(&r.join("also_new.py")).unwrap();
        fs::write(r.join("also_new.py"), b"created too").unwrap();
        fs::write(r.join("ready"), b"").unwrap();
        std::thread::sleep(Duration::from_secs(120));
        panic!("the parent did not kill this process");
    }

    #[cfg(unix)]
    #[test]
    fn killed_halfway_is_undone() {
        let d = project();
        let r = d.path();
        for i in 0..6 {
            let mut bytes = BINARY.to_vec();
            bytes.push(i);
            fs::write(r.join(format!("f{i}.py")), bytes).unwrap();
        }
        let exe = std::env::current_exe().unwrap();
        let mut child = std::process::Command::new(exe)
            .args([
                "--exact",
                "adapters::store::journal::tests::crash_child",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CRASH_ENV, r)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !r.join("ready").exists() {
            if let Ok(Some(status)) = child.try_wait() {
                panic!("the child exited early: {status}");
            }
            assert!(Instant::now() < deadline, "the child never got ready");
            std::thread::sleep(Duration::from_millis(20));
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        fs::remove_file(r.join("ready")).unwrap();

        assert_eq!(last(r).unwrap().unwrap().state, State::InProgress);
        assert!(Journal::begin(r, "next", &[]).is_err());
        let rep = undo(r, false).unwrap();
        assert!(!rep.was_complete);
        for i in 0..6 {
            let mut bytes = BINARY.to_vec();
            bytes.push(i);
            assert_eq!(fs::read(r.join(format!("f{i}.py"))).unwrap(), bytes, "f{i}");
        }
        assert!(!r.join("new.py").exists());
        assert!(!r.join("also_new.py").exists());
        assert_eq!(rep.restored.len(), 4, "{rep:?}");
        assert_eq!(rep.unchanged.len(), 2, "{rep:?}");
        // Only the project's own files remain, and no temporary files.
        let mut names: Vec<String> = fs::read_dir(r)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [".git", "blog", "f0.py", "f1.py", "f2.py", "f3.py", "f4.py", "f5.py"]
        );
    }
}
