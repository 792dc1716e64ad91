//! SGD and Adam applied to runtime-shaped parameters through dfdx's public update kernels.

#[cfg(not(feature = "cuda"))]
use dfdx::prelude::HasShape;
use dfdx::prelude::{AdamConfig, Gradients, SgdConfig, Shape, Tensor};

use super::device::Dev;
use super::{err, NnResult};

/// Which optimizer, with its hyperparameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptimKind {
    /// Plain SGD, no momentum.
    Sgd { lr: f64 },
    /// Adam with bias correction.
    Adam {
        lr: f64,
        beta1: f64,
        beta2: f64,
        eps: f64,
    },
}

impl OptimKind {
    pub fn sgd(lr: f64) -> Self {
        OptimKind::Sgd { lr }
    }

    /// "Adam default": beta1 0.9, beta2 0.999, eps 1e-8.
    pub fn adam(lr: f64) -> Self {
        OptimKind::Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
        }
    }

    /// "Adam (b2 = 0.99, eps = 1e-5)", the setting of the authors' TensorFlow code.
    pub fn adam_tf(lr: f64) -> Self {
        OptimKind::Adam {
            lr,
            beta1: 0.9,
            beta2: 0.99,
            eps: 1e-5,
        }
    }

    /// Parses the names used in scenario files: `sgd`, `adam`, `adam99`.
    pub fn from_name(name: &str, lr: f64) -> Option<Self> {
        match name {
            "sgd" => Some(Self::sgd(lr)),
            "adam" => Some(Self::adam(lr)),
            "adam99" => Some(Self::adam_tf(lr)),
            _ => None,
        }
    }

    pub fn lr(&self) -> f64 {
        match *self {
            OptimKind::Sgd { lr } | OptimKind::Adam { lr, .. } => lr,
        }
    }
}

/// An optimizer with its state (Adam moments / SGD velocity), keyed by parameter.
///
/// Not `Send` (dfdx's gradient stores are not): build it inside the thread that trains.
pub struct Optimizer {
    kind: OptimKind,
    t: i32,
    m: Gradients<f32, Dev>,
    v: Gradients<f32, Dev>,
}

impl Optimizer {
    pub fn new(kind: OptimKind) -> Self {
        Self {
            kind,
            t: 0,
            m: Gradients::leaky(),
            v: Gradients::leaky(),
        }
    }

    pub fn kind(&self) -> OptimKind {
        self.kind
    }

    /// Number of steps taken so far.
    pub fn steps(&self) -> i32 {
        self.t
    }

    /// Sets the number of steps taken (a checkpoint's).
    pub(crate) fn set_steps(&mut self, t: i32) {
        self.t = t;
    }

    /// Appends the state kept for `p` (first moment or SGD velocity to `m`, second moment to
    /// `v`; zeros where none was kept yet).
    pub(crate) fn save_slot<S: Shape>(
        &mut self,
        p: &Tensor<S, f32, Dev>,
        m: &mut Vec<f32>,
        v: &mut Vec<f32>,
    ) -> NnResult<()> {
        for (store, out) in [(&mut self.m, m), (&mut self.v, v)] {
            store.try_alloc_for(p).map_err(err)?;
            #[cfg(not(feature = "cuda"))]
            out.extend_from_slice(store.get_or_alloc_mut(p).map_err(err)?);
            #[cfg(feature = "cuda")]
            out.extend(super::ops::host(&store.get(p)));
        }
        Ok(())
    }

    /// Takes the state kept for `p` from the front of `m` and `v` (as [`Optimizer::save_slot`]
    /// wrote it).
    #[cfg(not(feature = "cuda"))]
    pub(crate) fn load_slot<'a, S: Shape>(
        &mut self,
        p: &Tensor<S, f32, Dev>,
        m: &mut &'a [f32],
        v: &mut &'a [f32],
    ) -> NnResult<()> {
        let n = p.shape().num_elements();
        for (store, src) in [(&mut self.m, m), (&mut self.v, v)] {
            if src.len() < n {
                return Err(super::NnError(format!(
                    "{} optimizer numbers left for a parameter of {n}",
                    src.len()
                )));
            }
            let (head, tail) = src.split_at(n);
            store
                .get_or_alloc_mut(p)
                .map_err(err)?
                .copy_from_slice(head);
            *src = tail;
        }
        Ok(())
    }

    /// On a device the optimizer's state is not written back from the host.
    #[cfg(feature = "cuda")]
    pub(crate) fn load_slot<S: Shape>(
        &mut self,
        _p: &Tensor<S, f32, Dev>,
        _m: &mut &[f32],
        _v: &mut &[f32],
    ) -> NnResult<()> {
        Err(super::NnError(
            "restoring an optimizer's state from a checkpoint needs the CPU build".into(),
        ))
    }

    /// Starts a new step (Adam's bias correction counts steps from 1).
    pub(crate) fn begin_step(&mut self) {
        self.t += 1;
    }

    /// Applies one update to `p` from its gradient in `grads`.
    pub(crate) fn update<S: Shape>(
        &mut self,
        p: &mut Tensor<S, f32, Dev>,
        grads: &mut Gradients<f32, Dev>,
    ) -> NnResult<()> {
        let g = grads.get_or_alloc_mut(p).map_err(err)?;
        match self.kind {
            OptimKind::Sgd { lr } => {
                let cfg = SgdConfig {
                    lr,
                    momentum: None,
                    weight_decay: None,
                };
                let vel = self.m.get_or_alloc_mut(p).map_err(err)?;
                cfg.try_update(p, vel, g).map_err(err)
            }
            OptimKind::Adam {
                lr,
                beta1,
                beta2,
                eps,
            } => {
                let cfg = AdamConfig {
                    lr,
                    betas: [beta1, beta2],
                    eps,
                    weight_decay: None,
                };
                let m = self.m.get_or_alloc_mut(p).map_err(err)?;
                let v = self.v.get_or_alloc_mut(p).map_err(err)?;
                cfg.try_update(self.t.max(1), p, m, v, g).map_err(err)
            }
        }
    }

    /// Applies one update to `p` from its gradient given as host numbers (as many as `p`
    /// has), e.g. the sum of the gradients of a batch's chunks.
    pub(crate) fn update_from_host<S: Shape>(
        &mut self,
        p: &mut Tensor<S, f32, Dev>,
        g: &[f32],
    ) -> NnResult<()> {
        let mut grads = gradients_holding(p, g)?;
        self.update(p, &mut grads)
    }
}

/// A gradient store holding `g` as the gradient of `p`.
#[cfg(not(feature = "cuda"))]
fn gradients_holding<S: Shape>(
    p: &Tensor<S, f32, Dev>,
    g: &[f32],
) -> NnResult<Gradients<f32, Dev>> {
    let mut grads = Gradients::leaky();
    let slot = grads.get_or_alloc_mut(p).map_err(err)?;
    if slot.len() != g.len() {
        return Err(super::NnError(format!(
            "{} gradient numbers for a parameter of {}",
            g.len(),
            slot.len()
        )));
    }
    slot.copy_from_slice(g);
    Ok(grads)
}

/// A gradient store holding `g` as the gradient of `p`: on a device the store is written by
/// the device's own ops, as the gradient of `sum(p * g)` (exactly `g`).
#[cfg(feature = "cuda")]
fn gradients_holding<S: Shape>(
    p: &Tensor<S, f32, Dev>,
    g: &[f32],
) -> NnResult<Gradients<f32, Dev>> {
    use dfdx::prelude::*;
    let dev = p.device().clone();
    let mut gt = dev.try_zeros_like(p).map_err(err)?;
    gt.copy_from(g);
    Ok((p.clone().leaky_traced() * gt).sum::<(), _>().backward())
}
