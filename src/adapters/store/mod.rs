//! djmig's own files under `.git/djmig/`: the parse cache (parsed migrations
//! by blob id), the result cache (whole answers, trusted while the files they
//! were read from stat the same), and the journal (what a resolution changed,
//! for `djmig undo`).

pub mod journal;
pub mod parse_cache;
pub mod results;
