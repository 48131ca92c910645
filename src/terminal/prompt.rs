//! Questions to the user: a terminal implementation (dialoguer) and a
//! non-interactive one that takes the recommended answer (`--yes`) or
//! refuses with a hint naming the flags.

use std::io::IsTerminal;

use dialoguer::theme::SimpleTheme;
use dialoguer::{Confirm, Select};

use crate::core::escape::term;
use crate::error::{Error, Exit, Result};

/// Asks questions; the default is always the recommended answer.
pub trait Prompter {
    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize>;
    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool>;
}

/// A real terminal: dialoguer menus on stderr. Prompts and items name
/// apps and migrations: they are shown as [`term`] shows them.
pub struct TermPrompter;

impl Prompter for TermPrompter {
    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize> {
        let items: Vec<String> = items.iter().map(|i| term(i).into_owned()).collect();
        Select::with_theme(&SimpleTheme)
            .with_prompt(term(prompt))
            .items(&items)
            .default(default)
            .interact_opt()
            .map_err(|e| Error::failed("cannot read the answer").cause(e))?
            .ok_or_else(|| Error::new(Exit::Failed, "cancelled; nothing was changed"))
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool> {
        // Wait for Enter: a `y` typed ahead with its Enter must answer one
        // question, not this one and the next.
        Confirm::with_theme(&SimpleTheme)
            .with_prompt(term(prompt))
            .default(default)
            .wait_for_newline(true)
            .interact_opt()
            .map_err(|e| Error::failed("cannot read the answer").cause(e))?
            .ok_or_else(|| Error::new(Exit::Failed, "cancelled; nothing was changed"))
    }
}

/// No terminal: `--yes` takes every default; otherwise a question is an
/// error that names the flags.
pub struct AutoPrompter {
    pub yes: bool,
    /// What the user said on the command line already (`--strategy`).
    pub strategy_given: bool,
}

impl Prompter for AutoPrompter {
    fn select(&mut self, prompt: &str, items: &[String], default: usize) -> Result<usize> {
        if self.yes {
            return Ok(default);
        }
        Err(Error::usage(format!(
            "`{prompt}` needs an answer, and there is no terminal to ask on"
        ))
        .hint(format!(
            "pass --strategy {} (the recommended one), or --yes to take it",
            items[default]
                .split_once(':')
                .map_or(items[default].as_str(), |(name, _)| name)
        )))
    }

    fn confirm(&mut self, prompt: &str, default: bool) -> Result<bool> {
        if self.yes {
            return Ok(default || self.strategy_given);
        }
        Err(Error::usage(format!("`{prompt}` needs an answer, and there is no terminal to ask on"))
            .hint("pass --yes to take the recommended answers (database steps included), or --dry-run to see the plan"))
    }
}

/// Whether questions can be asked: stdin and stderr are terminals.
pub fn is_interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// The prompter for this run.
pub fn prompter(yes: bool, strategy_given: bool) -> Box<dyn Prompter> {
    if !yes && is_interactive() {
        Box::new(TermPrompter)
    } else {
        Box::new(AutoPrompter {
            yes,
            strategy_given,
        })
    }
}
