//! The compute device, chosen at run time: the CPU, or a CUDA GPU in a build with the `cuda`
//! feature.
//!
//! The process has one default device ([`set_default_device`], from `--device`); a thread may
//! train on another ([`with_device`]). A network is placed on the device current on the thread
//! that builds it and stays there. Before a GPU is used it is probed ([`resolve`]): without a
//! driver, a device, or with a driver too old for the build's kernels, the answer is a one-line
//! cause instead of the panic cudarc gives.

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use dfdx::prelude::*;
use dfdx::tensor::Cpu;

use super::{NnError, NnResult};

/// A device asked for: `cpu`, `cuda` / `cuda:N`, or `auto` (the first GPU when one is usable,
/// else the CPU).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceChoice {
    Cpu,
    Cuda(usize),
    Auto,
}

impl DeviceChoice {
    /// Parses `cpu`, `cuda`, `cuda:N` or `auto`.
    pub fn parse(s: &str) -> Result<Self, String> {
        match s.trim() {
            "cpu" => Ok(DeviceChoice::Cpu),
            "cuda" => Ok(DeviceChoice::Cuda(0)),
            "auto" => Ok(DeviceChoice::Auto),
            other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
                Some(Ok(n)) => Ok(DeviceChoice::Cuda(n)),
                _ => Err(format!(
                    "unknown device '{other}' (allowed: cpu, cuda, cuda:N with N a GPU number \
                     from 0, auto)"
                )),
            },
        }
    }
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceChoice::Cpu => write!(f, "cpu"),
            DeviceChoice::Cuda(n) => write!(f, "cuda:{n}"),
            DeviceChoice::Auto => write!(f, "auto"),
        }
    }
}

/// The device networks are placed on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ComputeDevice {
    #[default]
    Cpu,
    Cuda(usize),
}

impl std::fmt::Display for ComputeDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ComputeDevice::Cpu => write!(f, "cpu"),
            ComputeDevice::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// A usable device and what to show of it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceInfo {
    pub device: ComputeDevice,
    /// The GPU's name (empty on the CPU).
    pub name: String,
    /// The GPU's memory in bytes (0 on the CPU).
    pub memory: usize,
}

impl DeviceInfo {
    pub fn cpu() -> Self {
        DeviceInfo {
            device: ComputeDevice::Cpu,
            name: String::new(),
            memory: 0,
        }
    }

    /// `cpu`, or `cuda:0 NVIDIA H100 80GB HBM3 79.2 GiB`.
    pub fn label(&self) -> String {
        match self.device {
            ComputeDevice::Cpu => "cpu".into(),
            ComputeDevice::Cuda(_) => format!(
                "{} {} {:.1} GiB",
                self.device,
                self.name,
                self.memory as f64 / (1u64 << 30) as f64
            ),
        }
    }
}

/// A device could not be used: the cause, in one line.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceError(pub String);

impl std::fmt::Display for DeviceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether this binary was built with the `cuda` feature.
pub fn cuda_built() -> bool {
    cfg!(feature = "cuda")
}

/// The device for `choice`, probed; for `auto`, also the reason the CPU was taken when a GPU
/// was not usable (`None` when the CPU was asked for or a GPU was found, and in a build
/// without CUDA, where the CPU is the only device).
pub fn resolve(choice: DeviceChoice) -> Result<(DeviceInfo, Option<String>), DeviceError> {
    match choice {
        DeviceChoice::Cpu => Ok((DeviceInfo::cpu(), None)),
        DeviceChoice::Cuda(n) => probe_cuda(n).map(|info| (info, None)),
        DeviceChoice::Auto if !cuda_built() => Ok((DeviceInfo::cpu(), None)),
        DeviceChoice::Auto => match probe_cuda(0) {
            Ok(info) => Ok((info, None)),
            Err(e) => Ok((DeviceInfo::cpu(), Some(format!("{e}: training on the CPU")))),
        },
    }
}

#[cfg(not(feature = "cuda"))]
fn probe_cuda(n: usize) -> Result<DeviceInfo, DeviceError> {
    Err(DeviceError(format!(
        "cuda:{n}: this fail-lab was built without CUDA (scripts/build-cuda.sh builds one with it)"
    )))
}

#[cfg(feature = "cuda")]
fn probe_cuda(n: usize) -> Result<DeviceInfo, DeviceError> {
    cuda::probe(n)
}

// 0 = the CPU, N + 1 = cuda:N
static DEFAULT_DEVICE: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    static THREAD_DEVICE: Cell<Option<ComputeDevice>> = const { Cell::new(None) };
}

fn encode(d: ComputeDevice) -> usize {
    match d {
        ComputeDevice::Cpu => 0,
        ComputeDevice::Cuda(n) => n + 1,
    }
}

/// Sets the device every thread trains on unless it says otherwise ([`with_device`]). Give
/// it a device [`resolve`] accepted.
pub fn set_default_device(d: ComputeDevice) {
    DEFAULT_DEVICE.store(encode(d), Ordering::Relaxed);
}

/// The device networks built on this thread are placed on.
pub fn current_device() -> ComputeDevice {
    THREAD_DEVICE.with(|c| c.get()).unwrap_or_else(|| {
        match DEFAULT_DEVICE.load(Ordering::Relaxed) {
            0 => ComputeDevice::Cpu,
            n => ComputeDevice::Cuda(n - 1),
        }
    })
}

/// Runs `f` with networks placed on `d` on this thread.
pub fn with_device<R>(d: ComputeDevice, f: impl FnOnce() -> R) -> R {
    let before = THREAD_DEVICE.with(|c| c.replace(Some(d)));
    struct Restore(Option<ComputeDevice>);
    impl Drop for Restore {
        fn drop(&mut self) {
            THREAD_DEVICE.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(before);
    f()
}

/// Number of compute threads tensor kernels use on the calling thread.
pub fn compute_threads() -> usize {
    rayon::current_num_threads()
}

/// Runs `f` with tensor kernels limited to `threads` compute threads (on this thread's
/// device).
///
/// The data-parallel passes of this folder (E2's network; an MLP's batches from 512 samples)
/// run their fixed chunks on this pool, and dfdx's CPU matmul asks rayon for its size. The
/// chunks do not depend on the pool's size, so neither do the numbers. The small models gain
/// nothing from more threads (their matmuls are slower split), so several such runs train
/// side by side on one thread each.
pub fn with_compute_threads<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    let device = current_device();
    match rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
    {
        Ok(pool) => pool.install(move || with_device(device, f)),
        Err(_) => f(),
    }
}

/// A tensor device of dfdx with what this folder does differently on it.
pub(crate) trait Backend:
    Device<f32> + TensorToArray<(), f32, Array = f32> + 'static
{
    /// Whether a batch's chunks run side by side on the rayon pool (the CPU); a GPU runs a
    /// whole batch at once.
    const CHUNKS_IN_PARALLEL: bool;

    /// `x + b` with `b` added to every row.
    fn add_bias<T: Tape<f32, Self> + Merge<T>>(
        x: Tensor<(usize, usize), f32, Self, T>,
        b: &Tensor<(usize,), f32, Self>,
    ) -> Tensor<(usize, usize), f32, Self, T>;

    /// A gradient store holding `g` as the gradient of `p`.
    fn gradients_holding<S: Shape>(
        p: &Tensor<S, f32, Self>,
        g: &[f32],
    ) -> NnResult<Gradients<f32, Self>>;

    /// Writes `src` (host numbers, as many as `p` has) into `store`'s slot for `p`.
    fn write_slot<S: Shape>(
        store: &mut Gradients<f32, Self>,
        p: &Tensor<S, f32, Self>,
        src: &[f32],
    ) -> NnResult<()>;

    /// Conv + bias + 2x2 max-pool of the rows of `x` (E2's N1, `conv2d/`); with `need_dx`
    /// false the host kernels send no gradient to `x`.
    fn conv_pool<T: Tape<f32, Self> + Merge<T>>(
        x: Tensor<(usize, usize), f32, Self, T>,
        w: &Tensor<(usize, usize), f32, Self>,
        b: &Tensor<(usize,), f32, Self>,
        s: super::ConvPoolShape,
        need_dx: bool,
    ) -> Tensor<(usize, usize), f32, Self, T>;
}

/// The CPU device, for the networks that always train on the host.
pub(crate) fn host_device() -> Cpu {
    Cpu::seed_from_u64(0)
}

/// Builds `$e` with `$dev` bound to the current device, wrapped in that device's variant of
/// the enum `Placed` of the calling file (`Placed::Cpu(..)` or `Placed::Cuda(..)`). Must be
/// used in a function returning `NnResult`.
macro_rules! place {
    ($dev:ident => $e:expr) => {
        match $crate::nn::device::current_device() {
            $crate::nn::device::ComputeDevice::Cpu => {
                let $dev = $crate::nn::device::host_device();
                Placed::Cpu($e)
            }
            #[cfg(feature = "cuda")]
            $crate::nn::device::ComputeDevice::Cuda(n) => {
                let $dev = $crate::nn::device::cuda_device(n)?;
                Placed::Cuda($e)
            }
            #[cfg(not(feature = "cuda"))]
            $crate::nn::device::ComputeDevice::Cuda(n) => {
                return Err($crate::nn::NnError(format!(
                    "cuda:{n}: this fail-lab was built without CUDA"
                )))
            }
        }
    };
}

/// `$e` on the network inside a `Placed` enum, bound to `$m` whatever its device.
macro_rules! on_device {
    ($placed:expr, $m:ident => $e:expr) => {
        match $placed {
            Placed::Cpu($m) => $e,
            #[cfg(feature = "cuda")]
            Placed::Cuda($m) => $e,
        }
    };
}

pub(crate) use {on_device, place};

impl Backend for Cpu {
    const CHUNKS_IN_PARALLEL: bool = true;

    /// dfdx's broadcast add walks both operands through a generic strided index, which made
    /// it the most expensive part of a training step at the paper's sizes (over a third of all
    /// instructions for E1); on the CPU this op adds the rows directly and sums the rows of
    /// the incoming gradient for `b`.
    fn add_bias<T: Tape<f32, Self> + Merge<T>>(
        x: Tensor<(usize, usize), f32, Self, T>,
        b: &Tensor<(usize,), f32, Self>,
    ) -> Tensor<(usize, usize), f32, Self, T> {
        use super::ops::host;
        let (batch, width) = *x.shape();
        let (x, x_tape) = x.split_tape();
        let (b, b_tape) = b.retaped::<T>().split_tape();
        let mut tape = x_tape.merge(b_tape);
        let bv = host(&b);
        let mut out = host(&x);
        for row in out.chunks_mut(width) {
            for (o, bj) in row.iter_mut().zip(&bv) {
                *o += bj;
            }
        }
        let out = x.device().tensor_from_vec(out, (batch, width));
        let (x_g, b_g, out_g) = (x.ghost(), b.ghost(), out.ghost());
        tape.add_backward_op(move |grads| {
            grads.try_alloc_for(&out_g)?;
            let go: Vec<f32> = grads.get_or_alloc_mut(&out_g)?.to_vec();
            let gx = grads.get_or_alloc_mut(&x_g)?;
            for (g, o) in gx.iter_mut().zip(&go) {
                *g += o;
            }
            let gb = grads.get_or_alloc_mut(&b_g)?;
            for row in go.chunks(width) {
                for (g, o) in gb.iter_mut().zip(row) {
                    *g += o;
                }
            }
            Ok(())
        });
        out.put_tape(tape)
    }

    fn gradients_holding<S: Shape>(
        p: &Tensor<S, f32, Self>,
        g: &[f32],
    ) -> NnResult<Gradients<f32, Self>> {
        let mut grads = Gradients::leaky();
        let slot = grads.get_or_alloc_mut(p).map_err(super::err)?;
        if slot.len() != g.len() {
            return Err(NnError(format!(
                "{} gradient numbers for a parameter of {}",
                g.len(),
                slot.len()
            )));
        }
        slot.copy_from_slice(g);
        Ok(grads)
    }

    fn write_slot<S: Shape>(
        store: &mut Gradients<f32, Self>,
        p: &Tensor<S, f32, Self>,
        src: &[f32],
    ) -> NnResult<()> {
        let slot = store.get_or_alloc_mut(p).map_err(super::err)?;
        if slot.len() != src.len() {
            return Err(NnError(format!(
                "{} numbers for a parameter of {}",
                src.len(),
                slot.len()
            )));
        }
        slot.copy_from_slice(src);
        Ok(())
    }

    /// The host kernels of `conv2d/` (AVX-512, AVX2 + FMA or generic).
    fn conv_pool<T: Tape<f32, Self> + Merge<T>>(
        x: Tensor<(usize, usize), f32, Self, T>,
        w: &Tensor<(usize, usize), f32, Self>,
        b: &Tensor<(usize,), f32, Self>,
        s: super::ConvPoolShape,
        need_dx: bool,
    ) -> Tensor<(usize, usize), f32, Self, T> {
        super::conv2d::conv_pool_op(x, w, b, s, need_dx)
    }
}

#[cfg(feature = "cuda")]
pub(crate) use cuda::cuda_device;

#[cfg(feature = "cuda")]
mod cuda {
    use std::cell::RefCell;

    use cudarc::driver::{result, sys, DriverError};
    use dfdx::prelude::*;
    use dfdx::tensor::Cuda;

    use super::{Backend, ComputeDevice, DeviceError, DeviceInfo};
    use crate::nn::{err, NnError, NnResult};

    thread_local! {
        // one handle per thread and GPU: building one creates streams and a cuBLAS handle
        static DEVICES: RefCell<Vec<(usize, Cuda)>> = const { RefCell::new(Vec::new()) };
    }

    /// The dfdx device of GPU `n` (probed first: cudarc panics where there is none).
    pub(crate) fn cuda_device(n: usize) -> NnResult<Cuda> {
        if let Some(d) = DEVICES.with(|v| v.borrow().iter().find(|(i, _)| *i == n).cloned()) {
            return Ok(d.1);
        }
        probe(n).map_err(|e| NnError(e.0))?;
        let dev = Cuda::try_build(n, 0).map_err(err)?;
        DEVICES.with(|v| v.borrow_mut().push((n, dev.clone())));
        Ok(dev)
    }

    fn cause(what: &str, e: DriverError) -> DeviceError {
        let name = e
            .error_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|_| format!("{:?}", e.0));
        let why = match e.0 {
            sys::CUresult::CUDA_ERROR_NO_DEVICE => "no CUDA GPU on this machine".to_string(),
            sys::CUresult::CUDA_ERROR_UNSUPPORTED_PTX_VERSION => format!(
                "the NVIDIA driver is too old for this build's kernels (PTX of CUDA 13.0 for {}: \
                 it needs driver 580 or newer)",
                env!("FAIL_LAB_PTX_ARCH")
            ),
            sys::CUresult::CUDA_ERROR_INVALID_PTX | sys::CUresult::CUDA_ERROR_NO_BINARY_FOR_GPU => {
                format!(
                    "this GPU cannot run this build's kernels (PTX for {}): rebuild with \
                 CUDA_COMPUTE_CAP set to its compute capability",
                    env!("FAIL_LAB_PTX_ARCH")
                )
            }
            _ => "the CUDA driver refused".to_string(),
        };
        DeviceError(format!("{what}: {why} ({name})"))
    }

    /// GPU `n`, checked step by step: the driver starts, has the GPU, and runs a kernel.
    pub(crate) fn probe(n: usize) -> Result<DeviceInfo, DeviceError> {
        let what = format!("{}", ComputeDevice::Cuda(n));
        // the launcher of target/cuda/dist starts the binary on stand-ins of the CUDA
        // libraries where the machine has no NVIDIA driver, and says so here
        if let Some(why) = std::env::var_os("FAIL_LAB_NO_CUDA_DRIVER") {
            return Err(DeviceError(format!(
                "{what}: no NVIDIA driver on this machine ({})",
                why.to_string_lossy()
            )));
        }
        result::init().map_err(|e| cause(&what, e))?;
        let count = result::device::get_count().map_err(|e| cause(&what, e))?;
        if count <= 0 {
            return Err(DeviceError(format!("{what}: no CUDA GPU on this machine")));
        }
        if n >= count as usize {
            return Err(DeviceError(format!(
                "{what}: this machine has {count} CUDA GPU(s): cuda:0 to cuda:{}",
                count - 1
            )));
        }
        let cu = result::device::get(n as i32).map_err(|e| cause(&what, e))?;
        let mut name = [0 as std::ffi::c_char; 256];
        // SAFETY: the buffer holds 256 bytes and the driver writes a NUL-terminated name
        unsafe { sys::cuDeviceGetName(name.as_mut_ptr(), name.len() as i32, cu) }
            .result()
            .map_err(|e| cause(&what, e))?;
        // SAFETY: `cu` is a device handle the driver gave
        let memory = unsafe { result::device::total_mem(cu) }.map_err(|e| cause(&what, e))?;
        // SAFETY: cuDeviceGetName wrote a NUL-terminated string into the buffer
        let name = unsafe { std::ffi::CStr::from_ptr(name.as_ptr()) }
            .to_string_lossy()
            .into_owned();
        // a kernel of the build: loading its PTX fails on a driver older than the compiler
        let dev = Cuda::try_build(n, 0).map_err(|e| kernel_cause(&what, e))?;
        let a: Tensor<(usize,), f32, Cuda> = dev
            .try_tensor_from_vec(vec![1.0, 2.0], (2,))
            .map_err(|e| kernel_cause(&what, e))?;
        let s = a.try_relu().map_err(|e| kernel_cause(&what, e))?;
        let mut back = [0.0f32; 2];
        s.copy_into(&mut back);
        if back != [1.0, 2.0] {
            return Err(DeviceError(format!(
                "{what}: a test kernel gave {back:?} instead of [1.0, 2.0]"
            )));
        }
        Ok(DeviceInfo {
            device: ComputeDevice::Cuda(n),
            name,
            memory,
        })
    }

    fn kernel_cause(what: &str, e: dfdx::tensor::CudaError) -> DeviceError {
        match e {
            dfdx::tensor::CudaError::Driver(d) => cause(what, d),
            other => DeviceError(format!("{what}: {other:?}")),
        }
    }

    impl Backend for Cuda {
        const CHUNKS_IN_PARALLEL: bool = false;

        fn add_bias<T: Tape<f32, Self> + Merge<T>>(
            x: Tensor<(usize, usize), f32, Self, T>,
            b: &Tensor<(usize,), f32, Self>,
        ) -> Tensor<(usize, usize), f32, Self, T> {
            let shape = *x.shape();
            x + b.retaped::<T>().broadcast_like::<_, Axis<0>>(&shape)
        }

        /// On a device the store is written by the device's own ops, as the gradient of
        /// `sum(p * g)` (exactly `g`).
        fn gradients_holding<S: Shape>(
            p: &Tensor<S, f32, Self>,
            g: &[f32],
        ) -> NnResult<Gradients<f32, Self>> {
            if g.len() != p.shape().num_elements() {
                return Err(NnError(format!(
                    "{} gradient numbers for a parameter of {}",
                    g.len(),
                    p.shape().num_elements()
                )));
            }
            let dev = p.device().clone();
            let mut gt = dev.try_zeros_like(p).map_err(err)?;
            gt.copy_from(g);
            Ok((p.clone().leaky_traced() * gt).sum::<(), _>().backward())
        }

        /// A checkpoint's optimizer state is not written back into device memory (a resume
        /// with a fresh optimizer would not be the run it continues): refused with the reason.
        fn write_slot<S: Shape>(
            _store: &mut Gradients<f32, Self>,
            _p: &Tensor<S, f32, Self>,
            _src: &[f32],
        ) -> NnResult<()> {
            Err(NnError(
                "restoring an optimizer's state from a checkpoint onto a GPU is not supported; \
                 resume with --device cpu"
                    .into(),
            ))
        }

        /// dfdx's own ops (`conv2d/gathered.rs`): the host kernels cannot read device memory.
        /// The gradient to `x` is always computed.
        fn conv_pool<T: Tape<f32, Self> + Merge<T>>(
            x: Tensor<(usize, usize), f32, Self, T>,
            w: &Tensor<(usize, usize), f32, Self>,
            b: &Tensor<(usize,), f32, Self>,
            s: crate::nn::ConvPoolShape,
            _need_dx: bool,
        ) -> Tensor<(usize, usize), f32, Self, T> {
            crate::nn::conv2d::conv_pool_gathered(x, w, b, s)
        }
    }
}
