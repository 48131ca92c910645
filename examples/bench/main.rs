//! Benchmark: generate a project of N apps × M migrations written the way
//! Django writes them, then time `djmig check` next to Django's own
//! `manage.py makemigrations --check --dry-run` on the same tree.
//!
//! ```text
//! cargo build --release && cargo run --release --example bench -- [--apps 20] [--migrations 500] [--runs 5] [--python PATH] [--keep DIR]
//! ```
//!
//! With `--git`, the tree also becomes a git repository with two diverging
//! branches and 50 feature branches, and the git figures are printed:
//! `check --head A --base B` cold and warm next to `git ls-tree | git
//! cat-file --batch` over the same blobs, the work-tree `check` warm, with
//! the parse cache only, after an edit, and with no cache (its peak memory
//! too), and `scan` over the 50 branches; then `review --base` of a branch
//! adding 10 migrations next to `check --base` on the same branch, and next
//! to `python -c "import django; django.setup()"` (the floor of any linter
//! that imports the project).
//!
//! `--djmig PATH` times another build instead of `target/release/djmig`.
//!
//! With `--history`, a long generated history (`--prs 14000` pull-request
//! refs, `--tags 3000` tags; see `history.rs`) gives `check --base` with and
//! without tags side by side, and `scan` over the pull-request refs.
//!
//! Prints figures; asserts nothing about time.

mod history;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let opt = |name: &str, default: &str| -> String {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1).cloned())
            .unwrap_or_else(|| default.to_string())
    };
    let apps: usize = opt("--apps", "20").parse().expect("--apps N");
    let migs: usize = opt("--migrations", "500").parse().expect("--migrations M");
    let runs: usize = opt("--runs", "5").parse().expect("--runs R");
    let python = opt("--python", &default_python());
    // `--djmig PATH`: time another build (an older one, for a before/after).
    let djmig = match opt("--djmig", "") {
        p if p.is_empty() => djmig_binary(),
        p => PathBuf::from(p),
    };
    if args.iter().any(|a| a == "--history") {
        let opts = history::Options {
            prs: opt("--prs", "14000").parse().expect("--prs N"),
            tags: opt("--tags", "3000").parse().expect("--tags N"),
            open: 50,
        };
        history::history_bench(&djmig, runs, keep_dir(&args).as_deref(), &opts);
        return;
    }

    let keep = keep_dir(&args);
    let dir = tempfile::tempdir().expect("temp dir");
    let root_buf = keep.unwrap_or_else(|| dir.path().to_path_buf());
    let root = root_buf.as_path();
    let t = Instant::now();
    let files = generate(root, apps, migs);
    println!(
        "generated {apps} apps x {migs} migrations = {files} files in {:.2?} at {}",
        t.elapsed(),
        root.display()
    );

    let mut times = Vec::new();
    let mut rss_kib = 0;
    for _ in 0..runs {
        let (d, code, rss) = run_measured(Command::new(&djmig).arg("-C").arg(root).arg("check"));
        assert_eq!(
            code, 0,
            "djmig check should find no conflict in the generated tree"
        );
        times.push(d);
        rss_kib = rss_kib.max(rss);
    }
    times.sort();
    let djmig_median = times[times.len() / 2];
    println!(
        "djmig check:                                   median {:>8.1} ms  (min {:.1} ms, {runs} runs)  peak RSS {:.1} MiB",
        ms(djmig_median),
        ms(times[0]),
        rss_kib as f64 / 1024.0
    );

    let (work_tree, review) = if args.iter().any(|a| a == "--git") {
        git_bench(root, &djmig, runs)
    } else {
        (Vec::new(), None)
    };

    let has_django = Command::new(&python)
        .args(["-c", "import django"])
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !has_django {
        println!("python manage.py makemigrations --check --dry-run: skipped ({python} has no Django; pass --python)");
        return;
    }
    let (d, code, _) = run_measured(Command::new(&python).current_dir(root).args([
        "manage.py",
        "makemigrations",
        "--check",
        "--dry-run",
    ]));
    println!(
        "python manage.py makemigrations --check --dry-run: {:>8.1} ms  (exit {code})",
        ms(d)
    );
    println!(
        "djmig is {:.1}x faster",
        d.as_secs_f64() / djmig_median.as_secs_f64()
    );
    for (what, t) in work_tree {
        println!(
            "djmig check (work tree, {what}) is {:.1}x faster",
            ms(d) / t
        );
    }
    if let Some(review) = review {
        // What any linter that imports the project pays before its first
        // rule runs.
        let setup = median_ms(
            &mut || {
                let (d, code, _) = run_measured(
                    Command::new(&python)
                        .current_dir(root)
                        .env("DJANGO_SETTINGS_MODULE", "proj.settings")
                        .args(["-c", "import django; django.setup()"]),
                );
                assert_eq!(code, 0, "django.setup() on the generated project");
                d
            },
            runs,
        );
        println!(
            "python -c 'import django; django.setup()':      {setup:>8.1} ms  (the floor of a linter that imports the project)"
        );
        println!(
            "djmig review --base is {:.1}x faster than that floor",
            setup / review
        );
    }
}

/// `--keep DIR` generates into DIR and leaves it there for later runs.
fn keep_dir(args: &[String]) -> Option<PathBuf> {
    args.iter()
        .position(|a| a == "--keep")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn default_python() -> String {
    if let Ok(p) = std::env::var("DJMIG_TEST_PYTHON") {
        return p;
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/django-venv/bin/python");
    if venv.exists() {
        return venv.display().to_string();
    }
    "python3".to_string()
}

fn djmig_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/release/examples/bench → target/release/djmig
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("djmig"))
        .expect("target dir");
    assert!(bin.exists(), "build djmig first: cargo build --release");
    bin
}

/// Wall time, exit code, and the peak RSS (KiB) of the child.
fn run_measured(cmd: &mut Command) -> (Duration, i32, i64) {
    let t = Instant::now();
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: wait4 on our own child; `status` and `usage` are valid out-pointers.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let d = t.elapsed();
    assert_eq!(r, pid, "wait4");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    // Reaped already; make `Child` not wait again.
    let _ = child.try_wait();
    (d, code, usage.ru_maxrss)
}

/// Write the project; returns the number of migration files.
fn generate(root: &Path, apps: usize, migs: usize) -> usize {
    let w = |p: PathBuf, s: &str| {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, s).unwrap();
    };
    let app_names: Vec<String> = (0..apps).map(|i| format!("app{i:02}")).collect();
    w(
        root.join("manage.py"),
        "#!/usr/bin/env python\nimport os\nimport sys\n\n\ndef main():\n    os.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"proj.settings\")\n    from django.core.management import execute_from_command_line\n\n    execute_from_command_line(sys.argv)\n\n\nif __name__ == \"__main__\":\n    main()\n",
    );
    w(root.join("proj/__init__.py"), "");
    let installed: String = app_names
        .iter()
        .map(|a| format!("    \"{a}\",\n"))
        .collect();
    w(
        root.join("proj/settings.py"),
        &format!(
            "from pathlib import Path\n\nBASE_DIR = Path(__file__).resolve().parent.parent\nSECRET_KEY = \"bench\"\nDEBUG = True\nINSTALLED_APPS = [\n{installed}]\nDATABASES = {{\"default\": {{\"ENGINE\": \"django.db.backends.sqlite3\", \"NAME\": BASE_DIR / \"db.sqlite3\"}}}}\nDEFAULT_AUTO_FIELD = \"django.db.models.BigAutoField\"\nUSE_TZ = True\n"
        ),
    );
    let mut files = 0;
    for (i, app) in app_names.iter().enumerate() {
        let d = root.join(app);
        w(d.join("__init__.py"), "");
        w(
            d.join("apps.py"),
            &format!("from django.apps import AppConfig\n\n\nclass App{i:02}Config(AppConfig):\n    default_auto_field = \"django.db.models.BigAutoField\"\n    name = \"{app}\"\n"),
        );
        let mut models =
            String::from("from django.db import models\n\n\nclass Item(models.Model):\n");
        for f in 1..migs {
            let _ = writeln!(models, "    field_{f:04} = models.IntegerField(default=0)");
        }
        if migs <= 1 {
            models.push_str("    pass\n");
        }
        w(d.join("models.py"), &models);
        w(d.join("migrations/__init__.py"), "");
        let mut prev = String::new();
        for m in 0..migs {
            let (name, body) = if m == 0 {
                (
                    "0001_initial".to_string(),
                    "    initial = True\n\n    dependencies = []\n\n    operations = [\n        migrations.CreateModel(\n            name=\"Item\",\n            fields=[\n                (\n                    \"id\",\n                    models.BigAutoField(\n                        auto_created=True,\n                        primary_key=True,\n                        serialize=False,\n                        verbose_name=\"ID\",\n                    ),\n                ),\n            ],\n        ),\n    ]\n".to_string(),
                )
            } else {
                (
                    format!("{:04}_item_field_{m:04}", m + 1),
                    format!("    dependencies = [\n        (\"{app}\", \"{prev}\"),\n    ]\n\n    operations = [\n        migrations.AddField(\n            model_name=\"item\",\n            name=\"field_{m:04}\",\n            field=models.IntegerField(default=0),\n        ),\n    ]\n"),
                )
            };
            w(
                d.join(format!("migrations/{name}.py")),
                &format!("# Generated by Django 5.2 on 2026-01-01 12:00\n\nfrom django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n\n{body}"),
            );
            prev = name;
            files += 1;
        }
    }
    files
}

fn git(root: &Path, args: &[&str]) -> String {
    let o = Command::new("git")
        .current_dir(root)
        .args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "bench")
        .env("GIT_AUTHOR_EMAIL", "bench@example.com")
        .env("GIT_COMMITTER_NAME", "bench")
        .env("GIT_COMMITTER_EMAIL", "bench@example.com")
        .output()
        .expect("git");
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn add_migration(root: &Path, app: &str, name: &str, parent: &str, field: &str) {
    std::fs::write(
        root.join(format!("{app}/migrations/{name}.py")),
        format!("from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n    dependencies = [(\"{app}\", \"{parent}\")]\n\n    operations = [\n        migrations.AddField(model_name=\"item\", name=\"{field}\", field=models.IntegerField(default=0)),\n    ]\n"),
    )
    .unwrap();
}

fn median_ms(cmd: &mut dyn FnMut() -> Duration, runs: usize) -> f64 {
    let mut v: Vec<Duration> = (0..runs).map(|_| cmd()).collect();
    v.sort();
    ms(v[v.len() / 2])
}

/// Prints the git figures; returns the work-tree `check` medians and the
/// work-tree `review --base` median (ms).
fn git_bench(root: &Path, djmig: &Path, runs: usize) -> (Vec<(&'static str, f64)>, Option<f64>) {
    let t = Instant::now();
    if !root.join(".git").exists() {
        git(root, &["init", "-q", "-b", "main"]);
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "-m", "base"]);
    }
    // The last migration of app00 is the base leaf every branch builds on.
    let leaf = git(root, &["ls-files", "app00/migrations"])
        .lines()
        .filter(|l| !l.ends_with("__init__.py"))
        .map(|l| {
            l.rsplit('/')
                .next()
                .unwrap()
                .trim_end_matches(".py")
                .to_string()
        })
        .max()
        .unwrap();
    let branch = |name: &str, field: &str| {
        if git(root, &["branch", "--list", name]).trim().is_empty() {
            git(root, &["checkout", "-q", "-b", name, "main"]);
            add_migration(root, "app00", &format!("9999_{field}"), &leaf, field);
            git(root, &["add", "-A"]);
            git(root, &["commit", "-q", "-m", name]);
            git(root, &["checkout", "-q", "main"]);
        }
    };
    branch("A", "bench_a");
    branch("B", "bench_b");
    for i in 0..50 {
        branch(&format!("feature/f{i:02}"), &format!("f{i:02}"));
    }
    println!(
        "git: repository with branches A, B and 50 feature branches ready in {:.2?}",
        t.elapsed()
    );

    // The floor: read every blob of A's tree once.
    let floor = median_ms(
        &mut || {
            let t = Instant::now();
            let mut ls = Command::new("git")
                .current_dir(root)
                .args(["ls-tree", "-r", "--object-only", "A"])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let out = Command::new("git")
                .current_dir(root)
                .args(["cat-file", "--batch"])
                .stdin(ls.stdout.take().unwrap())
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(out.success() && ls.wait().unwrap().success());
            t.elapsed()
        },
        runs,
    );
    let cache = root.join(".git/djmig");
    let run = |args: &[&str]| -> (Duration, i32) {
        let (d, code, _) = run_measured(Command::new(djmig).arg("-C").arg(root).args(args));
        (d, code)
    };
    let cold = |args: &[&str]| -> f64 {
        median_ms(
            &mut || {
                let _ = std::fs::remove_dir_all(&cache);
                run(args).0
            },
            runs,
        )
    };
    let warm = |args: &[&str]| -> f64 {
        run(args);
        median_ms(&mut || run(args).0, runs)
    };
    // The parse cache warm, the result cache empty: what a run costs when
    // something it reads has changed.
    let results = cache.join("results-v1");
    let parse_only = |args: &[&str]| -> f64 {
        run(args);
        median_ms(
            &mut || {
                let _ = std::fs::remove_dir_all(&results);
                run(args).0
            },
            runs,
        )
    };
    let (_, code) = run(&["check", "--head", "A", "--base", "B"]);
    assert_eq!(code, 1, "A and B diverge in app00");
    let three_cold = cold(&["check", "--head", "A", "--base", "B"]);
    let one_cold = cold(&["graph", "--ref", "A", "--format", "json"]);
    // Stat data must be older than a run to vouch for a file.
    std::thread::sleep(Duration::from_millis(200));
    let three_warm = warm(&["check", "--head", "A", "--base", "B"]);
    let three_parse = parse_only(&["check", "--head", "A", "--base", "B"]);
    let wt_warm = warm(&["check"]);
    let wt_parse = parse_only(&["check"]);
    // The first check in git: it builds both caches. Time and peak memory
    // of each run (the caches deleted before it).
    let mut first: Vec<(Duration, i64)> = (0..runs)
        .map(|_| {
            let _ = std::fs::remove_dir_all(&cache);
            std::thread::sleep(Duration::from_millis(100));
            let (d, _, rss) = run_measured(Command::new(djmig).arg("-C").arg(root).arg("check"));
            (d, rss)
        })
        .collect();
    first.sort();
    let first_ms = ms(first[first.len() / 2].0);
    let mut rss: Vec<i64> = first.iter().map(|f| f.1).collect();
    rss.sort();
    let (rss_median, rss_max) = (rss[rss.len() / 2], rss[rss.len() - 1]);
    // One migration edited since the last run: the result cache misses,
    // the parse cache has all but that file.
    let edited = root.join("app07/migrations/0100_item_field_0099.py");
    let original = std::fs::read_to_string(&edited).expect("read a migration");
    let mut flip = false;
    let wt_edited = median_ms(
        &mut || {
            flip = !flip;
            let text = if flip {
                format!("{original}# edited\n")
            } else {
                original.clone()
            };
            std::fs::write(&edited, text).expect("edit a migration");
            std::thread::sleep(Duration::from_millis(100));
            run(&["check"]).0
        },
        runs,
    );
    std::fs::write(&edited, &original).expect("restore the migration");
    let (_, scan_code) = run(&["scan", "--base", "main", "feature/*"]);
    assert_eq!(scan_code, 1, "the feature branches collide");
    let scan_warm = warm(&["scan", "--base", "main", "feature/*"]);
    let scan_cold = cold(&["scan", "--base", "main", "feature/*"]);
    println!("git ls-tree -r A | git cat-file --batch (floor):  {floor:>8.1} ms");
    println!(
        "djmig check --head A --base B, warm caches:     {three_warm:>8.1} ms  ({:.2}x the floor; the stored result)",
        three_warm / floor
    );
    println!(
        "djmig check --head A --base B, parse cache only:{three_parse:>8.1} ms  ({:.2}x the floor; no stored result)",
        three_parse / floor
    );
    println!(
        "djmig check --head A --base B, no cache:        {three_cold:>8.1} ms  ({:.2}x a single-ref read with no cache, {one_cold:.1} ms)",
        three_cold / one_cold
    );
    println!("djmig check (work tree), warm caches:           {wt_warm:>8.1} ms  (the stored result, every file's stat checked)");
    println!(
        "djmig check (work tree), parse cache only:      {wt_parse:>8.1} ms  (no stored result)"
    );
    println!("djmig check (work tree), one migration edited:  {wt_edited:>8.1} ms");
    println!(
        "djmig check (work tree), no cache (builds both): {first_ms:>7.1} ms  peak RSS {:.1} MiB median, {:.1} MiB max",
        rss_median as f64 / 1024.0,
        rss_max as f64 / 1024.0
    );
    println!("djmig scan over 50 branches, warm cache:        {scan_warm:>8.1} ms  (no cache: {scan_cold:.1} ms)");
    let review = review_bench(root, djmig, runs, &leaf);
    (
        vec![
            ("warm caches", wt_warm),
            ("parse cache only", wt_parse),
            ("one migration edited", wt_edited),
        ],
        Some(review),
    )
}

/// The 10 migrations of the review branch: each (name, operations,
/// functions), a mix of what review looks at (two `AlterField`s look up
/// the field's history among app00's 500 migrations).
const REVIEW_MIGRATIONS: [(&str, &str, &str); 10] = [
    ("item_r1", "migrations.AddField(model_name=\"item\", name=\"r1\", field=models.IntegerField(null=True))", ""),
    ("item_r1_idx", "migrations.AddIndex(model_name=\"item\", index=models.Index(fields=[\"r1\"], name=\"app00_r1_idx\"))", ""),
    ("alter_item_field_0100", "migrations.AlterField(model_name=\"item\", name=\"field_0100\", field=models.BigIntegerField(default=0))", ""),
    ("item_r2", "migrations.AddField(model_name=\"item\", name=\"r2\", field=models.CharField(max_length=20, default=\"\"))", ""),
    ("fill_r2", "migrations.RunPython(fill)", "def fill(apps, schema_editor):\n    Item = apps.get_model(\"app00\", \"Item\")\n    Item.objects.update(r2=\"x\")\n\n\n"),
    ("remove_item_field_0001", "migrations.RemoveField(model_name=\"item\", name=\"field_0001\")", ""),
    ("rename_item_r2", "migrations.RenameField(model_name=\"item\", old_name=\"r2\", new_name=\"r3\")", ""),
    ("item_r4", "migrations.AddField(model_name=\"item\", name=\"r4\", field=models.IntegerField())", ""),
    ("item_r5", "migrations.AddField(model_name=\"item\", name=\"r5\", field=models.BooleanField(default=False, db_index=True))", ""),
    ("alter_item_field_0200", "migrations.AlterField(model_name=\"item\", name=\"field_0200\", field=models.IntegerField(default=1))", ""),
];

/// `review --base main` of a branch adding 10 migrations to app00 (the
/// work tree on that branch), next to `check --base main` there; both with
/// warm caches, check also with the parse cache only. Returns the review
/// median (ms).
fn review_bench(root: &Path, djmig: &Path, runs: usize, leaf: &str) -> f64 {
    let first = leaf
        .split('_')
        .next()
        .and_then(|n| n.parse::<usize>().ok())
        .expect("a numbered leaf")
        + 1;
    if git(root, &["branch", "--list", "review10"])
        .trim()
        .is_empty()
    {
        git(root, &["checkout", "-q", "-b", "review10", "main"]);
        let mut parent = leaf.to_string();
        for (i, (name, op, functions)) in REVIEW_MIGRATIONS.iter().enumerate() {
            let name = format!("{:04}_{name}", first + i);
            std::fs::write(
                root.join(format!("app00/migrations/{name}.py")),
                format!("from django.db import migrations, models\n\n\n{functions}class Migration(migrations.Migration):\n    dependencies = [(\"app00\", \"{parent}\")]\n\n    operations = [\n        {op},\n    ]\n"),
            )
            .unwrap();
            parent = name;
        }
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "-m", "review10"]);
        git(root, &["checkout", "-q", "main"]);
    }
    git(root, &["checkout", "-q", "review10"]);
    // Stat data must be older than a run to vouch for a file.
    std::thread::sleep(Duration::from_millis(200));
    let run = |args: &[&str]| -> (Duration, i32) {
        let (d, code, _) = run_measured(Command::new(djmig).arg("-C").arg(root).args(args));
        (d, code)
    };
    let warm = |args: &[&str]| -> f64 {
        run(args);
        median_ms(&mut || run(args).0, runs)
    };
    let results = root.join(".git/djmig/results-v1");
    let parse_only = |args: &[&str]| -> f64 {
        run(args);
        median_ms(
            &mut || {
                let _ = std::fs::remove_dir_all(&results);
                run(args).0
            },
            runs,
        )
    };
    let (_, code) = run(&["review", "--base", "main"]);
    assert_eq!(code, 1, "the review branch has findings at error severity");
    let review_wt = warm(&["review", "--base", "main"]);
    let check_wt = warm(&["check", "--base", "main"]);
    let review_wt_cold = parse_only(&["review", "--base", "main"]);
    let check_wt_parse = parse_only(&["check", "--base", "main"]);
    let review_revs = warm(&["review", "--head", "review10", "--base", "main"]);
    let check_revs = warm(&["check", "--head", "review10", "--base", "main"]);
    git(root, &["checkout", "-q", "main"]);
    println!("djmig review --base main (10 new migrations):   {review_wt:>8.1} ms  (the work tree on the branch; the stored result)");
    println!(
        "djmig check --base main, same work tree:         {check_wt:>8.1} ms  (the stored result; review is {:.2}x that)",
        review_wt / check_wt
    );
    println!(
        "djmig review --base main, no stored result:      {review_wt_cold:>8.1} ms  (check --base with the parse cache only: {check_wt_parse:.1} ms; review is {:.2}x that)",
        review_wt_cold / check_wt_parse
    );
    println!(
        "djmig review --head review10 --base main:        {review_revs:>8.1} ms  (check: {check_revs:.1} ms, {:.2}x)",
        review_revs / check_revs
    );
    review_wt
}
