//! Colour and progress on the terminal.
//!
//! Colour is decided once per run, per stream, from `--color`:
//! `always` and `never` mean what they say; `auto` colours a stream when it
//! is a terminal, `NO_COLOR` is unset or empty, and `TERM` is not `dumb`.
//! Output that is not coloured is byte-identical to output without this
//! module: painting is a no-op then. What is painted is shown as
//! [`crate::core::escape::term`] shows it: a name can be painted safely.
//!
//! [`Progress`] is a one-line counter on stderr, redrawn with `\r` and cleared
//! at the end; it does nothing unless stderr is a terminal.

use std::ffi::OsStr;
use std::fmt;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::cli::ColorChoice;

/// Whether to colour each output stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Style {
    /// For what goes to stdout.
    pub out: Paint,
    /// For what goes to stderr.
    pub err: Paint,
}

impl Style {
    /// No colour anywhere.
    pub const PLAIN: Style = Style {
        out: Paint::PLAIN,
        err: Paint::PLAIN,
    };

    /// Decide from `--color`, the environment, and whether stdout and stderr
    /// are terminals.
    pub fn detect(choice: ColorChoice) -> Style {
        let no_color = std::env::var_os("NO_COLOR");
        let term = std::env::var_os("TERM");
        let on = |tty: bool| Paint {
            enabled: decide(choice, tty, no_color.as_deref(), term.as_deref()),
        };
        Style {
            out: on(std::io::stdout().is_terminal()),
            err: on(std::io::stderr().is_terminal()),
        }
    }
}

/// The colour decision for one stream (pure, for tests).
pub fn decide(
    choice: ColorChoice,
    is_terminal: bool,
    no_color: Option<&OsStr>,
    term: Option<&OsStr>,
) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            is_terminal && no_color.is_none_or(|v| v.is_empty()) && term.is_none_or(|t| t != "dumb")
        }
    }
}

/// Paints text for one stream, or leaves it alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Paint {
    pub enabled: bool,
}

const BOLD_RED: &str = "1;31";
const BOLD_YELLOW: &str = "1;33";
const BOLD: &str = "1";
const CYAN: &str = "36";
const GREEN: &str = "32";
const DIM: &str = "2";

impl Paint {
    pub const PLAIN: Paint = Paint { enabled: false };
    pub const COLOR: Paint = Paint { enabled: true };

    fn with<'a>(self, code: &'static str, text: &'a str) -> Painted<'a> {
        Painted {
            text,
            code: self.enabled.then_some(code),
        }
    }
    /// `error:` and other error words: bold red.
    pub fn error(self, text: &str) -> Painted<'_> {
        self.with(BOLD_RED, text)
    }
    /// `warning:`: bold yellow.
    pub fn warning(self, text: &str) -> Painted<'_> {
        self.with(BOLD_YELLOW, text)
    }
    /// An app label: bold.
    pub fn app(self, text: &str) -> Painted<'_> {
        self.with(BOLD, text)
    }
    /// A (conflicting) leaf migration's name: cyan.
    pub fn leaf(self, text: &str) -> Painted<'_> {
        self.with(CYAN, text)
    }
    /// A command to run next: green.
    pub fn command(self, text: &str) -> Painted<'_> {
        self.with(GREEN, text)
    }
    /// Secondary text such as paths: dim.
    pub fn dim(self, text: &str) -> Painted<'_> {
        self.with(DIM, text)
    }
}

/// Text with an optional SGR code. Width and alignment (`{:<40}`) apply to
/// the visible text, not to the escape codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Painted<'a> {
    text: &'a str,
    code: Option<&'static str>,
}

impl fmt::Display for Painted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = crate::core::escape::term(self.text);
        match self.code {
            None => f.pad(&text),
            Some(code) => {
                // Padding goes outside the escape codes.
                let n = text.chars().count();
                let fill = match f.width() {
                    Some(w) if w > n => f.fill().to_string().repeat(w - n),
                    _ => String::new(),
                };
                let right = matches!(f.align(), Some(fmt::Alignment::Right));
                if right {
                    f.write_str(&fill)?;
                }
                f.write_str(&format!("\x1b[{code}m{text}\x1b[0m"))?;
                if !right {
                    f.write_str(&fill)?;
                }
                Ok(())
            }
        }
    }
}

/// A progress line on stderr for long scans: `label 123/456` redrawn in
/// place, at most every 80 ms and not before 250 ms have passed, and cleared by [`Progress::finish`] or when
/// dropped. It does nothing unless stderr is a terminal (and `TERM` is not
/// `dumb`), so output to files and pipes never contains it.
///
/// `inc`/`set` may be called from any thread (rayon workers included): the
/// line is written to a duplicate of the stderr descriptor, not through
/// `std::io::Stderr`, whose lock the main thread may be holding.
pub struct Progress {
    sink: Option<Mutex<Sink>>,
    done: AtomicU64,
    total: AtomicU64,
    label: String,
}

struct Sink {
    file: std::fs::File,
    start: Instant,
    last: Option<Instant>,
    frame: usize,
    drawn: bool,
}

const SPINNER: [char; 4] = ['|', '/', '-', '\\'];
const REDRAW: Duration = Duration::from_millis(80);
/// Nothing is drawn for work that ends sooner than this: no flicker.
const DELAY: Duration = Duration::from_millis(250);

impl Progress {
    /// A progress line for `label`, shown only when stderr is a terminal.
    pub fn stderr(label: impl Into<String>) -> Progress {
        let enabled =
            std::io::stderr().is_terminal() && std::env::var_os("TERM").is_none_or(|t| t != "dumb");
        let sink = if enabled { dup_stderr() } else { None };
        Progress {
            sink: sink.map(|file| {
                Mutex::new(Sink {
                    file,
                    start: Instant::now(),
                    last: None,
                    frame: 0,
                    drawn: false,
                })
            }),
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
            label: label.into(),
        }
    }

    /// A progress that never draws.
    #[cfg(test)]
    pub fn hidden() -> Progress {
        Progress {
            sink: None,
            done: AtomicU64::new(0),
            total: AtomicU64::new(0),
            label: String::new(),
        }
    }

    /// Whether anything is drawn.
    #[cfg(test)]
    pub fn is_visible(&self) -> bool {
        self.sink.is_some()
    }

    /// Set the total (0: unknown, show a counter only).
    pub fn set_total(&self, total: u64) {
        self.total.store(total, Ordering::Relaxed);
        self.draw();
    }

    /// Count `n` more items done.
    pub fn inc(&self, n: u64) {
        self.done.fetch_add(n, Ordering::Relaxed);
        self.draw();
    }

    /// The count so far.
    #[cfg(test)]
    pub fn position(&self) -> u64 {
        self.done.load(Ordering::Relaxed)
    }

    /// Clear the line.
    pub fn finish(&self) {
        let Some(sink) = &self.sink else { return };
        let mut s = sink.lock().unwrap_or_else(|e| e.into_inner());
        if s.drawn {
            let _ = s.file.write_all(b"\r\x1b[2K");
            let _ = s.file.flush();
            s.drawn = false;
        }
        s.last = None;
    }

    fn draw(&self) {
        let Some(sink) = &self.sink else { return };
        // Never wait for another thread's redraw.
        let Ok(mut s) = sink.try_lock() else { return };
        let now = Instant::now();
        if now.duration_since(s.start) < DELAY {
            return;
        }
        if s.last.is_some_and(|t| now.duration_since(t) < REDRAW) {
            return;
        }
        s.last = Some(now);
        s.frame = (s.frame + 1) % SPINNER.len();
        let done = self.done.load(Ordering::Relaxed);
        let total = self.total.load(Ordering::Relaxed);
        let line = progress_line(SPINNER[s.frame], &self.label, done, total);
        let _ = s.file.write_all(format!("\r\x1b[2K{line}").as_bytes());
        let _ = s.file.flush();
        s.drawn = true;
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The text of one progress line (pure, for tests).
pub fn progress_line(spin: char, label: &str, done: u64, total: u64) -> String {
    if total > 0 {
        format!("{spin} {label} {done}/{total}")
    } else {
        format!("{spin} {label} {done}")
    }
}

#[cfg(unix)]
fn dup_stderr() -> Option<std::fs::File> {
    use std::os::fd::AsFd;
    let fd = std::io::stderr().as_fd().try_clone_to_owned().ok()?;
    Some(std::fs::File::from(fd))
}

#[cfg(windows)]
fn dup_stderr() -> Option<std::fs::File> {
    use std::os::windows::io::AsHandle;
    let h = std::io::stderr().as_handle().try_clone_to_owned().ok()?;
    Some(std::fs::File::from(h))
}

#[cfg(not(any(unix, windows)))]
fn dup_stderr() -> Option<std::fs::File> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_needs_a_terminal_and_no_no_color() {
        let a = ColorChoice::Auto;
        assert!(decide(a, true, None, None));
        assert!(decide(
            a,
            true,
            Some(OsStr::new("")),
            Some(OsStr::new("xterm"))
        ));
        assert!(!decide(a, false, None, None));
        assert!(!decide(a, true, Some(OsStr::new("1")), None));
        assert!(!decide(a, true, None, Some(OsStr::new("dumb"))));
        assert!(decide(
            ColorChoice::Always,
            false,
            Some(OsStr::new("1")),
            None
        ));
        assert!(!decide(ColorChoice::Never, true, None, None));
    }

    #[test]
    fn plain_paint_is_the_text() {
        let p = Paint::PLAIN;
        assert_eq!(p.error("error").to_string(), "error");
        assert_eq!(format!("[{:<6}]", p.leaf("ab")), "[ab    ]");
    }

    #[test]
    fn colour_pads_outside_the_codes() {
        let p = Paint::COLOR;
        assert_eq!(p.warning("warning").to_string(), "\x1b[1;33mwarning\x1b[0m");
        assert_eq!(format!("[{:<4}]", p.leaf("ab")), "[\x1b[36mab\x1b[0m  ]");
    }

    #[test]
    fn painted_names_are_shown_not_obeyed() {
        let name = "0004_a\x1b]0;t\x07";
        assert_eq!(Paint::PLAIN.leaf(name).to_string(), r"0004_a\x1b]0;t\x07");
        assert_eq!(
            format!("[{:<20}]", Paint::COLOR.leaf(name)),
            "[\x1b[36m0004_a\\x1b]0;t\\x07\x1b[0m  ]"
        );
    }

    #[test]
    fn hidden_progress_counts() {
        let p = Progress::hidden();
        p.set_total(3);
        p.inc(2);
        assert_eq!(p.position(), 2);
        assert!(!p.is_visible());
        p.finish();
        assert_eq!(progress_line('|', "reading", 2, 3), "| reading 2/3");
        assert_eq!(progress_line('|', "reading", 2, 0), "| reading 2");
    }
}
