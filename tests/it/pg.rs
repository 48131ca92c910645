//! A throwaway PostgreSQL server for the tests where the database matters.
//!
//! [`postgres`] starts one per test process, on first use: `initdb` into a
//! fresh directory under `/tmp`, then the `postgres` binary of the same
//! installation (Debian's `postgresql` package: `/usr/lib/postgresql/*/bin`)
//! in the foreground, listening only on a unix socket in that directory.
//! Each test asks for a database of its own ([`Postgres::create_database`]),
//! so tests run in parallel against one server.
//!
//! initdb and postgres refuse to run as root; as root (CI is) they run as the
//! `postgres` system user (else `nobody`), in a directory that user owns.
//!
//! The server dies with the test process: it is started with a parent-death
//! signal (`PR_SET_PDEATHSIG`, SIGQUIT: PostgreSQL's immediate shutdown, which
//! still releases its shared memory). That signal follows the *thread* that
//! started the child, so a thread of its own starts the server and waits for
//! it as long as it runs. The directory cannot be removed by a process that
//! is being torn down, so each start removes the directories of test
//! processes that are gone: each holds a lock on `lock` in its directory
//! while it lives.

use std::ffi::CStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{mpsc, Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Where the server directories go: short (a unix socket path has at most
/// 107 bytes), and reachable by the server's user.
const PARENT: &str = "/tmp";
const PREFIX: &str = "djmig-pg-";
/// Only names the socket file (`.s.PGSQL.5432`): nothing listens on TCP.
const PORT: u16 = 5432;
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// The running server of this test process.
#[derive(Debug)]
pub struct Postgres {
    /// The bin directory of the installation (initdb, postgres, psql).
    bin: PathBuf,
    /// The server's directory: the socket, `data/`, `server.log`, `lock`.
    dir: PathBuf,
    next_database: AtomicU32,
    /// Held (locked) while this process lives; see the module doc.
    _lock: fs::File,
}

/// The server, started on first use (see the module doc). Panics with what
/// to install when PostgreSQL is missing, or with the server's log when it
/// does not start.
pub fn postgres() -> &'static Postgres {
    static SERVER: OnceLock<Postgres> = OnceLock::new();
    SERVER.get_or_init(start)
}

#[allow(dead_code)] // each test module uses its own subset
impl Postgres {
    /// The directory of the server's unix socket (Django's `HOST`).
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }

    /// The port that names the socket (Django's `PORT`).
    pub fn port(&self) -> u16 {
        PORT
    }

    /// A new, empty database named `<prefix>_<n>` (the prefix lower-cased,
    /// anything but letters and digits made `_`), unique on this server.
    pub fn create_database(&self, prefix: &str) -> String {
        let n = self.next_database.fetch_add(1, Ordering::Relaxed);
        let prefix: String = prefix
            .chars()
            .take(40)
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let name = format!("{prefix}_{n}");
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""));
        name
    }

    /// Django settings text for `dbname` on this server: a `DATABASES`
    /// assignment to append to a settings module (it replaces an earlier one).
    pub fn django_settings(&self, dbname: &str) -> String {
        format!(
            "\nDATABASES = {{'default': {{'ENGINE': 'django.db.backends.postgresql', \
             'NAME': {}, 'USER': 'postgres', 'HOST': {}, 'PORT': '{PORT}'}}}}\n",
            py_str(dbname),
            py_str(&self.dir.to_string_lossy()),
        )
    }

    /// Run `sql` in `dbname` with psql as the superuser; what it printed
    /// (unaligned, tuples only: one line per row, columns split by `|`),
    /// trimmed. Panics with psql's stderr when it fails.
    #[track_caller]
    pub fn psql(&self, dbname: &str, sql: &str) -> String {
        let mut cmd = Command::new(self.bin.join("psql"));
        client_env(&mut cmd);
        let out = cmd
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h"])
            .arg(&self.dir)
            .args([
                "-p",
                &PORT.to_string(),
                "-U",
                "postgres",
                "-d",
                dbname,
                "-c",
                sql,
            ])
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", self.bin.join("psql").display()));
        assert!(
            out.status.success(),
            "psql -d {dbname} -c {sql:?} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

fn start() -> Postgres {
    let bin = bin_dir();
    remove_stale(Path::new(PARENT));
    let owner = server_user();

    let dir = tempfile::Builder::new()
        .prefix(PREFIX)
        .tempdir_in(PARENT)
        .unwrap_or_else(|e| panic!("create a directory in {PARENT}: {e}"))
        .keep();
    // The lock is taken before it gets its name, so a `lock` file is always
    // held by a live process or by none (see `remove_stale`).
    let lock = fs::File::create(dir.join("lock.new")).expect("create the server lock");
    lock.lock().expect("lock the server lock");
    fs::rename(dir.join("lock.new"), dir.join("lock")).expect("name the server lock");
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).expect("chmod 0700");
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(&dir, Some(uid), Some(gid))
            .unwrap_or_else(|e| panic!("chown {} to the server's user: {e}", dir.display()));
    }

    let data = dir.join("data");
    let mut initdb = Command::new(bin.join("initdb"));
    server_env(&mut initdb, &dir, owner);
    initdb
        .arg("-D")
        .arg(&data)
        .args(["-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8"])
        .arg("--locale=C");
    let out = initdb
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", bin.join("initdb").display()));
    assert!(
        out.status.success(),
        "initdb failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let log_path = dir.join("server.log");
    let exited = spawn_server(&bin, &dir, &data, &log_path, owner);
    wait_until_ready(&bin, &dir, &log_path, &exited);
    Postgres {
        bin,
        dir,
        next_database: AtomicU32::new(0),
        _lock: lock,
    }
}

/// Start `postgres` from a thread of its own that waits for it; the
/// returned cell gets the server's exit status if it ever ends.
fn spawn_server(
    bin: &Path,
    dir: &Path,
    data: &Path,
    log_path: &Path,
    owner: Option<(u32, u32)>,
) -> Arc<Mutex<Option<String>>> {
    let log = fs::File::create(log_path).expect("create the server log");
    let mut cmd = Command::new(bin.join("postgres"));
    server_env(&mut cmd, dir, owner);
    cmd.arg("-D")
        .arg(data)
        .args(["-p", &PORT.to_string(), "-c", "listen_addresses="])
        .arg("-c")
        .arg(format!("unix_socket_directories={}", dir.display()))
        .args(["-c", "fsync=off", "-c", "full_page_writes=off"])
        .args(["-c", "synchronous_commit=off"])
        .stdout(log.try_clone().expect("clone the log file"))
        .stderr(log);
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: between fork and exec the closure calls only async-signal-safe
    // functions (prctl, getppid, _exit) and allocates nothing. std runs it
    // after the uid/gid change, which would clear an earlier death signal.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGQUIT as libc::c_ulong) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The test process ended before the signal was set: it will
            // never come, so do not start.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }

    let exited = Arc::new(Mutex::new(None));
    let status_cell = Arc::clone(&exited);
    let (started_tx, started_rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("postgres-server".into())
        .spawn(move || match cmd.spawn() {
            Err(e) => {
                let _ = started_tx.send(Err(e));
            }
            Ok(mut child) => {
                let _ = started_tx.send(Ok(()));
                // This thread lives as long as the server: its death signal
                // comes when this thread ends.
                let status = child.wait();
                *status_cell.lock().unwrap() = Some(format!("{status:?}"));
            }
        })
        .expect("start the thread that runs postgres");
    started_rx
        .recv()
        .expect("the postgres thread reports the start")
        .unwrap_or_else(|e| panic!("run {}: {e}", bin.join("postgres").display()));
    exited
}

fn wait_until_ready(bin: &Path, dir: &Path, log_path: &Path, exited: &Mutex<Option<String>>) {
    let log = || fs::read_to_string(log_path).unwrap_or_default();
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        if let Some(status) = exited.lock().unwrap().clone() {
            panic!(
                "the PostgreSQL server in {} exited ({status}) before accepting connections; its log:\n{}",
                dir.display(),
                log()
            );
        }
        let mut cmd = Command::new(bin.join("pg_isready"));
        client_env(&mut cmd);
        let ready = cmd
            .arg("-q")
            .arg("-h")
            .arg(dir)
            .args(["-p", &PORT.to_string(), "-U", "postgres", "-d", "postgres"])
            .stdin(Stdio::null())
            .status()
            .unwrap_or_else(|e| panic!("run {}: {e}", bin.join("pg_isready").display()));
        if ready.success() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the PostgreSQL server in {} did not accept connections within {} s; its log:\n{}",
            dir.display(),
            READY_TIMEOUT.as_secs(),
            log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The newest installation's bin directory with initdb and postgres.
fn bin_dir() -> PathBuf {
    let root = Path::new("/usr/lib/postgresql");
    let mut found: Vec<(Vec<u32>, PathBuf)> = fs::read_dir(root)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry
                .file_name()
                .to_string_lossy()
                .split('.')
                .map(|n| n.parse::<u32>().ok())
                .collect::<Option<Vec<u32>>>()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("postgres").is_file())
                .then_some((version, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "the database tests need a PostgreSQL server, and there is no initdb and postgres \
             under {}/*/bin: install Debian's package with `apt-get install postgresql` \
             (.ci/run does when they are missing)",
            root.display()
        ),
    }
}

/// Remove the server directories of test processes that are gone: those
/// whose `lock` nobody holds. A directory without `lock` may be starting up
/// and is left alone.
fn remove_stale(parent: &Path) {
    let Ok(entries) = fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        if !entry.file_name().to_string_lossy().starts_with(PREFIX) {
            continue;
        }
        let dir = entry.path();
        let Ok(lock) = fs::File::open(dir.join("lock")) else {
            continue;
        };
        if lock.try_lock().is_ok() {
            let _ = fs::remove_dir_all(&dir);
        }
    }
}

/// Who runs initdb and postgres: `None` (this process's user) unless it is
/// root, which PostgreSQL refuses; then `postgres`, else `nobody`.
fn server_user() -> Option<(u32, u32)> {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    for name in [c"postgres", c"nobody"] {
        if let Some(ids) = user_ids(name) {
            return Some(ids);
        }
    }
    panic!(
        "the tests run as root, which PostgreSQL refuses, and there is no `postgres` or \
         `nobody` user to run it as: `apt-get install postgresql` creates `postgres`"
    )
}

/// The uid and gid of a user, from the password database.
fn user_ids(name: &CStr) -> Option<(u32, u32)> {
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: all-zero is a valid `passwd` (null pointers, zero ids).
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call, the buffer's length is
    // passed along, and `result` is null or points to `pwd`.
    let rc = unsafe {
        libc::getpwnam_r(
            name.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    (rc == 0 && !result.is_null()).then_some((pwd.pw_uid, pwd.pw_gid))
}

/// initdb and postgres: in the server's directory, as its user, in the C
/// locale, without the caller's `PG*` variables.
fn server_env(cmd: &mut Command, dir: &Path, owner: Option<(u32, u32)>) {
    client_env(cmd);
    cmd.current_dir(dir).env("LC_ALL", "C").stdin(Stdio::null());
    if let Some((uid, gid)) = owner {
        cmd.uid(uid).gid(gid);
    }
}

/// None of the caller's `PG*` variables (PGHOST, PGOPTIONS, …): only the
/// arguments decide what a client connects to.
fn client_env(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("PG") {
            cmd.env_remove(&key);
        }
    }
}

/// A Python string literal.
fn py_str(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}
