//! Real OS processes for the kill -9 scenarios: the `leadledger` binary in one role, and a
//! private Tansu broker on durable storage.
//!
//! A child is only ever stopped with SIGKILL (no graceful path is exercised here), its
//! stdout and stderr go to a log file named after it (appended across restarts, so a
//! failure message can quote what the child said), and the guard kills whatever is still
//! running when the test ends, passed or failed.

use std::fs::OpenOptions;
use std::io::Write as _;
use std::net::SocketAddr;
use std::os::unix::process::ExitStatusExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context as _;

/// A port on 127.0.0.1 that was free a moment ago (the OS picked it). The caller binds it
/// soon after; a clash would show as a child that cannot bind, reported with its log.
pub fn free_port() -> anyhow::Result<u16> {
    let l = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(l.local_addr()?.port())
}

/// Settings that point a child `leadledger` process at `env`'s broker and topic. Its
/// projector gets a consumer group of its own (`<topic>.child-projector`): `TestEnv` starts
/// (and these tests stop at once) an in-process projector in the default group, and Tansu
/// 0.6.0 sometimes still counted that member when the child joined, handing the child only
/// some partitions and never the rest (seen in CI: "not caught up within 90s",
/// checkpoints of one partition of three).
/// Also `auth.mode = none`: see below.
pub fn child_log_settings(env: &crate::TestEnv) -> Vec<(&'static str, String)> {
    vec![
        ("kafka.brokers", env.log.brokers.clone()),
        ("kafka.topic", env.log.topic.clone()),
        ("kafka.partitions", env.log.partitions.to_string()),
        ("kafka.headers", env.log.headers.to_string()),
        (
            "projector.group",
            format!("{}.child-projector", env.log.topic),
        ),
        // The fault tests are about what survives a kill, and their clients carry no key;
        // the children listen on 127.0.0.1, where `none` is allowed (tests/tests/auth.rs
        // covers authentication).
        ("auth.mode", "none".to_string()),
        // The test's own database (contacts' keys made by a child ingest are where the test's
        // projector opens them); never the default one, which may hold another version's
        // migrations and stop the child at start.
        ("database.url", env.db_url.clone()),
    ]
}

/// Sets `key` to `value` in `settings`, in place of any value it had (a child gets each
/// setting once).
pub fn set(settings: &mut Vec<(&'static str, String)>, key: &'static str, value: String) {
    settings.retain(|(k, _)| *k != key);
    settings.push((key, value));
}

/// The settings of a child `serve --role projector` that a fault test kills mid-batch:
/// [`child_log_settings`], the database `db_url` with its connections named `app` (so the
/// test can watch its transactions in `pg_stat_activity`), and small batches (many
/// transactions for the kills to land in).
pub fn killable_projector_settings(
    env: &crate::TestEnv,
    db_url: &str,
    app: &str,
) -> Vec<(&'static str, String)> {
    let mut settings = child_log_settings(env);
    set(
        &mut settings,
        "database.url",
        format!("{db_url}?application_name={app}"),
    );
    settings.extend([
        ("database.max_connections", "4".to_string()),
        ("projector.batch_max", "50".to_string()),
    ]);
    settings
}

/// A directory for one test's files (child logs, broker storage) under `root`, which should
/// be on disk: the integration test's `env!("CARGO_TARGET_TMPDIR")` (`target/tmp`).
pub fn test_dir(root: &str, tag: &str) -> anyhow::Result<PathBuf> {
    let dir = Path::new(root).join(format!("{tag}-{}", crate::unique()));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}

/// One child process that can be started, SIGKILLed and started again with the same
/// command line.
pub struct Proc {
    name: String,
    command: Vec<String>,
    envs: Vec<(String, String)>,
    dir: Option<PathBuf>,
    log: PathBuf,
    child: Option<Child>,
    /// Runs as this user and group (uid, gid) when set (PostgreSQL refuses to run as root).
    user: Option<(u32, u32)>,
    /// How many times it was started.
    pub starts: u32,
}

impl Proc {
    /// `command[0]` is the program; its output goes to `log`.
    pub fn new(name: &str, command: Vec<String>, log: PathBuf) -> Self {
        Self {
            name: name.to_string(),
            command,
            envs: Vec::new(),
            dir: None,
            log,
            child: None,
            user: None,
            starts: 0,
        }
    }

    /// Runs it as `(uid, gid)` (the caller must be root to switch).
    pub fn run_as(mut self, user: Option<(u32, u32)>) -> Self {
        self.user = user;
        self
    }

    /// The pid of the running child.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.envs.push((key.to_string(), value.to_string()));
        self
    }

    pub fn current_dir(mut self, dir: &Path) -> Self {
        self.dir = Some(dir.to_path_buf());
        self
    }

    /// Starts it (it must not be running) and returns its pid.
    pub fn spawn(&mut self) -> anyhow::Result<u32> {
        anyhow::ensure!(self.child.is_none(), "{} is already running", self.name);
        self.starts += 1;
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .with_context(|| format!("opening {}", self.log.display()))?;
        writeln!(log, "===== {} start {} =====", self.name, self.starts)?;
        let mut cmd = Command::new(&self.command[0]);
        cmd.args(&self.command[1..])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        // Settings come from the command line only, never from the caller's environment
        // (librdkafka debug contexts excepted, for diagnosis).
        for (k, _) in std::env::vars() {
            if k.starts_with("LEADLEDGER_") && k != "LEADLEDGER_KAFKA_DEBUG" {
                cmd.env_remove(k);
            }
        }
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        if let Some(d) = &self.dir {
            cmd.current_dir(d);
        }
        if let Some((uid, gid)) = self.user {
            use std::os::unix::process::CommandExt as _;
            cmd.uid(uid).gid(gid);
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}: {:?}", self.name, self.command))?;
        let pid = child.id();
        self.child = Some(child);
        Ok(pid)
    }

    /// SIGKILLs it and reaps it. Fails if it had already exited on its own (then the kill
    /// proved nothing), quoting the end of its log.
    pub fn kill9(&mut self) -> anyhow::Result<()> {
        self.kill9_with(|c| Ok(c.kill()?))
    }

    fn kill9_with(
        &mut self,
        kill: impl FnOnce(&mut Child) -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let mut child = self
            .child
            .take()
            .with_context(|| format!("{} is not running", self.name))?;
        if let Some(status) = child.try_wait()? {
            anyhow::bail!(
                "{} had exited by itself ({status}) before the kill; log:\n{}",
                self.name,
                self.log_tail(30)
            );
        }
        kill(&mut child)?; // SIGKILL
        let status = child.wait()?;
        anyhow::ensure!(
            status.signal() == Some(9),
            "{} ended with {status}, not by SIGKILL; log:\n{}",
            self.name,
            self.log_tail(30)
        );
        Ok(())
    }

    /// Fails (quoting its log) if it has exited.
    pub fn check_running(&mut self) -> anyhow::Result<()> {
        let Some(child) = self.child.as_mut() else {
            anyhow::bail!("{} is not running", self.name);
        };
        if let Some(status) = child.try_wait()? {
            self.child = None;
            anyhow::bail!(
                "{} exited ({status}); log:\n{}",
                self.name,
                self.log_tail(30)
            );
        }
        Ok(())
    }

    /// The last `n` lines of its log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Waits until `addr` accepts TCP connections, failing early if the child exits.
    pub async fn wait_listening(
        &mut self,
        addr: SocketAddr,
        within: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        loop {
            self.check_running()?;
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "{} not listening on {addr} within {within:?}; log:\n{}",
                self.name,
                self.log_tail(30)
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// How long a child gets to come up (it competes with every other test for two cores).
pub const START_WITHIN: Duration = Duration::from_secs(30);

/// The real `leadledger` binary serving one role, configured with `--set` flags only.
pub struct Leadledger {
    pub proc: Proc,
    /// Its gRPC address (`server.listen`; the projector role serves health there).
    pub addr: SocketAddr,
}

impl Leadledger {
    /// `bin` is the binary (`env!("CARGO_BIN_EXE_leadledger")`), `settings` are `key=value`
    /// settings; `server.listen` is set to a free port unless given. Logs go to
    /// `dir/<name>.log`.
    pub fn new(
        bin: &str,
        name: &str,
        role: &str,
        settings: &[(&str, String)],
        dir: &Path,
    ) -> anyhow::Result<Self> {
        let mut command = vec![
            bin.to_string(),
            "serve".into(),
            "--role".into(),
            role.into(),
        ];
        let mut addr = None;
        for (k, v) in settings {
            if *k == "server.listen" {
                addr = Some(v.parse()?);
            }
            command.push("--set".into());
            command.push(format!("{k}={v}"));
        }
        let addr = match addr {
            Some(a) => a,
            None => {
                let a: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
                command.push("--set".into());
                command.push(format!("server.listen={a}"));
                a
            }
        };
        // With LEADLEDGER_KAFKA_DEBUG set (passed through), librdkafka's debug lines are kept.
        let filter = if std::env::var_os("LEADLEDGER_KAFKA_DEBUG").is_some() {
            "info,librdkafka=debug,rdkafka=warn,sqlx=warn"
        } else {
            "info,librdkafka=warn,rdkafka=warn,sqlx=warn"
        };
        let proc =
            Proc::new(name, command, dir.join(format!("{name}.log"))).env("LEADLEDGER_LOG", filter);
        Ok(Self { proc, addr })
    }

    /// Starts it and waits until it listens (it has migrated, created topics, started its
    /// roles and bound its port).
    pub async fn start(&mut self) -> anyhow::Result<()> {
        self.proc.spawn()?;
        self.proc.wait_listening(self.addr, START_WITHIN).await
    }

    pub fn kill9(&mut self) -> anyhow::Result<()> {
        self.proc.kill9()
    }
}

/// The Tansu 0.6.0 binary that `scripts/broker.sh` installs and caches:
/// `$LEADLEDGER_TANSU`, else `${LEADLEDGER_TOOLS:-~/.cache/leadledger}/tansu-0.6.0/bin/tansu`.
pub fn tansu_binary() -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var("LEADLEDGER_TANSU") {
        return Ok(PathBuf::from(p));
    }
    let tools = match std::env::var("LEADLEDGER_TOOLS") {
        Ok(t) => PathBuf::from(t),
        Err(_) => PathBuf::from(std::env::var("HOME").context("HOME is not set")?)
            .join(".cache/leadledger"),
    };
    let bin = tools.join("tansu-0.6.0/bin/tansu");
    anyhow::ensure!(
        bin.is_file(),
        "no Tansu binary at {} (`bash scripts/broker.sh up` installs it)",
        bin.display()
    );
    Ok(bin)
}

/// A private Tansu broker for one test: its own port on 127.0.0.1 and SQLite storage in a
/// file on disk, so a SIGKILL and a restart on the same file must lose nothing it acked.
pub struct Tansu {
    pub proc: Proc,
    pub addr: SocketAddr,
    /// The SQLite database file.
    pub storage: PathBuf,
}

impl Tansu {
    /// Starts a broker whose data lives in `dir/tansu.db` and waits until it listens.
    pub async fn start(dir: &Path) -> anyhow::Result<Self> {
        Self::start_with(dir, &[]).await
    }

    /// [`Tansu::start`] with more arguments of `tansu broker` (`--authentication`: every
    /// client must authenticate with SASL/SCRAM against the credentials in its storage).
    pub async fn start_with(dir: &Path, args: &[&str]) -> anyhow::Result<Self> {
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let url = format!("tcp://{addr}");
        let mut command = vec![
            tansu_binary()?.display().to_string(),
            "broker".into(),
            "--listener-url".into(),
            url.clone(),
            "--advertised-listener-url".into(),
            url,
            "--storage-engine".into(),
            "sqlite://tansu.db".into(),
        ];
        command.extend(args.iter().map(|a| a.to_string()));
        let proc = Proc::new("tansu", command, dir.join("tansu.log"))
            .env("CLUSTER_ID", "leadledger")
            .current_dir(dir);
        let mut t = Self {
            proc,
            addr,
            storage: dir.join("tansu.db"),
        };
        t.restart().await?;
        Ok(t)
    }

    /// `host:port` for clients.
    pub fn brokers(&self) -> String {
        self.addr.to_string()
    }

    /// SIGKILLs the broker (Tansu 0.6.0 ignores SIGTERM anyway).
    pub fn kill9(&mut self) -> anyhow::Result<()> {
        self.proc.kill9()
    }

    /// Freezes the broker (SIGSTOP): its connections stay open and nothing is answered,
    /// like a broker stuck on a slow disk. [`Tansu::resume`] thaws it.
    pub fn pause(&self) -> anyhow::Result<()> {
        self.signal("-STOP")
    }

    /// Thaws a [`Tansu::pause`]d broker (SIGCONT).
    pub fn resume(&self) -> anyhow::Result<()> {
        self.signal("-CONT")
    }

    fn signal(&self, signal: &str) -> anyhow::Result<()> {
        let pid = self.proc.pid().context("the broker is not running")?;
        let status = std::process::Command::new("kill")
            .args([signal, &pid.to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "kill {signal} {pid} failed");
        Ok(())
    }

    /// Starts it again on the same port and the same storage file.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.proc.spawn()?;
        self.proc.wait_listening(self.addr, START_WITHIN).await
    }
}

/// The directory of the PostgreSQL server binaries: `$LEADLEDGER_PG_BIN`, else the newest
/// `/usr/lib/postgresql/<version>/bin` (Debian's layout) that holds `initdb` and `postgres`.
pub fn postgres_bin_dir() -> anyhow::Result<PathBuf> {
    if let Ok(p) = std::env::var("LEADLEDGER_PG_BIN") {
        return Ok(PathBuf::from(p));
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .context("no /usr/lib/postgresql (Debian's postgresql package; or set LEADLEDGER_PG_BIN)")?
        .filter_map(Result::ok)
        .filter_map(|e| {
            let version: u32 = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("postgres").is_file())
                .then_some((version, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, bin)| bin)
        .context("no /usr/lib/postgresql/<version>/bin with initdb and postgres")
}

/// `(uid, gid)` of the `postgres` user when this process runs as root (the server refuses
/// to run as root), `None` otherwise (the server runs as the current user).
/// The uid and gid the test's PostgreSQL runs as (`postgres` when the test runs as root),
/// `None` when it runs as the test's own user.
pub fn postgres_user() -> anyhow::Result<Option<(u32, u32)>> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let passwd = std::fs::read_to_string("/etc/passwd")?;
    let line = passwd
        .lines()
        .find(|l| l.starts_with("postgres:"))
        .context("running as root and there is no `postgres` user to run PostgreSQL as")?;
    let fields: Vec<&str> = line.split(':').collect();
    anyhow::ensure!(fields.len() >= 4, "odd /etc/passwd line: {line}");
    Ok(Some((fields[2].parse()?, fields[3].parse()?)))
}

/// Pids of the live (not zombie) processes whose working directory is `dir`. A PostgreSQL
/// server's processes all run in its data directory (the postmaster changes into it, every
/// backend and background process inherits that), and they cannot be found by process group
/// (each child calls `setsid`) nor by parent once the postmaster is gone (orphans are
/// re-parented). Another cluster on the machine has another data directory.
fn processes_in(dir: &Path) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            if std::fs::read_link(e.path().join("cwd")).ok()? != dir {
                return None;
            }
            let stat = std::fs::read_to_string(e.path().join("stat")).ok()?;
            // "pid (comm) state ...": comm may hold spaces and parentheses.
            let state = stat[stat.rfind(')')? + 2..].split(' ').next()?;
            (state != "Z").then_some(pid)
        })
        .collect()
}

fn sigkill(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill has no memory-safety preconditions.
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}

/// A private PostgreSQL cluster for one test: `initdb` into `dir/data` (on disk, trust
/// authentication, user `postgres`), the server on a free port of 127.0.0.1 with its socket
/// in `dir`, `fsync = on`, as the `postgres` user when the test runs as root. Dropping it
/// SIGKILLs every process of the server that is left and deletes the data directory (the
/// server's log, `dir/postgres.log`, stays with the test's directory).
pub struct Postgres {
    pub proc: Proc,
    pub port: u16,
    /// The data directory (canonical path: the server's processes run in it).
    pub data: PathBuf,
}

impl Postgres {
    pub async fn start(dir: &Path) -> anyhow::Result<Self> {
        Self::start_with(dir, &[]).await
    }

    /// [`Postgres::start`] with extra server settings (`name=value`, each passed as `-c`).
    pub async fn start_with(dir: &Path, settings: &[String]) -> anyhow::Result<Self> {
        let bin = postgres_bin_dir()?;
        let user = postgres_user()?;
        // Run as `postgres`, the server must reach its directory, and a checkout may sit
        // below a directory only its owner can enter (a CI clone in a `mktemp -d`): then the
        // cluster lives in its own directory under the system's temporary directory (on disk
        // here) and only the logs stay in `dir`.
        let cluster = match user {
            Some(_) => {
                let c = std::env::temp_dir().join(format!(
                    "leadledger-pg-{}-{}",
                    std::process::id(),
                    free_port()?
                ));
                std::fs::create_dir_all(&c)?;
                c
            }
            None => dir.to_path_buf(),
        };
        let data = cluster.join("data");
        std::fs::create_dir_all(&data)?;
        let data = data.canonicalize()?;
        if let Some((uid, gid)) = user {
            std::os::unix::fs::chown(&cluster, Some(uid), Some(gid))?;
            std::os::unix::fs::chown(&data, Some(uid), Some(gid))?;
        }
        let mut initdb = Proc::new(
            "initdb",
            vec![
                bin.join("initdb").display().to_string(),
                "-D".into(),
                data.display().to_string(),
                "-U".into(),
                "postgres".into(),
                "--auth=trust".into(),
                "-E".into(),
                "UTF8".into(),
                "--locale=C.UTF-8".into(),
                "--no-sync".into(),
            ],
            dir.join("initdb.log"),
        )
        .run_as(user)
        .current_dir(&cluster);
        initdb.spawn()?;
        let status = initdb
            .child
            .take()
            .context("initdb did not start")?
            .wait()?;
        anyhow::ensure!(
            status.success(),
            "initdb failed ({status}); log:\n{}",
            initdb.log_tail(30)
        );
        let port = free_port()?;
        let command = vec![
            bin.join("postgres").display().to_string(),
            "-D".into(),
            data.display().to_string(),
            "-p".into(),
            port.to_string(),
            "-k".into(),
            cluster.display().to_string(),
            "-c".into(),
            "listen_addresses=127.0.0.1".into(),
            "-c".into(),
            "fsync=on".into(),
            "-c".into(),
            "max_connections=50".into(),
        ]
        .into_iter()
        .chain(settings.iter().flat_map(|s| ["-c".to_string(), s.clone()]))
        .collect::<Vec<String>>();
        let proc = Proc::new("postgres", command, dir.join("postgres.log"))
            .run_as(user)
            .current_dir(&cluster);
        let mut pg = Self { proc, port, data };
        pg.restart().await?;
        Ok(pg)
    }

    /// `postgres://postgres@127.0.0.1:<port>/<db>`.
    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Starts the server on the same data directory and port (after a crash: crash recovery)
    /// and waits until it answers queries (not only accepts connections: during recovery it
    /// refuses them with `57P03`). Returns how long that took.
    pub async fn restart(&mut self) -> anyhow::Result<Duration> {
        let started = Instant::now();
        self.proc.spawn()?;
        let url = self.url("postgres");
        let deadline = started + START_WITHIN;
        loop {
            self.proc.check_running()?;
            let ok = async {
                use sqlx::Connection as _;
                let mut c = sqlx::PgConnection::connect(&url).await?;
                sqlx::query("SELECT 1").execute(&mut c).await?;
                c.close().await
            }
            .await;
            match ok {
                Ok(()) => return Ok(started.elapsed()),
                Err(e) => anyhow::ensure!(
                    Instant::now() < deadline,
                    "postgres not answering on port {} within {START_WITHIN:?} ({e}); log:\n{}",
                    self.port,
                    self.proc.log_tail(30)
                ),
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILLs the postmaster alone. Its backends and background processes notice its death
    /// and exit on their own ([`Postgres::wait_gone`]). Returns how many there were.
    pub fn kill9_postmaster(&mut self) -> anyhow::Result<usize> {
        let others = processes_in(&self.data).len().saturating_sub(1);
        self.proc.kill9()?;
        Ok(others)
    }

    /// SIGKILLs the whole server at once: the postmaster (first, so that it forks nothing
    /// more) and every process it had forked. Returns how many of those there were.
    pub fn kill9_server(&mut self) -> anyhow::Result<usize> {
        let data = self.data.clone();
        let mut others = 0;
        self.proc.kill9_with(|c| {
            let all = processes_in(&data);
            sigkill(c.id());
            for &pid in &all {
                if pid != c.id() {
                    sigkill(pid);
                    others += 1;
                }
            }
            Ok(())
        })?;
        // Anything forked between the listing and the postmaster's death.
        for pid in processes_in(&self.data) {
            sigkill(pid);
            others += 1;
        }
        Ok(others)
    }

    /// Waits until no process of the server is left (a new postmaster refuses to start while
    /// an old backend still holds the data directory's shared memory).
    pub async fn wait_gone(&self, within: Duration) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        loop {
            let left = processes_in(&self.data);
            if left.is_empty() {
                return Ok(());
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "processes {left:?} of the killed postgres still alive after {within:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Postgres {
    fn wait_gone_blocking(&self, within: Duration) -> bool {
        let deadline = Instant::now() + within;
        while !processes_in(&self.data).is_empty() {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(pid) = self.proc.pid() {
            sigkill(pid);
        }
        for pid in processes_in(&self.data) {
            sigkill(pid);
        }
        drop(self.proc.child.take().map(|mut c| c.wait()));
        let _ = self.wait_gone_blocking(Duration::from_secs(10));
        // A SIGKILLed postmaster leaves its System V interlock segment behind (a restart
        // removes the previous one, the last kill's stays): remove it, by the id that
        // postmaster.pid records, once nothing is attached.
        if let Some(id) = std::fs::read_to_string(self.data.join("postmaster.pid"))
            .ok()
            .and_then(|pid_file| {
                let line = pid_file.lines().nth(6)?.to_string();
                line.split_whitespace().nth(1)?.parse::<libc::c_int>().ok()
            })
        {
            // SAFETY: shmid_ds is plain data; shmctl writes it (IPC_STAT) or ignores it.
            unsafe {
                let mut ds: libc::shmid_ds = std::mem::zeroed();
                if libc::shmctl(id, libc::IPC_STAT, &mut ds) == 0 && ds.shm_nattch == 0 {
                    libc::shmctl(id, libc::IPC_RMID, std::ptr::null_mut());
                }
            }
        }
        let _ = std::fs::remove_dir_all(&self.data);
        // The cluster's own directory when it is not the test's (see `start`).
        if let Some(cluster) = self.data.parent() {
            if cluster.starts_with(std::env::temp_dir()) {
                let _ = std::fs::remove_dir_all(cluster);
            }
        }
    }
}
