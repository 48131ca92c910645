//! The user's own `git` program, for what libgit2 does not do the way git
//! does (a rebase, with the user's configuration and hooks). Always an
//! argument vector, never a shell; revisions are passed as commit ids so
//! nothing can be read as an option.

use std::path::Path;

use crate::error::{Error, Result};

/// What a finished git command printed.
#[derive(Debug, Clone)]
pub struct GitOutput {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Run `git ARGS` in `dir`, stdin closed, output captured.
pub fn run_git(dir: &Path, args: &[&str]) -> Result<GitOutput> {
    let cmd = crate::adapters::process::Cmd::new("git")
        .args(args)
        .dir(dir);
    let out = cmd.output().map_err(|e| {
        Error::failed(format!("cannot run `git {}`", args.join(" ")))
            .cause(e)
            .hint("djmig runs your own git for this step: is git on PATH?")
    })?;
    Ok(GitOutput {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// `git rebase <commit>`: the commit as a full id, after
/// `--end-of-options`.
pub fn rebase_onto(dir: &Path, onto: super::Oid) -> Result<GitOutput> {
    run_git(dir, &["rebase", "--end-of-options", &onto.to_string()])
}

/// `git reset --keep <commit>`: the branch back to a commit id, keeping
/// local changes (git refuses if they would be lost).
pub fn reset_keep(dir: &Path, to: super::Oid) -> Result<GitOutput> {
    run_git(
        dir,
        &["reset", "--keep", "--end-of-options", &to.to_string()],
    )
}
