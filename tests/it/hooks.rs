//! `djmig hook`: installing into real repositories (existing hooks kept,
//! idempotent, byte-for-byte uninstall, `core.hooksPath`, linked worktrees),
//! and the installed hooks fired by real `git merge`, `git rebase` and
//! `git checkout`. Git runs hermetically: no system or global config, a HOME
//! of its own, fixed dates, and the djmig under test first on PATH.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{self, copy_fixture, djmig, git_command, hermetic_git};

/// The directory of the djmig binary under test.
fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_djmig"))
        .parent()
        .expect("binary has a directory")
        .to_path_buf()
}

/// PATH with `first` in front.
fn path_with(first: &Path) -> OsString {
    let mut dirs = vec![first.to_path_buf()];
    if let Some(p) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&p));
    }
    std::env::join_paths(dirs).expect("join PATH")
}

/// A git repository holding a copy of a fixture project, with one commit on
/// `main`.
struct Repo {
    dir: tempfile::TempDir,
    home: tempfile::TempDir,
    /// What goes first on PATH for git (and so for the hooks).
    path_first: PathBuf,
}

impl Repo {
    fn new(fixture: &str) -> Repo {
        let repo = Repo {
            dir: copy_fixture(fixture),
            home: tempfile::tempdir().expect("temp HOME"),
            path_first: bin_dir(),
        };
        repo.write(".gitignore", "__pycache__/\ndb.sqlite3\n");
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", "initial"]);
        repo
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// [`hermetic_git`] with this repository's HOME, plus: none of the
    /// caller's `DJMIG_*` variables, virtualenv or Django settings, no
    /// colour, and `path_first` first on PATH.
    fn hermetic(&self, cmd: &mut Command) {
        hermetic_git(cmd, self.home.path());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("DJMIG_") {
                cmd.env_remove(&key);
            }
        }
        cmd.env("NO_COLOR", "1")
            .env("PATH", path_with(&self.path_first))
            .env_remove("VIRTUAL_ENV")
            .env_remove("DJANGO_SETTINGS_MODULE");
    }

    /// Run git; the output whatever the status.
    fn git_output(&self, args: &[&str]) -> Output {
        let mut cmd = git_command(self.path(), self.home.path());
        self.hermetic(&mut cmd);
        cmd.args(args).output().expect("run git")
    }

    /// Run git and require success; its stdout, trimmed.
    #[track_caller]
    fn git_stdout(&self, args: &[&str]) -> String {
        let out = self.git_output(args);
        assert!(out.status.success(), "git {args:?} failed");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Run git and require success; its stderr.
    #[track_caller]
    fn git(&self, args: &[&str]) -> String {
        let out = self.git_output(args);
        assert!(
            out.status.success(),
            "git {args:?} failed ({})\n--- stdout\n{}\n--- stderr\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stderr).into_owned()
    }

    /// djmig in the repository (no `-C`: found from the current directory).
    fn djmig(&self) -> assert_cmd::Command {
        let mut cmd = djmig();
        cmd.current_dir(self.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("HOME", self.home.path())
            .env_remove("GIT_REFLOG_ACTION");
        cmd
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.path().join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, text).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    }

    fn hook(&self, name: &str) -> PathBuf {
        self.path().join(".git/hooks").join(name)
    }

    /// `djmig hook install`, which must succeed; its stdout.
    #[track_caller]
    fn install(&self, extra: &[&str]) -> String {
        let out = self
            .djmig()
            .args(["hook", "install"])
            .args(extra)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "hook install failed\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A branch off `main` that adds a field to blog's `Post` (the same
    /// line of models.py on every such branch: merging two of them stops
    /// on a text conflict) and the migration for it.
    fn branch_with_field(&self, branch: &str, field: &str) {
        self.git(&["checkout", "-q", "-b", branch, "main"]);
        let models = read(&self.path().join("blog/models.py"));
        self.write(
            "blog/models.py",
            &format!("{models}    {field} = models.IntegerField(default=0)\n"),
        );
        self.write(
            &format!("blog/migrations/0004_post_{field}.py"),
            &migration("0003_post_published"),
        );
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", field]);
        self.git(&["checkout", "-q", "main"]);
    }

    /// Resolve models.py's text conflict by keeping both fields.
    fn resolve_models_by_hand(&self, fields: &[&str]) {
        let models = read(&self.path().join("blog/models.py"));
        assert!(
            models.contains("<<<<<<<"),
            "no conflict in models.py:\n{models}"
        );
        let kept: String = models
            .lines()
            .filter(|l| {
                !l.starts_with("<<<<<<<") && !l.starts_with("=======") && !l.starts_with(">>>>>>>")
            })
            .map(|l| format!("{l}\n"))
            .collect();
        for f in fields {
            assert!(kept.contains(f), "{kept}");
        }
        self.write("blog/models.py", &kept);
        self.git(&["add", "blog/models.py"]);
    }

    /// A branch off `main` adding one migration to blog.
    fn branch_with_migration(&self, branch: &str, name: &str) {
        self.git(&["checkout", "-q", "-b", branch, "main"]);
        self.write(
            &format!("blog/migrations/{name}.py"),
            &migration("0003_post_published"),
        );
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", name]);
        self.git(&["checkout", "-q", "main"]);
    }
}

/// Every hook `djmig hook install` installs by default.
const ALL_HOOKS: [&str; 4] = ["post-merge", "post-rewrite", "post-checkout", "post-commit"];

fn migration(parent: &str) -> String {
    format!(
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    \
         dependencies = [(\"blog\", \"{parent}\")]\n    operations = []\n"
    )
}

#[cfg(unix)]
fn mode(p: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    fs::metadata(p).unwrap().permissions().mode() & 0o777
}

#[cfg(unix)]
fn set_mode(p: &Path, m: u32) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

// ------------------------------------------------------------- installing

#[test]
fn install_creates_executable_scripts_once_and_uninstall_deletes_them() {
    let repo = Repo::new("linear");
    let out = repo.install(&[]);
    for h in ALL_HOOKS {
        assert!(out.contains(&format!("{h}: created")), "{out}");
        let text = read(&repo.hook(h));
        assert!(text.starts_with("#!/bin/sh\n# >>> djmig >>>"), "{text}");
        assert!(
            text.contains(&format!("djmig hook run {h} \"$@\"")),
            "{text}"
        );
        assert!(text.contains("|| true"), "{text}");
        // The running binary is the fallback.
        let exe = fs::canonicalize(env!("CARGO_BIN_EXE_djmig")).unwrap();
        assert!(text.contains(&exe.display().to_string()), "{text}");
        #[cfg(unix)]
        assert_eq!(mode(&repo.hook(h)), 0o755);
    }
    let before = read(&repo.hook("post-merge"));
    let again = repo.install(&[]);
    assert!(again.contains("post-merge: already installed"), "{again}");
    assert_eq!(read(&repo.hook("post-merge")), before);
    assert_eq!(before.matches("# >>> djmig >>>").count(), 1);

    let out = repo.djmig().args(["hook", "uninstall"]).output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("post-merge: deleted"), "{stdout}");
    for h in ALL_HOOKS {
        assert!(!repo.hook(h).exists(), "{h} should be gone");
    }
    let out = repo.djmig().args(["hook", "uninstall"]).output().unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("post-merge: no djmig block"));
}

#[test]
fn existing_hook_is_kept_and_restored_byte_for_byte() {
    let repo = Repo::new("linear");
    let user = "#!/bin/bash\n# my hook\r\necho \"merged\" >> .merges\nexit 0";
    let path = repo.hook("post-merge");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, user).unwrap();
    #[cfg(unix)]
    set_mode(&path, 0o750);

    let out = repo.install(&["--hooks", "post-merge"]);
    assert!(out.contains("added djmig's block"), "{out}");
    let text = read(&path);
    assert!(text.starts_with("#!/bin/bash\n# >>> djmig >>>"), "{text}");
    assert!(
        text.ends_with("# <<< djmig <<<\n# my hook\r\necho \"merged\" >> .merges\nexit 0"),
        "{text}"
    );
    // Only the hook asked for.
    assert!(!repo.hook("post-checkout").exists());
    repo.install(&["--hooks", "post-merge"]);
    assert_eq!(read(&path), text, "installing twice changes nothing");

    let out = repo
        .djmig()
        .args(["hook", "uninstall", "--hooks", "post-merge"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(fs::read(&path).unwrap(), user.as_bytes());
    #[cfg(unix)]
    assert_eq!(mode(&path), 0o750);
}

#[test]
fn a_script_for_another_interpreter_is_left_alone() {
    let repo = Repo::new("linear");
    let py = "#!/usr/bin/env python3\nprint('hi')\n";
    let path = repo.hook("post-merge");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, py).unwrap();
    let out = repo.djmig().args(["hook", "install"]).output().unwrap();
    assert_eq!(out.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a shell script"), "{stderr}");
    assert_eq!(read(&path), py);
    // The others are installed.
    assert!(read(&repo.hook("post-checkout")).contains("# >>> djmig >>>"));
}

#[test]
fn unknown_hook_names_are_a_usage_error() {
    let repo = Repo::new("linear");
    let out = repo
        .djmig()
        .args(["hook", "install", "--hooks", "pre-commit"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("post-merge, post-rewrite, post-checkout, post-commit"));
}

#[test]
fn core_hooks_path_is_honoured() {
    let repo = Repo::new("linear");
    repo.git(&["config", "core.hooksPath", ".githooks"]);
    // From a subdirectory: the relative path is relative to the work-tree top.
    let out = repo
        .djmig()
        .current_dir(repo.path().join("blog"))
        .args(["hook", "install"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(repo.path().join(".githooks/post-merge").is_file());
    assert!(!repo.path().join("blog/.githooks").exists());
    assert!(!repo.hook("post-merge").exists());

    let abs = tempfile::tempdir().unwrap();
    repo.git(&[
        "config",
        "core.hooksPath",
        &abs.path().display().to_string(),
    ]);
    repo.install(&[]);
    assert!(abs.path().join("post-checkout").is_file());
}

#[test]
fn linked_worktrees_share_the_hooks() {
    let repo = Repo::new("linear");
    let wt = tempfile::tempdir().unwrap();
    let wt_path = wt.path().join("wt");
    repo.git(&["worktree", "add", "-q", &wt_path.display().to_string()]);
    let out = repo
        .djmig()
        .arg("-C")
        .arg(&wt_path)
        .args(["hook", "install"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(repo.hook("post-merge").is_file());
}

#[test]
fn a_project_below_the_top_is_named_in_the_hook() {
    // The Django project in backend/, the repository around it.
    let repo = Repo::new("linear");
    let top = repo.path();
    fs::create_dir(top.join("backend")).unwrap();
    for entry in ["blog", "mysite", "manage.py"] {
        fs::rename(top.join(entry), top.join("backend").join(entry)).unwrap();
    }
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "move"]);
    let out = repo
        .djmig()
        .args(["-C", "backend", "hook", "install"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = read(&repo.hook("post-merge"));
    assert!(
        text.contains("djmig -C backend hook run post-merge"),
        "{text}"
    );

    repo.git(&["checkout", "-q", "-b", "a"]);
    repo.write(
        "backend/blog/migrations/0004_a.py",
        &migration("0003_post_published"),
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "a"]);
    repo.git(&["checkout", "-q", "-b", "b", "HEAD~1"]);
    repo.write(
        "backend/blog/migrations/0004_b.py",
        &migration("0003_post_published"),
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "b"]);
    let stderr = repo.git(&["merge", "-q", "--no-edit", "a"]);
    assert!(stderr.contains("djmig -C backend resolve blog"), "{stderr}");
}

// ---------------------------------------------------------------- firing

#[test]
fn a_real_merge_warns_about_the_conflict() {
    let repo = Repo::new("linear");
    repo.branch_with_migration("a", "0004_post_a");
    repo.branch_with_migration("b", "0004_post_b");
    repo.install(&[]);

    // A fast-forward: one leaf, nothing said.
    let quiet = repo.git(&["merge", "-q", "a"]);
    assert!(!quiet.contains("djmig"), "{quiet}");
    // A real merge: both leaves.
    let stderr = repo.git(&["merge", "-q", "--no-edit", "b"]);
    assert!(
        stderr.contains("djmig: warning: blog has 2 leaf migrations (0004_post_a, 0004_post_b)"),
        "{stderr}"
    );
    assert!(stderr.contains("djmig resolve blog"), "{stderr}");
    assert!(
        !stderr.contains('\x1b'),
        "no colour when NO_COLOR is set: {stderr:?}"
    );

    // Switching to a branch with the conflict says so; to one without, not.
    repo.git(&["branch", "merged"]);
    let stderr = repo.git(&["checkout", "-q", "a"]);
    assert!(!stderr.contains("djmig"), "{stderr}");
    let stderr = repo.git(&["checkout", "-q", "merged"]);
    assert!(stderr.contains("blog has 2 leaf migrations"), "{stderr}");
    // A file checkout (flag 0) says nothing.
    let stderr = repo.git(&["checkout", "-q", "a", "--", "blog/models.py"]);
    assert!(!stderr.contains("djmig"), "{stderr}");
}

#[test]
fn a_real_rebase_warns_once_after_rewriting() {
    let repo = Repo::new("linear");
    repo.branch_with_migration("a", "0004_post_a");
    repo.branch_with_migration("b", "0004_post_b");
    repo.install(&[]);
    repo.git(&["checkout", "-q", "b"]);
    let stderr = repo.git(&["rebase", "a"]);
    assert_eq!(
        stderr.matches("blog has 2 leaf migrations").count(),
        1,
        "post-rewrite warns, the rebase's own checkouts do not: {stderr}"
    );
    assert!(stderr.contains("djmig resolve blog"), "{stderr}");
}

/// `git merge` stops on the text conflict in models.py, so git runs no
/// post-merge; the `git commit` that concludes the merge runs post-commit.
#[test]
fn a_merge_stopped_on_a_models_conflict_warns_when_git_commit_concludes_it() {
    let repo = Repo::new("linear");
    repo.branch_with_field("a", "a");
    repo.branch_with_field("b", "b");
    repo.install(&[]);
    repo.git(&["checkout", "-q", "a"]);
    let out = repo.git_output(&["merge", "--no-edit", "b"]);
    assert!(!out.status.success(), "the merge should stop on models.py");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("djmig"), "no hook runs yet: {stderr}");

    repo.resolve_models_by_hand(&["a = ", "b = "]);
    let stderr = repo.git(&["commit", "-q", "--no-edit"]);
    assert!(
        stderr.contains("djmig: warning: blog has 2 leaf migrations (0004_post_a, 0004_post_b)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("djmig: fix it with: djmig resolve blog"),
        "{stderr}"
    );
    assert_eq!(stderr.matches("blog has 2 leaf").count(), 1, "{stderr}");

    // A plain commit on top says nothing, though the conflict is still there.
    repo.write("README.txt", "notes\n");
    repo.git(&["add", "README.txt"]);
    let stderr = repo.git(&["commit", "-q", "-m", "readme"]);
    assert!(!stderr.contains("djmig"), "{stderr}");
    // Nor does amending it in post-commit; post-rewrite speaks, once.
    let stderr = repo.git(&["commit", "-q", "--amend", "--no-edit"]);
    assert_eq!(stderr.matches("blog has 2 leaf").count(), 1, "{stderr}");
}

/// `git merge --continue` is `git commit`: the same warning.
#[test]
fn merge_continue_warns_too() {
    let repo = Repo::new("linear");
    repo.branch_with_field("a", "a");
    repo.branch_with_field("b", "b");
    repo.install(&["--hooks", "post-commit"]);
    repo.git(&["checkout", "-q", "a"]);
    assert!(!repo
        .git_output(&["merge", "--no-edit", "b"])
        .status
        .success());
    repo.resolve_models_by_hand(&["a = ", "b = "]);
    let stderr = repo.git(&["merge", "--continue"]);
    assert!(stderr.contains("blog has 2 leaf migrations"), "{stderr}");
    assert!(stderr.contains("djmig resolve blog"), "{stderr}");
}

#[test]
fn cherry_pick_continue_after_a_models_conflict_warns() {
    let repo = Repo::new("linear");
    repo.branch_with_field("a", "a");
    repo.branch_with_field("b", "b");
    repo.install(&[]);
    repo.git(&["checkout", "-q", "a"]);
    let out = repo.git_output(&["cherry-pick", "b"]);
    assert!(
        !out.status.success(),
        "the cherry-pick should stop on models.py"
    );
    repo.resolve_models_by_hand(&["a = ", "b = "]);
    let stderr = repo.git(&["cherry-pick", "--continue"]);
    assert!(
        stderr.contains("djmig: warning: blog has 2 leaf migrations (0004_post_a, 0004_post_b)"),
        "{stderr}"
    );
    assert!(stderr.contains("djmig resolve blog"), "{stderr}");
}

/// A rebase commits as it goes (post-commit, silent); post-rewrite speaks
/// once at the end, also when the rebase stopped on a text conflict and
/// `git rebase --continue` finished it.
#[test]
fn rebase_continue_after_a_models_conflict_warns_once_through_post_rewrite() {
    let repo = Repo::new("linear");
    repo.branch_with_field("a", "a");
    repo.branch_with_field("b", "b");
    repo.install(&[]);
    repo.git(&["checkout", "-q", "b"]);
    let out = repo.git_output(&["rebase", "a"]);
    assert!(!out.status.success(), "the rebase should stop on models.py");
    assert!(!String::from_utf8_lossy(&out.stderr).contains("djmig"));
    repo.resolve_models_by_hand(&["a = ", "b = "]);
    let stderr = repo.git(&["rebase", "--continue"]);
    assert_eq!(
        stderr.matches("blog has 2 leaf migrations").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("djmig resolve blog"), "{stderr}");
}

/// With django-linear-migrations, both sides change max_migration.txt: a
/// merge stops on it every time.
#[test]
fn a_merge_stopped_on_max_migration_txt_warns_when_concluded() {
    let repo = Repo::new("linear");
    repo.write("blog/migrations/max_migration.txt", "0003_post_published\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "dlm"]);
    for name in ["a", "b"] {
        repo.git(&["checkout", "-q", "-b", name, "main"]);
        repo.write(
            &format!("blog/migrations/0004_post_{name}.py"),
            &migration("0003_post_published"),
        );
        repo.write(
            "blog/migrations/max_migration.txt",
            &format!("0004_post_{name}\n"),
        );
        repo.git(&["add", "-A"]);
        repo.git(&["commit", "-q", "-m", name]);
    }
    repo.install(&[]);
    repo.git(&["checkout", "-q", "a"]);
    let out = repo.git_output(&["merge", "--no-edit", "b"]);
    assert!(
        !out.status.success(),
        "the merge should stop on max_migration.txt"
    );
    // Resolved the way people do: keep one side's name.
    repo.write("blog/migrations/max_migration.txt", "0004_post_b\n");
    repo.git(&["add", "-A"]);
    let stderr = repo.git(&["commit", "-q", "--no-edit"]);
    assert!(stderr.contains("blog has 2 leaf migrations"), "{stderr}");
    assert!(stderr.contains("djmig resolve blog"), "{stderr}");
}

#[test]
fn a_users_post_commit_hook_still_runs_and_is_restored_byte_for_byte() {
    let repo = Repo::new("linear");
    let user = "#!/bin/sh\necho committed >> .commits\n";
    let path = repo.hook("post-commit");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, user).unwrap();
    #[cfg(unix)]
    set_mode(&path, 0o755);
    let out = repo.install(&[]);
    assert!(out.contains("post-commit: added djmig's block"), "{out}");
    repo.write("README.txt", "one\n");
    repo.git(&["add", "README.txt"]);
    repo.git(&["commit", "-q", "-m", "one"]);
    assert_eq!(read(&repo.path().join(".commits")), "committed\n");
    let out = repo.djmig().args(["hook", "uninstall"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(fs::read(&path).unwrap(), user.as_bytes());
}

/// `djmig resolve` killed half-way: upstream's migration is set aside, the
/// work tree looks linear, and a commit would record the deletion. Every
/// hook says to undo first; git goes on.
#[test]
fn hooks_warn_about_an_interrupted_resolution() {
    let repo = Repo::new("linear");
    repo.branch_with_migration("a", "0004_post_a");
    repo.branch_with_migration("b", "0004_post_b");
    repo.git(&["checkout", "-q", "a"]);
    repo.git(&["merge", "-q", "--no-edit", "b"]);
    repo.install(&[]);
    let file = repo.path().join("blog/migrations/0004_post_b.py");
    let journal =
        djmig::testing::Journal::begin(repo.path(), "resolve blog", std::slice::from_ref(&file))
            .expect("begin a journal");
    fs::remove_file(&file).unwrap();
    drop(journal);

    let says = |stderr: &str| {
        assert!(
            stderr.contains("djmig: warning: the last resolution did not finish: resolve blog"),
            "{stderr}"
        );
        assert!(stderr.contains("djmig: run djmig undo"), "{stderr}");
    };
    // A plain commit, which would record the deletion.
    repo.git(&["add", "-A"]);
    let out = repo.git_output(&["commit", "-q", "-m", "oops"]);
    assert!(out.status.success());
    says(&String::from_utf8_lossy(&out.stderr));
    let out = repo.git_output(&["checkout", "-q", "main"]);
    assert!(out.status.success());
    says(&String::from_utf8_lossy(&out.stderr));
    for hook in [&["post-merge", "0"][..], &["post-rewrite", "amend"]] {
        let out = repo
            .djmig()
            .args(["hook", "run"])
            .args(hook)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        says(&String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn the_hook_never_fails_the_git_operation() {
    let repo = Repo::new("linear");
    repo.branch_with_migration("a", "0004_post_a");
    repo.install(&[]);
    // A broken configuration: a one-line note, git carries on.
    repo.write(".djmig.yml", "hooks:\n  database_chek: true\n");
    let out = repo.git_output(&["checkout", "-q", "a"]);
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("djmig: note: post-checkout hook:"),
        "{stderr}"
    );
    assert!(stderr.contains("database_chek"), "{stderr}");
    assert_eq!(
        stderr.lines().filter(|l| l.contains("djmig")).count(),
        1,
        "{stderr}"
    );
    fs::remove_file(repo.path().join(".djmig.yml")).unwrap();

    // A djmig on PATH that fails: post-checkout's status would be git's.
    let fake = tempfile::tempdir().unwrap();
    let script = fake.path().join("djmig");
    fs::write(&script, "#!/bin/sh\necho boom >&2\nexit 3\n").unwrap();
    #[cfg(unix)]
    set_mode(&script, 0o755);
    let mut repo = repo;
    repo.path_first = fake.path().to_path_buf();
    let out = repo.git_output(&["checkout", "-q", "main"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("boom"));
}

#[test]
fn hook_run_is_quiet_and_exits_0() {
    let repo = Repo::new("linear");
    let run = |args: &[&str]| {
        let out = repo
            .djmig()
            .args(["hook", "run"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    assert_eq!(run(&["post-merge", "0"]), "");
    assert_eq!(run(&["post-rewrite", "rebase"]), "");
    assert_eq!(run(&["post-checkout", "aaaa", "bbbb", "1"]), "");
    assert!(run(&["pre-push"]).contains("djmig: note: pre-push hook"));
    repo.write(
        "blog/migrations/0004_a.py",
        &migration("0003_post_published"),
    );
    repo.write(
        "blog/migrations/0004_b.py",
        &migration("0003_post_published"),
    );
    assert!(run(&["post-merge", "0"]).contains("blog has 2 leaf migrations"));
    // A plain commit (HEAD's reflog: `commit (initial)`) says nothing.
    assert_eq!(run(&["post-commit"]), "");
    // A file checkout, or the same commit: nothing to say.
    assert_eq!(run(&["post-checkout", "aaaa", "bbbb", "0"]), "");
    assert_eq!(run(&["post-checkout", "aaaa", "aaaa", "1"]), "");
    // Switched off.
    let out = repo
        .djmig()
        .env("DJMIG_SKIP_HOOKS", "1")
        .args(["hook", "run", "post-merge", "0"])
        .output()
        .unwrap();
    assert!(out.stderr.is_empty());
    // A broken graph is one line.
    repo.write("blog/migrations/0005_bad.py", "class Migration(:\n");
    let text = run(&["post-merge", "0"]);
    assert!(
        text.contains("the migration graph cannot be built"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1, "{text}");
}

#[test]
fn hooks_config_errors_have_line_numbers() {
    let repo = Repo::new("linear");
    for (text, line, word) in [
        (
            "strict: false\nhooks:\n  database_chek: true\n",
            ".djmig.yml:3",
            "database_chek",
        ),
        ("hooks:\n  database_check: maybe\n", ".djmig.yml:2", "bool"),
        ("hooks: [database_check]\n", ".djmig.yml:1", "hooks"),
    ] {
        repo.write(".djmig.yml", text);
        let out = repo.djmig().arg("check").output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{text}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(line), "{text:?}: {stderr}");
        assert!(stderr.contains(word), "{text:?}: {stderr}");
    }
    repo.write(".djmig.yml", "hooks:\n  database_check: true\n");
    let out = repo.djmig().arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
}

// ------------------------------------------------------ the database check

/// A repository whose `.djmig.yml` turns the database check on, with the
/// test Django as the project's Python, and the hooks installed.
fn database_checked_repo() -> Repo {
    let python = support::django_python();
    let repo = Repo::new("linear");
    repo.write(
        ".djmig.yml",
        &format!(
            "python: {}\nhooks:\n  database_check: true\n",
            python.display()
        ),
    );
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "config"]);
    repo
}

/// `manage.py migrate` on what is checked out.
#[track_caller]
fn migrate(repo: &Repo) {
    let mut cmd = Command::new(support::django_python());
    cmd.args(["manage.py", "migrate", "--noinput"])
        .current_dir(repo.path());
    repo.hermetic(&mut cmd);
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn checkout_warns_about_migrations_only_the_previous_branch_has() {
    let repo = database_checked_repo();
    repo.branch_with_migration("feature", "0004_post_feature");
    repo.install(&[]);
    repo.git(&["checkout", "-q", "feature"]);
    migrate(&repo);

    let stderr = repo.git(&["checkout", "-q", "main"]);
    assert!(
        stderr.contains("the database has 1 migration(s) applied that main does not have"),
        "{stderr}"
    );
    assert!(stderr.contains("blog: 0004_post_feature"), "{stderr}");
    assert!(
        stderr.contains(
            "git checkout feature && python manage.py migrate blog 0003_post_published && git checkout main"
        ),
        "{stderr}"
    );
    // Back on the branch that has it: nothing to say.
    let stderr = repo.git(&["checkout", "-q", "feature"]);
    assert!(!stderr.contains("djmig"), "{stderr}");
}

/// The migration was applied on a third branch: the branch you came from
/// does not have its file either, so migrating back there cannot work.
/// The advice names a local branch that has it; without one, a commit
/// checked out before; without that, how to find the commit that added it.
#[test]
fn checkout_names_a_checkout_that_has_the_stranded_migrations_file() {
    let repo = database_checked_repo();
    repo.branch_with_migration("third", "0004_post_third");
    repo.git(&["checkout", "-q", "-b", "other", "main"]);
    repo.write("README.txt", "other\n");
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "other"]);
    repo.install(&[]);
    repo.git(&["checkout", "-q", "third"]);
    migrate(&repo);
    let third = repo.git_stdout(&["rev-parse", "--short=7", "third"]);

    // From third: the branch you came from has it, as before.
    let stderr = repo.git(&["checkout", "-q", "other"]);
    assert!(
        stderr.contains("git checkout third && python manage.py migrate blog 0003_post_published && git checkout other"),
        "{stderr}"
    );
    // From other, which does not have it: third does.
    let stderr = repo.git(&["checkout", "-q", "main"]);
    assert!(stderr.contains("blog: 0004_post_third"), "{stderr}");
    assert!(
        stderr.contains(
            "other, the branch you came from, does not have blog/migrations/0004_post_third.py"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("git checkout third && python manage.py migrate blog 0003_post_published && git checkout main"),
        "{stderr}"
    );
    assert!(!stderr.contains("git checkout other &&"), "{stderr}");

    // No branch has it any more: the commit checked out before does.
    repo.git(&["branch", "-q", "-D", "third"]);
    let stderr = repo.git(&["checkout", "-q", "other"]);
    assert!(
        stderr.contains("no local branch has blog/migrations/0004_post_third.py"),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!(
            "git checkout {third} && python manage.py migrate blog 0003_post_published && git checkout other"
        )),
        "{stderr}"
    );

    // Nor does any commit in HEAD's reflog: say how to find it, and what
    // --fake would do.
    repo.git(&["reflog", "expire", "--expire=now", "--all"]);
    let stderr = repo.git(&["checkout", "-q", "main"]);
    assert!(
        stderr.contains("git log --all --diff-filter=A -- blog/migrations/0004_post_third.py"),
        "{stderr}"
    );
    assert!(
        stderr.contains("python manage.py migrate blog 0003_post_published --fake"),
        "{stderr}"
    );
    assert!(!stderr.contains("git checkout other &&"), "{stderr}");
    assert!(!stderr.contains("git checkout third &&"), "{stderr}");
}

// ------------------------------------------- what install must not touch

/// How long `djmig hook install|uninstall` may take (well under a second).
const INSTALL_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// `djmig hook ARGS…` with a time limit: its exit code and stderr.
#[track_caller]
fn hook_cmd(repo: &Repo, args: &[&str]) -> (i32, String, String) {
    let start = std::time::Instant::now();
    let out = repo
        .djmig()
        .arg("hook")
        .args(args)
        .timeout(INSTALL_LIMIT)
        .output()
        .unwrap();
    assert!(
        start.elapsed() < INSTALL_LIMIT,
        "hook {args:?} took too long"
    );
    (
        out.status.code().expect("exited"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn install_and_uninstall_refuse_to_drop_the_users_lines_inside_djmigs_block() {
    let repo = Repo::new("linear");
    repo.install(&["--hooks", "post-merge"]);
    let path = repo.hook("post-merge");
    // The user wrote a line of their own between djmig's markers.
    let mine = read(&path).replace(
        "fi\n# <<< djmig <<<\n",
        "fi\necho mine >> .mine\n# <<< djmig <<<\n",
    );
    assert!(mine.contains("echo mine"));
    fs::write(&path, &mine).unwrap();
    for verb in ["install", "uninstall"] {
        let (code, _, stderr) = hook_cmd(&repo, &[verb, "--hooks", "post-merge"]);
        assert_eq!(code, 5, "{verb}: {stderr}");
        assert!(
            stderr.contains("post-merge: left")
                && stderr.contains("lines djmig did not write")
                && stderr.contains("echo mine >> .mine"),
            "{verb}: {stderr}"
        );
        assert!(
            stderr.contains("move them above `# >>> djmig >>>` or below `# <<< djmig <<<`"),
            "{stderr}"
        );
        assert_eq!(read(&path), mine, "{verb} kept the file as it was");
    }
}

#[cfg(unix)]
#[test]
fn a_hook_git_would_not_run_is_not_reported_installed() {
    let repo = Repo::new("linear");
    let path = repo.hook("post-merge");
    let user = "#!/bin/sh\necho disabled on purpose\n";
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, user).unwrap();
    set_mode(&path, 0o644);
    let (code, stdout, stderr) = hook_cmd(&repo, &["install"]);
    assert_eq!(code, 5, "{stdout}{stderr}");
    assert!(
        stderr.contains("post-merge: left")
            && stderr.contains("is not executable, so git does not run it")
            && stderr.contains("chmod +x"),
        "{stderr}"
    );
    assert!(!stdout.contains("post-merge:"), "{stdout}");
    assert_eq!(read(&path), user);
    assert_eq!(mode(&path), 0o644);
    // The others are installed.
    assert!(stdout.contains("post-checkout: created"), "{stdout}");

    // Installed, then made non-executable: not "already installed".
    set_mode(&path, 0o755);
    repo.install(&["--hooks", "post-merge"]);
    set_mode(&path, 0o644);
    let installed = read(&path);
    let (code, stdout, stderr) = hook_cmd(&repo, &["install", "--hooks", "post-merge"]);
    assert_eq!(code, 5, "{stdout}{stderr}");
    assert!(stderr.contains("is not executable"), "{stderr}");
    assert_eq!(read(&path), installed);
    // Uninstalling takes the block out all the same.
    let (code, stdout, _) = hook_cmd(&repo, &["uninstall", "--hooks", "post-merge"]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("post-merge: removed djmig's block"),
        "{stdout}"
    );
    assert_eq!(read(&path), user);
    assert_eq!(mode(&path), 0o644);
}

#[cfg(unix)]
#[test]
fn a_symlinked_hook_is_never_edited_through_the_link() {
    let repo = Repo::new("linear");
    // The team's hook, tracked in the repository, linked into .git/hooks.
    let tracked = "#!/bin/sh\necho team hook\n";
    repo.write("scripts/post-merge", tracked);
    set_mode(&repo.path().join("scripts/post-merge"), 0o755);
    repo.git(&["add", "-A"]);
    repo.git(&["commit", "-q", "-m", "team hooks"]);
    let link = repo.hook("post-merge");
    fs::create_dir_all(link.parent().unwrap()).unwrap();
    std::os::unix::fs::symlink("../../scripts/post-merge", &link).unwrap();
    // A link to a script that does not exist (yet).
    let dangling = repo.hook("post-checkout");
    std::os::unix::fs::symlink("../../scripts/post-checkout", &dangling).unwrap();

    let (code, stdout, stderr) = hook_cmd(&repo, &["install"]);
    assert_eq!(code, 5, "{stdout}{stderr}");
    for (hook, target) in [
        ("post-merge", "../../scripts/post-merge"),
        ("post-checkout", "../../scripts/post-checkout"),
    ] {
        assert!(
            stderr.contains(&format!("{hook}: left"))
                && stderr.contains(&format!("is a symbolic link to {target}")),
            "{stderr}"
        );
    }
    assert!(
        stderr.contains("djmig hook run post-merge \"$@\""),
        "{stderr}"
    );
    assert_eq!(read(&repo.path().join("scripts/post-merge")), tracked);
    assert!(!repo.path().join("scripts/post-checkout").exists());
    assert!(fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert!(fs::symlink_metadata(&dangling)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(repo.git_stdout(&["status", "--porcelain"]), "");
    // The hooks that are plain files are installed.
    assert!(stdout.contains("post-commit: created"), "{stdout}");

    // Nothing of djmig's behind the link: nothing to uninstall there.
    let (code, stdout, stderr) = hook_cmd(&repo, &["uninstall"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("post-merge: no djmig block"), "{stdout}");
    assert_eq!(read(&repo.path().join("scripts/post-merge")), tracked);
    assert_eq!(repo.git_stdout(&["status", "--porcelain"]), "");
}

/// The database check is stopped at its time limit together with whatever
/// manage.py started: a child that would write a file later never does,
/// and a child that left the process group (holding the output pipes)
/// does not keep the hook waiting.
#[cfg(unix)]
#[test]
fn the_database_check_stops_everything_manage_py_started() {
    let repo = database_checked_repo();
    let marks = tempfile::tempdir().unwrap();
    let survived = marks.path().join("SURVIVED");
    let escaped_pid = marks.path().join("escaped.pid");
    // `manage.py shell` (the database check) hangs, after starting a child
    // in its process group and one in a session of its own.
    let settings = repo.path().join("mysite/settings.py");
    let mut text = read(&settings);
    text.push_str(&format!(
        "\nimport sys as _sys\n\
         if 'shell' in _sys.argv:\n    \
         import subprocess as _sp, time as _time\n    \
         _sp.Popen([_sys.executable, '-c', 'import time, pathlib; time.sleep(4); pathlib.Path({s:?}).write_text(\"x\")'])\n    \
         _e = _sp.Popen([_sys.executable, '-c', 'import time; time.sleep(60)'], start_new_session=True)\n    \
         open({p:?}, 'w').write(str(_e.pid))\n    \
         _time.sleep(600)\n",
        s = survived.display().to_string(),
        p = escaped_pid.display().to_string(),
    ));
    fs::write(&settings, text).unwrap();
    repo.git(&["commit", "-q", "-am", "a slow settings module"]);
    repo.branch_with_migration("feature", "0004_post_feature");
    repo.git(&["checkout", "-q", "feature"]);
    migrate(&repo);
    repo.install(&[]);

    let start = std::time::Instant::now();
    let mut cmd = git_command(repo.path(), repo.home.path());
    repo.hermetic(&mut cmd);
    let out = cmd
        .env("DJMIG_DATABASE_CHECK_TIMEOUT", "2")
        .args(["checkout", "-q", "main"])
        .output()
        .unwrap();
    let took = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    // Whatever happens below, the escaped child goes.
    let escaped: Option<i32> = fs::read_to_string(&escaped_pid)
        .ok()
        .and_then(|p| p.trim().parse().ok());
    if let Some(pid) = escaped {
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains(
            "djmig: note: post-checkout hook: the database check took over 2 s and was stopped"
        ),
        "{stderr}"
    );
    assert!(
        took < std::time::Duration::from_secs(15),
        "the checkout took {took:?}: {stderr}"
    );
    assert!(escaped.is_some(), "the settings module ran: {stderr}");
    // Past the moment the child in the group would have written its file.
    std::thread::sleep(std::time::Duration::from_secs(6).saturating_sub(start.elapsed()));
    assert!(
        !survived.exists(),
        "a process manage.py started outlived the stop"
    );
    assert_eq!(repo.git_stdout(&["status", "--porcelain"]), "");
}
