//! Command-line arguments. Help text lives in the doc comments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Find and fix forked Django migration histories: reads every app's
/// migration graph statically, exactly as Django's MigrationLoader builds it.
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

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Print the migration graph.
    Graph(GraphArgs),
    /// Report apps with more than one leaf migration (exit 1 when any).
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct GraphArgs {
    /// Only these app labels.
    #[arg(value_name = "APP")]
    pub apps: Vec<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
    pub format: GraphFormat,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Only these app labels.
    #[arg(value_name = "APP")]
    pub apps: Vec<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
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
}
