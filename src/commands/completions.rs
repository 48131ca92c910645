//! `djmig completions SHELL` and `djmig man`: generated from the command
//! line's definition, so they never go stale. Neither needs a project.

use std::io::{self, Write};

use clap::CommandFactory;
use clap_complete::Shell as CompleteShell;

use crate::cli::{Cli, Shell};
use crate::error::{is_broken_pipe, Error, Exit, Result};

/// The completion script for a shell.
pub fn completion_script(shell: Shell) -> Vec<u8> {
    let generator = match shell {
        Shell::Bash => CompleteShell::Bash,
        Shell::Zsh => CompleteShell::Zsh,
        Shell::Fish => CompleteShell::Fish,
        Shell::Powershell => CompleteShell::PowerShell,
        Shell::Elvish => CompleteShell::Elvish,
    };
    let mut cmd = Cli::command();
    let mut buf = Vec::new();
    clap_complete::generate(generator, &mut cmd, "djmig", &mut buf);
    buf
}

/// The man page (roff): the main page, then a section per command with its
/// synopsis, description and options (global options are listed once, in
/// the main OPTIONS section). It starts with `.TH`.
pub fn man_page() -> io::Result<Vec<u8>> {
    let mut root = Cli::command();
    root.build();
    let mut main = Vec::new();
    clap_mangen::Man::new(root.clone()).render(&mut main)?;
    let mut text = String::from_utf8_lossy(&main).into_owned();
    let mut subs = Vec::new();
    collect(&root, &mut subs);
    for sub in subs {
        let name = sub
            .get_display_name()
            .unwrap_or_else(|| sub.get_name())
            .to_string();
        // The main page's list names one page per command; they are
        // sections of this page.
        text = text.replace(
            &format!("{}(1)", roff_escape(&name)),
            &format!("\\fB{}\\fR", name.replace('-', " ")),
        );
        let sub = sub.mut_args(|a| if a.is_global_set() { a.hide(true) } else { a });
        let has_args = sub.get_arguments().any(|a| !a.is_hide_set());
        let man = clap_mangen::Man::new(sub);
        let mut part = Vec::new();
        writeln!(part, ".SH \"{}\"", name.replace('-', " ").to_uppercase())?;
        man.render_synopsis_section(&mut part)?;
        man.render_description_section(&mut part)?;
        if has_args {
            man.render_options_section(&mut part)?;
        }
        // The command's own headings become subsections of its section.
        text.push_str(&String::from_utf8_lossy(&part).replace("\n.SH ", "\n.SS "));
        // ... except the section heading itself, written above.
        let heading = format!(".SS \"{}\"", name.replace('-', " ").to_uppercase());
        if let Some(i) = text.rfind(&heading) {
            text.replace_range(i..i + 3, ".SH");
        }
    }
    // roff writes its string definitions (`Aq`) before every part: keep
    // one, after the title line, so that the page starts with `.TH`.
    let mut preamble = Vec::new();
    let mut title = String::new();
    let mut body = String::new();
    for line in text.lines() {
        if line.starts_with(".ie \\n(.g .ds Aq") || line.starts_with(".el .ds Aq") {
            if preamble.len() < 2 {
                preamble.push(line.to_string());
            }
        } else if line.starts_with(".TH ") && title.is_empty() {
            title = line.to_string();
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    let mut out = title;
    out.push('\n');
    for l in preamble {
        out.push_str(&l);
        out.push('\n');
    }
    out.push_str(&body);
    Ok(out.into_bytes())
}

/// A name as roff writes it (`-` as `\-`).
fn roff_escape(s: &str) -> String {
    s.replace('-', "\\-")
}

/// Every visible subcommand, depth first, with its display name set.
fn collect(cmd: &clap::Command, out: &mut Vec<clap::Command>) {
    for sub in cmd.get_subcommands() {
        if sub.is_hide_set() || sub.get_name() == "help" {
            continue;
        }
        out.push(sub.clone());
        collect(sub, out);
    }
}

fn write_all(out: &mut dyn Write, bytes: &[u8]) -> Result<Exit> {
    match out.write_all(bytes).and_then(|_| out.flush()) {
        Ok(()) => Ok(Exit::Ok),
        Err(e) if is_broken_pipe(&e) => Ok(Exit::Ok),
        Err(e) => Err(Error::failed("cannot write the output").cause(e)),
    }
}

/// `djmig completions SHELL`.
pub fn run_completions(shell: Shell, out: &mut dyn Write) -> Result<Exit> {
    write_all(out, &completion_script(shell))
}

/// `djmig man`.
pub fn run_man(out: &mut dyn Write) -> Result<Exit> {
    let page = man_page().map_err(|e| Error::failed("cannot render the man page").cause(e))?;
    write_all(out, &page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shell_generates() {
        for &s in <Shell as clap::ValueEnum>::value_variants() {
            let script = completion_script(s);
            assert!(!script.is_empty(), "{s:?}");
            assert!(String::from_utf8_lossy(&script).contains("djmig"));
        }
    }

    #[test]
    fn man_page_has_every_command() {
        let page = String::from_utf8(man_page().unwrap()).unwrap();
        assert!(page.starts_with(".TH"), "{}", &page[..80.min(page.len())]);
        for c in ["check", "graph", "hook", "completions", "man"] {
            assert!(page.contains(&format!("DJMIG {}", c.to_uppercase())), "{c}");
        }
        assert!(page.contains("DJMIG HOOK INSTALL"));
        assert!(
            !page.contains("DJMIG HOOK RUN"),
            "hidden commands stay hidden"
        );
    }
}
