//! Which strategy fits a conflicted app, and which must not be used: the
//! domain rules in one place, on plain inputs.

use std::collections::BTreeMap;

use super::Strategy;

/// What the decision depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionInputs {
    /// How many of the app's leaf chains are entirely upstream's: 1 is the
    /// usual fork; 0 means two local lines met; 2+ came from upstream.
    pub theirs_chains: usize,
    /// Ours already on a remote-tracking branch or tag.
    pub published: Vec<String>,
    /// Why some of ours (or their dependents) cannot be regenerated:
    /// "0005_fill has RunPython fill, which makemigrations cannot write".
    pub hand_written: Vec<String>,
    /// Whether the project's manage.py can run here.
    pub django_runs: bool,
    /// Whether any of ours is applied locally (`None`: unknown).
    pub any_applied: Option<bool>,
    /// Rows holding data that unapplying ours would drop.
    pub rows_at_risk: u64,
    /// Whether re-parenting keeps ours applied, with their data.
    pub reparent_keeps_rows: bool,
}

/// The recommended strategy, why, and what is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub recommended: Strategy,
    pub reason: String,
    pub refused: BTreeMap<Strategy, String>,
}

/// Decide. Regenerate is preferred (makemigrations writes the cleanest
/// history), unless unapplying would drop local data that re-parenting
/// keeps; re-parent keeps hand-written migrations; a merge migration is
/// the last resort, for what must not be rewritten.
pub fn decide(i: &DecisionInputs) -> Decision {
    let mut refused: BTreeMap<Strategy, String> = BTreeMap::new();
    let refuse_both = |why: String, refused: &mut BTreeMap<Strategy, String>| {
        refused
            .entry(Strategy::Regenerate)
            .or_insert_with(|| why.clone());
        refused.entry(Strategy::Reparent).or_insert(why);
    };
    if i.theirs_chains > 1 {
        refuse_both(
            "every leaf is already upstream: the conflict came from upstream itself".into(),
            &mut refused,
        );
    }
    if i.theirs_chains == 0 {
        refuse_both(
            "no leaf is upstream yet (two local lines of work met): djmig cannot tell which one to keep"
                .into(),
            &mut refused,
        );
    }
    if !i.published.is_empty() {
        refuse_both(
            format!(
                "{} already published (on a remote-tracking branch or tag): rewriting it would fork everyone else's history",
                i.published.join(", ")
            ),
            &mut refused,
        );
    }
    if !i.hand_written.is_empty() {
        refused
            .entry(Strategy::Regenerate)
            .or_insert_with(|| format!("{}; deleting it would lose it", i.hand_written.join("; ")));
    }
    if !i.django_runs {
        refused.entry(Strategy::Regenerate).or_insert_with(|| {
            "no Python environment here can run the project's manage.py".to_string()
        });
    }
    let regenerate_ok = !refused.contains_key(&Strategy::Regenerate);
    let reparent_ok = !refused.contains_key(&Strategy::Reparent);
    let keeps_data =
        i.any_applied == Some(true) && i.rows_at_risk > 0 && reparent_ok && i.reparent_keeps_rows;
    let (recommended, reason) = if regenerate_ok && keeps_data {
        (
            Strategy::Reparent,
            format!(
                "your applied migrations hold data in {} row(s) of the local database: re-parenting keeps it, \
                 where regenerating would unapply them and drop it",
                i.rows_at_risk
            ),
        )
    } else if regenerate_ok {
        (
            Strategy::Regenerate,
            "your migrations were written by makemigrations: delete them and let it write them again on top of upstream's"
                .to_string(),
        )
    } else if reparent_ok {
        (
            Strategy::Reparent,
            format!(
                "{}; keep your migrations and make them follow upstream's leaf",
                refused[&Strategy::Regenerate]
            ),
        )
    } else {
        (
            Strategy::Merge,
            format!(
                "{}; a merge migration is the only safe fix",
                refused[&Strategy::Reparent]
            ),
        )
    };
    Decision {
        recommended,
        reason,
        refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Strategy::*;

    fn usual() -> DecisionInputs {
        DecisionInputs {
            theirs_chains: 1,
            django_runs: true,
            any_applied: Some(false),
            ..DecisionInputs::default()
        }
    }

    /// One row per situation: what changes from the usual fork, the
    /// recommendation, what is refused, and a word the reason must hold.
    #[test]
    fn strategy_table() {
        type Case = (
            &'static str,
            fn(&mut DecisionInputs),
            Strategy,
            &'static [Strategy],
            &'static str,
        );
        let cases: &[Case] = &[
            ("the usual fork", |_| {}, Regenerate, &[], "makemigrations"),
            (
                "applied, no data in the new columns",
                |i| i.any_applied = Some(true),
                Regenerate,
                &[],
                "makemigrations",
            ),
            (
                "applied with data: reparent keeps it",
                |i| {
                    i.any_applied = Some(true);
                    i.rows_at_risk = 3;
                    i.reparent_keeps_rows = true;
                },
                Reparent,
                &[],
                "3 row(s)",
            ),
            (
                "applied with data, but reparent cannot keep it either: regenerate",
                |i| {
                    i.any_applied = Some(true);
                    i.rows_at_risk = 3;
                    i.reparent_keeps_rows = false;
                },
                Regenerate,
                &[],
                "makemigrations",
            ),
            (
                "database unknown: the files decide (the plan refuses later)",
                |i| i.any_applied = None,
                Regenerate,
                &[],
                "makemigrations",
            ),
            (
                "hand-written: reparent",
                |i| i.hand_written = vec!["0005_fill has RunPython fill".into()],
                Reparent,
                &[Regenerate],
                "RunPython",
            ),
            (
                "no runnable Django: reparent",
                |i| i.django_runs = false,
                Reparent,
                &[Regenerate],
                "manage.py",
            ),
            (
                "published: merge",
                |i| i.published = vec!["0004_x".into()],
                Merge,
                &[Regenerate, Reparent],
                "published",
            ),
            (
                "published and applied with data: still merge",
                |i| {
                    i.published = vec!["0004_x".into()];
                    i.any_applied = Some(true);
                    i.rows_at_risk = 9;
                    i.reparent_keeps_rows = true;
                },
                Merge,
                &[Regenerate, Reparent],
                "published",
            ),
            (
                "both leaves upstream: merge",
                |i| i.theirs_chains = 2,
                Merge,
                &[Regenerate, Reparent],
                "upstream itself",
            ),
            (
                "no leaf upstream: merge",
                |i| i.theirs_chains = 0,
                Merge,
                &[Regenerate, Reparent],
                "two local lines",
            ),
            (
                "hand-written and no Django: reparent names the first reason",
                |i| {
                    i.hand_written = vec!["0005_fill has RunSQL".into()];
                    i.django_runs = false;
                },
                Reparent,
                &[Regenerate],
                "RunSQL",
            ),
        ];
        for (what, change, want, refused, word) in cases {
            let mut i = usual();
            change(&mut i);
            let d = decide(&i);
            assert_eq!(d.recommended, *want, "{what}: {d:?}");
            let got: Vec<Strategy> = d.refused.keys().copied().collect();
            assert_eq!(got, refused.to_vec(), "{what}: {d:?}");
            assert!(d.reason.contains(word), "{what}: {:?}", d.reason);
            assert!(!d.refused.contains_key(&d.recommended), "{what}");
        }
    }
}
