//! Runs the job queues' workers and schedulers (underway) for as long as the process
//! lives, whatever the database does: a worker or scheduler that stops with an error (a
//! database outage breaks its notification listener) starts again after a pause, and a
//! scheduler that found another process holding its queue's lock tries again later, so
//! a schedule survives the process that ran it. Stopping lets the job in hand finish.

use std::{future::Future, sync::Arc, time::Duration};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use underway::Job;

pub struct Workers {
    stop: CancellationToken,
    poll: Duration,
    tasks: Vec<JoinHandle<()>>,
}

impl Workers {
    /// `poll`: how often a worker looks for work no notification announced (a retry
    /// whose wait is over, a job whose process stopped), and a scheduler for its lock.
    pub fn new(poll: Duration) -> Self {
        Self { stop: CancellationToken::new(), poll, tasks: Vec::new() }
    }

    /// Runs `job`'s worker, and its scheduler (which does nothing for a job without a schedule).
    pub fn start<I, S>(&mut self, job: &Job<I, S>)
    where
        I: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
        S: Clone + Send + Sync + 'static,
    {
        let period = jiff::Span::try_from(self.poll).unwrap_or_else(|_| jiff::Span::new().seconds(10));
        let mut worker = job.worker();
        worker.set_shutdown_token(self.stop.clone());
        let worker = Arc::new(worker);
        self.tasks.push(supervise("worker", self.stop.clone(), self.poll, move || {
            let worker = worker.clone();
            async move { worker.run_every(period).await }
        }));
        let mut scheduler = job.scheduler();
        scheduler.set_shutdown_token(self.stop.clone());
        let scheduler = Arc::new(scheduler);
        self.tasks.push(supervise("scheduler", self.stop.clone(), self.poll, move || {
            let scheduler = scheduler.clone();
            async move { scheduler.run().await }
        }));
    }

    /// Stops looking for work and waits for the jobs in hand (the caller bounds the wait).
    pub async fn shutdown(self) {
        self.stop.cancel();
        for task in self.tasks {
            if let Err(err) = task.await {
                tracing::warn!(error = %err, "a worker panicked");
            }
        }
    }
}

fn supervise<F, Fut, E>(
    what: &'static str,
    stop: CancellationToken,
    pause: Duration,
    run: F,
) -> JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), E>> + Send,
    E: std::fmt::Display,
{
    tokio::spawn(async move {
        while !stop.is_cancelled() {
            if let Err(err) = run().await {
                tracing::warn!(error = %err, "a job {what} stopped; starting it again");
            }
            tokio::select! {
                () = stop.cancelled() => break,
                () = tokio::time::sleep(pause) => {}
            }
        }
    })
}
