//! Data-parallel passes over a batch: the batch is cut into chunks of a fixed size (never a
//! function of the thread count), each chunk runs its own forward and backward pass on its own
//! tape, on the rayon pool the caller runs in ([`super::with_compute_threads`]), and the
//! chunks' results come back in chunk order. Gradients are then summed chunk 0, chunk 1, ...
//! so a step gives the same numbers, bit for bit, on one thread or on many.
//!
//! dfdx's tapes and gradient stores are not `Send`, but parameters without a tape are `Sync`:
//! every chunk builds its tape from the shared parameters inside the thread that runs it and
//! sends back plain numbers.

use std::ops::Range;

use rayon::prelude::*;

use super::NnResult;

/// The chunks of `n` items of at most `chunk` items each: `start..end` ranges, in order.
pub(crate) fn chunk_ranges(n: usize, chunk: usize) -> Vec<Range<usize>> {
    let chunk = chunk.max(1);
    (0..n)
        .step_by(chunk)
        .map(|start| start..(start + chunk).min(n))
        .collect()
}

/// `f` on every chunk of `n` items (at most `chunk` each), in parallel on the current rayon
/// pool when it has more than one thread; the results in chunk order, or the first error.
/// For networks on the CPU (a GPU's handles are not shared between threads, and a GPU runs a
/// chunk's ops in parallel itself: [`map_chunks_in_order`]).
pub(crate) fn map_chunks<T, F>(n: usize, chunk: usize, f: F) -> NnResult<Vec<T>>
where
    T: Send,
    F: Fn(Range<usize>) -> NnResult<T> + Sync,
{
    let ranges = chunk_ranges(n, chunk);
    if ranges.len() < 2 || rayon::current_num_threads() < 2 {
        ranges.into_iter().map(f).collect()
    } else {
        ranges.into_par_iter().map(&f).collect()
    }
}

/// `f` on every chunk of `n` items (at most `chunk` each), one after the other: the same
/// chunks as [`map_chunks`], so the same sums.
#[cfg(feature = "cuda")]
pub(crate) fn map_chunks_in_order<T, F>(n: usize, chunk: usize, f: F) -> NnResult<Vec<T>>
where
    F: Fn(Range<usize>) -> NnResult<T>,
{
    chunk_ranges(n, chunk).into_iter().map(f).collect()
}

/// The sum of equally long vectors, added in their order: `((v0 + v1) + v2) + ...`.
pub(crate) fn sum_in_order(parts: Vec<Vec<f32>>) -> Vec<f32> {
    let mut it = parts.into_iter();
    let mut acc = it.next().unwrap_or_default();
    for part in it {
        debug_assert_eq!(part.len(), acc.len());
        for (a, p) in acc.iter_mut().zip(&part) {
            *a += p;
        }
    }
    acc
}

/// The weight of a chunk of `len` of `total` items in a batch mean: `len / total`.
pub(crate) fn share(len: usize, total: usize) -> f32 {
    len as f32 / total as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_cover_the_batch_in_order() {
        assert_eq!(chunk_ranges(10, 4), vec![0..4, 4..8, 8..10]);
        assert_eq!(chunk_ranges(4, 4), vec![0..4]);
        assert_eq!(chunk_ranges(0, 4), Vec::<std::ops::Range<usize>>::new());
        assert_eq!(chunk_ranges(3, 0), vec![0..1, 1..2, 2..3]);
    }

    #[test]
    fn results_come_back_in_chunk_order_at_any_thread_count() {
        for threads in [1, 2, 3] {
            let got = super::super::with_compute_threads(threads, || {
                map_chunks(100, 7, |r| Ok(r.start * 1000 + r.end)).unwrap()
            });
            let want: Vec<usize> = chunk_ranges(100, 7)
                .into_iter()
                .map(|r| r.start * 1000 + r.end)
                .collect();
            assert_eq!(got, want, "{threads} threads");
        }
    }

    #[test]
    fn chunks_run_side_by_side_on_a_pool_of_two() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::time::{Duration, Instant};
        // each chunk waits (up to 5 s) until both have started: only threads side by side
        // see each other
        let started = AtomicUsize::new(0);
        let met = super::super::with_compute_threads(2, || {
            map_chunks(2, 1, |_| {
                started.fetch_add(1, Ordering::SeqCst);
                let t = Instant::now();
                while started.load(Ordering::SeqCst) < 2 && t.elapsed() < Duration::from_secs(5) {
                    std::thread::yield_now();
                }
                Ok(started.load(Ordering::SeqCst) == 2)
            })
            .unwrap()
        });
        assert_eq!(met, vec![true, true]);
    }

    #[test]
    fn the_first_error_is_returned() {
        let r = super::super::with_compute_threads(2, || {
            map_chunks(10, 2, |r| {
                if r.start >= 4 {
                    Err(super::super::NnError(format!("chunk at {}", r.start)))
                } else {
                    Ok(r.start)
                }
            })
        });
        assert!(r.is_err());
    }

    #[test]
    fn sums_add_in_order() {
        let s = sum_in_order(vec![vec![1.0, 2.0], vec![0.5, 0.25], vec![-1.0, 1.0]]);
        assert_eq!(s, vec![0.5, 3.25]);
        assert!(sum_in_order(vec![]).is_empty());
    }
}
