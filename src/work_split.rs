//! Splitting a kernel's work over the pool so that a slowed thread hands
//! its work over.
//!
//! The work is a run of items (rows, columns, elements) cut into one
//! contiguous range per task, each range cut into blocks. A task runs its own
//! range's blocks front to back; when it has none left, it takes blocks from
//! the back of the other tasks' ranges. So on an even machine every thread
//! runs its own range, the same range from one kernel to the next (the
//! rows of a weight that an update writes are the rows the next product
//! reads, in that core's cache), and when another process slows one core,
//! the other core finishes its blocks for it instead of waiting. A task no
//! worker has picked up yet costs nothing: the calling thread takes its
//! blocks and the late worker finds none left.

use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

use rayon::prelude::*;

/// The blocks of one task's range not yet taken: `front..back`, packed
/// into one word so that the owner (taking from the front) and a thief
/// (taking from the back) claim with one compare-and-swap each.
struct Remaining(AtomicU64);

impl Remaining {
    fn new(blocks: usize) -> Remaining {
        Remaining(AtomicU64::new((blocks as u64) << 32))
    }

    /// Takes the block at the front (`from_front`) or at the back.
    fn take(&self, from_front: bool) -> Option<usize> {
        let mut now = self.0.load(Ordering::Acquire);
        loop {
            let (front, back) = (now & 0xffff_ffff, now >> 32);
            if front >= back {
                return None;
            }
            let (next, taken) = if from_front {
                (now + 1, front)
            } else {
                (now - (1 << 32), back - 1)
            };
            match self
                .0
                .compare_exchange_weak(now, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Some(taken as usize),
                Err(seen) => now = seen,
            }
        }
    }
}

/// Runs items `0..len`: one task per `range` items (the last range may be
/// shorter), each range cut into blocks of `grain` items. `run(state,
/// items)` runs one block with the state of the task that took it, made by
/// `init(task)` before the task's first block. Returns each task's state,
/// `None` for a task that ran no block, in task order.
pub fn run_balanced<S, I, R>(
    len: usize,
    range: usize,
    grain: usize,
    init: I,
    run: R,
) -> Vec<Option<S>>
where
    S: Send,
    I: Fn(usize) -> S + Sync,
    R: Fn(&mut S, Range<usize>) + Sync,
{
    let range = range.max(1);
    let grain = grain.clamp(1, range);
    let tasks = len.div_ceil(range);
    let range_of = |t: usize| t * range..((t + 1) * range).min(len);
    let remaining: Vec<Remaining> = (0..tasks)
        .map(|t| Remaining::new(range_of(t).len().div_ceil(grain)))
        .collect();
    let block = |t: usize, b: usize| {
        let items = range_of(t);
        let start = items.start + b * grain;
        start..(start + grain).min(items.end)
    };
    let remaining = &remaining;
    (0..tasks)
        .into_par_iter()
        .map(|t| {
            let mut state: Option<S> = None;
            let mut run_block = |items: Range<usize>| {
                let s = state.get_or_insert_with(|| init(t));
                run(s, items);
            };
            while let Some(b) = remaining[t].take(true) {
                run_block(block(t, b));
            }
            for other in (t + 1..tasks).chain(0..t) {
                while let Some(b) = remaining[other].take(false) {
                    run_block(block(other, b));
                }
            }
            state
        })
        .collect()
}

/// [`run_balanced`] for work whose blocks each give a partial result, such
/// as a sum, that must not depend on which thread ran which block: each
/// range's total is its blocks' results combined in block order, and the
/// totals are returned in range order (one per range that had blocks).
/// `first(items)` is a block's result on its own; `then(total, items)`
/// combines a block's result into the total of the blocks before it in its
/// range, and must give what `combine(total, first(items))` gives (it lets
/// a kernel add into the total as it computes). The owner of a range
/// applies `then` to its blocks front to back; the blocks other threads
/// took from the back are combined after them, in order.
pub fn combine_in_block_order<P, F, T, C>(
    len: usize,
    range: usize,
    grain: usize,
    first: F,
    then: T,
    combine: C,
) -> Vec<P>
where
    P: Send,
    F: Fn(Range<usize>) -> P + Sync,
    T: Fn(&mut P, Range<usize>) + Sync,
    C: Fn(&mut P, P),
{
    /// A task's work: the total of its own range's blocks so far, and the
    /// blocks it took from the back of other ranges.
    struct Share<P> {
        task: usize,
        own: Option<P>,
        taken: Vec<(usize, P)>,
    }
    let range = range.max(1);
    let shares = run_balanced(
        len,
        range,
        grain,
        |task| Share {
            task,
            own: None,
            taken: Vec::new(),
        },
        |share: &mut Share<P>, items: Range<usize>| {
            let start = items.start;
            if start / range != share.task {
                share.taken.push((start, first(items)));
            } else if let Some(own) = &mut share.own {
                then(own, items);
            } else {
                share.own = Some(first(items));
            }
        },
    );
    let mut totals: Vec<Option<P>> = (0..shares.len()).map(|_| None).collect();
    let mut taken = Vec::new();
    for share in shares.into_iter().flatten() {
        totals[share.task] = share.own;
        taken.extend(share.taken);
    }
    taken.sort_unstable_by_key(|(start, _)| *start);
    for (start, part) in taken {
        match &mut totals[start / range] {
            Some(total) => combine(total, part),
            empty => *empty = Some(part),
        }
    }
    totals.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn every_item_runs_exactly_once_in_blocks_inside_one_range() {
        for (len, range, grain) in [
            (784, 400, 64),
            (10, 3, 2),
            (1, 1, 1),
            (0, 4, 2),
            (17, 17, 5),
        ] {
            let seen = Mutex::new(vec![0u32; len]);
            let states = run_balanced(
                len,
                range,
                grain,
                |t| t,
                |_, items: Range<usize>| {
                    assert!(items.len() <= grain && !items.is_empty());
                    let range_of_end = (items.end - 1) / range;
                    assert_eq!(
                        items.start / range,
                        range_of_end,
                        "a block inside one range"
                    );
                    for i in items {
                        seen.lock().unwrap()[i] += 1;
                    }
                },
            );
            assert_eq!(states.len(), len.div_ceil(range));
            assert!(seen.into_inner().unwrap().iter().all(|&n| n == 1));
        }
    }

    #[test]
    fn a_lone_thread_runs_its_own_range_then_takes_the_others_from_the_back() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let order = Mutex::new(Vec::new());
        let states = pool.install(|| {
            run_balanced(
                20,
                10,
                3,
                |t| t,
                |&mut t, items: Range<usize>| {
                    order.lock().unwrap().push((t, items.start));
                },
            )
        });
        // Task 0 runs its range front to back, then task 1's from the back,
        // so task 1 finds nothing left and reports no state.
        let order = order.into_inner().unwrap();
        assert_eq!(
            order,
            [
                (0, 0),
                (0, 3),
                (0, 6),
                (0, 9),
                (0, 19),
                (0, 16),
                (0, 13),
                (0, 10)
            ]
        );
        assert_eq!(states, [Some(0), None]);
    }

    #[test]
    fn blocks_combine_in_block_order_within_each_range_whoever_ran_them() {
        // A combination that shows its order: the blocks' starts, listed.
        let list = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                combine_in_block_order(
                    20,
                    10,
                    3,
                    |items: Range<usize>| vec![items.start],
                    |total: &mut Vec<usize>, items: Range<usize>| total.push(items.start),
                    |total: &mut Vec<usize>, part: Vec<usize>| total.extend(part),
                )
            })
        };
        let want = [vec![0, 3, 6, 9], vec![10, 13, 16, 19]];
        assert_eq!(list(1), want);
        for _ in 0..20 {
            assert_eq!(list(2), want);
        }
    }

    #[test]
    fn the_remaining_blocks_are_taken_from_both_ends_without_overlap() {
        let r = Remaining::new(3);
        assert_eq!(r.take(false), Some(2));
        assert_eq!(r.take(true), Some(0));
        assert_eq!(r.take(true), Some(1));
        assert_eq!(r.take(false), None);
        assert_eq!(r.take(true), None);
    }
}
