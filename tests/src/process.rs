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
            starts: 0,
        }
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
        child.kill()?; // SIGKILL on Unix
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
        let addr: SocketAddr = format!("127.0.0.1:{}", free_port()?).parse()?;
        let url = format!("tcp://{addr}");
        let command = vec![
            tansu_binary()?.display().to_string(),
            "broker".into(),
            "--listener-url".into(),
            url.clone(),
            "--advertised-listener-url".into(),
            url,
            "--storage-engine".into(),
            "sqlite://tansu.db".into(),
        ];
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

    /// Starts it again on the same port and the same storage file.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.proc.spawn()?;
        self.proc.wait_listening(self.addr, START_WITHIN).await
    }
}
