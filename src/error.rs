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

    /// `error: …`, `caused by: …`, `hint: …` on the given writer.
    pub fn report(&self, w: &mut dyn Write) {
        let _ = writeln!(w, "error: {}", self.message);
        for c in &self.causes {
            let _ = writeln!(w, "caused by: {c}");
        }
        for h in &self.hints {
            let _ = writeln!(w, "hint: {h}");
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
