//! The database check after a branch switch (`hooks: {database_check:
//! true}`): migrations applied to the local database that the new checkout
//! does not have, and how to unapply them — on a checkout that has their
//! files, since Django cannot reverse a migration whose file is gone.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::core::keys::MigrationKey;
use crate::django::Django;
use crate::error::{Error, Result};
use crate::hooks;
use crate::workspace::Workspace;

use super::{analyze_with, compare, Analysis, Io};

/// How long the database check may take before it is stopped.
const DATABASE_TIMEOUT: Duration = Duration::from_secs(30);

/// The Python run by `manage.py shell -c`: the migrations recorded as
/// applied in the default database, as `DJMIG-APPLIED [[app, name], …]`.
/// One expression, no local names: older Djangos run `-c` code where a
/// comprehension cannot see the code's own variables.
const APPLIED_PY: &str = "print('DJMIG-APPLIED ' + __import__('json').dumps(sorted(map(list, \
    __import__('django.db.migrations.recorder', fromlist=['MigrationRecorder']).MigrationRecorder(\
    __import__('django.db', fromlist=['connections']).connections['default']).applied_migrations()))))";

/// The migrations recorded as applied in the project's database.
///
/// Not `showmigrations`: it lists the migrations of the files checked out,
/// and the ones this check looks for are exactly those that are not.
pub fn applied_migrations(dj: &Django) -> Result<Vec<MigrationKey>> {
    let argv = dj.manage_argv(&["shell", "--verbosity", "0", "--command", APPLIED_PY]);
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..])
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(dir) = dj.manage_py.parent().filter(|d| !d.as_os_str().is_empty()) {
        cmd.current_dir(dir);
    }
    let (ok, stdout, stderr) = run_with_timeout(cmd, DATABASE_TIMEOUT)
        .map_err(|e| Error::failed(format!("cannot run {}", dj.python.display())).cause(e))?;
    let Some(ok) = ok else {
        return Err(Error::failed(format!(
            "the database check took over {} s and was stopped",
            DATABASE_TIMEOUT.as_secs()
        )));
    };
    if let Some(line) = stdout
        .lines()
        .find_map(|l| l.strip_prefix("DJMIG-APPLIED "))
    {
        let pairs: Vec<(String, String)> = serde_json::from_str(line.trim())
            .map_err(|e| Error::failed("cannot read the applied migrations").cause(e))?;
        return Ok(pairs
            .into_iter()
            .map(|(a, n)| MigrationKey::new(a, n))
            .collect());
    }
    let last = stderr
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(if ok { "no output" } else { "it failed" })
        .trim()
        .to_string();
    Err(Error::failed(format!(
        "cannot read the applied migrations with manage.py shell: {last}"
    )))
}

/// Run a command, killing it after `limit`: `(Some(success) | None on
/// timeout, stdout, stderr)`.
fn run_with_timeout(
    mut cmd: Command,
    limit: Duration,
) -> std::io::Result<(Option<bool>, String, String)> {
    let mut child = cmd.spawn()?;
    let pipe = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            String::from_utf8_lossy(&buf).into_owned()
        })
    };
    let out = pipe(
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let err = pipe(
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break Some(s.success());
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    Ok((status, out, err))
}

/// Migrations applied to the database that a project does not have, by
/// app: applied names of the candidate apps that are neither a migration of
/// the project nor replaced by one of its squashes.
pub fn stranded(
    an: &Analysis,
    candidate_apps: &BTreeSet<String>,
    applied: &[MigrationKey],
) -> BTreeMap<String, Vec<String>> {
    let mut known: BTreeSet<&MigrationKey> = an.project.migrations.keys().collect();
    for m in an.project.migrations.values() {
        known.extend(m.replaces.iter());
    }
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for k in applied {
        if candidate_apps.contains(&k.app) && !known.contains(k) {
            out.entry(k.app.clone()).or_default().push(k.name.clone());
        }
    }
    out
}

/// Where to migrate an app back to on the previous branch: its latest
/// migration that is applied and that this branch has too, or `zero`.
pub fn last_common(an: &Analysis, app: &str, applied: &BTreeSet<&MigrationKey>) -> String {
    let g = &an.built.graph;
    let here: Vec<MigrationKey> = g
        .app_nodes(app)
        .into_iter()
        .filter(|k| applied.contains(k))
        .collect();
    let below: BTreeSet<MigrationKey> = here.iter().flat_map(|k| g.ancestors(k)).collect();
    here.into_iter()
        .filter(|k| !below.contains(k))
        .map(|k| k.name)
        .max()
        .unwrap_or_else(|| "zero".into())
}

fn short(oid: &str) -> String {
    oid.chars().take(7).collect()
}

/// The names to show for the previous and the current checkout.
fn branch_names(root: &Path, prev: &str, new: &str) -> (String, String) {
    let Ok(repo) = git2::Repository::discover(root) else {
        return (short(prev), short(new));
    };
    let prev_name = repo
        .revparse_ext("@{-1}")
        .ok()
        .and_then(|(obj, r)| {
            let name = r.and_then(|r| r.shorthand().ok().map(str::to_string));
            (obj.id().to_string() == prev).then_some(name).flatten()
        })
        .unwrap_or_else(|| short(prev));
    let new_name = repo
        .head()
        .ok()
        .filter(|h| h.is_branch())
        .and_then(|h| h.shorthand().ok().map(str::to_string))
        .unwrap_or_else(|| short(new));
    (prev_name, new_name)
}

/// The project apps at the previous checkout (an app added on that branch
/// is not in this one at all).
fn previous_apps(ws: &Workspace, prev: &str) -> BTreeSet<String> {
    let read = || -> Option<BTreeSet<String>> {
        let repo = crate::git::Repo::discover(&ws.root).ok()?;
        let oid = crate::git::Oid::from_str(prev).ok()?;
        let tree = repo.tree(oid).ok()?;
        let reader = compare::open_cache(&repo);
        let an = analyze_with(ws, &tree, &reader);
        let _ = reader.save();
        Some(an.project.project_apps().map(|a| a.label.clone()).collect())
    };
    read().unwrap_or_default()
}

pub fn database_check(
    ws: &Workspace,
    an: &Analysis,
    prev: &str,
    new: &str,
    io: &mut Io,
) -> Result<()> {
    let dj = Django::locate(ws)?;
    let applied = applied_migrations(&dj)?;
    let mut apps: BTreeSet<String> = an.project.project_apps().map(|a| a.label.clone()).collect();
    apps.extend(previous_apps(ws, prev));
    let lost = stranded(an, &apps, &applied);
    if lost.is_empty() {
        return Ok(());
    }
    let applied_set: BTreeSet<&MigrationKey> = applied.iter().collect();
    let (prev_name, new_name) = branch_names(&ws.root, prev, new);
    let manage = dj
        .manage_py
        .strip_prefix(&ws.root)
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| dj.manage_py.display().to_string());
    let manage = if ws.repo_prefix.is_empty() {
        manage
    } else {
        format!("{}/{manage}", ws.repo_prefix)
    };
    let p = io.style.err;
    let n: usize = lost.values().map(Vec::len).sum();
    let _ = writeln!(
        io.err,
        "djmig: {} the database has {n} migration(s) applied that {new_name} does not have:",
        p.warning("warning:")
    );
    for (app, names) in &lost {
        let names: Vec<String> = names.iter().map(|n| p.leaf(n).to_string()).collect();
        let _ = writeln!(io.err, "djmig:   {}: {}", p.app(app), names.join(", "));
    }
    let mut steps = vec![format!("git checkout {}", hooks::sh_quote(&prev_name))];
    for app in lost.keys() {
        steps.push(format!(
            "python {} migrate {app} {}",
            hooks::sh_quote(&manage),
            last_common(an, app, &applied_set)
        ));
    }
    steps.push(format!("git checkout {}", hooks::sh_quote(&new_name)));
    let _ = writeln!(
        io.err,
        "djmig: to unapply them, migrate back on the branch that has them:\ndjmig:   {}",
        p.command(&steps.join(" && "))
    );
    Ok(())
}
