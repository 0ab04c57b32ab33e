//! The computations the server runs for its callers (check, plan, simulate, run, replays and the
//! web UI's jobs) go through one bounded pool: at most `slots` at a time on blocking threads,
//! each with a time limit, each stopped when nobody waits for it any more.
//!
//! - A request that finds every slot taken waits up to `QUEUE_WAIT`, then is answered `503`
//!   with `Retry-After` (`Refused::Busy`): a burst of heavy requests queues briefly instead of
//!   starting a thread each.
//! - A computation past its time limit is asked to stop and its request is answered `503`
//!   (`Refused::TimedOut`).
//! - A request abandoned by its client (the connection closed, so axum drops the handler's
//!   future) asks its computation to stop; so does the server's stop signal (`stop_all`).
//!
//! "Asked to stop" is the flag of `xpufleet_sim::cancel`, which the simulator reads every few
//! thousand events; a plan's solve has its own time limit (`plan --time-limit`), so it ends on
//! its own within seconds. The slot is given back when the computation has actually ended, so
//! the bound holds for threads, not only for requests.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use tokio::sync::Semaphore;

/// How long a request waits for a free slot before it is turned away.
pub const QUEUE_WAIT: Duration = Duration::from_secs(5);

/// The default time limit of one computation.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(300);

/// Why a computation did not answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Refused {
    /// Every slot stayed taken for `QUEUE_WAIT`.
    Busy,
    /// It ran past the time limit and was asked to stop.
    TimedOut(Duration),
    /// The server is stopping.
    Stopping,
    /// It panicked (a bug): the message, for the log.
    Panicked(String),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Busy => write!(f, "every computation slot is taken; retry in a few seconds"),
            Refused::TimedOut(limit) => write!(
                f,
                "the computation ran past this server's limit of {} s and was stopped; ask for \
                 less (a shorter horizon, fewer jobs) or raise serve --compute-timeout",
                limit.as_secs()
            ),
            Refused::Stopping => write!(f, "the server is stopping"),
            Refused::Panicked(detail) => write!(f, "the computation failed: {detail}"),
        }
    }
}

/// The pool.
#[derive(Debug)]
pub struct Computations {
    slots: Arc<Semaphore>,
    slot_count: usize,
    time_limit: Duration,
    queue_wait: Duration,
    stopping: AtomicBool,
    running: Mutex<Vec<Weak<AtomicBool>>>,
}

impl Default for Computations {
    /// One slot per core the process may use, and `DEFAULT_TIME_LIMIT`.
    fn default() -> Computations {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Computations::new(cores, DEFAULT_TIME_LIMIT)
    }
}

/// Sets its flag when dropped: the request's future went away, finished or not.
struct StopOnDrop(Arc<AtomicBool>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl Computations {
    pub fn new(slots: usize, time_limit: Duration) -> Computations {
        let slots = slots.max(1);
        Computations {
            slots: Arc::new(Semaphore::new(slots)),
            slot_count: slots,
            time_limit,
            queue_wait: QUEUE_WAIT,
            stopping: AtomicBool::new(false),
            running: Mutex::default(),
        }
    }

    /// With another wait for a free slot than `QUEUE_WAIT`.
    pub fn with_queue_wait(mut self, wait: Duration) -> Computations {
        self.queue_wait = wait;
        self
    }

    /// The most computations run at once.
    pub fn slots(&self) -> usize {
        self.slot_count
    }

    /// The time limit of one computation.
    pub fn time_limit(&self) -> Duration {
        self.time_limit
    }

    /// Slots free now.
    pub fn free(&self) -> usize {
        self.slots.available_permits()
    }

    /// Runs `f` on a blocking thread when a slot is free, under the time limit; dropping the
    /// returned future asks `f` to stop.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Refused> {
        if self.stopping.load(Ordering::Relaxed) {
            return Err(Refused::Stopping);
        }
        let slot = tokio::time::timeout(self.queue_wait, self.slots.clone().acquire_owned())
            .await
            .map_err(|_| Refused::Busy)?
            .map_err(|_| Refused::Stopping)?;
        let flag = Arc::new(AtomicBool::new(false));
        if let Ok(mut r) = self.running.lock() {
            r.retain(|w| w.strong_count() > 0);
            r.push(Arc::downgrade(&flag));
        }
        let stop = StopOnDrop(flag.clone());
        let task = tokio::task::spawn_blocking(move || {
            let _slot = slot;
            xpufleet_sim::cancel::scope(flag, f)
        });
        let out = match tokio::time::timeout(self.time_limit, task).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(Refused::Panicked(e.to_string())),
            Err(_) => Err(Refused::TimedOut(self.time_limit)),
        };
        drop(stop);
        out
    }

    /// Asks every running computation to stop and refuses new ones: the server is stopping.
    pub fn stop_all(&self) {
        self.stopping.store(true, Ordering::Relaxed);
        self.slots.close();
        if let Ok(r) = self.running.lock() {
            for f in r.iter().filter_map(Weak::upgrade) {
                f.store(true, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A computation that runs until it is asked to stop (or 10 s pass), and says which.
    fn until_stopped() -> &'static str {
        let t0 = std::time::Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if xpufleet_sim::cancel::requested() {
                return "stopped";
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        "ran out"
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_computation_past_its_limit_is_stopped_and_its_slot_comes_back() {
        let pool = Computations::new(1, Duration::from_millis(100));
        let (tx, rx) = std::sync::mpsc::channel();
        let r = pool
            .run(move || {
                let how = until_stopped();
                tx.send(how).unwrap();
            })
            .await;
        assert_eq!(r, Err(Refused::TimedOut(Duration::from_millis(100))));
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok("stopped"));
        // The one slot is free again: the next computation runs.
        assert_eq!(pool.run(|| 7).await, Ok(7));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_abandoned_computation_is_stopped() {
        let pool = Arc::new(Computations::new(1, Duration::from_secs(60)));
        let (tx, rx) = std::sync::mpsc::channel();
        let p = pool.clone();
        let waiting = tokio::spawn(async move {
            p.run(move || {
                let how = until_stopped();
                tx.send(how).unwrap();
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        // The client goes away: its handler's future is dropped.
        waiting.abort();
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok("stopped"));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn stop_all_stops_what_runs_and_refuses_what_comes() {
        let pool = Arc::new(Computations::new(2, Duration::from_secs(60)));
        let (tx, rx) = std::sync::mpsc::channel();
        let p = pool.clone();
        let running = tokio::spawn(async move {
            p.run(move || {
                let how = until_stopped();
                tx.send(how).unwrap();
            })
            .await
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        pool.stop_all();
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Ok("stopped"));
        assert!(running.await.unwrap().is_ok());
        assert_eq!(pool.run(|| 1).await, Err(Refused::Stopping));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_pool_turns_requests_away_after_the_queue_wait() {
        let pool = Arc::new(
            Computations::new(1, Duration::from_secs(3600))
                .with_queue_wait(Duration::from_millis(50)),
        );
        let p = pool.clone();
        let _busy = tokio::spawn(async move { p.run(until_stopped).await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert_eq!(pool.free(), 0);
        let r = pool.run(|| 1).await;
        assert_eq!(r, Err(Refused::Busy));
        pool.stop_all();
    }
}
