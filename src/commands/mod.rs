//! One module per command: each reads what it needs, builds a report, and
//! renders it to the writers it is given.

mod check;
pub mod compare;
mod completions;
mod graph;
mod hook;
mod resolve;
mod review;
mod scan;
mod stranded;
mod undo;

use std::collections::BTreeSet;
use std::io::Write;

use crate::adapters::fs::tree::{find_site_packages, FsTree};
use crate::cli::{Cli, Command};
use crate::core::escape::{term, Guard, Mode};
use crate::core::graph::{build_graph, BuiltGraph};
use crate::core::load::{
    load_project, Environment, LoadOptions, MigrationReader, PlainReader, Project,
};
use crate::core::tree::SourceTree;
use crate::error::{Error, Exit, Result};
use crate::workspace::{Env, Workspace};

/// Where output goes: data on `out`, talk on `err`.
pub struct Io<'a> {
    pub out: &'a mut dyn Write,
    pub err: &'a mut dyn Write,
    /// Whether to colour each of them ([`crate::terminal::style`]).
    pub style: crate::terminal::style::Style,
}

/// Run a parsed command line. Its output goes through
/// [`crate::core::escape::Guard`]s: whatever a name slips past the renderers'
/// escaping cannot steer the terminal or start a workflow command.
pub fn run(cli: &Cli, io: &mut Io) -> Result<Exit> {
    // The environment is read once, here; everything after takes it from
    // `env` (or the workspace).
    let env = Env::from_process();
    let mut out = Guard::new(&mut *io.out, stdout_mode(cli, &env, io.style.out.enabled));
    let mut err = Guard::new(
        &mut *io.err,
        Mode::Text {
            colour: io.style.err.enabled,
        },
    );
    let mut io = Io {
        out: &mut out,
        err: &mut err,
        style: io.style,
    };
    dispatch(cli, env, &mut io)
}

/// What stdout holds: text, JSON, GitHub workflow commands (written
/// escaped already) or a generated file.
fn stdout_mode(cli: &Cli, env: &Env, colour: bool) -> Mode {
    use crate::cli::{CheckFormat, GraphFormat, PlanFormat, ScanFormat};
    let text = Mode::Text { colour };
    match &cli.command {
        Command::Graph(a) if a.format == GraphFormat::Json => Mode::Json,
        Command::Check(a) => match check::check_format(a.format, env) {
            CheckFormat::Json => Mode::Json,
            CheckFormat::Github => Mode::Raw,
            CheckFormat::Text => text,
        },
        Command::Scan(a) if a.format == ScanFormat::Json => Mode::Json,
        Command::Resolve(a) if a.format == PlanFormat::Json => Mode::Json,
        Command::Review(a) => review::stdout_mode(a, env, colour),
        Command::Completions(_) | Command::Man => Mode::Raw,
        _ => text,
    }
}

fn dispatch(cli: &Cli, env: Env, io: &mut Io) -> Result<Exit> {
    // Before the project is opened: completions and the man page need none,
    // and a hook must not fail on a broken one.
    match &cli.command {
        Command::Completions(a) => return completions::run_completions(a.shell, io.out),
        Command::Man => return completions::run_man(io.out),
        Command::Hook(h) => return hook::run(cli, h, env, io),
        _ => {}
    }
    let ws = Workspace::open(cli.dir.as_deref(), cli.config.as_deref(), cli.strict, env)?;
    let exit = match &cli.command {
        Command::Graph(a) => graph::run(&ws, a, io),
        Command::Check(a) => check::run(&ws, a, io),
        Command::Scan(a) => scan::run(&ws, a, io),
        Command::Resolve(a) => resolve::run(&ws, a, io),
        Command::Review(a) => review::run(&ws, a, io),
        Command::Undo(a) => undo::run(&ws, a, io),
        other => Err(Error::usage(format!(
            "`{}` is not available in this build",
            command_name(other)
        ))),
    };
    // Once, whatever the command's exit (if it got as far as keeping what
    // the parse cache learnt).
    ws.save_caches();
    exit
}

fn command_name(c: &Command) -> &'static str {
    match c {
        Command::Graph(_) => "graph",
        Command::Check(_) => "check",
        Command::Scan(_) => "scan",
        Command::Resolve(_) => "resolve",
        Command::Review(_) => "review",
        Command::Undo(_) => "undo",
        Command::Hook(_) => "hook",
        Command::Completions(_) => "completions",
        Command::Man => "man",
    }
}

/// A project read from one snapshot, with its graph.
pub struct Analysis {
    pub project: Project,
    pub built: BuiltGraph,
}

/// Read the work tree as Django would see it. Inside a git repository the
/// index's stat data tells which files are unchanged, and their parse comes
/// from the cache under `.git/djmig/` without reading them.
pub fn analyze_worktree(ws: &Workspace) -> Analysis {
    if let Ok(repo) = ws.repo() {
        if let Ok(wt) = repo.worktree_tree() {
            let reader = ws.parse_cache(repo);
            let a = analyze_with(ws, &wt, &*reader);
            ws.keep_parse_cache();
            return a;
        }
    }
    let tree = FsTree::new(&ws.root);
    analyze_with(ws, &tree, &PlainReader)
}

/// The work tree must exist to be read: in a bare repository there is
/// none, and reading the git directory as a project would answer "no
/// conflicts" about nothing. A git directory djmig refuses to open (a FIFO
/// for an index) is an error here too, not a quiet read without git.
pub fn require_worktree(ws: &Workspace) -> Result<()> {
    match ws.find_repo()? {
        Some(repo) if repo.is_bare() => Err(Error::git(format!(
            "{} is in a bare repository, which has no work tree to read",
            ws.root.display()
        ))
        .hint("compare two revisions instead: `djmig check --base REV --head REV`")
        .hint("or show one revision's graph: `djmig graph --ref REV`")),
        _ => Ok(()),
    }
}

/// Read any snapshot of the project.
pub fn analyze_with(
    ws: &Workspace,
    tree: &dyn SourceTree,
    reader: &dyn MigrationReader,
) -> Analysis {
    analyze_recorded(ws, tree, reader, None)
}

/// The project's manage.py and interpreter ([`Django::locate`]), with the
/// run's `VIRTUAL_ENV` and `PATH`.
///
/// [`Django::locate`]: crate::adapters::django::Django::locate
pub fn locate_django(ws: &Workspace) -> Result<crate::adapters::django::Django> {
    crate::adapters::django::Django::locate(
        &ws.root,
        &ws.config,
        ws.env.virtual_env.as_deref(),
        ws.env.path.as_deref(),
    )
}

/// The virtualenv's site-packages the project's outside apps are read from.
pub fn site_packages(ws: &Workspace) -> Option<std::path::PathBuf> {
    find_site_packages(
        &ws.root,
        ws.config.python.as_deref(),
        ws.env.virtual_env_text(),
    )
}

/// [`analyze_with`], recording what is read in the virtualenv into `rec`
/// (the caller records `tree` itself) for the result cache.
pub fn analyze_recorded(
    ws: &Workspace,
    tree: &dyn SourceTree,
    reader: &dyn MigrationReader,
    rec: Option<&crate::adapters::store::results::Recording>,
) -> Analysis {
    let site = site_packages(ws);
    let env_tree = site.as_ref().map(FsTree::new);
    let recorded = match (&env_tree, rec) {
        (Some(t), Some(rec)) => Some(crate::adapters::store::results::Recorder::new(t, rec)),
        _ => None,
    };
    let env = env_tree.as_ref().map(|t| Environment {
        tree: match &recorded {
            Some(r) => r as &dyn SourceTree,
            None => t,
        },
        display_root: t.root().display().to_string(),
    });
    // A snapshot is read with its own `.djmig.yml` (a revision, the merge).
    let (own, config_problem) = match ws.configured_by(tree) {
        Ok(w) => (w, None),
        Err(d) => (None, Some(d)),
    };
    let ws = own.as_ref().unwrap_or(ws);
    let root_name = crate::workspace::root_name(&ws.root);
    let mut project = load_project(
        tree,
        &LoadOptions {
            config: &ws.config,
            root_name: &root_name,
            env,
            reader,
        },
    );
    project.diags.extend(config_problem);
    project.diags.extend(problem_diags(ws, tree.problems(), ""));
    if let (Some(t), Some(root)) = (&env_tree, &site) {
        let shown = format!("{}/", root.display());
        project
            .diags
            .extend(problem_diags(ws, t.problems(), &shown));
    }
    let built = build_graph(&project, ws.strict());
    Analysis { project, built }
}

/// What a tree met and could not say in its answers, as warnings and
/// errors: a directory that could not be listed, an object missing from
/// git (also an error of its own: see [`missing_objects`]), a submodule
/// not read at a revision. `shown` prefixes paths (the virtualenv's).
fn problem_diags(
    ws: &Workspace,
    problems: Vec<crate::core::tree::Problem>,
    shown: &str,
) -> Vec<crate::core::diag::Diag> {
    use crate::core::diag::{Diag, DiagKind};
    use crate::core::tree::Problem;
    let exclude = crate::core::config::exclude_matcher(&ws.config.exclude);
    let mut out = Vec::new();
    for p in problems {
        out.push(match p {
            Problem::Unlistable { dir, why } => Diag::new(
                DiagKind::UnreadableDirectory,
                format!(
                    "cannot list this directory ({why}); migrations below it are not read: \
                     shorten the path or fix its permissions, or leave it out with `exclude:` in .djmig.yml"
                ),
            )
            .at(format!("{shown}{dir}"), None),
            Problem::MissingObject { path, id, commit } => Diag::new(
                DiagKind::Unreadable,
                format!(
                    "git object {id} is missing from the repository (in commit {}); \
                     run `git fsck`, then fetch again",
                    &commit[..commit.len().min(7)]
                ),
            )
            .at(format!("{shown}{path}"), None),
            Problem::Submodule { path, commit } => {
                let hidden = path.split('/').any(|c| c.starts_with('.'));
                if hidden || exclude.as_ref().is_some_and(|m| m.is_match(&path)) {
                    continue;
                }
                Diag::new(
                    DiagKind::Submodule,
                    format!(
                        "a git submodule (at commit {}): djmig does not read submodules at a revision, \
                         so any app inside it is left out here (its migrations count as external); \
                         the work tree reads it as Django does. If it holds no Django app, leave it out with `exclude:` in .djmig.yml",
                        &commit[..commit.len().min(7)]
                    ),
                )
                .at(format!("{shown}{path}"), None)
            }
        });
    }
    out
}

/// A revision read that met objects missing from the repository cannot be
/// trusted at all: a git problem (exit 4) naming the first object, where it
/// was needed, and the fix.
pub fn missing_objects(trees: &[&dyn SourceTree]) -> Result<()> {
    use crate::core::tree::Problem;
    let mut missing: Vec<(String, String, String)> = trees
        .iter()
        .flat_map(|t| t.problems())
        .filter_map(|p| match p {
            Problem::MissingObject { path, id, commit } => Some((commit, path, id)),
            _ => None,
        })
        .collect();
    missing.sort();
    missing.dedup();
    let Some((commit, path, id)) = missing.first() else {
        return Ok(());
    };
    let at = if path.is_empty() {
        "the project directory".to_string()
    } else {
        path.clone()
    };
    let mut e = Error::git(format!(
        "git object {id} ({at} in commit {}) is missing from the repository: the revision cannot be read whole",
        &commit[..commit.len().min(7)]
    ));
    if missing.len() > 1 {
        e = e.cause(format!("{} object(s) are missing in all", missing.len()));
    }
    Err(e
        .hint("`git fsck --full` lists what is missing or damaged")
        .hint("fetch the objects again: `git fetch --refetch` (a partial clone: clone or fetch without --filter)"))
}

/// What, besides the files read, a cached result depends on: the build,
/// the project root, its configuration, `--strict`, the virtualenv, and
/// the command's own arguments (`what`).
pub fn result_key(ws: &Workspace, what: &str) -> String {
    format!(
        "{}\nroot {:?}\nconfig {:?}\nstrict {}\nsite {:?}\n{what}",
        crate::adapters::store::results::build_key(),
        ws.root,
        ws.config,
        ws.strict(),
        site_packages(ws),
    )
}

/// The last resolution, when it did not finish (`djmig resolve` failed or
/// was killed half-way): its files are half-changed, so what the work tree
/// says now would mislead. A journal that cannot be read counts as none;
/// `undo` and `resolve` report it.
pub fn unfinished_resolution(
    ws: &Workspace,
) -> Option<crate::adapters::store::journal::JournalInfo> {
    crate::adapters::store::journal::last(&ws.root)
        .ok()
        .flatten()
        .filter(|j| j.state == crate::adapters::store::journal::State::InProgress)
}

/// Check that the named apps exist.
pub fn selected_apps(project: &Project, apps: &[String]) -> Result<BTreeSet<String>> {
    let mut out = BTreeSet::new();
    for a in apps {
        if !project.apps.contains_key(a) && !project.unmigrated.contains(a) {
            let known: Vec<&str> = project.apps.keys().map(String::as_str).collect();
            return Err(Error::usage(format!(
                "no app labelled {a:?} has migrations in this project"
            ))
            .hint(format!("known app labels: {}", known.join(", "))));
        }
        out.insert(a.clone());
    }
    Ok(out)
}

/// Warnings and errors on stderr, one line each: `warning: file:line: …`.
pub fn print_diags(io: &mut Io, report: &crate::core::report::GraphReport) {
    let p = io.style.err;
    for (is_error, list) in [(true, &report.errors), (false, &report.warnings)] {
        for d in list {
            let word = if is_error {
                p.error("error:")
            } else {
                p.warning("warning:")
            };
            let _ = writeln!(io.err, "{word} {}{}", term(&d.location()), term(&d.message));
        }
    }
}
