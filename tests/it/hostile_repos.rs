//! Hostile repositories: what a pull request or a `git pull` can plant, and
//! what a damaged clone or a signal can leave. djmig must never hang, grow
//! without bound, panic, or answer wrongly in silence: each case ends within
//! a bounded time with a documented exit code, a message naming the file or
//! object and the fix, and nothing changed.
//!
//! Every run goes through [`bounded`]: the real binary, spawned, killed and
//! failed if it has not finished in [`LIMIT`]. Files a test plants that can
//! be committed live in `fixtures/hostile/`; FIFOs, links to devices and
//! missing objects are made here.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::support::{self, copy_tree, djmig_std, fixture, hermetic_git, temp_home, write, Run};

/// The longest any run here may take; a hang is a failure, not a wait.
const LIMIT: Duration = Duration::from_secs(20);

/// Run `cmd` to completion within [`LIMIT`], its output captured; kill it
/// and fail when it takes longer.
#[track_caller]
fn bounded(mut cmd: Command) -> Run {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn djmig");
    let (mut out, mut err) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
    let reader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = out.read_to_end(&mut b);
        b
    });
    let ereader = std::thread::spawn(move || {
        let mut b = Vec::new();
        let _ = err.read_to_end(&mut b);
        b
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("try_wait") {
            break s;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {LIMIT:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Run::from_output(std::process::Output {
        status,
        stdout: reader.join().unwrap(),
        stderr: ereader.join().unwrap(),
    })
}

/// What is in a directory, without reading anything that is not a regular
/// file: path → content hash, link target, or kind.
fn fingerprint(dir: &Path) -> BTreeMap<String, String> {
    fn walk(top: &Path, dir: &Path, out: &mut BTreeMap<String, String>) {
        let Ok(rd) = fs::read_dir(dir) else { return };
        for e in rd.flatten() {
            let p = e.path();
            let rel = p.strip_prefix(top).unwrap().to_string_lossy().into_owned();
            // djmig's own directory may change (caches); objects never do.
            if rel.ends_with(".git/djmig") || rel.ends_with(".git/objects") {
                continue;
            }
            let md = fs::symlink_metadata(&p).unwrap();
            let v = if md.is_dir() {
                walk(top, &p, out);
                "dir".to_string()
            } else if md.file_type().is_symlink() {
                format!("-> {}", fs::read_link(&p).unwrap().display())
            } else if md.is_file() {
                let b = fs::read(&p).unwrap();
                git2::Oid::hash_object(git2::ObjectType::Blob, &b)
                    .unwrap()
                    .to_string()
            } else {
                "special".to_string()
            };
            out.insert(rel, v);
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// A repository holding `fixtures/linear`, committed on `main`.
struct Proj {
    _tmp: TempDir,
    home: PathBuf,
    path: PathBuf,
}

impl Proj {
    fn linear() -> Proj {
        let (tmp, home) = temp_home("djmig-hostile-");
        let path = home.join("repo");
        copy_tree(&fixture("linear"), &path);
        let p = Proj {
            _tmp: tmp,
            home,
            path,
        };
        p.git(&["init", "-q"]);
        p.commit("base");
        p
    }

    #[track_caller]
    fn git_in(&self, dir: &Path, args: &[&str]) -> String {
        let out = support::git_command(dir, &self.home)
            .args(args)
            .output()
            .expect("run git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    #[track_caller]
    fn git(&self, args: &[&str]) -> String {
        self.git_in(&self.path, args)
    }

    fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    fn at(&self, rel: &str) -> PathBuf {
        self.path.join(rel)
    }

    fn command(&self, dir: &Path, args: &[&str]) -> Command {
        let mut cmd = djmig_std();
        hermetic_git(&mut cmd, &self.home);
        cmd.env_remove("GITHUB_ACTIONS")
            .arg("-C")
            .arg(dir)
            .args(args);
        cmd
    }

    /// `djmig -C DIR ARGS`, bounded, and nothing under `dir`'s repository
    /// changed (djmig's own cache directory aside).
    #[track_caller]
    fn dj_at(&self, dir: &Path, args: &[&str]) -> Run {
        let before = fingerprint(&self.home);
        let run = bounded(self.command(dir, args));
        let after = fingerprint(&self.home);
        assert_eq!(
            before, after,
            "djmig {args:?} changed files\n{}",
            run.stderr
        );
        run
    }

    #[track_caller]
    fn dj(&self, args: &[&str]) -> Run {
        self.dj_at(&self.path, args)
    }
}

#[cfg(unix)]
fn mkfifo(p: &Path) {
    let _ = fs::remove_file(p);
    let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
    // SAFETY: mkfifo(3) on a path this test owns.
    assert_eq!(
        unsafe { libc::mkfifo(c.as_ptr(), 0o644) },
        0,
        "mkfifo {p:?}"
    );
}

#[cfg(unix)]
fn link(target: &str, p: &Path) {
    let _ = fs::remove_file(p);
    std::os::unix::fs::symlink(target, p).unwrap();
}

/// The files of the project a hostile copy replaces, with the exit code
/// `check` gives and what the message must say.
const PLANTED: &[(&str, i32)] = &[
    ("blog/apps.py", 3),
    ("manage.py", 3),
    ("mysite/settings.py", 3),
    ("blog/migrations/0002_post_body.py", 3),
    ("blog/migrations/max_migration.txt", 1),
    (".djmig.yml", 2),
];

// ------------------------------------------------------------ endless reads

#[cfg(unix)]
#[test]
fn a_link_to_dev_zero_where_djmig_reads_is_refused_at_once() {
    for (file, code) in PLANTED {
        let p = Proj::linear();
        link("/dev/zero", &p.at(file));
        let run = p.dj(&["check"]);
        run.expect_code(*code).stderr_has(file);
        // A migration file that is a device is what Python cannot import
        // (ModuleNotFoundError); the others are named with their target.
        if file.ends_with("0002_post_body.py") {
            run.stderr_has("not a regular file")
                .stderr_has("ModuleNotFoundError");
        } else {
            run.stderr_has("/dev/zero");
        }
        assert!(
            run.stderr.contains("replace it") || run.stderr.contains("--config"),
            "{file}: no fix named\n{}",
            run.stderr
        );
    }
}

#[cfg(unix)]
#[test]
fn a_fifo_where_djmig_reads_does_not_block() {
    for (file, code) in PLANTED {
        let p = Proj::linear();
        mkfifo(&p.at(file));
        let run = p.dj(&["check"]);
        run.expect_code(*code).stderr_has(file).stderr_has("a FIFO");
    }
    // A FIFO named like a migration is what Python cannot import: Django's
    // ModuleNotFoundError, an `import_error`; graph reads the work tree too.
    let p = Proj::linear();
    mkfifo(&p.at("blog/migrations/0003_post_published.py"));
    p.dj(&["graph", "--format", "json"])
        .expect_code(3)
        .stdout_has("\"import_error\"")
        .stdout_has("a FIFO");
}

#[cfg(unix)]
#[test]
fn a_link_out_of_the_project_is_not_followed() {
    let p = Proj::linear();
    let outside = p.home.join("outside.py");
    fs::copy(p.at("blog/migrations/0002_post_body.py"), &outside).unwrap();
    link(
        outside.to_str().unwrap(),
        &p.at("blog/migrations/0002_post_body.py"),
    );
    p.dj(&["check"])
        .expect_code(3)
        .stderr_has("blog/migrations/0002_post_body.py")
        .stderr_has("outside the project");
    // A link inside the project is read as its target.
    let p = Proj::linear();
    fs::rename(p.at("blog/apps.py"), p.at("blog/real_apps.py")).unwrap();
    link("real_apps.py", &p.at("blog/apps.py"));
    p.dj(&["check"]).expect_code(0);
}

#[cfg(unix)]
#[test]
fn an_oversized_file_is_refused_without_reading_it() {
    let p = Proj::linear();
    let big = fs::File::create(p.at("blog/migrations/0004_big.py")).unwrap();
    big.set_len(64 * 1024 * 1024).unwrap(); // sparse
    p.dj(&["check"])
        .expect_code(3)
        .stderr_has("blog/migrations/0004_big.py")
        .stderr_has("more than the 16 MiB");
    let p = Proj::linear();
    fs::File::create(p.at("blog/apps.py"))
        .unwrap()
        .set_len(2 * 1024 * 1024)
        .unwrap();
    p.dj(&["check"])
        .expect_code(3)
        .stderr_has("blog/apps.py")
        .stderr_has("more than the 1 MiB");
}

/// Committed upstream, a link to /dev/zero reaches CI (`check --base`) and
/// every hook after `git pull`: both end at once and name it.
#[cfg(unix)]
#[test]
fn a_link_to_dev_zero_committed_upstream_is_refused_at_that_revision_and_in_hooks() {
    let p = Proj::linear();
    p.git(&["checkout", "-q", "-b", "feature"]);
    p.git(&["checkout", "-q", "main"]);
    link("/dev/zero", &p.at("blog/apps.py"));
    p.commit("hostile");
    p.git(&["checkout", "-q", "feature"]);
    p.dj(&["graph", "--ref", "main"])
        .expect_code(3)
        .stderr_has("blog/apps.py")
        .stderr_has("/dev/zero");
    p.dj(&["check", "--base", "main"])
        .expect_code(3)
        .stderr_has("blog/apps.py")
        .stderr_has("outside the project");

    // The hook that runs after the merge finishes quickly and says so.
    bounded(p.command(&p.path, &["hook", "install"])).expect_code(0);
    let mut merge = support::git_command(&p.path, &p.home);
    merge.args(["merge", "-q", "--no-edit", "main"]);
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_djmig"));
    let path = format!(
        "{}:{}",
        exe.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    merge.env("PATH", path);
    let t = Instant::now();
    let run = bounded(merge);
    run.expect_code(0);
    assert!(t.elapsed() < Duration::from_secs(10), "{:?}", t.elapsed());
    assert!(run.stderr.contains("djmig"), "{}", run.stderr);
    assert!(!run.stderr.contains("Killed"), "{}", run.stderr);
}

// ------------------------------------------------------ the git directory

#[cfg(unix)]
#[test]
fn special_files_in_the_git_directory_are_refused_by_name() {
    for (file, special) in [
        (".git/index", "fifo"),
        (".git/MERGE_HEAD", "zero"),
        (".git/ORIG_HEAD", "fifo"),
        (".git/HEAD", "fifo"),
        (".git/refs/heads/hostile", "zero"),
    ] {
        let p = Proj::linear();
        if special == "fifo" {
            mkfifo(&p.at(file));
        } else {
            link("/dev/zero", &p.at(file));
        }
        let run = bounded(p.command(&p.path, &["check"]));
        run.expect_code(4)
            .stderr_has(file)
            .stderr_has("git never writes");
    }
}

#[cfg(unix)]
#[test]
fn special_files_among_djmigs_own_are_ignored_or_named() {
    // Caches: ignored, the answer read again.
    let p = Proj::linear();
    p.dj(&["check"]).expect_code(0);
    let cache = p.at(".git/djmig");
    link("/dev/zero", &cache.join("parse-cache-v1.bin"));
    for e in fs::read_dir(cache.join("results-v1")).unwrap().flatten() {
        mkfifo(&e.path());
    }
    p.dj(&["check"])
        .expect_code(0)
        .stdout_has("No conflicts: 1 app(s)");
    // The journal's manifest: check goes on, undo names it (exit 5).
    fs::create_dir_all(cache.join("journal")).unwrap();
    mkfifo(&cache.join("journal/manifest.json"));
    p.dj(&["check"]).expect_code(0);
    p.dj(&["undo", "--yes"])
        .expect_code(5)
        .stderr_has("manifest.json")
        .stderr_has("a FIFO");
}

// ------------------------------------------------------------- .djmig.yml

#[test]
fn deeply_nested_djmig_yml_is_refused_quickly() {
    let p = Proj::linear();
    let mut text = String::from("settings:\n");
    let mut depth = 0;
    while text.len() < 200_000 {
        depth += 1;
        text.push_str(&" ".repeat(depth * 2));
        text.push_str("- a:\n");
    }
    write(&p.at(".djmig.yml"), &text);
    let t = Instant::now();
    p.dj(&["check"]).expect_code(2).stderr_has(".djmig.yml:");
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
    let flow = format!("exclude: {}{}\n", "[".repeat(150_000), "]".repeat(150_000));
    write(&p.at(".djmig.yml"), &flow);
    p.dj(&["check"])
        .expect_code(2)
        .stderr_has(".djmig.yml")
        .stderr_has("more than the 256 KiB");
    let nested = format!("exclude: {}{}\n", "[".repeat(1000), "]".repeat(1000));
    write(&p.at(".djmig.yml"), &nested);
    p.dj(&["check"])
        .expect_code(2)
        .stderr_has(".djmig.yml:1:")
        .stderr_has("nested more than 16 levels");
}

// ------------------------------------------------------- silent wrong answers

#[test]
fn check_and_graph_in_a_bare_repository_are_exit_4() {
    let p = Proj::linear();
    p.git_in(&p.home, &["clone", "-q", "--bare", "repo", "bare.git"]);
    let bare = p.home.join("bare.git");
    for args in [&["check"][..], &["graph"]] {
        p.dj_at(&bare, args)
            .expect_code(4)
            .stderr_has("bare repository")
            .stderr_has("--base REV --head REV");
    }
    // Revisions it has.
    p.dj_at(&bare, &["graph", "--ref", "main"])
        .expect_code(0)
        .stdout_has("0003_post_published");
}

/// Remove a loose object: the repository is damaged, as a partial clone
/// or a broken disk leaves it.
fn remove_object(p: &Proj, rev: &str) -> String {
    let id = p.git(&["rev-parse", rev]);
    let obj = p.at(&format!(".git/objects/{}/{}", &id[..2], &id[2..]));
    assert!(obj.is_file(), "{rev} is not a loose object");
    fs::remove_file(obj).unwrap();
    id
}

/// Two branches that each add a blog migration after 0003.
fn diverged() -> Proj {
    let p = Proj::linear();
    let mig = |name: &str| {
        format!(
            "from django.db import migrations\n\nclass Migration(migrations.Migration):\n    dependencies = [('blog', '0003_post_published')]\n    operations = []\n# {name}\n"
        )
    };
    p.git(&["checkout", "-q", "-b", "feature"]);
    write(&p.at("blog/migrations/0004_a.py"), &mig("a"));
    p.commit("a");
    p.git(&["checkout", "-q", "main"]);
    write(&p.at("blog/migrations/0004_b.py"), &mig("b"));
    p.commit("b");
    p.git(&["checkout", "-q", "feature"]);
    p
}

#[test]
fn a_missing_tree_or_blob_is_exit_4_not_an_empty_answer() {
    for what in ["main:blog/migrations", "main:blog/migrations/0004_b.py"] {
        let p = diverged();
        let id = remove_object(&p, what);
        for args in [
            &["check", "--base", "main"][..],
            &["graph", "--ref", "main"],
            &["scan"],
        ] {
            p.dj(args)
                .expect_code(4)
                .stderr_has(&id)
                .stderr_has("missing")
                .stderr_has("git fsck");
        }
    }
}

#[test]
fn scan_in_a_shallow_clone_is_exit_4_with_the_unshallow_hint() {
    let p = diverged();
    // feature/c builds on feature: not a collision with it, which only the
    // history can tell.
    p.git(&["checkout", "-q", "-b", "feature-c"]);
    write(&p.at("README.txt"), "c\n");
    p.commit("c");
    p.dj(&["scan"]).expect_code(1);
    let url = format!("file://{}", p.path.display());
    p.git_in(
        &p.home,
        &[
            "clone",
            "-q",
            "--depth",
            "1",
            "--no-single-branch",
            &url,
            "shallow",
        ],
    );
    let shallow = p.home.join("shallow");
    p.dj_at(&shallow, &["scan", "--base", "origin/main"])
        .expect_code(4)
        .stderr_has("shallow")
        .stderr_has("--unshallow");
}

#[test]
fn apps_in_a_submodule_are_named_where_they_are_not_read() {
    let p = Proj::linear();
    let sub = p.home.join("vendored");
    write(&sub.join("shop/__init__.py"), "");
    write(&sub.join("shop/migrations/__init__.py"), "");
    write(
        &sub.join("shop/migrations/0001_initial.py"),
        "from django.db import migrations\n\nclass Migration(migrations.Migration):\n    initial = True\n    operations = []\n",
    );
    p.git_in(&sub, &["init", "-q"]);
    p.git_in(&sub, &["add", "-A"]);
    p.git_in(&sub, &["commit", "-q", "-m", "vendored"]);
    p.git(&[
        "-c",
        "protocol.file.allow=always",
        "submodule",
        "add",
        "-q",
        sub.to_str().unwrap(),
        "vendor",
    ]);
    p.commit("with a submodule");
    // The work tree reads it as Django would.
    let run = p.dj(&["check", "--format", "json"]);
    run.expect_code(0);
    assert!(run.json()["apps"].get("shop").is_some(), "{}", run.stdout);
    // A revision does not, and says so.
    let run = p.dj(&["graph", "--ref", "HEAD", "--format", "json"]);
    run.expect_code(0);
    let warnings = run.json()["warnings"].to_string();
    assert!(warnings.contains("\"submodule\""), "{warnings}");
    assert!(warnings.contains("vendor"), "{warnings}");
    // Excluded: nothing to say.
    write(&p.at(".djmig.yml"), "exclude: [vendor]\n");
    p.commit("exclude vendor");
    let run = p.dj(&["graph", "--ref", "HEAD", "--format", "json"]);
    assert!(!run.json()["warnings"].to_string().contains("submodule"));
}

#[test]
fn an_app_deeper_than_path_max_is_named() {
    let p = Proj::linear();
    // Made with relative steps: no single path given to the system is
    // too long, only the whole.
    let name = "d".repeat(200);
    let script = format!(
        "import os\n\
         for _ in range(22):\n    os.mkdir('{name}'); os.chdir('{name}')\n\
         os.makedirs('deepapp/migrations')\n\
         open('deepapp/migrations/__init__.py', 'w').close()\n\
         open('deepapp/migrations/0001_initial.py', 'w').write(\
         'from django.db import migrations\\nclass Migration(migrations.Migration):\\n    operations = []\\n')\n"
    );
    let out = Command::new("python3")
        .arg("-c")
        .arg(&script)
        .current_dir(&p.path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = bounded(p.command(&p.path, &["check"]));
    run.expect_code(0)
        .stderr_has("warning: ")
        .stderr_has("cannot list this directory")
        .stderr_has(&name);
    let run = bounded(p.command(&p.path, &["check", "--format", "json"]));
    assert!(
        run.json()["warnings"]
            .to_string()
            .contains("\"unreadable_directory\""),
        "{}",
        run.stdout
    );
}

// --------------------------------------------------------- interruptions

/// After a resolution was killed in the middle of an atomic write, its
/// temporary file is still beside the file: undo removes it.
#[test]
fn undo_removes_the_temporary_file_a_kill_left() {
    let p = diverged();
    p.git(&["merge", "-q", "--no-edit", "main"]);
    let file = p.at("blog/migrations/0004_b.py");
    let journal =
        djmig::testing::Journal::begin(&p.path, "resolve blog", std::slice::from_ref(&file))
            .expect("begin a journal");
    drop(journal); // killed: never finished
    let tmp = p.at("blog/migrations/.0004_b.py.djmig-4242-1.tmp");
    fs::write(&tmp, "half written").unwrap();
    let run = bounded(p.command(&p.path, &["undo", "--yes"]));
    run.expect_code(0).stdout_has(".0004_b.py.djmig-4242-1.tmp");
    assert!(!tmp.exists());
    p.dj(&["check"]).expect_code(1);
}

/// Ctrl-C in the middle of `resolve --yes` (while makemigrations runs): the
/// running step finishes, djmig stops before the next with exit 5 — not
/// killed by the signal — and points to `djmig undo`, which gives back
/// every byte.
#[cfg(unix)]
#[test]
fn ctrl_c_during_resolve_finishes_the_step_and_exits_5() {
    use crate::scenario::{assert_same_files, Scenario, MIG};
    let s = Scenario::basic();
    let marker = s.home.join("makemigrations.started");
    let fake = s.home.join("fake-python.sh");
    fs::write(
        &fake,
        format!(
            "#!/bin/sh\n\
             for a in \"$@\"; do\n\
             \x20 if [ \"$a\" = makemigrations ]; then touch '{m}'; sleep 2; fi\n\
             done\n\
             exec '{py}' \"$@\"\n",
            m = marker.display(),
            py = s.python.display()
        ),
    )
    .unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
    }
    s.write(".djmig.yml", &format!("python: {}\n", fake.display()));
    s.git(&["add", ".djmig.yml"]);
    s.git(&["commit", "-q", "-m", "fake python"]);
    let before = s.files();

    // As a terminal does: the signal goes to djmig's whole process group.
    let mut cmd = s.djmig_std();
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    let mut child = cmd
        .args(["resolve", "--yes", "--strategy", "regenerate"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn djmig");
    let deadline = Instant::now() + Duration::from_secs(90);
    while !marker.exists() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "djmig ended before makemigrations"
        );
        assert!(Instant::now() < deadline, "makemigrations not reached");
        std::thread::sleep(Duration::from_millis(20));
    }
    // SAFETY: kill(2) on the process group of the djmig this test started.
    unsafe {
        libc::kill(-(child.id() as i32), libc::SIGINT);
    }
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("djmig did not stop within 60 s of Ctrl-C");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let run = Run::from_output(child.wait_with_output().unwrap());
    run.expect_code(5)
        .stderr_has("stopped by a signal (Ctrl-C) between two steps")
        .stderr_has("djmig undo");
    // makemigrations finished: its file is there, and nothing after it ran.
    let new: Vec<String> = s
        .files()
        .keys()
        .filter(|k| k.starts_with(MIG) && !before.contains_key(*k))
        .cloned()
        .collect();
    assert_eq!(
        new.len(),
        1,
        "makemigrations did not finish: {new:?}\n{}",
        run.stdout
    );
    s.dj(&["check"]).expect_code(5).stderr_has("djmig undo");
    s.dj(&["undo", "--yes"]).expect_code(0);
    assert_same_files(&before, &s.files(), "undo after Ctrl-C");
}

/// Every hostile `.djmig.yml` of `fixtures/hostile/config/` is refused at
/// once with exit 2, naming the file (and a line where there is one).
#[test]
fn every_hostile_configuration_in_the_corpus_is_refused_quickly() {
    let dir = support::fixtures_dir().join("hostile/config");
    let mut names: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    names.sort();
    assert!(names.len() >= 6, "{names:?}");
    for cfg in names {
        let mut cmd = djmig_std();
        cmd.arg("-C")
            .arg(fixture("linear"))
            .arg("--config")
            .arg(&cfg)
            .arg("check");
        let t = Instant::now();
        let run = bounded(cmd);
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "{cfg:?}: {:?}",
            t.elapsed()
        );
        run.expect_code(2)
            .stderr_has(cfg.file_name().unwrap().to_str().unwrap());
        if cfg.ends_with("wrong_type_nested.yml") {
            run.stderr_has(":4:").stderr_has("hooks.database_check");
        }
        if cfg.ends_with("duplicate_keys.yml") {
            run.stderr_has(":3:");
        }
    }
}
