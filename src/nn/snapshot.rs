//! A model's whole training state as plain numbers, for checkpoints: its parameters and its
//! optimizer's step count and moments, each flattened in the model's parameter order.

use dfdx::prelude::{HasShape, Shape, Tensor};

use super::device::Backend;
use super::ops::{host, Mat, Vector};
use super::optim::Optimizer;
use super::{NnError, NnResult};

/// Parameters and optimizer state of one model, flattened in its parameter order (the order
/// of its `param_layout`). `m` and `v` are Adam's moments (SGD keeps its velocity buffer in
/// `m`, and `v` stays zero).
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSnapshot {
    pub params: Vec<f32>,
    pub steps: i32,
    pub m: Vec<f32>,
    pub v: Vec<f32>,
}

/// One parameter tensor of a model, either shape.
pub(crate) enum ParamRef<'a, D: Backend> {
    Mat(&'a Mat<dfdx::prelude::NoneTape, D>),
    Vec(&'a Vector<D>),
}

/// One parameter tensor of a model, to be written.
pub(crate) enum ParamMut<'a, D: Backend> {
    Mat(&'a mut Mat<dfdx::prelude::NoneTape, D>),
    Vec(&'a mut Vector<D>),
}

fn len_of<S: Shape, D: Backend>(t: &Tensor<S, f32, D>) -> usize {
    t.shape().num_elements()
}

/// The snapshot of the parameters `params` (in order) and of `opt`'s state for them.
pub(crate) fn take_snapshot<'a, D: Backend>(
    params: impl Iterator<Item = ParamRef<'a, D>>,
    opt: &mut Optimizer,
) -> NnResult<TrainSnapshot> {
    let mut s = TrainSnapshot {
        params: Vec::new(),
        steps: opt.steps(),
        m: Vec::new(),
        v: Vec::new(),
    };
    for p in params {
        match p {
            ParamRef::Mat(t) => {
                s.params.extend(host(t));
                opt.save_slot(t, &mut s.m, &mut s.v)?;
            }
            ParamRef::Vec(t) => {
                s.params.extend(host(t));
                opt.save_slot(t, &mut s.m, &mut s.v)?;
            }
        }
    }
    Ok(s)
}

/// Writes a snapshot back into the parameters `params` (in order, the same shapes) and into
/// `opt`'s state for them. Nothing is written when the sizes do not match.
pub(crate) fn restore_snapshot<'a, D: Backend>(
    params: impl Iterator<Item = ParamMut<'a, D>>,
    opt: &mut Optimizer,
    s: &TrainSnapshot,
) -> NnResult<()> {
    let mut params: Vec<ParamMut<'a, D>> = params.collect();
    let total: usize = params
        .iter()
        .map(|p| match p {
            ParamMut::Mat(t) => len_of(t),
            ParamMut::Vec(t) => len_of(t),
        })
        .sum();
    if s.params.len() != total || s.m.len() != total || s.v.len() != total {
        return Err(NnError(format!(
            "the checkpoint holds {} parameters ({} and {} moments), the network has {total}",
            s.params.len(),
            s.m.len(),
            s.v.len()
        )));
    }
    let (mut at, mut m, mut v) = (0, &s.m[..], &s.v[..]);
    for p in params.iter_mut() {
        match p {
            ParamMut::Mat(t) => {
                let n = len_of(t);
                t.copy_from(&s.params[at..at + n]);
                opt.load_slot(*t, &mut m, &mut v)?;
                at += n;
            }
            ParamMut::Vec(t) => {
                let n = len_of(t);
                t.copy_from(&s.params[at..at + n]);
                opt.load_slot(*t, &mut m, &mut v)?;
                at += n;
            }
        }
    }
    opt.set_steps(s.steps);
    Ok(())
}
