//! The commit graph as djmig walks it: each commit's date, tree and
//! parents, read once and kept under `.git/djmig/` (a commit never changes,
//! so what is kept is always right), and git's walk of "commits reachable
//! from these and from none of those" (`git rev-list A --not B…`).
//!
//! Questions like "which of head's commits are published" hide thousands of
//! tags; "which pull requests are merged" starts from thousands of refs.
//! libgit2's walk reads every starting commit before it takes a step; this
//! one takes dates from the kept file, so it reads only the commits it
//! actually walks through, and none at all once they are kept.
//!
//! The file: a header, records sorted by commit id (id, tree, date, where
//! its parents are), then the parents, then a checksum. It is looked up by
//! binary search in place, never decoded whole; a bad or foreign file is
//! ignored and written again. It is not used in a shallow clone, whose
//! commits at the edge show no parents until the history is fetched.

use std::collections::{BinaryHeap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use git2::{Oid, Repository};

use super::GitError;

const MAGIC: &[u8; 8] = b"DJMIGCM\0";
const VERSION: u32 = 1;
const HEADER: usize = 8 + 4 + 4 + 4;
const RECORD: usize = 20 + 20 + 8 + 4 + 1;
/// Past this many commits, nothing more is kept (about 60 MB).
const MAX_KEPT: usize = 1_000_000;

/// The file's name in the cache directory.
pub const COMMITS_FILE: &str = "commits-v1.bin";

/// What the walks need of a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitInfo {
    pub tree: Oid,
    /// Committer date, seconds since the epoch.
    pub time: i64,
    pub parents: Vec<Oid>,
}

/// The kept file, looked up in place.
struct Kept {
    data: Vec<u8>,
    count: usize,
    parents_at: usize,
}

impl Kept {
    fn parse(data: Vec<u8>) -> Option<Kept> {
        if data.len() < HEADER + 8 || &data[..8] != MAGIC {
            return None;
        }
        let (body, sum) = data.split_at(data.len() - 8);
        if crate::adapters::store::parse_cache::checksum(body)
            != u64::from_le_bytes(sum.try_into().ok()?)
        {
            return None;
        }
        let u32_at = |i: usize| u32::from_le_bytes(data[i..i + 4].try_into().unwrap()) as usize;
        if u32_at(8) != VERSION as usize {
            return None;
        }
        let (count, parents) = (u32_at(12), u32_at(16));
        let parents_at = HEADER + count.checked_mul(RECORD)?;
        if parents_at.checked_add(parents.checked_mul(20)?)? != body.len() {
            return None;
        }
        Some(Kept {
            data,
            count,
            parents_at,
        })
    }

    fn record(&self, i: usize) -> &[u8] {
        &self.data[HEADER + i * RECORD..HEADER + (i + 1) * RECORD]
    }

    fn get(&self, oid: Oid) -> Option<CommitInfo> {
        let want = oid.as_bytes();
        let (mut lo, mut hi) = (0, self.count);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match self.record(mid)[..20].cmp(want) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(self.decode(mid)),
            }
        }
        None
    }

    fn decode(&self, i: usize) -> CommitInfo {
        let r = self.record(i);
        let first = u32::from_le_bytes(r[48..52].try_into().unwrap()) as usize;
        let n = r[52] as usize;
        let at = self.parents_at + first * 20;
        CommitInfo {
            tree: Oid::from_bytes(&r[20..40]).unwrap_or(Oid::ZERO_SHA1),
            time: i64::from_le_bytes(r[40..48].try_into().unwrap()),
            parents: (0..n)
                .filter_map(|k| Oid::from_bytes(&self.data[at + k * 20..at + k * 20 + 20]).ok())
                .collect(),
        }
    }

    fn all(&self) -> impl Iterator<Item = (Oid, CommitInfo)> + '_ {
        (0..self.count).map(|i| {
            let oid = Oid::from_bytes(&self.record(i)[..20]).unwrap_or(Oid::ZERO_SHA1);
            (oid, self.decode(i))
        })
    }
}

/// Commits as the walks read them: from the kept file, else from the
/// repository (and kept from then on).
pub struct Commits<'r> {
    repo: &'r Repository,
    file: Option<PathBuf>,
    kept: Option<Kept>,
    fresh: HashMap<Oid, CommitInfo>,
}

impl<'r> Commits<'r> {
    /// The commits of `repo`, kept in `cache_dir` unless the clone is
    /// shallow.
    pub fn open(repo: &'r Repository, cache_dir: &Path) -> Self {
        let file = (!repo.is_shallow()).then(|| cache_dir.join(COMMITS_FILE));
        let kept = file
            .as_ref()
            .and_then(|f| {
                crate::adapters::fs::read::read(f, crate::core::limits::Kind::ParseCache).ok()
            })
            .and_then(Kept::parse);
        Commits {
            repo,
            file,
            kept,
            fresh: HashMap::new(),
        }
    }

    /// A commit's date, tree and parents; `None` when `oid` is no commit
    /// (a tag of a tree); an error when it is missing from the repository.
    pub fn get(&mut self, oid: Oid) -> Result<Option<CommitInfo>, GitError> {
        if let Some(c) = self.fresh.get(&oid) {
            return Ok(Some(c.clone()));
        }
        if let Some(c) = self.kept.as_ref().and_then(|k| k.get(oid)) {
            return Ok(Some(c));
        }
        let commit = match self.repo.find_commit(oid) {
            Ok(c) => c,
            Err(e) if e.class() == git2::ErrorClass::Invalid => return Ok(None),
            Err(e) if e.code() == git2::ErrorCode::NotFound => {
                // Not a commit at all, or missing: only the object
                // database can tell.
                return match self.repo.odb().and_then(|o| o.read_header(oid)) {
                    Ok(_) => Ok(None),
                    Err(_) => Err(e.into()),
                };
            }
            Err(e) => return Err(e.into()),
        };
        let info = CommitInfo {
            tree: commit.tree_id(),
            time: commit.time().seconds(),
            parents: commit.parent_ids().collect(),
        };
        self.fresh.insert(oid, info.clone());
        Ok(Some(info))
    }

    /// Write the kept file again when commits were read; best effort.
    pub fn save(&self) {
        let Some(file) = &self.file else { return };
        if self.fresh.is_empty() {
            return;
        }
        let mut all: Vec<(Oid, CommitInfo)> = self.fresh.clone().into_iter().collect();
        if let Some(k) = &self.kept {
            all.extend(k.all().filter(|(o, _)| !self.fresh.contains_key(o)));
        }
        if all.len() > MAX_KEPT {
            return;
        }
        all.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
        let parents: usize = all.iter().map(|(_, c)| c.parents.len()).sum();
        let mut out = Vec::with_capacity(HEADER + all.len() * RECORD + parents * 20 + 8);
        out.extend_from_slice(MAGIC);
        out.extend_from_slice(&VERSION.to_le_bytes());
        out.extend_from_slice(&(all.len() as u32).to_le_bytes());
        out.extend_from_slice(&(parents as u32).to_le_bytes());
        let mut first = 0u32;
        for (oid, c) in &all {
            out.extend_from_slice(oid.as_bytes());
            out.extend_from_slice(c.tree.as_bytes());
            out.extend_from_slice(&c.time.to_le_bytes());
            out.extend_from_slice(&first.to_le_bytes());
            // A commit with more than 255 parents keeps the first 255.
            let n = c.parents.len().min(255);
            out.push(n as u8);
            first += n as u32;
        }
        for (_, c) in &all {
            for p in c.parents.iter().take(255) {
                out.extend_from_slice(p.as_bytes());
            }
        }
        let sum = crate::adapters::store::parse_cache::checksum(&out);
        out.extend_from_slice(&sum.to_le_bytes());
        let dir = file.parent().unwrap_or(Path::new("."));
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(dir)?;
            crate::adapters::store::parse_cache::remove_stale_temporaries(dir, ".commits-");
            let mut tmp = tempfile::Builder::new()
                .prefix(".commits-")
                .suffix(".tmp")
                .tempfile_in(dir)?;
            tmp.write_all(&out)?;
            tmp.persist(file).map_err(|e| e.error)?;
            Ok(())
        };
        let _ = write();
    }

    /// The commits reachable from `from` and from none of `hidden`, as
    /// `git rev-list from --not hidden` finds them: newest first, stopping
    /// once everything left to walk is reachable from `hidden` and older
    /// than what was found (git's few commits of slack for clock skew).
    /// Starting points that are not commits are left out.
    pub fn exclusive(&mut self, from: &[Oid], hidden: &[Oid]) -> Result<HashSet<Oid>, GitError> {
        let mut w = Walk::default();
        for &h in hidden {
            if let Some(c) = self.get(h)? {
                w.uninteresting(h);
                w.push(h, c.time);
            }
        }
        for &f in from {
            if w.state.get(&f).is_some_and(|s| !s.interesting) {
                continue;
            }
            if let Some(c) = self.get(f)? {
                w.state.entry(f).or_insert(State::new(true));
                w.push(f, c.time);
            }
        }
        const SLOP: u32 = 5;
        let mut slop = SLOP;
        let mut last = i64::MAX;
        let mut found = Vec::new();
        while let Some((time, oid)) = w.pop() {
            let info = self.get(oid)?.ok_or_else(|| {
                GitError(git2::Error::from_str(&format!("{oid} is not a commit")))
            })?;
            let interesting = w.state[&oid].interesting;
            w.state.get_mut(&oid).unwrap().done = true;
            w.parents.insert(oid, info.parents.clone());
            if interesting {
                last = time;
                found.push(oid);
                for p in &info.parents {
                    w.state.entry(*p).or_insert(State::new(true));
                }
            } else {
                for p in &info.parents {
                    w.uninteresting(*p);
                }
            }
            for p in &info.parents {
                if w.state[p].queued || w.state[p].done {
                    continue;
                }
                if let Some(c) = self.get(*p)? {
                    w.push(*p, c.time);
                }
            }
            if !interesting {
                let newer = w.heap.peek().is_some_and(|(t, _)| *t >= last);
                slop = if w.interesting_queued > 0 || newer {
                    SLOP
                } else {
                    slop - 1
                };
                if slop == 0 {
                    break;
                }
            }
        }
        Ok(found
            .into_iter()
            .filter(|o| w.state[o].interesting)
            .collect())
    }
}

#[derive(Debug, Clone, Copy)]
struct State {
    interesting: bool,
    queued: bool,
    done: bool,
}

impl State {
    fn new(interesting: bool) -> Self {
        State {
            interesting,
            queued: false,
            done: false,
        }
    }
}

#[derive(Default)]
struct Walk {
    state: HashMap<Oid, State>,
    /// Parents of the commits walked, to carry "uninteresting" down
    /// through what was walked already.
    parents: HashMap<Oid, Vec<Oid>>,
    heap: BinaryHeap<(i64, Oid)>,
    interesting_queued: usize,
}

impl Walk {
    fn push(&mut self, oid: Oid, time: i64) {
        let s = self.state.get_mut(&oid).expect("marked before queued");
        if s.queued || s.done {
            return;
        }
        s.queued = true;
        if s.interesting {
            self.interesting_queued += 1;
        }
        self.heap.push((time, oid));
    }

    fn pop(&mut self) -> Option<(i64, Oid)> {
        let (t, oid) = self.heap.pop()?;
        let s = self.state.get_mut(&oid).expect("queued");
        s.queued = false;
        if s.interesting {
            self.interesting_queued -= 1;
        }
        Some((t, oid))
    }

    /// Mark a commit, and what was walked below it, reachable from a
    /// hidden one.
    fn uninteresting(&mut self, oid: Oid) {
        let mut stack = vec![oid];
        while let Some(o) = stack.pop() {
            let s = self.state.entry(o).or_insert(State::new(false));
            if !s.interesting && (s.done || s.queued || o != oid) {
                continue;
            }
            if s.interesting {
                s.interesting = false;
                if s.queued {
                    self.interesting_queued -= 1;
                }
            }
            if s.done {
                if let Some(ps) = self.parents.get(&o) {
                    stack.extend(ps.iter().copied());
                }
            }
        }
    }
}
