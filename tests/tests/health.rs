//! gRPC health follows the dependencies, against a real broker that dies: a server on a
//! private Tansu broker reports SERVING; once the broker is SIGKILLed the health probe (every
//! 2 s, 2 s timeout) turns it NOT_SERVING, so a load balancer stops sending calls that would
//! only fail; once the broker is back on the same storage it reports SERVING again.

use std::time::{Duration, Instant};

use leadledger_e2e::process::{test_dir, Tansu};
use leadledger_e2e::TestEnv;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

const TMP: &str = env!("CARGO_TARGET_TMPDIR");
/// Two probes and their timeouts, with room for a loaded 2-core machine.
const FLIP_WITHIN: Duration = Duration::from_secs(20);

async fn wait_for(
    health: &mut HealthClient<tonic::transport::Channel>,
    want: ServingStatus,
    within: Duration,
) -> anyhow::Result<Duration> {
    let started = Instant::now();
    loop {
        let got = health
            .check(HealthCheckRequest {
                service: String::new(),
            })
            .await?
            .into_inner()
            .status;
        if got == want as i32 {
            return Ok(started.elapsed());
        }
        anyhow::ensure!(
            started.elapsed() < within,
            "health still {got} (want {want:?}) after {within:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_turns_not_serving_while_the_broker_is_down_and_back() -> anyhow::Result<()> {
    let dir = test_dir(TMP, "health-broker")?;
    let mut broker = Tansu::start(&dir).await?;
    let env = TestEnv::start_on(&broker.brokers(), 1, false).await?;
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", env.addr))?
        .connect()
        .await?;
    let mut health = HealthClient::new(channel);
    wait_for(&mut health, ServingStatus::Serving, FLIP_WITHIN).await?;

    broker.kill9()?;
    let down = wait_for(&mut health, ServingStatus::NotServing, FLIP_WITHIN).await?;
    broker.restart().await?;
    let up = wait_for(&mut health, ServingStatus::Serving, FLIP_WITHIN).await?;
    eprintln!(
        "health: NOT_SERVING {} ms after the broker died, SERVING {} ms after it listened again",
        down.as_millis(),
        up.as_millis()
    );
    env.cleanup().await
}
