//! Shipping djmig: the wheel installs and runs where there is no Rust
//! toolchain, the distribution binary stays small, and the GitHub Action
//! and workflows are valid and use only what they define.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{fixture, repo_root, target_tmp};

/// The distribution binary's limit: 8 MB.
const MAX_BINARY_BYTES: u64 = 8_000_000;

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn copy(from: &Path, to: &Path) {
    if from.is_dir() {
        fs::create_dir_all(to).unwrap();
        for e in fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            copy(&e.path(), &to.join(e.file_name()));
        }
    } else {
        fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    }
}

/// A `PATH` of system directories only, none of which has cargo or rustc.
fn path_without_rust(venv_bin: &Path) -> String {
    let dirs: Vec<PathBuf> = [venv_bin, Path::new("/usr/bin"), Path::new("/bin")]
        .into_iter()
        .map(Path::to_path_buf)
        .collect();
    for d in &dirs {
        for tool in ["cargo", "rustc"] {
            assert!(
                !d.join(tool).exists(),
                "{} has {tool}: this test needs a PATH without Rust",
                d.display()
            );
        }
    }
    std::env::join_paths(dirs)
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

/// maturin builds the wheel (Cargo.toml's release profile); installed into
/// a fresh virtualenv with no cargo or rustc on `PATH`, `djmig` runs and
/// finds the bundled example's conflict; the binary is at most 8 MB.
/// Minutes (fat LTO), so only with `DJMIG_TEST_PIP=1`, which `.ci/run` sets.
#[test]
fn the_wheel_installs_and_runs_without_rust() {
    if std::env::var_os("DJMIG_TEST_PIP").is_none_or(|v| v != "1") {
        eprintln!("skipped: set DJMIG_TEST_PIP=1 to build and install the wheel");
        return;
    }
    // A copy of the sources: the build must not touch the checkout.
    let src = tempfile::tempdir().unwrap();
    for entry in [
        "Cargo.toml",
        "Cargo.lock",
        "pyproject.toml",
        "README.md",
        "LICENSE",
        "src",
        "examples",
        "completions",
    ] {
        copy(&repo_root().join(entry), &src.path().join(entry));
    }
    let build = tempfile::tempdir().unwrap();
    run(Command::new("python3")
        .args(["-m", "venv"])
        .arg(build.path()));
    run(Command::new(build.path().join("bin/pip")).args([
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
        "maturin>=1.5,<2",
    ]));
    let wheels = tempfile::tempdir().unwrap();
    // `maturin build`, as the release workflow runs it: pyproject.toml's
    // release profile, and the binary audited for a manylinux tag.
    run(Command::new(build.path().join("bin/maturin"))
        .args(["build", "--quiet", "--out"])
        .arg(wheels.path())
        .arg("--manifest-path")
        .arg(src.path().join("Cargo.toml"))
        // Kept between runs, so only the first build is slow.
        .env("CARGO_TARGET_DIR", target_tmp().join("wheel-target")));
    let wheel: PathBuf = fs::read_dir(wheels.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .expect("a wheel was built");
    let name = wheel.file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with("djmig-"), "{name}");
    if cfg!(target_os = "linux") {
        assert!(name.contains("manylinux"), "not a manylinux wheel: {name}");
    }

    // A fresh virtualenv, and no Rust anywhere on PATH.
    let venv = tempfile::tempdir().unwrap();
    run(Command::new("python3")
        .args(["-m", "venv"])
        .arg(venv.path()));
    let path = path_without_rust(&venv.path().join("bin"));
    run(Command::new(venv.path().join("bin/pip"))
        .args([
            "install",
            "--disable-pip-version-check",
            "--no-input",
            "--quiet",
        ])
        .arg(&wheel)
        .env("PATH", &path));
    let djmig = venv.path().join("bin/djmig");
    let out = run(Command::new(&djmig).arg("--version").env("PATH", &path));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("djmig {}", env!("CARGO_PKG_VERSION"))
    );
    let out = Command::new(&djmig)
        .arg("-C")
        .arg(fixture("example"))
        .arg("check")
        .env("PATH", &path)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("orders: 2 leaf migrations"));

    let size = fs::metadata(&djmig).unwrap().len();
    eprintln!("distribution binary: {size} bytes ({name})");
    assert!(
        size <= MAX_BINARY_BYTES,
        "the distribution binary is {size} bytes, over {MAX_BINARY_BYTES}"
    );
}

/// A YAML file, read with the YAML crate djmig itself uses.
fn yaml(path: &Path) -> serde_json::Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", path.display()))
}

/// Every `${{ <scope>.<name> … }}` in a text: the names after `scope.`.
fn references(text: &str, scope: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for expr in text.split("${{").skip(1) {
        let expr = expr.split("}}").next().unwrap_or("");
        for (i, _) in expr.match_indices(&format!("{scope}.")) {
            let before = expr[..i].chars().last();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '.' || c == '_') {
                continue;
            }
            let name: String = expr[i + scope.len() + 1..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                .collect();
            out.insert(name);
        }
    }
    out
}

fn keys(v: &serde_json::Value) -> BTreeSet<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

#[test]
fn the_action_uses_only_the_inputs_it_defines() {
    let path = repo_root().join("action.yml");
    let a = yaml(&path);
    let defined = keys(&a["inputs"]);
    assert_eq!(
        defined,
        ["args", "base", "command", "version"]
            .map(String::from)
            .into(),
        "the documented inputs"
    );
    assert_eq!(a["inputs"]["command"]["default"].as_str(), Some("check"));
    assert_eq!(a["runs"]["using"].as_str(), Some("composite"));
    let text = fs::read_to_string(&path).unwrap();
    let used = references(&text, "inputs");
    assert!(!used.is_empty());
    for u in &used {
        assert!(
            defined.contains(u),
            "action.yml uses inputs.{u}, not defined"
        );
    }
    // Inputs reach the script through the environment, never pasted into it.
    for step in a["runs"]["steps"].as_array().unwrap() {
        let script = step["run"].as_str().unwrap_or("");
        assert!(
            !script.contains("${{"),
            "a step pastes an expression into its script: {script}"
        );
    }
    assert!(text.contains("--format github"));
}

#[test]
fn the_workflows_are_valid_and_use_only_what_they_define() {
    let dir = repo_root().join(".github/workflows");
    let mut seen = Vec::new();
    for e in fs::read_dir(&dir).unwrap() {
        let path = e.unwrap().path();
        let w = yaml(&path);
        let text = fs::read_to_string(&path).unwrap();
        let dispatch_inputs = keys(&w["on"]["workflow_dispatch"]["inputs"]);
        for u in references(&text, "inputs") {
            assert!(
                dispatch_inputs.contains(&u),
                "{} uses inputs.{u}",
                path.display()
            );
        }
        for (name, job) in w["jobs"].as_object().expect("jobs") {
            let job_text = serde_json::to_string(job).unwrap();
            let matrix = keys(&job["strategy"]["matrix"]);
            for u in references(&job_text, "matrix") {
                assert!(
                    matrix.contains(&u),
                    "{} job {name:?} uses matrix.{u}",
                    path.display()
                );
            }
            assert!(job["runs-on"].as_str().is_some(), "{name:?} has runs-on");
        }
        seen.push(path.file_name().unwrap().to_string_lossy().into_owned());
    }
    seen.sort();
    assert_eq!(seen, ["ci.yml", "release.yml"]);
    let ci = fs::read_to_string(dir.join("ci.yml")).unwrap();
    assert!(ci.contains(".ci/run"), "CI runs .ci/run");
}
