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
/// dfdx's CPU matmul asks rayon for the current pool size; at the sizes of the paper's models
/// one thread per run is fastest, and several runs then train side by side without fighting
/// over cores.
pub fn with_compute_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    match rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
    {
        Ok(pool) => pool.install(f),
        Err(_) => f(),
    }
}
