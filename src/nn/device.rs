//! Device selection, in one place: `Cpu` by default, `Cuda` with the `cuda` feature.

#[cfg(not(feature = "cuda"))]
pub(crate) type Dev = dfdx::tensor::Cpu;
#[cfg(feature = "cuda")]
pub(crate) type Dev = dfdx::tensor::Cuda;

/// A fresh device handle seeded with `seed`.
pub(crate) fn new_device(seed: u64) -> Dev {
    #[cfg(not(feature = "cuda"))]
    {
        dfdx::tensor::Cpu::seed_from_u64(seed)
    }
    #[cfg(feature = "cuda")]
    {
        dfdx::tensor::Cuda::seed_from_u64(seed)
    }
}

/// Human-readable name of the compute device this build uses.
pub fn device_name() -> &'static str {
    if cfg!(feature = "cuda") {
        "cuda"
    } else {
        "cpu"
    }
}

/// Number of compute threads tensor kernels use on the calling thread.
pub fn compute_threads() -> usize {
    rayon::current_num_threads()
}

/// Runs `f` with tensor kernels limited to `threads` compute threads.
///
/// The data-parallel passes of this folder (E2's network; an MLP's batches from 512 samples)
/// run their fixed chunks on this pool, and dfdx's CPU matmul asks rayon for its size. The
/// chunks do not depend on the pool's size, so neither do the numbers. The small models gain
/// nothing from more threads (their matmuls are slower split), so several such runs train
/// side by side on one thread each.
pub fn with_compute_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    match rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
    {
        Ok(pool) => pool.install(f),
        Err(_) => f(),
    }
}
