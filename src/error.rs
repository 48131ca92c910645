//! djmig's errors: a kind that maps to a documented exit code, a message, the
//! causes, and hints that name the fix.

use std::fmt;
use std::io::Write;

/// Exit codes; stable and documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Nothing to report.
    Ok = 0,
    /// Conflicts (more than one leaf in an app) were found.
    Conflicts = 1,
    /// Wrong usage, or a bad configuration file.
    Usage = 2,
    /// The migration graph cannot be built (parse error, missing node,
    /// cycle, bad migration, duplicate label).
    Graph = 3,
    /// A git problem: unknown ref, shallow history, no commits, …
    Git = 4,
    /// A step of a resolution failed or was declined part-way.
    Failed = 5,
}

impl Exit {
    pub fn code(self) -> i32 {
        self as i32
    }
}

/// An error for the user.
#[derive(Debug, Clone)]
pub struct Error {
    pub exit: Exit,
    pub message: String,
    pub causes: Vec<String>,
    pub hints: Vec<String>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(exit: Exit, message: impl Into<String>) -> Self {
        Error {
            exit,
            message: message.into(),
            causes: Vec::new(),
            hints: Vec::new(),
        }
    }
    pub fn usage(message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, message)
    }
    pub fn git(message: impl Into<String>) -> Self {
        Self::new(Exit::Git, message)
    }
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(Exit::Failed, message)
    }
    pub fn cause(mut self, c: impl fmt::Display) -> Self {
        self.causes.push(c.to_string());
        self
    }
    pub fn hint(mut self, h: impl Into<String>) -> Self {
        self.hints.push(h.into());
        self
    }

    /// `error: …`, `caused by: …`, `hint: …` on the given writer. They
    /// quote names from the repository, and are shown as
    /// [`crate::core::escape::term`] shows them; a cause of several lines (a
    /// program's output) keeps its lines, each shown so.
    pub fn report(&self, w: &mut dyn Write) {
        use crate::core::escape::term;
        let _ = writeln!(w, "error: {}", term(&self.message));
        for c in &self.causes {
            let mut lines = c.lines();
            let _ = writeln!(w, "caused by: {}", term(lines.next().unwrap_or_default()));
            for l in lines {
                let _ = writeln!(w, "{}", term(l));
            }
        }
        for h in &self.hints {
            let _ = writeln!(w, "hint: {}", term(h));
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Whether an I/O error is a closed pipe (`djmig graph | head`): stop quietly.
pub fn is_broken_pipe(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::BrokenPipe
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_shows_names_not_their_escapes() {
        let e = Error::git("unknown revision x\x1b]0;t\x07")
            .cause("line one\n::add-mask::y\nz\x1b[2J")
            .hint("try `djmig check`");
        let mut out = Vec::new();
        e.report(&mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "error: unknown revision x\\x1b]0;t\\x07\n\
             caused by: line one\n\\x3a:add-mask::y\nz\\x1b[2J\n\
             hint: try `djmig check`\n"
        );
    }
}
