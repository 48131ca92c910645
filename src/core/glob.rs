//! Glob patterns: `exclude:` in the configuration (`*` stays within a path
//! component, `**` crosses them) and ref globs for `scan` (`*` crosses `/`).
//! A thin wrapper over the `glob` crate's patterns, which need no regular
//! expression engine.

use glob::{MatchOptions, Pattern};

/// Several patterns; a text matches when any does.
#[derive(Debug, Clone)]
pub struct GlobSet {
    patterns: Vec<Pattern>,
    options: MatchOptions,
}

impl GlobSet {
    /// `literal_separator`: whether `*`, `?` and `[…]` stop at `/` (paths)
    /// or cross it (ref names).
    pub fn new<S: AsRef<str>>(patterns: &[S], literal_separator: bool) -> Result<GlobSet, String> {
        let patterns = patterns
            .iter()
            .map(|p| check(p.as_ref()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(GlobSet {
            patterns,
            options: MatchOptions {
                case_sensitive: true,
                require_literal_separator: literal_separator,
                require_literal_leading_dot: false,
            },
        })
    }

    pub fn is_match(&self, text: &str) -> bool {
        self.patterns
            .iter()
            .any(|p| p.matches_with(text, self.options))
    }
}

/// One pattern, or why it is not one.
pub fn check(pattern: &str) -> Result<Pattern, String> {
    Pattern::new(pattern).map_err(|e| format!("{} (at character {})", e.msg, e.pos + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_refs() {
        let paths = GlobSet::new(&["docs", "docs/**", "tests/*/fixtures"], true).unwrap();
        assert!(paths.is_match("docs"));
        assert!(paths.is_match("docs/a/b"));
        assert!(paths.is_match("tests/x/fixtures"));
        assert!(!paths.is_match("tests/x/y/fixtures"));
        assert!(!paths.is_match("src/docs"));
        let refs = GlobSet::new(&["refs/pull/*/head", "origin/pr/*"], false).unwrap();
        assert!(refs.is_match("refs/pull/12/head"));
        assert!(refs.is_match("origin/pr/a/b"));
        assert!(!refs.is_match("refs/pull/12/merge"));
        assert!(GlobSet::new(&["a**b"], true).is_err());
        assert!(GlobSet::new(&["[a"], true).is_err());
    }
}
