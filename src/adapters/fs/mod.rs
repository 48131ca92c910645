//! The file system: the work tree (and a virtualenv's site-packages) as a
//! `SourceTree`, and reading files a repository may have planted.

pub mod read;
pub mod tree;
