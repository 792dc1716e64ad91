//! Which convolution kernels run: the best instruction set the CPU supports (AVX-512, AVX2 +
//! FMA, or plain code), unless `FAIL_LAB_CONV_ISA` (`avx2` or `generic`) or
//! [`with_conv_kernels`] asks for a slower one.

use std::sync::OnceLock;

use crate::nn::{NnError, NnResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Isa {
    Avx512,
    Avx2,
    Generic,
}

thread_local! {
    static FORCED: std::cell::Cell<Option<Isa>> = const { std::cell::Cell::new(None) };
}

fn detected_isa() -> Isa {
    static ISA: OnceLock<Isa> = OnceLock::new();
    *ISA.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        {
            let pick = std::env::var("FAIL_LAB_CONV_ISA").unwrap_or_default();
            if pick == "generic" {
                return Isa::Generic;
            }
            if pick != "avx2"
                && is_x86_feature_detected!("avx512f")
                && is_x86_feature_detected!("fma")
            {
                return Isa::Avx512;
            }
            if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
                return Isa::Avx2;
            }
        }
        Isa::Generic
    })
}

pub(super) fn isa() -> Isa {
    FORCED.with(|f| f.get()).unwrap_or_else(detected_isa)
}

/// The convolution kernels this CPU can run, best first: some of `avx512`, `avx2+fma`, and
/// always `generic`.
pub fn conv_kernels_available() -> Vec<&'static str> {
    let mut v = Vec::new();
    #[cfg(target_arch = "x86_64")]
    {
        if is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("fma") {
            v.push("avx512");
        }
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            v.push("avx2+fma");
        }
    }
    v.push("generic");
    v
}

/// Runs `f` with the convolution kernels `kind` (one of [`conv_kernels_available`]) on the
/// calling thread, to compare them; an unavailable kind is an error.
pub fn with_conv_kernels<R>(kind: &str, f: impl FnOnce() -> R) -> NnResult<R> {
    if !conv_kernels_available().contains(&kind) {
        return Err(NnError(format!(
            "convolution kernels {kind} are not available on this CPU; available: {}",
            conv_kernels_available().join(", ")
        )));
    }
    let pick = match kind {
        "avx512" => Isa::Avx512,
        "avx2+fma" => Isa::Avx2,
        _ => Isa::Generic,
    };
    let before = FORCED.with(|c| c.replace(Some(pick)));
    let out = f();
    FORCED.with(|c| c.set(before));
    Ok(out)
}

/// The instruction set the convolution kernels use on this CPU.
pub fn conv_kernel_isa() -> &'static str {
    match isa() {
        Isa::Avx512 => "avx512",
        Isa::Avx2 => "avx2+fma",
        Isa::Generic => "generic",
    }
}
