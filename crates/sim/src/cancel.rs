//! Cancellation of a running simulation from outside it: a server runs each computation on a
//! blocking thread inside [`scope`] with a flag it sets when the request is abandoned, runs past
//! its time limit, or the server stops; the engine looks at the flag every
//! [`CHECK_EVERY`] events and stops with [`crate::Stopped::Cancelled`].
//!
//! The flag is per thread (the computation's own), so callers that never cancel — the CLI,
//! tests, the report — pass nothing and pay one thread-local read per `CHECK_EVERY` events.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Events between two looks at the flag: about a millisecond of work.
pub const CHECK_EVERY: u64 = 4096;

thread_local! {
    static FLAG: RefCell<Option<Arc<AtomicBool>>> = const { RefCell::new(None) };
}

/// Runs `f` on this thread with `flag` as its cancellation flag (restoring the previous one
/// after, so scopes nest).
pub fn scope<T>(flag: Arc<AtomicBool>, f: impl FnOnce() -> T) -> T {
    let before = FLAG.with(|c| c.replace(Some(flag)));
    struct Restore(Option<Arc<AtomicBool>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let before = self.0.take();
            FLAG.with(|c| *c.borrow_mut() = before);
        }
    }
    let _restore = Restore(before);
    f()
}

/// Whether this thread's computation has been asked to stop.
pub fn requested() -> bool {
    FLAG.with(|c| {
        c.borrow()
            .as_ref()
            .is_some_and(|f| f.load(Ordering::Relaxed))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flag_is_seen_inside_its_scope_only() {
        let flag = Arc::new(AtomicBool::new(false));
        assert!(!requested());
        scope(flag.clone(), || {
            assert!(!requested());
            flag.store(true, Ordering::Relaxed);
            assert!(requested());
            // A nested scope has its own flag, and the outer one comes back after it.
            scope(Arc::new(AtomicBool::new(false)), || assert!(!requested()));
            assert!(requested());
        });
        assert!(!requested());
    }
}
