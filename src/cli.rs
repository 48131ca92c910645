//! Command-line arguments. Help text lives in the doc comments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Find and fix forked Django migration histories: reads every app's
/// migration graph statically, exactly as Django's MigrationLoader builds it,
/// from the work tree or any git revision.
#[derive(Debug, Parser)]
#[command(
    name = "djmig",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Run as if started in DIR (the project root).
    #[arg(short = 'C', value_name = "DIR", global = true)]
    pub dir: Option<PathBuf>,

    /// Configuration file (default: .djmig.yml at the project root).
    #[arg(long, value_name = "FILE", global = true)]
    pub config: Option<PathBuf>,

    /// Dependencies on apps found nowhere are errors, as Django raises them.
    #[arg(long, global = true)]
    pub strict: bool,

    /// When to use colour (NO_COLOR is respected with `auto`).
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, global = true)]
    pub color: ColorChoice,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the migration graph of the work tree or of a git revision.
    Graph(GraphArgs),
    /// Report apps with more than one leaf migration (exit 1 when any);
    /// with --base, predict the conflicts of merging two revisions.
    Check(CheckArgs),
    /// Find pairs of branches (or any refs, like pull-request heads) that
    /// both add migrations to an app on top of the same base migration, and
    /// those the base has already added to in the same place.
    Scan(ScanArgs),
    /// Fix conflicted apps: regenerate, re-parent, or merge (last resort).
    Resolve(ResolveArgs),
    /// Review the migrations a branch adds or changes relative to its base:
    /// deployed migrations edited, locks on large tables, lost data,
    /// irreversible steps (exit 1 on a finding at error severity).
    Review(ReviewArgs),
    /// Restore every file the last resolution changed, byte for byte.
    Undo(UndoArgs),
    /// Install, remove or run djmig's git hooks.
    #[command(subcommand)]
    Hook(HookCommand),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Print the man page (roff).
    Man,
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Only these app labels.
    #[arg(value_name = "APP")]
    pub apps: Vec<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
    pub format: GraphFormat,

    /// Read the files of this git revision instead of the work tree.
    #[arg(long = "ref", value_name = "REV")]
    pub rev: Option<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Only these app labels.
    #[arg(value_name = "APP")]
    pub apps: Vec<String>,

    /// Output format (default: github inside GitHub Actions, else text).
    #[arg(long, value_enum)]
    pub format: Option<CheckFormat>,

    /// Compare with this revision: predict the merge of head and base.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,

    /// The head side of the comparison (default: the work tree).
    #[arg(long, value_name = "REV", requires = "base")]
    pub head: Option<String>,
}

#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Refs to compare: branch globs (`feature/*`, `origin/pr/*`), or full
    /// ref globs for any ref (`refs/pull/*/head`); default: all local and
    /// remote-tracking branches. Refs merged into the base are left out.
    #[arg(value_name = "REF-GLOB")]
    pub branches: Vec<String>,

    /// The base revision the refs are compared against.
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,

    /// Only refs whose commit is this recent: a day (2024-05-01), a moment
    /// (2024-05-01T12:00:00Z), a span back from now (90.days, "2 weeks
    /// ago") or @<seconds since 1970>.
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ScanFormat::Text)]
    pub format: ScanFormat,
}

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// Only these conflicted apps (default: all).
    #[arg(value_name = "APP")]
    pub apps: Vec<String>,

    /// The upstream revision (default: as for `check`).
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,

    /// The strategy, instead of asking.
    #[arg(long, value_enum)]
    pub strategy: Option<Strategy>,

    /// Take the recommended choice at every question, database steps included.
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Print the plan and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Go on although files to be changed have uncommitted changes.
    #[arg(long)]
    pub allow_dirty: bool,

    /// The local database does not matter: do not ask it what is applied,
    /// and do not migrate it (needed to delete or rename migrations when
    /// it cannot be asked).
    #[arg(long)]
    pub no_database: bool,

    /// Output format of the plan and the report.
    #[arg(long, value_enum, default_value_t = PlanFormat::Text)]
    pub format: PlanFormat,
}

#[derive(Debug, Args)]
pub struct ReviewArgs {
    /// App labels to review (default: all), or migration files (paths ending
    /// in .py) to review on their own, without comparing with a base.
    #[arg(value_name = "APP|FILE")]
    pub targets: Vec<String>,

    /// Review every migration of the project in the work tree, without
    /// comparing with a base.
    #[arg(long, conflicts_with_all = ["base", "head"])]
    pub all: bool,

    /// The base to compare with (default: as for `check --base`).
    #[arg(long, value_name = "REV")]
    pub base: Option<String>,

    /// The head side of the comparison (default: the work tree).
    #[arg(long, value_name = "REV")]
    pub head: Option<String>,

    /// Output format (default: github inside GitHub Actions, else text).
    #[arg(long, value_enum)]
    pub format: Option<ReviewFormat>,

    /// Only these rules (comma-separated ids).
    #[arg(long, value_name = "RULES", value_delimiter = ',')]
    pub select: Vec<String>,

    /// Not these rules (comma-separated ids), besides `review.ignore` in
    /// .djmig.yml.
    #[arg(long, value_name = "RULES", value_delimiter = ',')]
    pub ignore: Vec<String>,

    /// Rewrite what can be rewritten safely (AddIndex to
    /// AddIndexConcurrently in a non-atomic migration); shows the diff
    /// first, and `djmig undo` puts the files back.
    #[arg(long, conflicts_with = "head")]
    pub fix: bool,

    /// Also give RunPython and RunSQL without a reverse a no-op reverse
    /// (implies --fix).
    #[arg(long, conflicts_with = "head")]
    pub fix_irreversible: bool,

    /// With --fix: print the diff and change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct UndoArgs {
    /// Print what would be restored and change nothing.
    #[arg(long)]
    pub dry_run: bool,

    /// Take the plan without asking (database steps included).
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Restore the files only; leave the local database as it is.
    #[arg(long)]
    pub no_database: bool,
}

#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Add djmig's block to the git hooks (existing hooks are kept).
    Install(HookInstallArgs),
    /// Remove djmig's block from the git hooks.
    Uninstall(HookInstallArgs),
    /// What the installed hooks run: a quiet check that never fails.
    #[command(hide = true)]
    Run(HookRunArgs),
}

#[derive(Debug, Args)]
pub struct HookInstallArgs {
    /// Which hooks.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "post-merge,post-rewrite,post-checkout,post-commit"
    )]
    pub hooks: Vec<String>,
}

#[derive(Debug, Args)]
pub struct HookRunArgs {
    /// The hook's name.
    pub hook: String,
    /// The arguments git gave the hook.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub args: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: Shell,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    Text,
    Json,
    Dot,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    Text,
    Json,
    /// GitHub Actions workflow annotations.
    Github,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReviewFormat {
    Text,
    Json,
    /// GitHub Actions workflow annotations.
    Github,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScanFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// Delete our migrations and let makemigrations write them again.
    Regenerate,
    /// Rename ours to follow upstream's leaf and rewrite their dependencies.
    Reparent,
    /// Add a merge migration (makemigrations --merge): the last resort.
    Merge,
}
