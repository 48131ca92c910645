//! Ctrl-C while `resolve` or `undo` changes things.
//!
//! Elsewhere djmig only reads, and a signal ends it at once (the shell
//! sees it killed by SIGINT). While a resolution or an undo runs its steps,
//! [`guard`] takes SIGINT, SIGTERM and SIGHUP instead:
//!
//! - the first lets the current step finish — the commands djmig runs
//!   (`manage.py`, `git`) are in a process group of their own, so the
//!   terminal's Ctrl-C does not reach them — and the executor stops before
//!   the next one ([`requested`]), the journal consistent, exit 5 with a
//!   message pointing to `djmig undo`;
//! - the second also interrupts the command running now (SIGINT to its
//!   process group): the step fails, and the same stop follows;
//! - the third ends djmig at once, as without the guard (the journal is
//!   made for that too: every step is recorded before it runs).

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};

static GUARDED: AtomicBool = AtomicBool::new(false);
static SIGNALS: AtomicUsize = AtomicUsize::new(0);
static CHILD_GROUP: AtomicI32 = AtomicI32::new(0);

/// While alive, SIGINT, SIGTERM and SIGHUP ask djmig to stop between
/// steps instead of ending it (see the module documentation).
pub struct Guard {
    #[cfg(unix)]
    old: Vec<(libc::c_int, libc::sighandler_t)>,
}

#[cfg(unix)]
const SIGNALS_TAKEN: [libc::c_int; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

#[cfg(unix)]
extern "C" fn on_signal(sig: libc::c_int) {
    // Only async-signal-safe calls here: atomics, write, kill, signal.
    let n = SIGNALS.fetch_add(1, Ordering::SeqCst) + 1;
    let say = |msg: &[u8]| unsafe {
        libc::write(2, msg.as_ptr().cast(), msg.len());
    };
    match n {
        1 => {
            say(b"\ndjmig: stopping after the current step (press Ctrl-C again to interrupt it)\n")
        }
        2 => {
            let group = CHILD_GROUP.load(Ordering::SeqCst);
            if group > 0 {
                say(b"\ndjmig: interrupting the running command\n");
                unsafe {
                    libc::kill(-group, libc::SIGINT);
                }
            }
        }
        _ => unsafe {
            libc::signal(sig, libc::SIG_DFL);
            libc::raise(sig);
        },
    }
}

/// Take the signals until the guard is dropped.
pub fn guard() -> Guard {
    SIGNALS.store(0, Ordering::SeqCst);
    GUARDED.store(true, Ordering::SeqCst);
    #[cfg(unix)]
    {
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        let old = SIGNALS_TAKEN
            .iter()
            .map(|&s| (s, unsafe { libc::signal(s, handler) }))
            .collect();
        Guard { old }
    }
    #[cfg(not(unix))]
    Guard {}
}

impl Drop for Guard {
    fn drop(&mut self) {
        GUARDED.store(false, Ordering::SeqCst);
        #[cfg(unix)]
        for (s, old) in &self.old {
            unsafe {
                libc::signal(*s, *old);
            }
        }
    }
}

/// Whether a signal asked djmig to stop.
pub fn requested() -> bool {
    SIGNALS.load(Ordering::SeqCst) > 0
}

/// Whether a [`guard`] is alive: [`crate::adapters::process`] then starts each
/// command in a process group of its own.
pub(crate) fn guarded() -> bool {
    GUARDED.load(Ordering::SeqCst)
}

/// The process group of the command running now (0: none), which a second
/// signal interrupts.
pub(crate) fn set_running_group(group: i32) {
    CHILD_GROUP.store(group, Ordering::SeqCst);
}

/// The error a stop between steps ends with: what ran, and `djmig undo`.
pub fn stopped(what: &str, done: usize, again: &str) -> crate::error::Error {
    let ran = match done {
        0 => "no step had run".to_string(),
        1 => "step 1 ran".to_string(),
        n => format!("steps 1 to {n} ran"),
    };
    crate::error::Error::failed(format!(
        "{what} was stopped by a signal (Ctrl-C) between two steps: {ran}, the others did not"
    ))
    .hint(again.to_string())
}
