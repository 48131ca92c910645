//! Why a resolution cannot be planned, as data: the command layer decides
//! the exit code and the hints of each kind in one place
//! (`impl From<PlanError> for crate::error::Error` in `commands::resolve`).

use std::fmt;

use super::super::rewrite::RewriteError;
use super::Strategy;

/// Why an app's situation or a strategy's plan cannot be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanError {
    /// The app has one leaf: there is no conflict to resolve.
    NothingToResolve { app: String },
    /// The decision refused the strategy for this app ([`super::decide`]):
    /// published migrations, hand-written ones, no runnable Django, …
    StrategyNotPossible {
        strategy: Strategy,
        app: String,
        why: String,
    },
    /// Re-parenting needs upstream's leaf to follow, and upstream has none.
    NoUpstreamLeaf { app: String },
    /// Re-parenting would rename a migration to a name another one has.
    NameTaken { from: String, to: String },
    /// The strategy deletes or renames migrations that may be applied, and
    /// the local database could not be asked; the reason.
    DatabaseUnknown { app: String, reason: String },
    /// A file the plan rewrites could not be read, or not parsed whole;
    /// `why` is the cause (the I/O error).
    Io { file: String, why: String },
    /// A file's references cannot be rewritten safely (re-parenting).
    Rewrite { file: String, error: RewriteError },
}

impl PlanError {
    /// Whether the error is about the strategy chosen (another one may
    /// work), rather than about the project, the database or the files.
    pub fn strategy_not_possible(&self) -> bool {
        matches!(
            self,
            PlanError::StrategyNotPossible { .. }
                | PlanError::NoUpstreamLeaf { .. }
                | PlanError::NameTaken { .. }
        )
    }
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::NothingToResolve { app } => {
                write!(f, "{app} has one leaf: nothing to resolve")
            }
            PlanError::StrategyNotPossible { strategy, app, why } => {
                write!(f, "{} cannot be used for {app}: {why}", strategy.name())
            }
            PlanError::NoUpstreamLeaf { app } => {
                write!(f, "{app}: upstream has no migration to follow")
            }
            PlanError::NameTaken { from, to } => {
                write!(f, "cannot rename {from} to {to}: that migration exists")
            }
            PlanError::DatabaseUnknown { app, reason } => write!(
                f,
                "cannot tell which of {app}'s migrations are applied to the local database ({reason}); \
                 deleting or renaming an applied one would leave the database out of step"
            ),
            PlanError::Io { file, .. } => write!(f, "cannot read {file}"),
            PlanError::Rewrite { error, .. } => {
                write!(f, "{error}; use `--strategy merge`, or edit it by hand")
            }
        }
    }
}

impl std::error::Error for PlanError {}

#[cfg(test)]
mod tests {
    use super::super::super::keys::MigrationKey;
    use super::*;

    /// The messages are the ones `djmig resolve` printed before the errors
    /// were typed.
    #[test]
    fn messages() {
        let cases: &[(PlanError, &str, bool)] = &[
            (
                PlanError::NothingToResolve { app: "blog".into() },
                "blog has one leaf: nothing to resolve",
                false,
            ),
            (
                PlanError::StrategyNotPossible {
                    strategy: Strategy::Regenerate,
                    app: "blog".into(),
                    why: "0004_x already published".into(),
                },
                "regenerate cannot be used for blog: 0004_x already published",
                true,
            ),
            (
                PlanError::NoUpstreamLeaf { app: "blog".into() },
                "blog: upstream has no migration to follow",
                true,
            ),
            (
                PlanError::NameTaken {
                    from: "0002_a".into(),
                    to: "0003_a".into(),
                },
                "cannot rename 0002_a to 0003_a: that migration exists",
                true,
            ),
            (
                PlanError::DatabaseUnknown {
                    app: "blog".into(),
                    reason: "no Django".into(),
                },
                "cannot tell which of blog's migrations are applied to the local database (no Django); \
                 deleting or renaming an applied one would leave the database out of step",
                false,
            ),
            (
                PlanError::Io {
                    file: "blog/migrations/0002_a.py".into(),
                    why: "permission denied".into(),
                },
                "cannot read blog/migrations/0002_a.py",
                false,
            ),
            (
                PlanError::Rewrite {
                    file: "blog/migrations/0002_a.py".into(),
                    error: RewriteError {
                        migration: MigrationKey::new("blog", "0002_a"),
                        line: 7,
                        message: "no dependency found".into(),
                    },
                },
                "blog.0002_a line 7: no dependency found; use `--strategy merge`, or edit it by hand",
                false,
            ),
        ];
        for (e, text, strategy) in cases {
            assert_eq!(e.to_string(), *text, "{e:?}");
            assert_eq!(e.strategy_not_possible(), *strategy, "{e:?}");
        }
    }
}
