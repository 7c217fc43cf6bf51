//! Where a newly assigned partition starts: its stored checkpoint, read for the rebalance
//! callback.
//!
//! The callback is synchronous and runs on the thread that polls the consumer, inside the
//! async runtime, so it cannot wait on the runtime's futures. One reader thread per projector,
//! started with it, owns a small runtime of its own and a connection it keeps between
//! rebalances (reconnecting after an error); the callback sends it a request and waits for the
//! answer. The thread ends when the projector drops its [`PgCheckpoints`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::mpsc;
use std::time::Duration;

use leadledger_log::consumer::CheckpointSource;
use leadledger_store::checkpoints::{self, CORE};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

/// Longest a rebalance waits for the checkpoints (a database that does not answer fails the
/// assignment, and the consumer retries it).
const ANSWER_WITHIN: Duration = Duration::from_secs(30);

type Answer = Result<BTreeMap<i32, i64>, String>;

/// A request to the reader thread: the topic, and where to send its checkpoints.
struct Ask {
    topic: String,
    reply: mpsc::Sender<Answer>,
}

/// Reads the core projection's checkpoints for the rebalance callback, on a thread of its own.
pub struct PgCheckpoints {
    asks: mpsc::Sender<Ask>,
}

impl PgCheckpoints {
    /// Starts the reader thread, which connects with `options` when first asked.
    pub fn start(options: PgConnectOptions) -> Self {
        let (tx, rx) = mpsc::channel::<Ask>();
        std::thread::Builder::new()
            .name("checkpoint-reader".into())
            .spawn(move || serve(options, rx))
            .expect("spawning the checkpoint reader thread");
        Self { asks: tx }
    }
}

/// Answers asks until every sender is gone.
fn serve(options: PgConnectOptions, asks: mpsc::Receiver<Ask>) {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            for ask in asks {
                let _ = ask
                    .reply
                    .send(Err(format!("checkpoint reader runtime: {e}")));
            }
            return;
        }
    };
    let mut conn: Option<PgConnection> = None;
    for ask in asks {
        let answer = rt.block_on(async {
            if conn.is_none() {
                conn = Some(
                    PgConnection::connect_with(&options)
                        .await
                        .map_err(|e| e.to_string())?,
                );
            }
            let c = conn.as_mut().expect("connected above");
            let read = checkpoints::load(&mut *c, CORE, &ask.topic).await;
            if read.is_err() {
                // Reconnect next time: the connection may be what failed.
                conn = None;
            }
            read.map_err(|e| e.to_string())
        });
        let _ = ask.reply.send(answer);
    }
    if let Some(c) = conn {
        let _ = rt.block_on(c.close());
    }
}

impl CheckpointSource for PgCheckpoints {
    fn next_offsets(&self, topic: &str, partitions: &[i32]) -> Result<BTreeMap<i32, i64>, String> {
        let (reply, answer) = mpsc::channel();
        self.asks
            .send(Ask {
                topic: topic.to_string(),
                reply,
            })
            .map_err(|_| "checkpoint reader thread is gone".to_string())?;
        let stored = answer
            .recv_timeout(ANSWER_WITHIN)
            .map_err(|e| format!("checkpoint reader: {e}"))??;
        let wanted: BTreeSet<i32> = partitions.iter().copied().collect();
        Ok(stored
            .into_iter()
            .filter(|(p, _)| wanted.contains(p))
            .collect())
    }
}
