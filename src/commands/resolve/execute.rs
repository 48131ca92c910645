//! Running a resolution's steps. The journal holds every file the steps
//! touch before the first change, and each side effect that is not a file
//! (djmig's rebase, each `manage.py migrate`, each rename of
//! `django_migrations` rows) is recorded before it runs and marked done
//! after, so `djmig undo` can reverse all of it — also after a kill.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::adapters::django::Django;
use crate::adapters::git::Repo;
use crate::adapters::store::journal::{write_atomic, Effect, Journal, Phase};
use crate::adapters::store::parse_cache::CachingReader;
use crate::core::escape::term;
use crate::core::resolve::{self, Plan, Step};
use crate::error::{Error, Result};
use crate::workspace::Workspace;

use super::database::{self, Db};
use super::{conflicted_apps, read_worktree, Ground};

/// How a resolution ended.
#[must_use]
#[derive(Debug)]
pub enum Outcome {
    /// Every step ran.
    Done,
    /// A dry run: nothing ran.
    WouldDo,
    /// The user said no to the plan: nothing ran.
    Declined,
    /// Step `step` (1-based, as printed) failed; the ones before ran.
    Failed { step: usize, error: Error },
}

#[derive(Debug, Serialize)]
pub struct OutcomeJson {
    /// `done`, `would_do`, `declined` or `failed`.
    pub status: &'static str,
    pub failed_step: Option<usize>,
    pub error: Option<String>,
}

impl Outcome {
    pub fn json(&self) -> OutcomeJson {
        let (status, failed_step, error) = match self {
            Outcome::Done => ("done", None, None),
            Outcome::WouldDo => ("would_do", None, None),
            Outcome::Declined => ("declined", None, None),
            Outcome::Failed { step, error } => ("failed", Some(*step), Some(error.message.clone())),
        };
        OutcomeJson {
            status,
            failed_step,
            error,
        }
    }
}

/// Runs the steps of one resolution.
pub struct Executor<'a> {
    pub ws: &'a Workspace,
    pub repo: &'a Repo,
    pub django: Option<&'a Django>,
    pub db: &'a Db,
    pub talk: &'a mut dyn Write,
    pub plans: &'a [Plan],
    pub predicted: &'a Ground,
    /// The command to run again after the user finished a stopped rebase.
    pub resume: String,
}

/// What the steps leave for the ones after them.
#[derive(Default)]
struct Progress {
    /// Files set aside now: (original, where it is).
    aside: Vec<(PathBuf, PathBuf)>,
    /// Whether a file was changed yet (database steps after that are
    /// reversed with the new files).
    files_changed: bool,
    /// Deleted files and their bytes, for the diff after makemigrations.
    deleted: Vec<(String, Vec<u8>)>,
}

impl<'a> Executor<'a> {
    /// Run every step; the outcome says how far it got.
    pub fn run(&mut self, steps: &[Step]) -> Outcome {
        let root = self.ws.root.clone();
        let files: Vec<PathBuf> = self
            .plans
            .iter()
            .flat_map(|p| p.files.iter())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|f| root.join(f))
            .collect();
        let rebase_first = matches!(steps.first(), Some(Step::Rebase { .. }));
        let desc = format!(
            "djmig resolve {}",
            self.plans
                .iter()
                .map(|p| format!("{} ({})", p.app, p.name()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        // After a rebase the files are snapshotted as the rebase left them.
        let first = if rebase_first { &[][..] } else { &files[..] };
        let mut journal = match Journal::begin(&root, &desc, first) {
            Ok(j) => j,
            Err(e) => return Outcome::Failed { step: 1, error: e },
        };
        if steps.iter().any(Step::changes_database) {
            if let Some(applied) = self.db.applied() {
                let (display, sqlite) = match &self.db.info {
                    Some(i) => (i.display.clone(), i.sqlite.clone()),
                    None => ("the local database".to_string(), None),
                };
                if let Err(e) = journal.record_database(
                    &display,
                    applied.iter().cloned().collect(),
                    sqlite.as_deref(),
                ) {
                    return Outcome::Failed { step: 1, error: e };
                }
                if sqlite.is_some() {
                    let _ = writeln!(
                        self.talk,
                        "{display} copied into the journal: `djmig undo` gives it back byte for byte."
                    );
                }
            }
        }
        let mut progress = Progress::default();
        let _signals = crate::adapters::interrupt::guard();
        for (i, step) in steps.iter().enumerate() {
            // Ctrl-C: the step that was running finished (or failed);
            // stop before the next, the journal as it is.
            let res = if crate::adapters::interrupt::requested() {
                Err(crate::adapters::interrupt::stopped(
                    "the resolution",
                    i,
                    "`djmig undo` puts back every file and the local database as they were before this resolution",
                ))
            } else {
                self.step(step, &mut journal, &mut progress, &files)
            };
            if let Err(e) = res {
                let _ = put_back(&progress.aside);
                if let (Step::Rebase { .. }, true) = (step, i == 0) {
                    // Only the rebase ran, and stopped: it is the user's to
                    // continue or abort; the journal is closed.
                    let _ = journal.finish();
                    return Outcome::Failed {
                        step: i + 1,
                        error: e,
                    };
                }
                return Outcome::Failed {
                    step: i + 1,
                    error: e.hint(
                        "`djmig undo` puts back every file and the local database as they were before this resolution",
                    ),
                };
            }
        }
        match journal.finish() {
            Ok(()) => Outcome::Done,
            Err(e) => Outcome::Failed {
                step: steps.len(),
                error: e,
            },
        }
    }

    fn need(&self) -> Result<&'a Django> {
        self.django
            .ok_or_else(|| Error::failed("this step runs manage.py, but Django cannot run here"))
    }

    fn step(
        &mut self,
        step: &Step,
        journal: &mut Journal,
        p: &mut Progress,
        files: &[PathBuf],
    ) -> Result<()> {
        let root = self.ws.root.clone();
        match step {
            Step::Rebase { onto, upstream } => {
                let state = self.repo.state()?;
                let orig = state
                    .head
                    .oid
                    .ok_or_else(|| Error::git("HEAD has no commit"))?;
                let onto_oid = crate::adapters::git::Oid::from_str(onto)
                    .map_err(|_| Error::git(format!("{onto} is not a commit id")))?;
                let mut effect = Effect::Rebase {
                    branch: state.head.branch.clone(),
                    orig_head: orig.to_string(),
                    onto: onto.clone(),
                    new_head: None,
                };
                let idx = journal.begin_effect(effect.clone())?;
                let _ = writeln!(
                    self.talk,
                    "running: git rebase {onto}  ({})",
                    term(upstream)
                );
                let out = crate::adapters::git::process::rebase_onto(&root, onto_oid)?;
                if !out.ok {
                    return Err(Error::failed(format!("`git rebase {upstream}` stopped"))
                        .cause(tail(&format!("{}{}", out.stdout, out.stderr)))
                        .hint(format!("resolve the conflicts git lists, `git add` them and `git rebase --continue` \
                               (or `git rebase --abort` to go back); then run `{}` again", self.resume)));
                }
                let new_head = self.repo.state()?.head.oid.map(|o| o.to_string());
                if let Effect::Rebase { new_head: nh, .. } = &mut effect {
                    *nh = new_head;
                }
                journal.update_effect(idx, effect)?;
                journal.effect_done(idx)?;
                // The work tree must now be what the plan was made for.
                let (_, a) = read_worktree(self.ws, self.repo, &CachingReader::in_memory())?;
                let now: BTreeSet<String> = conflicted_apps(&a, &[])?.into_iter().collect();
                let want: BTreeSet<String> = self.predicted.conflicted.iter().cloned().collect();
                if !want.is_subset(&now) {
                    return Err(Error::failed(format!(
                        "after the rebase the conflicts are not the predicted ones (predicted: {}; now: {})",
                        want.iter().cloned().collect::<Vec<_>>().join(", "),
                        now.iter().cloned().collect::<Vec<_>>().join(", ")
                    ))
                    .hint(format!("run `{}` again: it reads the rebased work tree", self.resume)));
                }
                for f in files {
                    journal.record_extra(f)?;
                }
            }
            Step::SetAside { files } => {
                let aside = journal.dir().join("aside");
                for f in files {
                    let from = root.join(f);
                    let to = aside.join(f);
                    if let Some(dir) = to.parent() {
                        std::fs::create_dir_all(dir).map_err(|e| {
                            Error::failed(format!("cannot create {}", dir.display())).cause(e)
                        })?;
                    }
                    std::fs::rename(&from, &to)
                        .map_err(|e| Error::failed(format!("cannot set {f} aside")).cause(e))?;
                    p.aside.push((from, to));
                }
            }
            Step::PutBack { .. } => {
                put_back(&p.aside)?;
                p.aside.clear();
            }
            Step::Migrate { app, target, .. } => {
                let command = format!("manage.py migrate {app} {target}");
                self.migrate(journal, p, &command, |d| d.migrate(app, target))?;
            }
            Step::MigrateAll => {
                self.migrate(journal, p, "manage.py migrate", |d| d.migrate_all())?;
            }
            Step::RenameApplied { renames } => {
                let d = self.need()?;
                let idx = journal.begin_effect(Effect::RenameApplied {
                    renames: renames.clone(),
                })?;
                database::rename_applied(d, renames)?;
                journal.effect_done(idx)?;
                for r in renames {
                    let _ = writeln!(
                        self.talk,
                        "renamed in django_migrations: {}.{} -> {} (still applied; its data stays)",
                        term(&r.app),
                        term(&r.from),
                        term(&r.to)
                    );
                }
            }
            Step::Delete { file } => {
                let path = root.join(file);
                p.deleted
                    .push((file.clone(), std::fs::read(&path).unwrap_or_default()));
                p.files_changed = true;
                std::fs::remove_file(&path)
                    .map_err(|e| Error::failed(format!("cannot delete {file}")).cause(e))?;
                let _ = writeln!(self.talk, "deleted {}", term(file));
            }
            Step::Write {
                file,
                replaces,
                content,
                ..
            } => {
                let path = root.join(file);
                journal.record_extra(&path)?;
                p.files_changed = true;
                write_atomic(&path, content)
                    .map_err(|e| Error::failed(format!("cannot write {file}")).cause(e))?;
                if let Some(old) = replaces {
                    std::fs::remove_file(root.join(old))
                        .map_err(|e| Error::failed(format!("cannot remove {old}")).cause(e))?;
                    let _ = writeln!(self.talk, "renamed {} -> {}", term(old), term(file));
                } else {
                    let _ = writeln!(self.talk, "wrote {}", term(file));
                }
            }
            Step::Makemigrations { apps } => {
                let dirs = self.app_dirs(apps);
                let before = listings(&dirs);
                for (_, d) in &dirs {
                    journal.watch_dir(d)?;
                }
                p.files_changed = true;
                let names: Vec<&str> = apps.iter().map(String::as_str).collect();
                let o = self.need()?.makemigrations(&names)?;
                let _ = write!(self.talk, "{}", o.stdout);
                let created = record_new(journal, &dirs, &before)?;
                show_new(self.talk, &root, &p.deleted, &created);
            }
            Step::MakemigrationsMerge { app } => {
                let dirs = self.app_dirs(std::slice::from_ref(app));
                let before = listings(&dirs);
                for (_, d) in &dirs {
                    journal.watch_dir(d)?;
                }
                p.files_changed = true;
                let o = self.need()?.makemigrations_merge(app)?;
                let _ = write!(self.talk, "{}", o.stdout);
                record_new(journal, &dirs, &before)?;
            }
            Step::WriteMaxMigration { app, file, leaf } => {
                let leaf = match leaf {
                    Some(l) => l.clone(),
                    None => self.leaf_now(app)?,
                };
                let path = root.join(file);
                journal.record_extra(&path)?;
                p.files_changed = true;
                write_atomic(&path, crate::core::dlm::render(&leaf).as_bytes())
                    .map_err(|e| Error::failed(format!("cannot write {file}")).cause(e))?;
                let _ = writeln!(self.talk, "wrote {}: {}", term(file), term(&leaf));
            }
            Step::Check => {
                self.need()?.check()?;
                let _ = writeln!(self.talk, "manage.py check: no issues");
            }
            Step::Verify => {
                let (_, after) = read_worktree(self.ws, self.repo, &CachingReader::in_memory())?;
                let apps: Vec<String> = self.plans.iter().map(|p| p.app.clone()).collect();
                let left = conflicted_apps(&after, &apps)?;
                if !left.is_empty() {
                    return Err(Error::failed(format!(
                        "after the resolution these apps still have two leaf migrations: {}",
                        left.join(", ")
                    )));
                }
            }
        }
        Ok(())
    }

    /// A `manage.py migrate …` step, recorded with the per-app targets
    /// that reverse it.
    fn migrate(
        &mut self,
        journal: &mut Journal,
        p: &Progress,
        command: &str,
        run: impl FnOnce(&Django) -> Result<crate::adapters::django::Output>,
    ) -> Result<()> {
        let d = self.need()?;
        let before = database::applied_lists(d)?;
        let apps: BTreeSet<String> = before.keys().cloned().collect();
        let restore = database::restore_targets(&before, &apps);
        let aside: Vec<String> = p
            .aside
            .iter()
            .filter_map(|(orig, _)| {
                orig.strip_prefix(&self.ws.root)
                    .ok()
                    .map(|r| r.to_string_lossy().replace('\\', "/"))
            })
            .collect();
        let phase = if p.files_changed {
            Phase::AfterFiles
        } else {
            Phase::BeforeFiles
        };
        let mut effect = Effect::Migrate {
            phase,
            command: command.to_string(),
            restore,
            aside,
        };
        let idx = journal.begin_effect(effect.clone())?;
        let _ = writeln!(self.talk, "running: {}", term(command));
        let o = run(d)?;
        let _ = write!(self.talk, "{}", o.stdout);
        let after = database::applied_lists(d)?;
        let changed = database::changed_apps(&before, &after);
        if let Effect::Migrate { restore, .. } = &mut effect {
            restore.retain(|app, _| changed.contains(app));
        }
        journal.update_effect(idx, effect)?;
        journal.effect_done(idx)
    }

    fn app_dirs(&self, apps: &[String]) -> Vec<(String, PathBuf)> {
        apps.iter()
            .filter_map(|l| {
                self.predicted
                    .analysis
                    .project
                    .apps
                    .get(l)
                    .map(|x| (l.clone(), self.ws.root.join(&x.path)))
            })
            .collect()
    }

    /// The app's one leaf in the work tree as it is now.
    fn leaf_now(&self, app: &str) -> Result<String> {
        let (_, a) = read_worktree(self.ws, self.repo, &CachingReader::in_memory())?;
        match a.built.graph.leaves(app).as_slice() {
            [one] => Ok(one.name.clone()),
            more => Err(Error::failed(format!(
                "{app} has {} leaf migrations: max_migration.txt cannot name one",
                more.len()
            ))),
        }
    }
}

fn put_back(moved: &[(PathBuf, PathBuf)]) -> Result<()> {
    for (orig, aside) in moved {
        if aside.exists() {
            std::fs::rename(aside, orig).map_err(|e| {
                Error::failed(format!("cannot put {} back", orig.display())).cause(e)
            })?;
        }
    }
    Ok(())
}

fn listings(dirs: &[(String, PathBuf)]) -> Vec<BTreeSet<PathBuf>> {
    dirs.iter()
        .map(|(_, d)| {
            std::fs::read_dir(d)
                .map(|rd| rd.flatten().map(|e| e.path()).collect())
                .unwrap_or_default()
        })
        .collect()
}

/// Files makemigrations created, recorded for undo: (app, path), sorted.
fn record_new(
    journal: &mut Journal,
    dirs: &[(String, PathBuf)],
    before: &[BTreeSet<PathBuf>],
) -> Result<Vec<(String, PathBuf)>> {
    let mut created = Vec::new();
    for ((app, _), (now, was)) in dirs.iter().zip(listings(dirs).iter().zip(before)) {
        for p in now.difference(was) {
            if p.extension().is_some_and(|e| e == "py") {
                journal.record_created(p)?;
                created.push((app.clone(), p.clone()));
            }
        }
    }
    Ok(created)
}

/// Per app, the new files next to the deleted ones (both in migration
/// order, so a field reads as itself), and review hints on the new ones,
/// named with their own app.
fn show_new(
    out: &mut dyn Write,
    root: &Path,
    deleted: &[(String, Vec<u8>)],
    created: &[(String, PathBuf)],
) {
    let apps: BTreeSet<&str> = created.iter().map(|(a, _)| a.as_str()).collect();
    let rel = |p: &Path| {
        p.strip_prefix(root)
            .map(|r| r.to_string_lossy().replace('\\', "/"))
            .unwrap_or_else(|_| p.display().to_string())
    };
    let mut by_dir: BTreeMap<String, Vec<&(String, Vec<u8>)>> = BTreeMap::new();
    for d in deleted {
        let dir =
            d.0.rsplit_once('/')
                .map(|(d, _)| d)
                .unwrap_or("")
                .to_string();
        by_dir.entry(dir).or_default().push(d);
    }
    for app in apps {
        let mut new_files: Vec<&PathBuf> = created
            .iter()
            .filter(|(a, _)| a == app)
            .map(|(_, p)| p)
            .collect();
        new_files.sort();
        let Some(dir) = new_files.first().and_then(|p| p.parent()).map(rel) else {
            continue;
        };
        let mut new: Vec<u8> = Vec::new();
        let mut names = Vec::new();
        for p in &new_files {
            let bytes = std::fs::read(p).unwrap_or_default();
            new.extend_from_slice(&bytes);
            let name = p
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            let parsed = crate::core::pyparse::parse_migration(&bytes);
            let _ = writeln!(out, "new: {}", term(&rel(p)));
            for h in resolve::review_lines(&name, &parsed, app) {
                let _ = writeln!(out, "  review: {}", term(&h));
            }
            names.push(rel(p));
        }
        let mut old_files: Vec<&(String, Vec<u8>)> = by_dir.remove(&dir).unwrap_or_default();
        old_files.sort_by(|a, b| a.0.cmp(&b.0));
        let old: Vec<u8> = old_files
            .iter()
            .flat_map(|(_, b)| b.iter().copied())
            .collect();
        let old_names: Vec<&str> = old_files.iter().map(|(f, _)| f.as_str()).collect();
        let old_name = if old_names.is_empty() {
            "/dev/null".to_string()
        } else {
            old_names.join(" + ")
        };
        let _ = writeln!(
            out,
            "{}",
            resolve::unified_diff(&old_name, &names.join(" + "), &old, &new)
        );
    }
}

/// The end of a long output.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = lines.len().saturating_sub(12);
    lines[start..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIEWS_OLD: &str = "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n    dependencies = [('blog', '0003_post_published')]\n    operations = [\n        migrations.AddField(model_name='post', name='views', field=models.IntegerField(default=0)),\n    ]\n";
    const VIEWS_NEW: &str = "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n    dependencies = [('blog', '0004_post_rating')]\n    operations = [\n        migrations.AddField(model_name='post', name='views', field=models.IntegerField(default=0)),\n    ]\n";
    const SCORE: &str = "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n    dependencies = [('blog', '0005_post_views')]\n    operations = [\n        migrations.AddField(model_name='note', name='score', field=models.IntegerField(db_index=True, default=0)),\n    ]\n";

    /// A cross-app regenerate: each app's new files are shown against its
    /// own deleted ones, and review hints name the file's own app.
    #[test]
    fn new_files_are_shown_per_app_with_their_own_app_in_hints() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        for dir in ["blog/migrations", "notes/migrations"] {
            std::fs::create_dir_all(root.join(dir)).unwrap();
        }
        let blog_new = root.join("blog/migrations/0005_post_views.py");
        let notes_new = root.join("notes/migrations/0002_note_score.py");
        std::fs::write(&blog_new, VIEWS_NEW).unwrap();
        std::fs::write(&notes_new, SCORE).unwrap();
        let deleted = vec![
            (
                "notes/migrations/0002_note_score.py".to_string(),
                SCORE
                    .replace("0005_post_views", "0004_post_views")
                    .into_bytes(),
            ),
            (
                "blog/migrations/0004_post_views.py".to_string(),
                VIEWS_OLD.as_bytes().to_vec(),
            ),
        ];
        let created = vec![
            ("notes".to_string(), notes_new),
            ("blog".to_string(), blog_new),
        ];
        let mut out = Vec::new();
        show_new(&mut out, root, &deleted, &created);
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("0002_note_score:7: AddField notes.note.score builds an index"),
            "{text}"
        );
        assert!(!text.contains("blog.note"), "{text}");
        // blog's diff: its one changed line, nothing of notes'.
        let blog = text
            .split("--- blog/migrations/0004_post_views.py")
            .nth(1)
            .and_then(|t| t.split("new: ").next())
            .expect("a diff for blog");
        assert!(
            blog.contains("-    dependencies = [('blog', '0003_post_published')]"),
            "{text}"
        );
        assert!(
            blog.contains("+    dependencies = [('blog', '0004_post_rating')]"),
            "{text}"
        );
        assert!(!blog.contains("score"), "{text}");
        assert!(!blog.contains("-        migrations.AddField"), "{text}");
    }
}
