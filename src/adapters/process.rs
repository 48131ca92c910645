//! Running other programs: the one place that starts a process.
//!
//! Other modules say what to run — `git`, the project's Python with
//! `manage.py` — by building a [`Cmd`] (always an argument vector, never a
//! shell); this module says how: stdin closed, output captured, a process
//! group of its own when it must be stopped as a whole (by a second Ctrl-C
//! under [`crate::adapters::interrupt::guard`], or at a time limit), and killed at
//! the limit.

use std::ffi::OsStr;
use std::io::Read;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A program to run, with its arguments, directory and environment.
#[derive(Debug)]
pub struct Cmd {
    inner: Command,
}

/// What a command run with a time limit ([`Cmd::output_within`]) did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timed {
    /// Whether it exited with status 0; `None` when it was stopped at the
    /// limit.
    pub success: Option<bool>,
    pub stdout: String,
    pub stderr: String,
}

impl Cmd {
    /// `program`, found on `PATH` unless it is a path.
    pub fn new(program: impl AsRef<OsStr>) -> Cmd {
        Cmd {
            inner: Command::new(program),
        }
    }

    #[cfg(test)]
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Cmd {
        self.inner.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.inner.args(args);
        self
    }

    /// The working directory.
    pub fn dir(mut self, dir: impl AsRef<Path>) -> Cmd {
        self.inner.current_dir(dir);
        self
    }

    /// The environment is inherited; this sets one variable more.
    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Cmd {
        self.inner.env(key, value);
        self
    }

    /// The environment is inherited but for this variable.
    pub fn env_remove(mut self, key: impl AsRef<OsStr>) -> Cmd {
        self.inner.env_remove(key);
        self
    }

    /// Run to completion, stdin closed, output captured. Under
    /// [`crate::adapters::interrupt::guard`] it runs in a process group of its own
    /// (the terminal's Ctrl-C is djmig's to decide on), and a second
    /// signal interrupts it.
    pub fn output(self) -> std::io::Result<Output> {
        let mut cmd = self.captured();
        if !crate::adapters::interrupt::guarded() {
            return cmd.output();
        }
        own_group(&mut cmd);
        let child = cmd.spawn()?;
        crate::adapters::interrupt::set_running_group(child.id() as i32);
        let out = child.wait_with_output();
        crate::adapters::interrupt::set_running_group(0);
        out
    }

    /// Whether it exits with status 0 within `limit`, its output thrown
    /// away; killed at the limit (`false`), and `false` when it cannot
    /// start.
    pub fn succeeds_within(mut self, limit: Duration) -> bool {
        self.inner
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let Ok(mut child) = self.inner.spawn() else {
            return false;
        };
        let deadline = Instant::now() + limit;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return status.success(),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return false;
                }
            }
        }
    }

    /// Run with the output captured, stopping it after `limit`.
    ///
    /// The command runs in a process group of its own, and at the limit the
    /// whole group is killed: whatever it started goes with it. A process
    /// that left the group may still hold the output pipes; it gets a
    /// second to close them, and is then left behind with them, so the
    /// limit holds whatever the command started.
    pub fn output_within(self, limit: Duration) -> std::io::Result<Timed> {
        let mut cmd = self.captured();
        own_group(&mut cmd);
        let mut child = cmd.spawn()?;
        let rx = read_pipes(&mut child);
        let mut texts: [Option<String>; 2] = [None, None];
        let collect = |texts: &mut [Option<String>; 2], until: Instant| {
            while texts.iter().any(Option::is_none) {
                let left = until.saturating_duration_since(Instant::now());
                match rx.recv_timeout(left.min(Duration::from_millis(20))) {
                    Ok((i, t)) => texts[i] = Some(t),
                    Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < until => {}
                    Err(_) => break,
                }
            }
        };
        let deadline = Instant::now() + limit;
        let mut status = None;
        loop {
            if status.is_none() {
                status = child.try_wait()?.map(|s| s.success());
            }
            collect(&mut texts, Instant::now() + Duration::from_millis(20));
            if texts.iter().all(Option::is_some) {
                if status.is_some() {
                    break;
                }
                // The pipes are closed, the command runs on.
                std::thread::sleep(Duration::from_millis(20));
            }
            if Instant::now() >= deadline {
                kill_group(&mut child);
                let _ = child.wait();
                collect(&mut texts, Instant::now() + Duration::from_secs(1));
                status = None;
                break;
            }
        }
        let [stdout, stderr] = texts.map(Option::unwrap_or_default);
        Ok(Timed {
            success: status,
            stdout,
            stderr,
        })
    }

    /// The command with stdin closed and the output piped.
    fn captured(mut self) -> Command {
        self.inner
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        self.inner
    }
}

/// Start the command as the leader of a process group of its own.
fn own_group(cmd: &mut Command) {
    #[cfg(unix)]
    {
        use std::os::unix::process::CommandExt;
        cmd.process_group(0);
    }
    #[cfg(not(unix))]
    let _ = cmd;
}

/// Read the child's stdout (0) and stderr (1) to their end on threads of
/// their own; each text arrives on the channel once its pipe closes.
fn read_pipes(child: &mut Child) -> mpsc::Receiver<(usize, String)> {
    let (tx, rx) = mpsc::channel::<(usize, String)>();
    let pipes: [Option<Box<dyn Read + Send>>; 2] = [
        child
            .stdout
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|s| Box::new(s) as Box<dyn Read + Send>),
    ];
    for (i, pipe) in pipes.into_iter().enumerate() {
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = pipe {
                let _ = r.read_to_end(&mut buf);
            }
            let _ = tx.send((i, String::from_utf8_lossy(&buf).into_owned()));
        });
    }
    rx
}

/// Kill a child and its process group ([`Cmd::output_within`] made it the
/// group's leader).
fn kill_group(child: &mut Child) {
    #[cfg(unix)]
    {
        if let Ok(pgid) = i32::try_from(child.id()) {
            // SAFETY: kill(2) takes two integers and touches no memory; a
            // negative pid names the process group the child leads.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
    }
    let _ = child.kill();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn everything_the_command_started_is_stopped_at_the_limit() {
        let dir = tempfile::tempdir().unwrap();
        let survived = dir.path().join("SURVIVED");
        let cmd = Cmd::new("sh")
            .arg("-c")
            .arg("(sleep 2; touch \"$1\") & sleep 60")
            .arg("sh")
            .arg(&survived);
        let start = Instant::now();
        let t = cmd.output_within(Duration::from_millis(500)).unwrap();
        assert_eq!(t.success, None);
        assert!(
            start.elapsed() < Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
        std::thread::sleep(Duration::from_secs(3).saturating_sub(start.elapsed()));
        assert!(!survived.exists(), "the background job outlived the stop");
    }

    #[test]
    fn a_command_that_ends_in_time_gives_its_output() {
        let cmd = Cmd::new("sh").arg("-c").arg("echo out; echo err >&2");
        let t = cmd.output_within(Duration::from_secs(30)).unwrap();
        assert_eq!(
            (t.success, t.stdout.as_str(), t.stderr.as_str()),
            (Some(true), "out\n", "err\n")
        );
    }

    #[cfg(unix)]
    #[test]
    fn succeeds_within_says_how_a_command_ended() {
        let limit = Duration::from_secs(30);
        assert!(Cmd::new("sh").args(["-c", "exit 0"]).succeeds_within(limit));
        assert!(!Cmd::new("sh").args(["-c", "exit 3"]).succeeds_within(limit));
        assert!(!Cmd::new("/nonexistent/program").succeeds_within(limit));
        let start = Instant::now();
        assert!(!Cmd::new("sh")
            .args(["-c", "sleep 60"])
            .succeeds_within(Duration::from_millis(300)));
        assert!(start.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn output_captures_both_streams_and_the_status() {
        let out = Cmd::new("sh")
            .args(["-c", "echo $DJMIG_X; echo e >&2; exit 2"])
            .env("DJMIG_X", "x")
            .output()
            .unwrap();
        assert!(!out.status.success());
        assert_eq!(out.stdout, b"x\n");
        assert_eq!(out.stderr, b"e\n");
    }
}
