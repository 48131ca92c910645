//! The long-history case: a repository shaped like a large project's whole
//! history, generated with `git fast-import` — thousands of pull requests
//! (each a `refs/pull/N/head` adding one migration, merged with a merge
//! commit or squashed), thousands of tags, a few pull requests still open,
//! and a local branch of unpublished work. It prints `check --base` with and
//! without the tags side by side, and `scan` over the pull-request refs.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use super::{git, ms, run_measured};

/// What to generate.
pub struct Options {
    /// Pull requests merged over the history (each adds a migration).
    pub prs: usize,
    /// Tags on the main line, spread evenly.
    pub tags: usize,
    /// Pull requests still open at the end.
    pub open: usize,
}

const APPS: usize = 50;

/// Seconds between two generated commits.
const STEP: u64 = 600;
const T0: u64 = 1_600_000_000;

fn app(i: usize) -> String {
    format!("h{i:02}")
}

fn migration(app: &str, parent: &str, field: &str) -> String {
    format!(
        "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n    dependencies = [(\"{app}\", \"{parent}\")]\n\n    operations = [\n        migrations.AddField(model_name=\"item\", name=\"{field}\", field=models.IntegerField(default=0)),\n    ]\n"
    )
}

/// A `git fast-import` stream and what it wrote.
struct Stream {
    out: Vec<u8>,
    mark: usize,
    time: u64,
}

impl Stream {
    fn next_mark(&mut self) -> usize {
        self.mark += 1;
        self.mark
    }

    fn blob(&mut self, content: &str) -> usize {
        let m = self.next_mark();
        let _ = write!(
            self.out,
            "blob\nmark :{m}\ndata {}\n{content}\n",
            content.len()
        );
        m
    }

    /// A commit on `refname` with parents `from` (and `merge`), changing
    /// `files` (path, blob mark).
    fn commit(
        &mut self,
        refname: &str,
        from: Option<usize>,
        merge: Option<usize>,
        files: &[(String, usize)],
        message: &str,
    ) -> usize {
        let m = self.next_mark();
        self.time += STEP;
        let _ = write!(
            self.out,
            "commit {refname}\nmark :{m}\ncommitter bench <bench@example.com> {} +0000\ndata {}\n{message}\n",
            self.time,
            message.len()
        );
        if let Some(f) = from {
            let _ = writeln!(self.out, "from :{f}");
        }
        if let Some(g) = merge {
            let _ = writeln!(self.out, "merge :{g}");
        }
        for (path, blob) in files {
            let _ = writeln!(self.out, "M 100644 :{blob} {path}");
        }
        self.out.push(b'\n');
        m
    }
}

/// Per app, the migrations the main line added: (pull request, name).
type Chains = Vec<Vec<(usize, String)>>;

/// The app's leaf on the main line right after pull request `at` merged.
fn leaf_at(chains: &Chains, a: usize, at: usize) -> &str {
    let c = &chains[a];
    let i = c.partition_point(|(pr, _)| *pr <= at);
    &c[i - 1].1
}

fn generate(opts: &Options, with_tags: bool) -> Vec<u8> {
    let mut s = Stream {
        out: Vec::new(),
        mark: 0,
        time: T0,
    };
    let mut files = Vec::new();
    let mut add = |s: &mut Stream, path: &str, content: &str| {
        let b = s.blob(content);
        files.push((path.to_string(), b));
    };
    add(
        &mut s,
        "manage.py",
        "import os\nimport sys\n\nif __name__ == \"__main__\":\n    os.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"proj.settings\")\n    from django.core.management import execute_from_command_line\n\n    execute_from_command_line(sys.argv)\n",
    );
    add(&mut s, "proj/__init__.py", "");
    let installed: String = (0..APPS)
        .map(|a| format!("    \"{}\",\n", app(a)))
        .collect();
    add(
        &mut s,
        "proj/settings.py",
        &format!("SECRET_KEY = \"bench\"\nINSTALLED_APPS = [\n{installed}]\n"),
    );
    let mut chains: Chains = vec![Vec::new(); APPS];
    for (a, chain) in chains.iter_mut().enumerate() {
        let name = app(a);
        add(&mut s, &format!("{name}/__init__.py"), "");
        add(
            &mut s,
            &format!("{name}/apps.py"),
            &format!("from django.apps import AppConfig\n\n\nclass Config(AppConfig):\n    name = \"{name}\"\n"),
        );
        add(&mut s, &format!("{name}/migrations/__init__.py"), "");
        add(
            &mut s,
            &format!("{name}/migrations/0001_initial.py"),
            "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n    initial = True\n\n    operations = [\n        migrations.CreateModel(name=\"Item\", fields=[(\"id\", models.AutoField(primary_key=True))]),\n    ]\n",
        );
        chain.push((0, "0001_initial".to_string()));
    }
    let mut tip = s.commit("refs/heads/main", None, None, &files, "initial");
    let mut main_at = Vec::with_capacity(opts.prs);
    let every = (opts.prs / opts.tags.max(1)).max(1);
    let mut tags = 0;
    for pr in 0..opts.prs {
        let a = (pr * 7) % APPS;
        let name = format!("{:04}_pr{pr}", chains[a].len() + 1);
        let path = format!("{}/migrations/{name}.py", app(a));
        let parent = chains[a].last().unwrap().1.clone();
        let b = s.blob(&migration(&app(a), &parent, &format!("pr{pr}")));
        let file = [(path, b)];
        let head = s.commit(
            &format!("refs/pull/{pr}/head"),
            Some(tip),
            None,
            &file,
            &format!("pull request {pr}"),
        );
        // Seven in ten merged with a merge commit (the head is in main's
        // history), the rest squashed (the same file, a new commit).
        let merge = (pr % 10 < 7).then_some(head);
        tip = s.commit(
            "refs/heads/main",
            Some(tip),
            merge,
            &file,
            &format!("merge pull request {pr}"),
        );
        chains[a].push((pr, name));
        main_at.push(tip);
        if with_tags && pr % every == 0 && tags < opts.tags {
            if tags % 2 == 0 {
                let m = format!("release {tags}");
                let _ = write!(
                    s.out,
                    "tag v{tags}\nfrom :{tip}\ntagger bench <bench@example.com> {} +0000\ndata {}\n{m}\n",
                    s.time,
                    m.len()
                );
            } else {
                let _ = write!(s.out, "reset refs/tags/t{tags}\nfrom :{tip}\n\n");
            }
            tags += 1;
        }
    }
    // Open pull requests, forked from recent points of main: some build on
    // the same migration (they collide), some on one main has added to
    // since (they collide with main).
    for j in 0..opts.open {
        let pr = opts.prs + j;
        let at = opts.prs - 1 - (j % 5) * 40.min(opts.prs / 5);
        let a = j % 10;
        let parent = leaf_at(&chains, a, at).to_string();
        let n = chains[a].partition_point(|(p, _)| *p <= at) + 1;
        let name = format!("{n:04}_open{j}");
        let b = s.blob(&migration(&app(a), &parent, &format!("open{j}")));
        s.commit(
            &format!("refs/pull/{pr}/head"),
            Some(main_at[at]),
            None,
            &[(format!("{}/migrations/{name}.py", app(a)), b)],
            &format!("open pull request {pr}"),
        );
    }
    // Local, unpublished work forked 20 pull requests ago, adding to two
    // apps main has added to since.
    let at = opts.prs.saturating_sub(21);
    let mut work = main_at[at];
    for (k, later) in [5usize, 10].into_iter().enumerate() {
        let a = ((opts.prs - later) * 7) % APPS;
        let parent = leaf_at(&chains, a, at).to_string();
        let n = chains[a].partition_point(|(p, _)| *p <= at) + 1;
        let name = format!("{n:04}_work{k}");
        let b = s.blob(&migration(&app(a), &parent, &format!("work{k}")));
        work = s.commit(
            "refs/heads/work",
            Some(work),
            None,
            &[(format!("{}/migrations/{name}.py", app(a)), b)],
            &format!("work {k}"),
        );
    }
    let _ = write!(s.out, "reset refs/remotes/origin/main\nfrom :{tip}\n\n");
    s.out
}

/// A bare repository from a fast-import stream, refs packed as a clone has
/// them.
fn import(dir: &Path, stream: &[u8]) {
    std::fs::create_dir_all(dir).expect("create the repository directory");
    git(dir, &["init", "-q", "--bare", "-b", "main"]);
    let mut child = Command::new("git")
        .current_dir(dir)
        .args(["fast-import", "--quiet"])
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .stdin(Stdio::piped())
        .spawn()
        .expect("git fast-import");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stream)
        .expect("feed git fast-import");
    assert!(child.wait().unwrap().success(), "git fast-import failed");
    git(dir, &["pack-refs", "--all"]);
}

/// Median time (ms) and peak RSS (MiB) of `runs` runs, each after `before`.
fn measure(
    djmig: &Path,
    dir: &Path,
    args: &[&str],
    runs: usize,
    before: &dyn Fn(),
) -> (f64, f64, i32) {
    let mut times = Vec::new();
    let mut rss = 0;
    let mut code = 0;
    for _ in 0..runs {
        before();
        let (d, c, r) = run_measured(Command::new(djmig).arg("-C").arg(dir).args(args));
        times.push(d);
        rss = rss.max(r);
        code = c;
    }
    times.sort();
    (ms(times[times.len() / 2]), rss as f64 / 1024.0, code)
}

pub fn history_bench(djmig: &Path, runs: usize, keep: Option<&Path>, opts: &Options) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let top: PathBuf = keep
        .map(Path::to_path_buf)
        .unwrap_or_else(|| tmp.path().into());
    let tagged = top.join("history-tags.git");
    let plain = top.join("history-no-tags.git");
    let t = Instant::now();
    if !tagged.exists() {
        import(&tagged, &generate(opts, true));
    }
    if !plain.exists() {
        import(&plain, &generate(opts, false));
    }
    let count = |dir: &Path, prefix: &str| {
        git(dir, &["for-each-ref", "--format=x", prefix])
            .lines()
            .count()
    };
    let commits = git(&tagged, &["rev-list", "--count", "--all"]);
    println!(
        "history: {} commits, {} pull-request refs, {} tags (and a copy without tags) ready in {:.2?} at {}",
        commits.trim(),
        count(&tagged, "refs/pull"),
        count(&tagged, "refs/tags"),
        t.elapsed(),
        top.display()
    );

    let check = ["check", "--head", "work", "--base", "main"];
    let no_cache = |dir: &Path| {
        let cache = dir.join("djmig");
        move || {
            let _ = std::fs::remove_dir_all(&cache);
        }
    };
    let nothing = || {};
    let mut rows = Vec::new();
    for (what, dir) in [("with tags", &tagged), ("no tags", &plain)] {
        let cold = measure(djmig, dir, &check, runs, &no_cache(dir));
        let warm = measure(djmig, dir, &check, runs, &nothing);
        rows.push((what, cold, warm));
    }
    let code = rows[0].1 .2;
    for (what, cold, warm) in &rows {
        println!(
            "djmig check --head work --base main, {what:<9}: no cache {:>7.1} ms ({:.1} MiB), warm {:>7.1} ms ({:.1} MiB)  (exit {code})",
            cold.0, cold.1, warm.0, warm.1
        );
    }
    println!(
        "  with tags / without: {:.2}x cold, {:.2}x warm",
        rows[0].1 .0 / rows[1].1 .0,
        rows[0].2 .0 / rows[1].2 .0
    );

    let total = opts.prs + opts.open;
    let scan_runs = runs.min(3);
    // Five globs of a hundred refs each: the 500 pull requests before the
    // last hundred or so.
    let h = total / 100;
    let last500: Vec<String> = (h.saturating_sub(5)..h)
        .map(|k| format!("refs/pull/{k}??/head"))
        .collect();
    for (label, globs) in [
        (
            format!("all {total} pull-request refs"),
            vec!["refs/pull/*/head".to_string()],
        ),
        ("500 pull-request refs".to_string(), last500),
    ] {
        let mut args = vec!["scan", "--base", "main"];
        args.extend(globs.iter().map(String::as_str));
        let warm = measure(djmig, &plain, &args, scan_runs, &nothing);
        let cold = measure(djmig, &plain, &args, scan_runs, &no_cache(&plain));
        println!(
            "djmig scan --base main, {label:<28}: warm {:>8.1} ms, no cache {:>8.1} ms, {:.1} MiB  (exit {})",
            warm.0,
            cold.0,
            warm.1.max(cold.1),
            warm.2
        );
    }
    let mut since = String::new();
    let _ = write!(since, "@{}", T0 + STEP * (2 * opts.prs as u64 - 200));
    let recent = measure(
        djmig,
        &plain,
        &[
            "scan",
            "--base",
            "main",
            "--since",
            &since,
            "refs/pull/*/head",
        ],
        scan_runs,
        &nothing,
    );
    println!(
        "djmig scan --base main --since {since} 'refs/pull/*/head': warm {:>8.1} ms, {:.1} MiB  (exit {})",
        recent.0, recent.1, recent.2
    );
}
