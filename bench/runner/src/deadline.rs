//! How precisely the host stops a guest at its deadline: the `misbehave`
//! component loops forever on `/loop`, and each round times how long past
//! the deadline the host's `TimedOut` came. Tests only assert that it came
//! (`tests/limits.rs`); how close it comes is a figure, reported here.

use std::path::Path;
use std::time::{Duration, Instant};

use host_test::{HostContext, HttpWorker, TimedOut};

/// The deadline every round runs with.
pub const DEADLINE: Duration = Duration::from_millis(500);

/// Runs `rounds` looping requests one after another and returns how long
/// past [`DEADLINE`] each was stopped, sorted.
pub async fn overshoots(misbehave: &Path, rounds: usize) -> anyhow::Result<Vec<Duration>> {
    let component = host_test::load_component(misbehave)?;
    let context = HostContext::new()
        .with_request_timeout(DEADLINE)
        .with_inherited_stdio(false);
    let worker = HttpWorker::new(&component, context)?;
    let mut overshoots = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let started = Instant::now();
        let outcome = worker.get("/loop").await;
        let took = started.elapsed();
        match outcome {
            Err(error) if error.is::<TimedOut>() => {}
            Err(error) => anyhow::bail!("a looping guest failed otherwise: {error:#}"),
            Ok(response) => anyhow::bail!("a looping guest answered {}", response.status),
        }
        overshoots.push(took.saturating_sub(DEADLINE));
    }
    overshoots.sort_unstable();
    Ok(overshoots)
}
