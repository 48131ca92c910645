//! Listing many references fast: thousands of tags or pull-request refs
//! (`refs/pull/N/head`) are read straight from `packed-refs` and the loose
//! files under `refs/`, with annotated tags peeled from what `packed-refs`
//! records, so listing them reads no object. libgit2's iterator copies its
//! whole cache of packed references for every listing and peels each tag
//! by reading it.

use std::collections::BTreeMap;
use std::path::Path;

use git2::{ObjectType, Oid};

use super::{git_err, Branch, Repo};
use crate::adapters::fs::read;
use crate::core::limits::Kind;
use crate::error::{Error, Result};

/// One reference as listed: where it points, and the commit (or other
/// object) under any tags.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    oid: Oid,
    /// What the tag peels to, when `packed-refs` says; `Some(oid)` also
    /// when it says the reference is no tag.
    peeled: Option<Oid>,
}

impl Repo {
    /// Local and remote-tracking branches (without `*/HEAD`) when no glob
    /// is given; else every reference a glob matches: a glob starting with
    /// `refs/` matches full names of any reference (`refs/pull/*/head`,
    /// `refs/tags/v2.*`), any other glob matches branches by short or full
    /// name (`feature/*`, `origin/pr/*`). `*` matches across `/`. Sorted:
    /// local branches, remote-tracking ones, then other references, each by
    /// name; each peeled to what it points at (a tag to its commit).
    pub fn list_branches(&self, globs: &[String]) -> Result<Vec<Branch>> {
        let build = |gs: &[&String]| -> Result<Option<crate::core::glob::GlobSet>> {
            if gs.is_empty() {
                return Ok(None);
            }
            for g in gs {
                crate::core::glob::check(g)
                    .map_err(|e| Error::usage(format!("bad ref pattern `{g}`: {e}")))?;
            }
            crate::core::glob::GlobSet::new(gs, false)
                .map(Some)
                .map_err(|e| Error::usage(format!("bad ref patterns: {e}")))
        };
        let (full, short): (Vec<&String>, Vec<&String>) =
            globs.iter().partition(|g| g.starts_with("refs/"));
        let (full_set, short_set) = (build(&full)?, build(&short)?);
        let mut prefixes: Vec<String> = Vec::new();
        if globs.is_empty() || !short.is_empty() {
            prefixes.extend(["refs/heads/".to_string(), "refs/remotes/".to_string()]);
        }
        for g in &full {
            // What is certain of the name: up to the first wildcard.
            let end = g.find(['*', '?', '[', '{', '\\']).unwrap_or(g.len());
            prefixes.push(g[..end].to_string());
        }
        let prefixes: Vec<&str> = prefixes.iter().map(String::as_str).collect();
        let mut out = Vec::new();
        for (refname, oid) in self.refs_under(&prefixes)? {
            let (kind, name) = if let Some(n) = refname.strip_prefix("refs/heads/") {
                (0, n)
            } else if let Some(n) = refname.strip_prefix("refs/remotes/") {
                if n.ends_with("/HEAD") || n == "HEAD" {
                    continue;
                }
                (1, n)
            } else {
                (2, refname.as_str())
            };
            let matched = if globs.is_empty() {
                kind < 2
            } else {
                full_set.as_ref().is_some_and(|s| s.is_match(&refname))
                    || (kind < 2
                        && short_set
                            .as_ref()
                            .is_some_and(|s| s.is_match(name) || s.is_match(&refname)))
            };
            if !matched {
                continue;
            }
            out.push((
                kind,
                Branch {
                    name: name.to_string(),
                    refname: refname.clone(),
                    oid,
                    remote: kind == 1,
                },
            ));
        }
        out.sort_by(|a, b| (a.0, &a.1.name).cmp(&(b.0, &b.1.name)));
        Ok(out.into_iter().map(|(_, b)| b).collect())
    }

    /// References whose full names start with one of `prefixes`
    /// (`refs/tags/`, `refs/pull/`), peeled to what they finally point at
    /// (a tag to its commit), sorted by name. Symbolic references
    /// (`refs/remotes/origin/HEAD`) are left out.
    pub(crate) fn refs_under(&self, prefixes: &[&str]) -> Result<Vec<(String, Oid)>> {
        if self.common_dir.join("reftable").is_dir() {
            return self.refs_under_libgit2(prefixes);
        }
        let wanted = |name: &str| prefixes.iter().any(|p| name.starts_with(p));
        let mut refs: BTreeMap<String, Listed> = BTreeMap::new();
        self.packed_refs(&wanted, &mut refs)?;
        for p in prefixes {
            // The directory part of the prefix: `refs/tags/v1` → `refs/tags`.
            let dir = match p.rfind('/') {
                Some(i) => &p[..i],
                None => continue,
            };
            loose_refs(&self.common_dir, dir, &wanted, &mut refs);
        }
        let odb = self
            .repo
            .odb()
            .map_err(|e| git_err("cannot open the object database", e))?;
        let mut out = Vec::with_capacity(refs.len());
        for (name, l) in refs {
            let oid = match l.peeled {
                Some(p) => p,
                None => match odb.read_header(l.oid) {
                    Ok((_, ObjectType::Tag)) => match self
                        .repo
                        .find_object(l.oid, None)
                        .and_then(|o| o.peel(ObjectType::Commit))
                    {
                        Ok(c) => c.id(),
                        // A tag of a tree or of nothing there: no commit.
                        Err(_) => continue,
                    },
                    Ok(_) => l.oid,
                    // Missing: the walks say so when they need it.
                    Err(_) => l.oid,
                },
            };
            out.push((name, oid));
        }
        Ok(out)
    }

    /// `packed-refs`: `<id> <name>` lines, each annotated tag followed by
    /// `^<id>` of what it peels to (git writes them all when the header
    /// says `fully-peeled`, those under `refs/tags/` when it says `peeled`).
    fn packed_refs(
        &self,
        wanted: &dyn Fn(&str) -> bool,
        refs: &mut BTreeMap<String, Listed>,
    ) -> Result<()> {
        let path = self.common_dir.join("packed-refs");
        let data = match read::read(&path, Kind::GitData) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(crate::error::Error::git(format!(
                    "cannot read {}: {e}",
                    path.display()
                )))
            }
        };
        let (mut peeled_tags, mut fully) = (false, false);
        let mut last: Option<String> = None;
        for line in data.split(|b| *b == b'\n') {
            if let Some(traits) = line.strip_prefix(b"# pack-refs with:") {
                let traits = String::from_utf8_lossy(traits);
                let words: Vec<&str> = traits.split_whitespace().collect();
                peeled_tags = words.contains(&"peeled");
                fully = words.contains(&"fully-peeled");
                continue;
            }
            if let Some(hex) = line.strip_prefix(b"^") {
                if let (Some(name), Some(oid)) = (&last, parse_oid(hex)) {
                    if let Some(l) = refs.get_mut(name) {
                        l.peeled = Some(oid);
                    }
                }
                continue;
            }
            last = None;
            if line.len() < 42 || line[40] != b' ' {
                continue;
            }
            let (Some(oid), Ok(name)) = (parse_oid(&line[..40]), std::str::from_utf8(&line[41..]))
            else {
                continue;
            };
            if !wanted(name) {
                continue;
            }
            // No `^` line follows a reference the header vouches for: it
            // is no tag.
            let sure = fully || (peeled_tags && name.starts_with("refs/tags/"));
            refs.insert(
                name.to_string(),
                Listed {
                    oid,
                    peeled: sure.then_some(oid),
                },
            );
            last = Some(name.to_string());
        }
        Ok(())
    }

    fn refs_under_libgit2(&self, prefixes: &[&str]) -> Result<Vec<(String, Oid)>> {
        let mut out = Vec::new();
        let refs = self
            .repo
            .references()
            .map_err(|e| git_err("cannot list the references", e))?;
        for r in refs.flatten() {
            let Ok(name) = r.name() else { continue };
            if !prefixes.iter().any(|p| name.starts_with(p)) || r.target().is_none() {
                continue;
            }
            if let Ok(o) = r.peel(ObjectType::Any) {
                out.push((name.to_string(), o.id()));
            }
        }
        out.sort();
        Ok(out)
    }
}

fn parse_oid(hex: &[u8]) -> Option<Oid> {
    std::str::from_utf8(hex.get(..40)?)
        .ok()
        .and_then(|s| Oid::from_str(s).ok())
}

/// Loose references under `<git dir>/<dir>`: each a file holding an id
/// (over what `packed-refs` says), or `ref: …` (symbolic: left out).
fn loose_refs(
    git_dir: &Path,
    dir: &str,
    wanted: &dyn Fn(&str) -> bool,
    refs: &mut BTreeMap<String, Listed>,
) {
    let Ok(rd) = std::fs::read_dir(git_dir.join(dir)) else {
        return;
    };
    for e in rd.flatten() {
        let Ok(name) = e.file_name().into_string() else {
            continue;
        };
        let full = format!("{dir}/{name}");
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            loose_refs(git_dir, &full, wanted, refs);
            continue;
        }
        if !ft.is_file() || name.ends_with(".lock") || !wanted(&full) {
            continue;
        }
        let Ok(text) = read::read(&e.path(), Kind::GitState) else {
            continue;
        };
        match parse_oid(text.trim_ascii()) {
            Some(oid) => {
                refs.insert(full, Listed { oid, peeled: None });
            }
            // Symbolic, or being written: not an id.
            None => {
                refs.remove(&full);
            }
        }
    }
}
