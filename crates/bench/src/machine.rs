//! Where a benchmark ran: shared by `leadledger-bench` (figures.rs re-exports it) and the
//! soak (`src/bin/soak`, included with `#[path]`), so both reports describe the machine the
//! same way.

/// Where the figures were measured.
#[derive(Debug, Clone)]
pub struct Machine {
    pub cpus: usize,
    pub cpu_model: String,
    pub memory: String,
    pub kernel: String,
    pub postgres: String,
    pub broker: String,
    pub build: &'static str,
}

impl Machine {
    /// Reads /proc and `uname -r`; `postgres` comes from `SELECT version()`.
    pub fn probe(postgres: String) -> Self {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split_once(':'))
            .map_or_else(|| "unknown".into(), |(_, v)| v.trim().to_string());
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory = meminfo
            .lines()
            .find(|l| l.starts_with("MemTotal:"))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or_else(
                || "unknown".into(),
                |kb| format!("{:.1} GiB", kb / 1024.0 / 1024.0),
            );
        let kernel = std::process::Command::new("uname")
            .arg("-r")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "unknown".into());
        Self {
            cpus: std::thread::available_parallelism().map_or(0, usize::from),
            cpu_model,
            memory,
            kernel,
            postgres,
            broker: "Tansu 0.6.0, SQLite storage engine on tmpfs (/dev/shm)".into(),
            build: if cfg!(debug_assertions) {
                "debug (figures NOT representative)"
            } else {
                "release"
            },
        }
    }
}
