//! SGD and Adam applied to runtime-shaped parameters through dfdx's public update kernels.

use dfdx::prelude::{AdamConfig, Gradients, HasShape, SgdConfig, Shape, Tensor};

use std::any::Any;

use super::device::Backend;
use super::{err, NnError, NnResult};

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

/// An optimizer with its state (Adam moments / SGD velocity), keyed by parameter, on the
/// device of the first parameter it updates.
pub struct Optimizer {
    kind: OptimKind,
    t: i32,
    /// `Moments<D>` for the device `D` of the parameters, made at the first update.
    state: Option<Box<dyn Any + Send>>,
}

struct Moments<D: Backend> {
    m: Gradients<f32, D>,
    v: Gradients<f32, D>,
}

impl Optimizer {
    pub fn new(kind: OptimKind) -> Self {
        Self {
            kind,
            t: 0,
            state: None,
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
    pub(crate) fn save_slot<S: Shape, D: Backend>(
        &mut self,
        p: &Tensor<S, f32, D>,
        m: &mut Vec<f32>,
        v: &mut Vec<f32>,
    ) -> NnResult<()> {
        let state = self.moments::<D>()?;
        for (store, out) in [(&mut state.m, m), (&mut state.v, v)] {
            store.try_alloc_for(p).map_err(err)?;
            out.extend(super::ops::host(&store.get(p)));
        }
        Ok(())
    }

    /// Takes the state kept for `p` from the front of `m` and `v` (as [`Optimizer::save_slot`]
    /// wrote it).
    pub(crate) fn load_slot<'a, S: Shape, D: Backend>(
        &mut self,
        p: &Tensor<S, f32, D>,
        m: &mut &'a [f32],
        v: &mut &'a [f32],
    ) -> NnResult<()> {
        let n = p.shape().num_elements();
        let state = self.moments::<D>()?;
        for (store, src) in [(&mut state.m, m), (&mut state.v, v)] {
            if src.len() < n {
                return Err(super::NnError(format!(
                    "{} optimizer numbers left for a parameter of {n}",
                    src.len()
                )));
            }
            let (head, tail) = src.split_at(n);
            D::write_slot(store, p, head)?;
            *src = tail;
        }
        Ok(())
    }

    /// Starts a new step (Adam's bias correction counts steps from 1).
    pub(crate) fn begin_step(&mut self) {
        self.t += 1;
    }

    fn moments<D: Backend>(&mut self) -> NnResult<&mut Moments<D>> {
        let state = self.state.get_or_insert_with(|| {
            Box::new(Moments::<D> {
                m: Gradients::leaky(),
                v: Gradients::leaky(),
            })
        });
        state.downcast_mut::<Moments<D>>().ok_or_else(|| {
            NnError("one optimizer was given parameters on two different devices".into())
        })
    }

    /// Applies one update to `p` from its gradient in `grads`.
    pub(crate) fn update<S: Shape, D: Backend>(
        &mut self,
        p: &mut Tensor<S, f32, D>,
        grads: &mut Gradients<f32, D>,
    ) -> NnResult<()> {
        let (kind, t) = (self.kind, self.t);
        let state = self.moments::<D>()?;
        let g = grads.get_or_alloc_mut(p).map_err(err)?;
        match kind {
            OptimKind::Sgd { lr } => {
                let cfg = SgdConfig {
                    lr,
                    momentum: None,
                    weight_decay: None,
                };
                let vel = state.m.get_or_alloc_mut(p).map_err(err)?;
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
                let m = state.m.get_or_alloc_mut(p).map_err(err)?;
                let v = state.v.get_or_alloc_mut(p).map_err(err)?;
                cfg.try_update(t.max(1), p, m, v, g).map_err(err)
            }
        }
    }

    /// Applies one update to `p` from its gradient given as host numbers (as many as `p`
    /// has), e.g. the sum of the gradients of a batch's chunks.
    pub(crate) fn update_from_host<S: Shape, D: Backend>(
        &mut self,
        p: &mut Tensor<S, f32, D>,
        g: &[f32],
    ) -> NnResult<()> {
        let mut grads = D::gradients_holding(p, g)?;
        self.update(p, &mut grads)
    }
}
