//! The plan of a strategy: every side effect as a step — git, the local
//! database, files — in the order the executor runs them, so `--dry-run`
//! prints exactly what would happen and the journal can record each one.
//!
//! Database steps come in two phases so that `djmig undo` can reverse them
//! with the files they ran against: before any file changes (with files
//! set aside so Django sees one leaf) and after all of them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use serde::Serialize;

use super::super::keys::MigrationKey;
use super::super::load::Project;
use super::super::pyparse::ParsedMigration;
use super::super::rewrite::{self, Rename};
use super::{review_lines, unified_diff, DataLoss, Database, PlanError, Situation, Strategy};

/// One row of `django_migrations` renamed: the migration stays applied
/// under its new name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct AppliedRename {
    pub app: String,
    pub from: String,
    pub to: String,
}

/// One step of a plan.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// `git rebase <onto>`: take upstream in before resolving.
    Rebase {
        /// The commit id (never a name that could be read as an option).
        onto: String,
        /// How upstream is shown: `main (abc1234)`.
        upstream: String,
    },
    /// Move files into the journal so Django sees one leaf while the
    /// database is migrated.
    SetAside { files: Vec<String> },
    /// Put the files set aside back.
    PutBack { files: Vec<String> },
    /// `manage.py migrate APP TARGET`.
    Migrate {
        app: String,
        target: String,
        /// `app.name` of what it unapplies, children first.
        unapplies: Vec<String>,
        /// `app.name` of what it applies.
        applies: Vec<String>,
        /// Stored data that unapplying drops.
        data_at_risk: Vec<DataLoss>,
    },
    /// `manage.py migrate`: apply everything not applied yet.
    MigrateAll,
    /// Rename rows of `django_migrations`, through the project's Django.
    RenameApplied { renames: Vec<AppliedRename> },
    /// Delete a file (backed up first).
    Delete { file: String },
    /// Write a file (new, or replacing one) with the given content.
    Write {
        file: String,
        /// The file this one replaces, when it is a rename.
        replaces: Option<String>,
        #[serde(skip)]
        content: Vec<u8>,
        /// What changes, as a unified diff.
        diff: String,
    },
    /// `manage.py makemigrations <apps>`.
    Makemigrations { apps: Vec<String> },
    /// `manage.py makemigrations --merge --noinput <app>`.
    MakemigrationsMerge { app: String },
    /// Write django-linear-migrations' `max_migration.txt`.
    WriteMaxMigration {
        app: String,
        file: String,
        /// The name to write; `None`: the app's leaf once the steps before
        /// have run (a name makemigrations chooses).
        leaf: Option<String>,
    },
    /// `manage.py check`: the project's system checks pass again.
    Check,
    /// Read the graph again: one leaf per app.
    Verify,
}

impl Step {
    /// Whether the step runs the project's manage.py.
    pub fn runs_django(&self) -> bool {
        matches!(
            self,
            Step::Migrate { .. }
                | Step::MigrateAll
                | Step::RenameApplied { .. }
                | Step::Makemigrations { .. }
                | Step::MakemigrationsMerge { .. }
                | Step::Check
        )
    }

    /// Whether the step changes the local database.
    pub fn changes_database(&self) -> bool {
        matches!(
            self,
            Step::Migrate { .. } | Step::MigrateAll | Step::RenameApplied { .. }
        )
    }
}

/// A strategy's plan for one app. Its steps come in the phases the
/// resolution runs them in ([`assemble`]): with several apps, every app's
/// database steps before the file changes run in one context, with every
/// app's files set aside at once, so Django sees one leaf everywhere.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub app: String,
    /// `None`: only django-linear-migrations' `max_migration.txt` needs
    /// settling.
    pub strategy: Option<Strategy>,
    /// Files set aside while the database is migrated before any file
    /// changes.
    pub aside: Vec<String>,
    /// Files to set aside so the app has one leaf while another app's
    /// database steps run (Django's migrate refuses while any app has two).
    pub linearize: Vec<String>,
    /// `Migrate` steps run before any file changes.
    pub before_files: Vec<Step>,
    /// The file steps.
    pub file_steps: Vec<Step>,
    /// Database steps after the file changes (`RenameApplied`).
    pub after_files: Vec<Step>,
    /// `manage.py migrate` at the end: the database was in use.
    pub migrate_all: bool,
    /// `manage.py check` at the end (django-linear-migrations' checks).
    pub check: bool,
    /// Every file the plan may touch (backed up before the first write).
    pub files: Vec<String>,
    /// Review hints on what the plan writes or keeps.
    pub hints: Vec<String>,
}

impl Plan {
    /// `regenerate`, or what a strategy-less plan does.
    pub fn name(&self) -> &'static str {
        self.strategy
            .map(Strategy::name)
            .unwrap_or("settle max_migration.txt")
    }

    /// Plan the rewrite of a stale or conflicted `max_migration.txt` in an
    /// app whose graph has one leaf.
    pub fn settle_max_migration(app: &str, file: &str, leaf: &str, check: bool) -> Plan {
        Plan {
            app: app.to_string(),
            strategy: None,
            aside: Vec::new(),
            linearize: Vec::new(),
            before_files: Vec::new(),
            file_steps: vec![Step::WriteMaxMigration {
                app: app.to_string(),
                file: file.to_string(),
                leaf: Some(leaf.to_string()),
            }],
            after_files: Vec::new(),
            migrate_all: false,
            check,
            files: vec![file.to_string()],
            hints: Vec::new(),
        }
    }
}

/// The steps of a whole resolution, in the order they run: djmig's rebase,
/// then every app's files set aside, their database steps, the files put
/// back, every app's file steps, the database renames, `migrate`,
/// `check`, and a last read of the graph.
pub fn assemble(plans: &[Plan], rebase: Option<Step>) -> Vec<Step> {
    let mut out: Vec<Step> = rebase.into_iter().collect();
    let mut aside: Vec<String> = Vec::new();
    let sets = plans.iter().map(|p| {
        if p.aside.is_empty() {
            &p.linearize
        } else {
            &p.aside
        }
    });
    for f in sets.flatten() {
        if !aside.contains(f) {
            aside.push(f.clone());
        }
    }
    let before: Vec<Step> = plans
        .iter()
        .flat_map(|p| p.before_files.iter().cloned())
        .collect();
    if !before.is_empty() {
        if !aside.is_empty() {
            out.push(Step::SetAside {
                files: aside.clone(),
            });
        }
        out.extend(before);
        if !aside.is_empty() {
            out.push(Step::PutBack { files: aside });
        }
    }
    out.extend(plans.iter().flat_map(|p| p.file_steps.iter().cloned()));
    out.extend(plans.iter().flat_map(|p| p.after_files.iter().cloned()));
    if plans.iter().any(|p| p.migrate_all) {
        out.push(Step::MigrateAll);
    }
    if plans.iter().any(|p| p.check) {
        out.push(Step::Check);
    }
    out.push(Step::Verify);
    out
}

/// Source texts the planner needs: file → bytes, or why it cannot be
/// read.
pub type Sources<'a> = &'a dyn Fn(&str) -> Result<Vec<u8>, String>;

/// What a plan is made from besides the situation.
pub struct PlanContext<'a> {
    pub project: &'a Project,
    pub sources: Sources<'a>,
    pub full: &'a dyn Fn(&MigrationKey) -> Option<Arc<ParsedMigration>>,
    /// The merge migration djmig writes itself when Django cannot run:
    /// `(name, content)`.
    pub merge_file: Option<(String, String)>,
    pub database: &'a Database,
    /// django-linear-migrations' `max_migration.txt` of an app, when the
    /// app has one.
    pub max_migration: &'a dyn Fn(&str) -> Option<String>,
}

/// Build the plan of `strategy` for a situation.
pub fn plan(s: &Situation, strategy: Strategy, ctx: &PlanContext) -> Result<Plan, PlanError> {
    if let Some(why) = s.refused.get(&strategy) {
        return Err(PlanError::StrategyNotPossible {
            strategy,
            app: s.app.clone(),
            why: why.clone(),
        });
    }
    if strategy.rewrites_ours() {
        if let Database::Unknown(reason) = ctx.database {
            return Err(PlanError::DatabaseUnknown {
                app: s.app.clone(),
                reason: reason.clone(),
            });
        }
    }
    let mut b = Builder::default();
    let applied = s.any_applied();
    let app = &s.app;
    match strategy {
        Strategy::Regenerate => {
            if applied {
                b.unapply(s);
            }
            let mut apps: BTreeSet<String> = BTreeSet::from([app.clone()]);
            for m in s.ours_and_dependents() {
                b.delete(&m.file);
                if let Some((a, _)) = m.name.split_once('.') {
                    apps.insert(a.to_string());
                }
            }
            // django-linear-migrations: settle the conflicted file before
            // makemigrations reads the graph, then name the new leaf.
            if let (Some(file), Some(leaf)) = ((ctx.max_migration)(app), s.theirs_leaf()) {
                b.max_migration(app, &file, Some(leaf.to_string()));
            }
            b.steps.push(Step::Makemigrations {
                apps: apps.iter().cloned().collect(),
            });
            for a in &apps {
                if let Some(file) = (ctx.max_migration)(a) {
                    b.max_migration(a, &file, None);
                }
            }
        }
        Strategy::Reparent => {
            let theirs_leaf = s
                .theirs_leaf()
                .ok_or_else(|| PlanError::NoUpstreamLeaf { app: app.clone() })?;
            let new_parent = MigrationKey::new(app.clone(), theirs_leaf);
            let ours: Vec<MigrationKey> = s
                .ours
                .iter()
                .map(|m| MigrationKey::new(app.clone(), &m.name))
                .collect();
            let renames = rewrite::plan_reparent(&ours, &new_parent);
            check_free(ctx.project, &renames)?;
            // Applied ones keep their rows (and the data in their columns)
            // under the new names, once upstream's are applied beneath
            // them, when that is safe (`Situation::reparent_keeps_rows`);
            // otherwise unapply first.
            let keep_rows = applied && s.reparent_keeps_rows;
            if keep_rows {
                let pending: Vec<String> = s
                    .theirs
                    .iter()
                    .filter(|m| m.applied != Some(true))
                    .map(|m| format!("{app}.{}", m.name))
                    .collect();
                if !pending.is_empty() {
                    let aside: Vec<String> =
                        s.ours_and_dependents().map(|m| m.file.clone()).collect();
                    b.set_aside(&aside);
                    b.before.push(Step::Migrate {
                        app: app.clone(),
                        target: theirs_leaf.to_string(),
                        unapplies: Vec::new(),
                        applies: pending,
                        data_at_risk: Vec::new(),
                    });
                }
            } else if applied {
                b.unapply(s);
            }
            b.rewrite(s, ctx, &renames)?;
            if keep_rows {
                let applied_names: BTreeSet<&str> = s
                    .ours
                    .iter()
                    .filter(|m| m.applied == Some(true))
                    .map(|m| m.name.as_str())
                    .collect();
                let rows: Vec<AppliedRename> = renames
                    .iter()
                    .filter(|r| applied_names.contains(r.from.as_str()))
                    .map(|r| AppliedRename {
                        app: r.app.clone(),
                        from: r.from.clone(),
                        to: r.to.clone(),
                    })
                    .collect();
                if !rows.is_empty() {
                    b.after.push(Step::RenameApplied { renames: rows });
                }
            }
            if let Some(file) = (ctx.max_migration)(app) {
                let leaf = renames
                    .last()
                    .map(|r| r.to.clone())
                    .or_else(|| s.ours.last().map(|m| m.name.clone()));
                b.max_migration(app, &file, leaf);
            }
        }
        Strategy::Merge => {
            match &ctx.merge_file {
                None => b.steps.push(Step::MakemigrationsMerge { app: app.clone() }),
                Some((name, content)) => {
                    let dir = ctx
                        .project
                        .apps
                        .get(app)
                        .map(|a| a.path.clone())
                        .unwrap_or_default();
                    let file = format!("{dir}/{name}.py");
                    b.files.insert(file.clone());
                    b.steps.push(Step::Write {
                        diff: unified_diff("/dev/null", &file, b"", content.as_bytes()),
                        file,
                        replaces: None,
                        content: content.clone().into_bytes(),
                    });
                }
            }
            if let Some(file) = (ctx.max_migration)(app) {
                b.max_migration(app, &file, None);
            }
        }
    }
    let linearize: Vec<String> = s
        .theirs
        .iter()
        .chain(&s.theirs_dependents)
        .map(|m| m.file.clone())
        .collect();
    b.files.extend(linearize.iter().cloned());
    Ok(Plan {
        app: app.clone(),
        strategy: Some(strategy),
        aside: b.aside,
        linearize,
        before_files: b.before,
        file_steps: b.steps,
        after_files: b.after,
        migrate_all: applied,
        check: b.uses_dlm,
        files: b.files.into_iter().collect(),
        hints: b.hints,
    })
}

#[derive(Default)]
struct Builder {
    aside: Vec<String>,
    before: Vec<Step>,
    steps: Vec<Step>,
    after: Vec<Step>,
    files: BTreeSet<String>,
    hints: Vec<String>,
    uses_dlm: bool,
}

impl Builder {
    fn set_aside(&mut self, files: &[String]) {
        self.files.extend(files.iter().cloned());
        self.aside.extend(files.iter().cloned());
    }

    /// Unapply ours (and their dependents) with upstream's files set aside.
    fn unapply(&mut self, s: &Situation) {
        let aside: Vec<String> = s
            .theirs
            .iter()
            .chain(&s.theirs_dependents)
            .map(|m| m.file.clone())
            .collect();
        let qualified = |m: &super::MigInfo| {
            if m.name.contains('.') {
                m.name.clone()
            } else {
                format!("{}.{}", s.app, m.name)
            }
        };
        let mut unapplies: Vec<String> = s
            .ours_and_dependents()
            .filter(|m| m.applied == Some(true))
            .map(qualified)
            .collect();
        unapplies.reverse();
        self.set_aside(&aside);
        self.before.push(Step::Migrate {
            app: s.app.clone(),
            target: s
                .common_ancestor
                .clone()
                .unwrap_or_else(|| "zero".to_string()),
            unapplies,
            applies: Vec::new(),
            data_at_risk: s.data_at_risk.clone(),
        });
    }

    fn delete(&mut self, file: &str) {
        self.files.insert(file.to_string());
        self.steps.push(Step::Delete {
            file: file.to_string(),
        });
    }

    fn max_migration(&mut self, app: &str, file: &str, leaf: Option<String>) {
        self.uses_dlm = true;
        self.files.insert(file.to_string());
        self.steps.push(Step::WriteMaxMigration {
            app: app.to_string(),
            file: file.to_string(),
            leaf,
        });
    }

    /// Rename ours and rewrite every reference to them in every app.
    fn rewrite(
        &mut self,
        s: &Situation,
        ctx: &PlanContext,
        renames: &[Rename],
    ) -> Result<(), PlanError> {
        let app = &s.app;
        let project = ctx.project;
        let renamed: BTreeMap<&str, &Rename> =
            renames.iter().map(|r| (r.from.as_str(), r)).collect();
        let ours: Vec<MigrationKey> = s
            .ours
            .iter()
            .map(|m| MigrationKey::new(app.clone(), &m.name))
            .collect();
        let new_parent = MigrationKey::new(app.clone(), s.theirs_leaf().unwrap_or_default());
        let ancestor = s
            .common_ancestor
            .as_ref()
            .map(|a| MigrationKey::new(app.clone(), a));
        // Every file that names a renamed migration, or is one of ours.
        let mut touched: BTreeSet<MigrationKey> = ours.iter().cloned().collect();
        for m in project.migrations.values() {
            let refs = m
                .dependencies
                .iter()
                .chain(&m.run_before)
                .chain(&m.replaces);
            if refs
                .clone()
                .any(|d| d.app == *app && renamed.contains_key(d.name.as_str()))
            {
                touched.insert(m.key.clone());
            }
        }
        for key in &touched {
            let m = &project.migrations[key];
            let io = |why: String| PlanError::Io {
                file: m.file.clone(),
                why,
            };
            let source = (ctx.sources)(&m.file).map_err(io)?;
            let parsed = (ctx.full)(key)
                .ok_or_else(|| io("its operations could not be read".to_string()))?;
            let is_ours = ours.contains(key);
            let reparent = match (&ancestor, is_ours) {
                (Some(a), true) if m.dependencies.contains(a) => Some((a, &new_parent)),
                _ => None,
            };
            let new = rewrite::rewrite_references(&source, &parsed, renames, key, reparent)
                .map_err(|error| PlanError::Rewrite {
                    file: m.file.clone(),
                    error,
                })?;
            let target = match renamed.get(key.name.as_str()).filter(|_| key.app == *app) {
                Some(r) => {
                    let dir = m.file.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
                    format!("{dir}/{}.py", r.to)
                }
                None => m.file.clone(),
            };
            let diff = unified_diff(&m.file, &target, &source, &new);
            self.files.insert(m.file.clone());
            self.files.insert(target.clone());
            self.steps.push(Step::Write {
                replaces: (target != m.file).then(|| m.file.clone()),
                file: target,
                content: new,
                diff,
            });
            self.hints
                .extend(review_lines(&key.name, &parsed, &key.app));
        }
        Ok(())
    }
}

/// New names must not collide with migrations that exist.
fn check_free(project: &Project, renames: &[Rename]) -> Result<(), PlanError> {
    let from: BTreeSet<&str> = renames.iter().map(|r| r.from.as_str()).collect();
    for r in renames {
        let k = MigrationKey::new(r.app.clone(), r.to.clone());
        if project.migrations.contains_key(&k) && !from.contains(r.to.as_str()) {
            return Err(PlanError::NameTaken {
                from: r.from.clone(),
                to: r.to.clone(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::MigInfo;
    use super::*;

    fn mig(name: &str, file: &str, applied: bool) -> MigInfo {
        MigInfo {
            name: name.into(),
            file: file.into(),
            operations: Vec::new(),
            applied: Some(applied),
            hand_written: None,
            published: false,
        }
    }

    fn situation(app: &str, applied: bool) -> Situation {
        Situation {
            app: app.into(),
            common_ancestor: Some("0001_initial".into()),
            theirs: vec![mig(
                "0002_theirs",
                &format!("{app}/m/0002_theirs.py"),
                false,
            )],
            theirs_dependents: Vec::new(),
            ours: vec![mig("0002_ours", &format!("{app}/m/0002_ours.py"), applied)],
            dependents: Vec::new(),
            overlaps: Vec::new(),
            data_at_risk: Vec::new(),
            reparent_keeps_rows: applied,
            recommended: Strategy::Regenerate,
            reason: String::new(),
            refused: BTreeMap::new(),
        }
    }

    fn plan_with(s: &Situation, strategy: Strategy, db: &Database) -> Result<Plan, PlanError> {
        let project = Project::default();
        let ctx = PlanContext {
            project: &project,
            sources: &|f| Err(format!("{f}: not found")),
            full: &|_| None,
            merge_file: None,
            database: db,
            max_migration: &|_| None,
        };
        plan(s, strategy, &ctx)
    }

    fn kinds(steps: &[Step]) -> Vec<String> {
        steps
            .iter()
            .map(|s| {
                serde_json::to_value(s).unwrap()["step"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    /// Two conflicted apps, one applied: while the database is migrated,
    /// both apps have one leaf (the other app's upstream file set aside
    /// too), and every file step comes after every database step before
    /// files.
    #[test]
    fn two_apps_are_migrated_in_one_linear_context() {
        let db = Database::Known(Default::default());
        let blog = plan_with(&situation("blog", true), Strategy::Regenerate, &db).unwrap();
        let shop = plan_with(&situation("shop", false), Strategy::Regenerate, &db).unwrap();
        let steps = assemble(&[blog, shop], None);
        assert_eq!(
            kinds(&steps),
            [
                "set_aside",
                "migrate",
                "put_back",
                "delete",
                "makemigrations",
                "delete",
                "makemigrations",
                "migrate_all",
                "verify"
            ]
        );
        let Step::SetAside { files } = &steps[0] else {
            unreachable!()
        };
        assert_eq!(files, &["blog/m/0002_theirs.py", "shop/m/0002_theirs.py"]);
    }

    #[test]
    fn an_unknown_database_refuses_what_deletes_or_renames() {
        let db = Database::Unknown("no Django".into());
        let s = situation("blog", false);
        for st in [Strategy::Regenerate, Strategy::Reparent] {
            let e = plan_with(&s, st, &db).unwrap_err();
            assert!(matches!(e, PlanError::DatabaseUnknown { .. }), "{e:?}");
            assert!(e.to_string().contains("no Django"), "{e}");
        }
        // A merge migration deletes and renames nothing.
        let p = plan_with(&s, Strategy::Merge, &db).unwrap();
        assert!(!p.migrate_all);
        assert_eq!(
            kinds(&assemble(&[p], None)),
            ["makemigrations_merge", "verify"]
        );
    }

    #[test]
    fn a_rebase_comes_first_and_nothing_applied_means_no_database_step() {
        let db = Database::Ignored;
        let p = plan_with(&situation("blog", true), Strategy::Regenerate, &db).unwrap();
        let rebase = Step::Rebase {
            onto: "a".repeat(40),
            upstream: "main".into(),
        };
        // Ignored: `applied` is unknown, so no database step is planned.
        let mut s = situation("blog", true);
        s.ours[0].applied = None;
        let q = plan_with(&s, Strategy::Regenerate, &db).unwrap();
        assert_eq!(
            kinds(&assemble(&[q], Some(rebase))),
            ["rebase", "delete", "makemigrations", "verify"]
        );
        assert!(p.migrate_all, "applied per the situation");
    }
}
