//! Keeping the pool's workers awake for the length of a call.
//!
//! A parallel kernel hands half its work to another rayon worker. Between
//! two kernels of one call (an MLP step runs three products and a
//! reduction, with small nodes between them) that worker goes to sleep, and
//! waking it again costs the calling thread a futex call and the worker an
//! interrupt: on the 2-core machine, about a fifth of an MLP step went to
//! waking threads. So the first parallel kernel of a call ([`going_parallel`],
//! inside a [`CallScope`]) sets the other workers spinning: each runs a job
//! that takes pool work as soon as it appears ([`rayon::yield_now`]) until
//! the call ends, or until nothing came for [`IDLE_LIMIT`]. Calls that never
//! go parallel wake nobody; threads outside the pool (Python threads other
//! than the one that imported rtensor) hand their work to the pool as before.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long a spinning worker waits for work before it goes back to rayon's
/// own idle loop (and sleep): longer than the gap between two kernels of a
/// step, short enough that a call busy in one long serial node does not
/// keep a core spinning for nothing.
pub const IDLE_LIMIT: Duration = Duration::from_millis(2);

/// What the spinning workers of the current call watch.
struct Spin {
    /// Cleared when the call ends.
    call_running: Arc<AtomicBool>,
    /// Workers spinning for it now.
    spinning: Arc<AtomicUsize>,
}

/// This thread's call: none, running (no worker set spinning yet), or
/// running with workers watching it.
enum Call {
    Idle,
    Running,
    Spinning(Spin),
}

thread_local! {
    static CURRENT: RefCell<Call> = const { RefCell::new(Call::Idle) };
}

/// A call in progress on this thread (the outermost one, for nested calls:
/// Scan's inner functions run inside their outer call's scope).
pub struct CallScope {
    outermost: bool,
}

impl CallScope {
    pub fn enter() -> CallScope {
        let outermost = CURRENT.with(|c| {
            let mut c = c.borrow_mut();
            let idle = matches!(*c, Call::Idle);
            if idle {
                *c = Call::Running;
            }
            idle
        });
        CallScope { outermost }
    }
}

impl Drop for CallScope {
    fn drop(&mut self) {
        if self.outermost
            && let Call::Spinning(spin) = CURRENT.with(|c| c.replace(Call::Idle))
        {
            spin.call_running.store(false, Ordering::Release);
        }
    }
}

/// Called by a kernel about to split its work over the pool: inside a call,
/// on a pool worker, sets the other workers spinning unless they already are.
pub fn going_parallel() {
    let Some(me) = rayon::current_thread_index() else {
        return;
    };
    CURRENT.with(|c| {
        let mut c = c.borrow_mut();
        let spin = match &mut *c {
            Call::Idle => return,
            Call::Spinning(spin) => spin,
            running @ Call::Running => {
                *running = Call::Spinning(Spin {
                    call_running: Arc::new(AtomicBool::new(true)),
                    spinning: Arc::new(AtomicUsize::new(0)),
                });
                let Call::Spinning(spin) = running else {
                    unreachable!("just set")
                };
                spin
            }
        };
        let others = rayon::current_num_threads().saturating_sub(1);
        while spin.spinning.load(Ordering::Acquire) < others {
            spin.spinning.fetch_add(1, Ordering::AcqRel);
            let running = spin.call_running.clone();
            let spinning = spin.spinning.clone();
            rayon::spawn(move || spin_for_work(me, &running, &spinning));
        }
    });
}

/// A spinning worker's job: runs pool work as it comes while the call that
/// started it (on worker `owner`) is running.
fn spin_for_work(owner: usize, running: &AtomicBool, spinning: &AtomicUsize) {
    // Taken back by the calling thread itself (it looked for work while
    // waiting): that thread has its call to finish.
    if rayon::current_thread_index() != Some(owner) {
        let mut last_work = Instant::now();
        while running.load(Ordering::Acquire) {
            match rayon::yield_now() {
                Some(rayon::Yield::Executed) => last_work = Instant::now(),
                _ if last_work.elapsed() > IDLE_LIMIT => break,
                _ => std::hint::spin_loop(),
            }
        }
    }
    spinning.fetch_sub(1, Ordering::AcqRel);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spinning_count() -> Option<Arc<AtomicUsize>> {
        CURRENT.with(|c| match &*c.borrow() {
            Call::Spinning(spin) => Some(spin.spinning.clone()),
            _ => None,
        })
    }

    fn two_workers() -> rayon::ThreadPool {
        rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .expect("a pool of two workers")
    }

    #[test]
    fn the_workers_a_call_sets_spinning_stop_when_the_call_ends() {
        let spinning = two_workers().install(|| {
            let scope = CallScope::enter();
            going_parallel();
            going_parallel();
            let spinning = spinning_count().expect("the call set workers spinning");
            assert!(spinning.load(Ordering::Acquire) <= 1, "one other worker");
            drop(scope);
            assert!(spinning_count().is_none(), "the call's scope is gone");
            spinning
        });
        let start = Instant::now();
        while spinning.load(Ordering::Acquire) > 0 {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "a worker kept spinning"
            );
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    #[test]
    fn nothing_spins_outside_a_call_or_off_the_pool() {
        two_workers().install(|| {
            going_parallel();
            assert!(spinning_count().is_none());
        });
        let _scope = CallScope::enter();
        going_parallel();
        assert!(spinning_count().is_none());
    }

    #[test]
    fn a_nested_call_leaves_the_outer_call_its_workers() {
        two_workers().install(|| {
            let outer = CallScope::enter();
            going_parallel();
            drop(CallScope::enter());
            assert!(spinning_count().is_some());
            drop(outer);
            assert!(spinning_count().is_none());
        });
    }
}
