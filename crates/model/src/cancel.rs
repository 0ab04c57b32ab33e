//! Cancellation of a running computation from outside it: a server runs each computation on a
//! blocking thread inside [`scope`] with a flag it sets when the request is abandoned, runs past
//! its time limit, or the server stops; engines (the simulator's event loop, the planner's
//! branch-and-bound) look at [`requested`] now and then and stop with what they have.
//!
//! The flag is per thread (the computation's own), so callers that never cancel — the CLI,
//! tests, the report — pass nothing and pay one thread-local read per look. A computation that
//! starts threads of its own hands them the flag with [`current`] and [`scope`].
//!
//! It lives here, in the crate every engine depends on, so that the planner and the simulator
//! poll the same flag without depending on each other.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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

/// This thread's flag, if it runs inside a [`scope`]: a computation passes it to the threads it
/// starts, so that they stop with it.
pub fn current() -> Option<Arc<AtomicBool>> {
    FLAG.with(|c| c.borrow().clone())
}

/// Runs `f` inside `flag`'s scope when there is one, else plainly (the other half of
/// [`current`]).
pub fn within<T>(flag: Option<Arc<AtomicBool>>, f: impl FnOnce() -> T) -> T {
    match flag {
        Some(flag) => scope(flag, f),
        None => f(),
    }
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

    #[test]
    fn a_thread_started_inside_a_scope_sees_the_flag_it_is_handed() {
        let flag = Arc::new(AtomicBool::new(true));
        scope(flag, || {
            let handed = current();
            let seen = std::thread::scope(|s| {
                let plain = s.spawn(requested).join().unwrap();
                let given = s.spawn(move || within(handed, requested)).join().unwrap();
                (plain, given)
            });
            assert_eq!(seen, (false, true));
        });
    }
}
