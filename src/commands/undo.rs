//! `djmig undo`: put back everything the last resolution changed — the
//! files byte for byte, the local database (a SQLite file byte for byte;
//! otherwise by migrating back with the project's Django, each step with
//! the files it ran against), and djmig's own rebase — as one plan that is
//! shown, asked, then run.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;

use crate::adapters::django::Django;
use crate::adapters::store::journal::{self, Effect, Phase, Record, State};
use crate::cli::UndoArgs;
use crate::core::escape::term;
use crate::core::resolve::AppliedRename;
use crate::error::{Error, Exit, Result};
use crate::workspace::Workspace;

use super::Io;

/// One step of undoing.
#[derive(Debug, Clone, PartialEq, Eq)]
enum UndoStep {
    /// `manage.py migrate APP TARGET` (with files set aside meanwhile):
    /// reverses a recorded migrate.
    Migrate {
        effect: usize,
        app: String,
        target: String,
        aside: Vec<String>,
    },
    /// Rename `django_migrations` rows back.
    RenameBack {
        effect: usize,
        renames: Vec<AppliedRename>,
    },
    /// Every recorded file back as it was.
    RestoreFiles,
    /// The SQLite file back, byte for byte.
    RestoreSqlite { path: PathBuf },
    /// djmig's rebase stopped and is still in progress: abort it.
    AbortRebase { effect: usize },
    /// djmig's rebase finished: move the branch back.
    ResetBranch {
        effect: usize,
        to: String,
        branch: Option<String>,
    },
}

/// The steps that reverse a recorded resolution, in order: database steps
/// that ran after the file changes (with the files as they are now), the
/// files, database steps that ran before the file changes (with the files
/// as they were), the SQLite copy, djmig's rebase.
fn plan(
    rec: &Record,
    no_database: bool,
    head: Option<&str>,
    rebasing: bool,
) -> (Vec<UndoStep>, Vec<String>) {
    let mut notes = Vec::new();
    let sqlite = rec
        .database
        .as_ref()
        .and_then(|d| d.sqlite.as_ref())
        .filter(|c| !c.restored);
    let by_migrate = !no_database && sqlite.is_none();
    let mut after = Vec::new();
    let mut before = Vec::new();
    let mut git = Vec::new();
    for (i, r) in rec.effects.iter().enumerate().rev() {
        if r.undone {
            continue;
        }
        match &r.effect {
            Effect::Migrate {
                phase,
                restore,
                aside,
                ..
            } => {
                if !by_migrate {
                    continue;
                }
                let list = if *phase == Phase::AfterFiles {
                    &mut after
                } else {
                    &mut before
                };
                for (app, target) in restore {
                    list.push(UndoStep::Migrate {
                        effect: i,
                        app: app.clone(),
                        target: target.clone(),
                        aside: aside.clone(),
                    });
                }
            }
            Effect::RenameApplied { renames } => {
                if by_migrate {
                    after.push(UndoStep::RenameBack {
                        effect: i,
                        renames: renames.clone(),
                    });
                }
            }
            Effect::Rebase {
                branch,
                orig_head,
                new_head,
                ..
            } => {
                if rebasing && !r.done {
                    git.push(UndoStep::AbortRebase { effect: i });
                } else if r.done && new_head.as_deref() == head {
                    git.push(UndoStep::ResetBranch {
                        effect: i,
                        to: orig_head.clone(),
                        branch: branch.clone(),
                    });
                } else if r.done {
                    notes.push(format!(
                        "djmig's rebase is not undone: HEAD moved since; to go back yourself: git reset --keep {}",
                        &orig_head[..orig_head.len().min(12)]
                    ));
                }
            }
        }
    }
    let mut steps = after;
    steps.push(UndoStep::RestoreFiles);
    steps.extend(before);
    if let (Some(c), false) = (sqlite, no_database) {
        steps.push(UndoStep::RestoreSqlite {
            path: c.path.clone(),
        });
    }
    steps.extend(git);
    if no_database && rec.database.is_some() {
        notes.push("--no-database: the local database is left as it is".to_string());
    }
    (steps, notes)
}

pub fn run(ws: &Workspace, args: &UndoArgs, io: &mut Io) -> Result<Exit> {
    // What undo would do with the files; also says "nothing to undo".
    let files = journal::restore_files(&ws.root, true, false)?;
    let Some(rec) = journal::last_record(&ws.root)? else {
        return Err(Error::usage("nothing to undo"));
    };
    let repo = ws.repo().ok();
    let state = repo.and_then(|r| r.state().ok());
    let head = state
        .as_ref()
        .and_then(|s| s.head.oid)
        .map(|o| o.to_string());
    let rebasing = state.as_ref().is_some_and(|s| {
        matches!(
            s.in_progress,
            Some(crate::adapters::git::InProgress::Rebase(_))
        )
    });
    let (steps, notes) = plan(&rec, args.no_database, head.as_deref(), rebasing);
    // Paths and names from the repository, shown as `term` shows them.
    let rel = |p: &std::path::Path| {
        let shown = p
            .strip_prefix(&ws.root)
            .map(|x| x.display().to_string())
            .unwrap_or_else(|_| p.display().to_string());
        term(&shown).into_owned()
    };
    let out = &mut *io.out;
    let _ = writeln!(
        out,
        "{}: {} (started {}{})",
        if args.dry_run {
            "Would undo"
        } else {
            "Undoing"
        },
        term(&rec.description),
        rec.started,
        if rec.state == State::Complete {
            ""
        } else {
            ", interrupted before it finished"
        }
    );
    for (i, s) in steps.iter().enumerate() {
        let n = i + 1;
        let _ = match s {
            UndoStep::Migrate {
                app, target, aside, ..
            } => writeln!(
                out,
                "{}",
                term(&format!(
                    "  {n}. manage.py migrate {app} {target}{}",
                    if aside.is_empty() {
                        String::new()
                    } else {
                        format!(" (with {} set aside)", aside.join(", "))
                    }
                ))
            ),
            UndoStep::RenameBack { renames, .. } => writeln!(
                out,
                "{}",
                term(&format!(
                    "  {n}. rename back in django_migrations: {}",
                    renames
                        .iter()
                        .map(|r| format!("{}.{} -> {}", r.app, r.to, r.from))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            ),
            UndoStep::RestoreFiles => writeln!(
                out,
                "  {n}. restore {} file(s), delete {} the resolution created",
                files.restored.len(),
                files.deleted.len()
            ),
            UndoStep::RestoreSqlite { path } => writeln!(
                out,
                "  {n}. put back the SQLite database {} as it was, byte for byte",
                path.display()
            ),
            UndoStep::AbortRebase { .. } => writeln!(out, "  {n}. git rebase --abort"),
            UndoStep::ResetBranch { to, branch, .. } => writeln!(
                out,
                "  {n}. git reset --keep {to}: {} back to before djmig's rebase",
                branch.as_deref().unwrap_or("HEAD")
            ),
        };
    }
    for p in &files.restored {
        let _ = writeln!(out, "     restore {}", rel(p));
    }
    for p in &files.deleted {
        let _ = writeln!(out, "     delete {}", rel(p));
    }
    for p in &files.changed_since {
        let _ = writeln!(
            out,
            "  note: {} was changed after the resolution; that version is saved too",
            rel(p)
        );
    }
    for n in &notes {
        let _ = writeln!(out, "  note: {}", term(n));
    }
    if args.dry_run {
        return Ok(Exit::Ok);
    }
    let weighty = steps.iter().any(|s| !matches!(s, UndoStep::RestoreFiles));
    let terminal = crate::terminal::prompt::is_interactive();
    if !args.yes {
        if terminal {
            let mut p = crate::terminal::prompt::prompter(false, false);
            if !p.confirm("Undo this resolution?", true)? {
                let _ = writeln!(out, "Nothing was changed.");
                return Ok(Exit::Failed);
            }
        } else if weighty {
            return Err(Error::usage(
                "undoing changes the local database or git, and there is no terminal to ask on",
            )
            .hint("pass --yes to take the plan, or --no-database to restore the files only"));
        }
    }
    let django = if steps
        .iter()
        .any(|s| matches!(s, UndoStep::Migrate { .. } | UndoStep::RenameBack { .. }))
    {
        let d = super::locate_django(ws).map_err(|e| {
            e.hint("undo migrates the local database back with the project's manage.py; `djmig undo --no-database` restores the files only")
        })?;
        Some(d)
    } else {
        None
    };
    let _signals = crate::adapters::interrupt::guard();
    for (i, s) in steps.iter().enumerate() {
        if crate::adapters::interrupt::requested() {
            return Err(crate::adapters::interrupt::stopped(
                "undo",
                i,
                "run `djmig undo` again: it goes on where it stopped",
            ));
        }
        run_step(ws, s, django.as_ref(), &rec, out)?;
        // An effect counts as undone once every app of it is reversed.
        if let UndoStep::Migrate { effect, .. } = s {
            let same_next = matches!(steps.get(i + 1), Some(UndoStep::Migrate { effect: e, .. }) if e == effect);
            if !same_next {
                journal::mark_effect_undone(&ws.root, *effect)?;
            }
        }
    }
    journal::mark_undone(&ws.root)?;
    let _ = writeln!(out, "Undone.");
    Ok(Exit::Ok)
}

fn run_step(
    ws: &Workspace,
    s: &UndoStep,
    django: Option<&Django>,
    rec: &Record,
    out: &mut dyn Write,
) -> Result<()> {
    let again = "fix the cause and run `djmig undo` again: it goes on where it stopped";
    let need = || {
        django.ok_or_else(|| Error::failed("this step runs manage.py, but Django cannot run here"))
    };
    match s {
        UndoStep::Migrate {
            effect,
            app,
            target,
            aside,
        } => {
            let d = need()?;
            let moved = set_aside(ws, rec, aside)?;
            let _ = writeln!(
                out,
                "{}",
                term(&format!("running: manage.py migrate {app} {target}"))
            );
            let res = d.migrate(app, target);
            put_back(&moved)?;
            let o = res.map_err(|e| e.hint(again))?;
            let _ = write!(out, "{}", o.stdout);
            let _ = effect;
        }
        UndoStep::RenameBack { effect, renames } => {
            let d = need()?;
            let applied: BTreeSet<(String, String)> = d
                .showmigrations(&[])?
                .into_iter()
                .flat_map(|(a, v)| {
                    v.into_iter()
                        .filter(|(_, x)| *x)
                        .map(move |(n, _)| (a.clone(), n))
                })
                .collect();
            let pending: Vec<AppliedRename> = renames
                .iter()
                .filter(|r| applied.contains(&(r.app.clone(), r.to.clone())))
                .map(|r| AppliedRename {
                    app: r.app.clone(),
                    from: r.to.clone(),
                    to: r.from.clone(),
                })
                .collect();
            if !pending.is_empty() {
                let pairs: Vec<(crate::core::keys::MigrationKey, String)> = pending
                    .iter()
                    .map(|r| {
                        (
                            crate::core::keys::MigrationKey::new(r.app.clone(), r.from.clone()),
                            r.to.clone(),
                        )
                    })
                    .collect();
                d.rename_applied(&pairs).map_err(|e| e.hint(again))?;
                for r in &pending {
                    let done = format!(
                        "renamed back in django_migrations: {}.{} -> {}",
                        r.app, r.from, r.to
                    );
                    let _ = writeln!(out, "{}", term(&done));
                }
            }
            journal::mark_effect_undone(&ws.root, *effect)?;
        }
        UndoStep::RestoreFiles => {
            let r = journal::restore_files(&ws.root, false, false)?;
            let rel = |p: &std::path::Path| {
                let shown = p
                    .strip_prefix(&ws.root)
                    .map(|x| x.display().to_string())
                    .unwrap_or_else(|_| p.display().to_string());
                term(&shown).into_owned()
            };
            for p in &r.restored {
                let _ = writeln!(out, "restored {}", rel(p));
            }
            for p in &r.deleted {
                let _ = writeln!(out, "deleted {}", rel(p));
            }
            if let Some(s) = &r.saved_to {
                let _ = writeln!(out, "Files undo replaced are saved in {}", s.display());
            }
        }
        UndoStep::RestoreSqlite { path } => {
            let kept = journal::restore_database(&ws.root)?;
            let _ = writeln!(out, "restored the database {}", path.display());
            if let Some(k) = kept {
                let _ = writeln!(
                    out,
                    "The database as it was before undo is saved in {}",
                    k.display()
                );
            }
        }
        UndoStep::AbortRebase { effect } => {
            let o = crate::adapters::git::process::run_git(&ws.root, &["rebase", "--abort"])?;
            if !o.ok {
                return Err(Error::failed("`git rebase --abort` failed")
                    .cause(o.stderr.trim().to_string())
                    .hint(again));
            }
            let _ = writeln!(out, "aborted djmig's rebase");
            journal::mark_effect_undone(&ws.root, *effect)?;
        }
        UndoStep::ResetBranch { effect, to, .. } => {
            let oid = crate::adapters::git::Oid::from_str(to)
                .map_err(|_| Error::failed(format!("the journal names {to:?}, not a commit id")))?;
            let o = crate::adapters::git::process::reset_keep(&ws.root, oid)?;
            if !o.ok {
                return Err(Error::failed(format!("`git reset --keep {to}` failed"))
                    .cause(o.stderr.trim().to_string())
                    .hint(again));
            }
            let _ = writeln!(out, "moved the branch back to {}", &to[..to.len().min(12)]);
            journal::mark_effect_undone(&ws.root, *effect)?;
        }
    }
    Ok(())
}

/// Set files aside for a migrate that ran with them aside.
fn set_aside(ws: &Workspace, rec: &Record, files: &[String]) -> Result<Vec<(PathBuf, PathBuf)>> {
    let dir = rec.dir.join("aside-undo");
    let mut moved = Vec::new();
    for f in files {
        let from = ws.root.join(f);
        if !from.exists() {
            continue;
        }
        let to = dir.join(f);
        if let Some(p) = to.parent() {
            std::fs::create_dir_all(p)
                .map_err(|e| Error::failed(format!("cannot create {}", p.display())).cause(e))?;
        }
        if let Err(e) = std::fs::rename(&from, &to) {
            put_back(&moved)?;
            return Err(Error::failed(format!("cannot set {f} aside")).cause(e));
        }
        moved.push((from, to));
    }
    Ok(moved)
}

fn put_back(moved: &[(PathBuf, PathBuf)]) -> Result<()> {
    for (orig, aside) in moved {
        std::fs::rename(aside, orig)
            .map_err(|e| Error::failed(format!("cannot put {} back", orig.display())).cause(e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::adapters::store::journal::effects::SqliteCopy;
    use crate::adapters::store::journal::{DatabaseRecord, EffectRecord};
    use std::collections::BTreeMap;

    fn rec(effects: Vec<EffectRecord>, sqlite: bool) -> Record {
        Record {
            dir: PathBuf::from("/j"),
            description: "d".into(),
            started: "s".into(),
            state: State::Complete,
            effects,
            database: Some(DatabaseRecord {
                display: "db".into(),
                applied_before: Vec::new(),
                sqlite: sqlite.then(|| SqliteCopy {
                    path: PathBuf::from("/p/db.sqlite3"),
                    backup: "database/sqlite".into(),
                    blob: "x".into(),
                    existed: true,
                    restored: false,
                }),
            }),
        }
    }

    fn migrate(phase: Phase, app: &str, target: &str, aside: &[&str]) -> EffectRecord {
        EffectRecord {
            effect: Effect::Migrate {
                phase,
                command: "c".into(),
                restore: BTreeMap::from([(app.to_string(), target.to_string())]),
                aside: aside.iter().map(|s| s.to_string()).collect(),
            },
            done: true,
            undone: false,
        }
    }

    /// A regenerate: unapply before the files (with upstream's set aside),
    /// migrate after. Undo: unapply what the last migrate applied with the
    /// new files, restore the files, re-apply with upstream's set aside.
    #[test]
    fn regenerate_is_undone_in_reverse_with_the_files_it_ran_against() {
        let r = rec(
            vec![
                migrate(
                    Phase::BeforeFiles,
                    "blog",
                    "0004_views",
                    &["b/0004_rating.py"],
                ),
                migrate(Phase::AfterFiles, "blog", "0003", &[]),
            ],
            false,
        );
        let (steps, notes) = plan(&r, false, None, false);
        assert!(notes.is_empty());
        assert_eq!(
            steps,
            vec![
                UndoStep::Migrate {
                    effect: 1,
                    app: "blog".into(),
                    target: "0003".into(),
                    aside: vec![]
                },
                UndoStep::RestoreFiles,
                UndoStep::Migrate {
                    effect: 0,
                    app: "blog".into(),
                    target: "0004_views".into(),
                    aside: vec!["b/0004_rating.py".into()]
                },
            ]
        );
    }

    #[test]
    fn a_sqlite_copy_replaces_the_migrate_steps() {
        let r = rec(
            vec![
                migrate(Phase::BeforeFiles, "blog", "0004_views", &[]),
                migrate(Phase::AfterFiles, "blog", "0003", &[]),
            ],
            true,
        );
        let (steps, _) = plan(&r, false, None, false);
        assert_eq!(
            steps,
            vec![
                UndoStep::RestoreFiles,
                UndoStep::RestoreSqlite {
                    path: PathBuf::from("/p/db.sqlite3")
                }
            ]
        );
        let (steps, notes) = plan(&r, true, None, false);
        assert_eq!(steps, vec![UndoStep::RestoreFiles]);
        assert!(notes[0].contains("--no-database"));
    }

    #[test]
    fn renames_and_rebases() {
        let mut effects = vec![
            EffectRecord {
                effect: Effect::Rebase {
                    branch: Some("feature".into()),
                    orig_head: "aaaa".into(),
                    onto: "bbbb".into(),
                    new_head: Some("cccc".into()),
                },
                done: true,
                undone: false,
            },
            migrate(Phase::BeforeFiles, "blog", "0003", &["b/0004_views.py"]),
            EffectRecord {
                effect: Effect::RenameApplied {
                    renames: vec![AppliedRename {
                        app: "blog".into(),
                        from: "0004_views".into(),
                        to: "0005_views".into(),
                    }],
                },
                done: true,
                undone: false,
            },
        ];
        let (steps, _) = plan(&rec(effects.clone(), false), false, Some("cccc"), false);
        assert!(matches!(steps[0], UndoStep::RenameBack { effect: 2, .. }));
        assert_eq!(steps[1], UndoStep::RestoreFiles);
        assert!(matches!(steps[2], UndoStep::Migrate { effect: 1, .. }));
        assert!(matches!(steps[3], UndoStep::ResetBranch { effect: 0, .. }));
        // HEAD moved since: the rebase is left, with a note.
        let (steps, notes) = plan(&rec(effects.clone(), false), false, Some("dddd"), false);
        assert_eq!(steps.len(), 3);
        assert!(notes[0].contains("git reset --keep aaaa"), "{notes:?}");
        // Stopped and still in progress: abort it.
        effects[0].done = false;
        let (steps, _) = plan(&rec(effects, false), false, Some("x"), true);
        assert!(matches!(
            steps.last(),
            Some(UndoStep::AbortRebase { effect: 0 })
        ));
    }
}
