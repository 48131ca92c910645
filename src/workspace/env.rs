//! The environment variables djmig's commands consult, read once at the
//! start of a run. Commands take what they need from [`Env`]; the adapters
//! get plain values from them. (Colour detection reads `NO_COLOR` and
//! `TERM` in the binary, before the run; the test-only variables stay with
//! the tests that set them; git reads its own.)

use std::ffi::OsString;
use std::time::Duration;

/// Set to anything but `0` or empty, `djmig hook run` does nothing.
pub const SKIP_HOOKS: &str = "DJMIG_SKIP_HOOKS";
/// The database check's time limit in seconds (a Django that takes long to
/// start, or a test that must not wait 30 s).
pub const DATABASE_CHECK_TIMEOUT: &str = "DJMIG_DATABASE_CHECK_TIMEOUT";
/// Set to anything but `0` or empty, the result cache says on stderr what
/// it did (`hit`, `miss`, `stored`, or why nothing was stored).
pub const TRACE_CACHE: &str = "DJMIG_TRACE_CACHE";

/// How long the database check may take before it is stopped, unless
/// [`DATABASE_CHECK_TIMEOUT`] says otherwise.
pub const DEFAULT_DATABASE_CHECK_TIMEOUT: Duration = Duration::from_secs(30);

/// What the environment says, as plain values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Env {
    /// `VIRTUAL_ENV`: the active virtualenv.
    pub virtual_env: Option<OsString>,
    /// `PATH`, where a bare interpreter name is looked up.
    pub path: Option<OsString>,
    /// `GITHUB_ACTIONS=true`: output defaults to workflow annotations.
    pub github_actions: bool,
    /// `GIT_REFLOG_ACTION` starts with `rebase`: git runs the hook from
    /// inside a rebase.
    pub git_rebasing: bool,
    /// [`SKIP_HOOKS`] is set (not empty, not `0`).
    pub skip_hooks: bool,
    /// [`DATABASE_CHECK_TIMEOUT`] as a positive number of seconds, else
    /// [`DEFAULT_DATABASE_CHECK_TIMEOUT`].
    pub database_check_timeout: Duration,
    /// [`TRACE_CACHE`] is set (not empty, not `0`).
    pub trace_cache: bool,
}

impl Env {
    /// The process's environment.
    pub fn from_process() -> Env {
        Env::from_vars(|name| std::env::var_os(name))
    }

    /// The environment `var` gives (a name → its value, if set).
    pub fn from_vars(var: impl Fn(&str) -> Option<OsString>) -> Env {
        // Read as `std::env::var` reads: a value that is not Unicode counts
        // as unset where the text matters.
        let text = |name: &str| var(name).and_then(|v| v.into_string().ok());
        let flag = |v: &str| !v.is_empty() && v != "0";
        Env {
            virtual_env: var("VIRTUAL_ENV"),
            path: var("PATH"),
            github_actions: text("GITHUB_ACTIONS").as_deref() == Some("true"),
            git_rebasing: text("GIT_REFLOG_ACTION").is_some_and(|a| a.starts_with("rebase")),
            skip_hooks: text(SKIP_HOOKS).is_some_and(|v| flag(&v)),
            database_check_timeout: text(DATABASE_CHECK_TIMEOUT)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|&s| s > 0)
                .map(Duration::from_secs)
                .unwrap_or(DEFAULT_DATABASE_CHECK_TIMEOUT),
            trace_cache: var(TRACE_CACHE).is_some_and(|v| !v.is_empty() && v != "0"),
        }
    }

    /// `VIRTUAL_ENV` as text, as `std::env::var` gives it (`None` when it
    /// is not Unicode).
    pub fn virtual_env_text(&self) -> Option<&str> {
        self.virtual_env.as_deref().and_then(|v| v.to_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> Env {
        let map: HashMap<String, OsString> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), OsString::from(v)))
            .collect();
        Env::from_vars(|name| map.get(name).cloned())
    }

    #[test]
    fn nothing_set() {
        let e = env(&[]);
        assert_eq!(
            e,
            Env {
                virtual_env: None,
                path: None,
                github_actions: false,
                git_rebasing: false,
                skip_hooks: false,
                database_check_timeout: Duration::from_secs(30),
                trace_cache: false,
            }
        );
    }

    #[test]
    fn values_are_read_from_the_table() {
        let e = env(&[
            ("VIRTUAL_ENV", "/venv"),
            ("PATH", "/usr/bin:/bin"),
            ("GITHUB_ACTIONS", "true"),
            ("GIT_REFLOG_ACTION", "rebase (pick)"),
            ("DJMIG_SKIP_HOOKS", "1"),
            ("DJMIG_DATABASE_CHECK_TIMEOUT", " 5 "),
            ("DJMIG_TRACE_CACHE", "yes"),
        ]);
        assert_eq!(e.virtual_env.as_deref(), Some("/venv".as_ref()));
        assert_eq!(e.virtual_env_text(), Some("/venv"));
        assert_eq!(e.path.as_deref(), Some("/usr/bin:/bin".as_ref()));
        assert!(e.github_actions);
        assert!(e.git_rebasing);
        assert!(e.skip_hooks);
        assert_eq!(e.database_check_timeout, Duration::from_secs(5));
        assert!(e.trace_cache);
    }

    #[test]
    fn flags_off_and_bad_values_fall_back() {
        let e = env(&[
            ("GITHUB_ACTIONS", "1"),
            ("GIT_REFLOG_ACTION", "pull"),
            ("DJMIG_SKIP_HOOKS", "0"),
            ("DJMIG_DATABASE_CHECK_TIMEOUT", "0"),
            ("DJMIG_TRACE_CACHE", ""),
        ]);
        assert!(!e.github_actions);
        assert!(!e.git_rebasing);
        assert!(!e.skip_hooks);
        assert_eq!(e.database_check_timeout, DEFAULT_DATABASE_CHECK_TIMEOUT);
        assert!(!e.trace_cache);
        for bad in ["soon", "-3", ""] {
            let e = env(&[("DJMIG_DATABASE_CHECK_TIMEOUT", bad)]);
            assert_eq!(
                e.database_check_timeout, DEFAULT_DATABASE_CHECK_TIMEOUT,
                "{bad}"
            );
        }
        assert!(!env(&[("DJMIG_SKIP_HOOKS", "")]).skip_hooks);
    }

    #[cfg(unix)]
    #[test]
    fn values_that_are_not_unicode() {
        use std::os::unix::ffi::OsStringExt;
        let bad = OsString::from_vec(vec![b'/', 0xff]);
        let e = Env::from_vars(|name| match name {
            "VIRTUAL_ENV" | "DJMIG_SKIP_HOOKS" | "DJMIG_TRACE_CACHE" => Some(bad.clone()),
            _ => None,
        });
        // Kept as given where a path is wanted, unset where text is.
        assert_eq!(e.virtual_env.as_ref(), Some(&bad));
        assert_eq!(e.virtual_env_text(), None);
        assert!(!e.skip_hooks);
        assert!(e.trace_cache);
    }
}
