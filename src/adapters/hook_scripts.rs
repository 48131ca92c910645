//! djmig's git hooks: where the hook scripts live, and djmig's block in them.
//!
//! djmig never replaces a hook script. It adds one marked block to it:
//!
//! ```sh
//! # >>> djmig >>>
//! # Added by `djmig hook install`; `djmig hook uninstall` removes this block.
//! if command -v djmig >/dev/null 2>&1; then djmig hook run post-merge "$@" </dev/null || true
//! elif [ -x '/path/to/djmig' ]; then '/path/to/djmig' hook run post-merge "$@" </dev/null || true
//! fi
//! # <<< djmig <<<
//! ```
//!
//! right after the script's `#!` line (so an `exit` or `exec` further down
//! cannot skip it), or creates the script with `#!/bin/sh` and mode 0755.
//! Words after the begin marker record what djmig did besides adding the
//! block, so that removing it gives back the user's file byte for byte:
//! `new-file` (djmig created the script: delete it when nothing else is in
//! it) and `added-newline` (the `#!` line had no line break; djmig added one).
//!
//! djmig leaves a hook alone, and says why, when changing it would not do
//! what the user expects: a block holding lines djmig did not write (they
//! would be lost), a script git does not run (not executable: installing
//! would report a success that is not one), a symbolic link (its target
//! may be tracked in the repository, or shared: djmig never edits through
//! a link), a script for another interpreter, or broken markers.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The hooks djmig knows how to run.
pub const HOOKS: [&str; 4] = ["post-merge", "post-rewrite", "post-checkout", "post-commit"];

/// The first line of djmig's block (followed by flag words).
pub const BEGIN: &str = "# >>> djmig >>>";
/// The last line of djmig's block.
pub const END: &str = "# <<< djmig <<<";

const FLAG_NEW_FILE: &str = "new-file";
const FLAG_NEWLINE: &str = "added-newline";
const SHEBANG: &str = "#!/bin/sh\n";

/// Check hook names against [`HOOKS`].
pub fn validate(names: &[String]) -> Result<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        let n = n.trim();
        if n.is_empty() {
            continue;
        }
        if !HOOKS.contains(&n) {
            return Err(Error::usage(format!("djmig has no {n:?} hook"))
                .hint(format!("the hooks are: {}", HOOKS.join(", "))));
        }
        if !out.iter().any(|o| o == n) {
            out.push(n.to_string());
        }
    }
    if out.is_empty() {
        return Err(
            Error::usage("no hook named").hint(format!("the hooks are: {}", HOOKS.join(", ")))
        );
    }
    Ok(out)
}

/// The directory git runs hooks from (see [`crate::adapters::git::hooks_dir`]).
pub use crate::adapters::git::hooks_dir;

/// Quote for a POSIX shell: `'…'`, with `'` as `'\''`: the exact bytes,
/// for the hook script djmig writes. Commands shown to the user are quoted
/// with [`crate::core::escape::shell_word`], which also keeps them visible.
pub fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// What the block runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockSpec {
    /// The hook's name.
    pub hook: String,
    /// The djmig binary used when `djmig` is not on `PATH`.
    pub fallback_exe: String,
    /// Global options before `hook run` (`-C backend`).
    pub global_args: Vec<String>,
}

/// The block's body lines, between the markers.
fn body(spec: &BlockSpec) -> String {
    let mut args: Vec<String> = spec.global_args.iter().map(|a| sh_quote(a)).collect();
    args.extend(["hook".into(), "run".into(), sh_quote(&spec.hook)]);
    let args = args.join(" ");
    let exe = sh_quote(&spec.fallback_exe);
    format!(
        "# Added by `djmig hook install`; `djmig hook uninstall` removes this block.\n\
         if command -v djmig >/dev/null 2>&1; then djmig {args} \"$@\" </dev/null || true\n\
         elif [ -x {exe} ]; then {exe} {args} \"$@\" </dev/null || true\n\
         fi\n"
    )
}

fn block(spec: &BlockSpec, flags: &[&str]) -> String {
    let mut begin = BEGIN.to_string();
    for f in flags {
        begin.push(' ');
        begin.push_str(f);
    }
    format!("{begin}\n{}{END}\n", body(spec))
}

/// One block found in a script: byte range (end marker's line break
/// included), the flag words of its begin line, and the lines inside it
/// that djmig did not write (1-based line number, text).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    start: usize,
    end: usize,
    flags: Vec<String>,
    foreign: Vec<(usize, String)>,
}

/// Whether a line inside the markers is one djmig writes (see [`body`]),
/// for any binary and arguments; blank lines do not count.
fn is_djmig_line(line: &str) -> bool {
    const TAIL: &str = "\"$@\" </dev/null || true";
    line.trim().is_empty()
        || line == "fi"
        || line.starts_with("# Added by `djmig hook install`")
        || (line.starts_with("if command -v djmig >/dev/null 2>&1; then djmig ")
            && line.ends_with(TAIL))
        || (line.starts_with("elif [ -x ") && line.ends_with(TAIL))
}

/// Every djmig block in a script. A begin marker without an end marker is an
/// error: djmig will not guess where its block stops.
fn find_blocks(text: &str) -> std::result::Result<Vec<Found>, String> {
    let mut out = Vec::new();
    let mut open: Option<Found> = None;
    let mut pos = 0;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let start = pos;
        pos += line.len();
        let bare = line.trim_end_matches(['\n', '\r']);
        if let Some(rest) = bare.strip_prefix(BEGIN) {
            if open.is_some() {
                return Err("djmig's block begins twice without ending".into());
            }
            open = Some(Found {
                start,
                end: start,
                flags: rest.split_whitespace().map(str::to_string).collect(),
                foreign: Vec::new(),
            });
        } else if bare == END {
            match open.take() {
                Some(f) => out.push(Found { end: pos, ..f }),
                None => return Err("djmig's block ends without beginning".into()),
            }
        } else if let Some(f) = open.as_mut() {
            if !is_djmig_line(bare) {
                f.foreign.push((n + 1, bare.to_string()));
            }
        }
    }
    if open.is_some() {
        return Err(format!("djmig's block has no end line ({END})"));
    }
    Ok(out)
}

/// Why a script cannot take djmig's block, or give it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BlockError {
    /// The script is run by another interpreter (Python, Node, …).
    NotShell(String),
    /// Broken markers.
    Markers(String),
    /// Lines djmig did not write between its markers: replacing or
    /// removing the block would lose them.
    Foreign(Vec<(usize, String)>),
}

impl BlockError {
    /// Why the hook is left alone, and what to do.
    pub fn explain(&self, hook: &str) -> String {
        match self {
            BlockError::NotShell(line) => format!(
                "it is not a shell script ({line}); call `djmig hook run {hook}` with the hook's arguments from it yourself"
            ),
            BlockError::Markers(why) => format!("{why}; fix or remove djmig's lines by hand"),
            BlockError::Foreign(lines) => {
                let shown: Vec<String> = lines
                    .iter()
                    .take(3)
                    .map(|(n, l)| format!("line {n}: `{l}`"))
                    .collect();
                let more = match lines.len() {
                    0..=3 => String::new(),
                    n => format!(" and {} more", n - 3),
                };
                format!(
                    "djmig's block holds lines djmig did not write ({}{more}); move them above `{BEGIN}` or below `{END}`, then run this again",
                    shown.join(", ")
                )
            }
        }
    }
}

/// The blocks of a script, none holding lines of the user's.
fn own_blocks(text: &str) -> std::result::Result<Vec<Found>, BlockError> {
    let found = find_blocks(text).map_err(BlockError::Markers)?;
    let foreign: Vec<(usize, String)> = found.iter().flat_map(|f| f.foreign.clone()).collect();
    if foreign.is_empty() {
        Ok(found)
    } else {
        Err(BlockError::Foreign(foreign))
    }
}

/// Whether a `#!` line runs a POSIX-style shell.
fn is_shell(shebang: &str) -> bool {
    const SHELLS: [&str; 8] = ["sh", "bash", "dash", "zsh", "ksh", "ash", "mksh", "busybox"];
    let mut words = shebang.trim_start_matches("#!").split_whitespace();
    let Some(first) = words.next() else {
        return true;
    };
    let base = |w: &str| w.rsplit('/').next().unwrap_or(w).to_string();
    let prog = if base(first) == "env" {
        match words.find(|w| !w.starts_with('-')) {
            Some(w) => base(w),
            None => return false,
        }
    } else {
        base(first)
    };
    SHELLS.contains(&prog.as_str())
}

/// The script with djmig's block for `spec`: a new script when `existing`
/// is `None`, else the existing one with the block added after its `#!`
/// line or, when it has one already, with that block brought up to date.
pub fn add_block(
    existing: Option<&str>,
    spec: &BlockSpec,
) -> std::result::Result<String, BlockError> {
    let Some(text) = existing else {
        return Ok(format!("{SHEBANG}{}", block(spec, &[FLAG_NEW_FILE])));
    };
    let found = own_blocks(text)?;
    if let Some(first) = found.first() {
        // Replace the first block, keep its flags; drop any others.
        let flags: Vec<&str> = first.flags.iter().map(String::as_str).collect();
        let mut out = String::with_capacity(text.len());
        let mut pos = 0;
        for (i, f) in found.iter().enumerate() {
            out.push_str(&text[pos..f.start]);
            if i == 0 {
                out.push_str(&block(spec, &flags));
            }
            pos = f.end;
        }
        out.push_str(&text[pos..]);
        return Ok(out);
    }
    if text.starts_with("#!") {
        let first_line = text.lines().next().unwrap_or("");
        if !is_shell(first_line) {
            return Err(BlockError::NotShell(first_line.to_string()));
        }
        return Ok(match text.find('\n') {
            Some(i) => format!("{}{}{}", &text[..=i], block(spec, &[]), &text[i + 1..]),
            None => format!("{text}\n{}", block(spec, &[FLAG_NEWLINE])),
        });
    }
    // No `#!` line: git runs such a script with /bin/sh.
    Ok(format!("{}{text}", block(spec, &[])))
}

/// What removing djmig's blocks leaves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Removed {
    /// No block in the script.
    Absent,
    /// The user's script, as it was before djmig added its block.
    Text(String),
    /// djmig created the script and nothing else is in it: delete it.
    Delete,
}

/// Remove every djmig block from a script.
pub fn remove_block(text: &str) -> std::result::Result<Removed, BlockError> {
    let found = own_blocks(text)?;
    if found.is_empty() {
        return Ok(Removed::Absent);
    }
    let mut out = String::with_capacity(text.len());
    let mut pos = 0;
    let mut new_file = false;
    for f in &found {
        let mut start = f.start;
        if f.flags.iter().any(|x| x == FLAG_NEWLINE) && text[..start].ends_with('\n') {
            start -= 1;
        }
        new_file |= f.flags.iter().any(|x| x == FLAG_NEW_FILE);
        out.push_str(&text[pos.min(start)..start]);
        pos = f.end;
    }
    out.push_str(&text[pos..]);
    if new_file && (out == SHEBANG || out.is_empty()) {
        return Ok(Removed::Delete);
    }
    Ok(Removed::Text(out))
}

/// What happened to one hook script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// A new script with djmig's block.
    Created,
    /// djmig's block added to the user's script.
    Added,
    /// djmig's block brought up to date.
    Updated,
    /// Installed already, as it would be now.
    Unchanged,
    /// The block removed; the user's script is as it was.
    Removed,
    /// The script was djmig's alone and is deleted.
    Deleted,
    /// No djmig block to remove.
    Absent,
    /// Left alone, with the reason.
    Skipped(String),
}

/// One hook's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookResult {
    pub hook: String,
    pub path: PathBuf,
    pub outcome: Outcome,
}

fn is_executable(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0)
    }
    #[cfg(not(unix))]
    {
        path.is_file()
    }
}

fn read_script(path: &Path) -> Result<Option<String>> {
    match fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| Error::failed(format!("{} is not a text file", path.display()))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::failed(format!("cannot read {}", path.display())).cause(e)),
    }
}

/// Write a script in place (keeping its mode, owner and links), or create it
/// executable.
fn write_script(path: &Path, text: &str, create: bool) -> Result<()> {
    let fail =
        |e: std::io::Error| Error::failed(format!("cannot write {}", path.display())).cause(e);
    if !create {
        return fs::write(path, text).map_err(fail);
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| {
            Error::failed(format!(
                "cannot create the hooks directory {}",
                dir.display()
            ))
            .cause(e)
        })?;
    }
    fs::write(path, text).map_err(fail)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(0o755)).map_err(fail)?;
    }
    Ok(())
}

/// Where a hook is a symbolic link to: `Some(target as the link says it)`.
fn link_target(path: &Path) -> Option<PathBuf> {
    let meta = fs::symlink_metadata(path).ok()?;
    if !meta.file_type().is_symlink() {
        return None;
    }
    Some(fs::read_link(path).unwrap_or_default())
}

/// The link's target, and where that is when it says it relatively.
fn describe_link(path: &Path, target: &Path) -> String {
    let resolved = match path.parent() {
        Some(dir) if target.is_relative() => dir.join(target),
        _ => target.to_path_buf(),
    };
    let resolved = resolved.canonicalize().unwrap_or(resolved);
    if resolved == target {
        target.display().to_string()
    } else {
        format!("{} ({})", target.display(), resolved.display())
    }
}

/// Add djmig's block to each hook in `dir`.
pub fn install(
    dir: &Path,
    hooks: &[String],
    spec_for: impl Fn(&str) -> BlockSpec,
) -> Result<Vec<HookResult>> {
    let mut out = Vec::new();
    for hook in hooks {
        let path = dir.join(hook);
        let outcome = install_one(&path, hook, &spec_for(hook))?;
        out.push(HookResult {
            hook: hook.clone(),
            path,
            outcome,
        });
    }
    Ok(out)
}

fn install_one(path: &Path, hook: &str, spec: &BlockSpec) -> Result<Outcome> {
    if let Some(target) = link_target(path) {
        return Ok(Outcome::Skipped(format!(
            "it is a symbolic link to {}; djmig does not edit a hook through a link (the script may be tracked in the repository, or shared). Call `djmig hook run {hook} \"$@\"` from that script yourself, or replace the link with a script of its own and install again",
            describe_link(path, &target)
        )));
    }
    let existing = read_script(path)?;
    let text = match add_block(existing.as_deref(), spec) {
        Err(e) => return Ok(Outcome::Skipped(e.explain(hook))),
        Ok(text) => text,
    };
    if existing.is_some() && !is_executable(path) {
        return Ok(Outcome::Skipped(format!(
            "it is not executable, so git does not run it (nor a block djmig would add); if it is meant to run, `chmod +x {}` and install again",
            crate::core::escape::shell_word(&path.display().to_string())
        )));
    }
    Ok(match &existing {
        None => {
            write_script(path, &text, true)?;
            Outcome::Created
        }
        Some(old) if *old == text => Outcome::Unchanged,
        Some(old) => {
            let had = find_blocks(old).map(|f| !f.is_empty()).unwrap_or(false);
            write_script(path, &text, false)?;
            if had {
                Outcome::Updated
            } else {
                Outcome::Added
            }
        }
    })
}

/// Remove djmig's block from each hook in `dir`.
pub fn uninstall(dir: &Path, hooks: &[String]) -> Result<Vec<HookResult>> {
    let mut out = Vec::new();
    for hook in hooks {
        let path = dir.join(hook);
        let outcome = uninstall_one(&path, hook)?;
        out.push(HookResult {
            hook: hook.clone(),
            path,
            outcome,
        });
    }
    Ok(out)
}

fn uninstall_one(path: &Path, hook: &str) -> Result<Outcome> {
    let Some(text) = read_script(path)? else {
        return Ok(Outcome::Absent);
    };
    let removed = match remove_block(&text) {
        Err(e) => return Ok(Outcome::Skipped(e.explain(hook))),
        Ok(r) => r,
    };
    if removed != Removed::Absent {
        if let Some(target) = link_target(path) {
            return Ok(Outcome::Skipped(format!(
                "it is a symbolic link to {}, which holds djmig's block; djmig does not edit a hook through a link: remove the block from that script by hand",
                describe_link(path, &target)
            )));
        }
    }
    Ok(match removed {
        Removed::Absent => Outcome::Absent,
        Removed::Delete => {
            fs::remove_file(path)
                .map_err(|e| Error::failed(format!("cannot delete {}", path.display())).cause(e))?;
            Outcome::Deleted
        }
        Removed::Text(t) => {
            write_script(path, &t, false)?;
            Outcome::Removed
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> BlockSpec {
        BlockSpec {
            hook: "post-merge".into(),
            fallback_exe: "/opt/dj mig/djmig".into(),
            global_args: vec![],
        }
    }

    #[test]
    fn new_script() {
        let t = add_block(None, &spec()).unwrap();
        assert!(
            t.starts_with("#!/bin/sh\n# >>> djmig >>> new-file\n"),
            "{t}"
        );
        assert!(t.contains("djmig hook run post-merge \"$@\" </dev/null || true"));
        assert!(t.contains("elif [ -x '/opt/dj mig/djmig' ]; then '/opt/dj mig/djmig' hook run"));
        assert!(t.ends_with("# <<< djmig <<<\n"));
        assert_eq!(remove_block(&t).unwrap(), Removed::Delete);
        // The user added lines to djmig's script: they stay.
        let t2 = format!("{t}echo mine\n");
        assert_eq!(
            remove_block(&t2).unwrap(),
            Removed::Text("#!/bin/sh\necho mine\n".into())
        );
    }

    #[test]
    fn existing_script_round_trips() {
        for user in [
            "#!/bin/sh\necho hi\nexit 0\n",
            "#!/usr/bin/env bash\r\necho hi",
            "#!/bin/sh",
            "echo no shebang\n",
            "",
        ] {
            let t = add_block(Some(user), &spec()).unwrap();
            assert_ne!(t, user);
            assert_eq!(
                add_block(Some(&t), &spec()).unwrap(),
                t,
                "idempotent for {user:?}"
            );
            assert_eq!(find_blocks(&t).unwrap().len(), 1);
            assert_eq!(
                remove_block(&t).unwrap(),
                Removed::Text(user.into()),
                "{user:?}"
            );
        }
        let t = add_block(Some("#!/bin/sh\nexit 0\n"), &spec()).unwrap();
        assert!(t.starts_with("#!/bin/sh\n# >>> djmig >>>\n"), "{t}");
        assert!(t.ends_with("# <<< djmig <<<\nexit 0\n"), "{t}");
    }

    #[test]
    fn update_keeps_flags_and_replaces_the_block() {
        let t = add_block(None, &spec()).unwrap();
        let mut s2 = spec();
        s2.fallback_exe = "/new/djmig".into();
        s2.global_args = vec!["-C".into(), "back end".into()];
        let t2 = add_block(Some(&t), &s2).unwrap();
        assert!(t2.contains("new-file"));
        assert!(t2.contains("djmig -C 'back end' hook run post-merge"));
        assert!(!t2.contains("/opt/dj mig"));
        assert_eq!(remove_block(&t2).unwrap(), Removed::Delete);
    }

    #[test]
    fn other_interpreters_are_refused() {
        let e = add_block(Some("#!/usr/bin/env python3\nprint(1)\n"), &spec()).unwrap_err();
        assert!(matches!(e, BlockError::NotShell(_)));
        assert!(add_block(Some("#!/usr/bin/env -S bash -e\n"), &spec()).is_ok());
        assert!(add_block(Some("#!/bin/zsh\n"), &spec()).is_ok());
    }

    #[test]
    fn broken_markers_are_refused() {
        let t = format!("#!/bin/sh\n{BEGIN}\necho\n");
        assert!(matches!(
            add_block(Some(&t), &spec()),
            Err(BlockError::Markers(_))
        ));
        assert!(remove_block(&t).is_err());
    }

    #[test]
    fn the_users_lines_inside_the_block_are_never_dropped() {
        let t = add_block(Some("#!/bin/sh\necho a\n"), &spec()).unwrap();
        let mine = t.replace("fi\n", "fi\necho mine\n\n");
        let e = add_block(Some(&mine), &spec()).unwrap_err();
        assert_eq!(e, BlockError::Foreign(vec![(7, "echo mine".into())]));
        assert!(e.explain("post-merge").starts_with(
            "djmig's block holds lines djmig did not write (line 7: `echo mine`); move them above"
        ));
        assert_eq!(remove_block(&mine).unwrap_err(), e);
        // Blank lines, and the lines of a block for another binary and
        // other arguments, are djmig's.
        let mut other = spec();
        other.fallback_exe = "/elsewhere/djmig".into();
        other.global_args = vec!["-C".into(), "back end".into()];
        let theirs = add_block(Some("#!/bin/sh\n"), &other)
            .unwrap()
            .replace("fi\n", "fi\n\n");
        let updated = add_block(Some(&theirs), &spec()).unwrap();
        assert!(!updated.contains("elsewhere"), "{updated}");
        assert_eq!(
            remove_block(&theirs).unwrap(),
            Removed::Text("#!/bin/sh\n".into())
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(sh_quote("/usr/bin/djmig"), "/usr/bin/djmig");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
        assert_eq!(sh_quote(""), "''");
    }

    #[test]
    fn names() {
        assert_eq!(
            validate(&["post-merge".into(), " post-merge".into()]).unwrap(),
            vec!["post-merge"]
        );
        assert!(validate(&["pre-commit".into()]).is_err());
    }
}
