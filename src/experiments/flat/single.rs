//! E11, E12, E13 and E14: each method of part 4 in its own experiment, with its own defaults;
//! one runner for the four.

use super::model::{hyper, Method};
use super::params::{
    b_init_param, eval_params, setup_params, sharpness_param, training_params, width_param,
};
use super::setup::Setup;
use super::train::{train_method, Out};
use crate::experiments::ctx::{Ctx, Halt, Summary};
use crate::experiments::state::StateReader;
use crate::spec::{ParamDef, Params};

pub(super) fn e11_params() -> Vec<ParamDef> {
    let mut v = setup_params();
    v.extend([b_init_param(), sharpness_param()]);
    v.extend(training_params(0.01, 10_000));
    v.extend(eval_params());
    v
}

pub(super) fn e12_params() -> Vec<ParamDef> {
    let mut v = setup_params();
    v.push(width_param());
    v.extend(training_params(1e-3, 10_000));
    v.extend(eval_params());
    v
}

pub(super) fn e13_params() -> Vec<ParamDef> {
    e12_params()
}

pub(super) fn e14_params() -> Vec<ParamDef> {
    let mut v = setup_params();
    v.push(b_init_param());
    v.extend(training_params(1e-3, 5000));
    v.extend(eval_params());
    v
}

fn run_single(method: Method, p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    let setup = Setup::from_params(p, seed);
    let test = setup.test_set(seed, p.usize("test_samples"));
    let steps = p.int("steps") as u64;
    let h = hyper(p, p.float("lr"), steps)?;
    let mut out = Out {
        ctx,
        prefix: String::new(),
        offset: 0,
        total: steps,
        head: Vec::new(),
    };
    let restore = out.ctx.restore();
    let mut reader = restore.as_ref().map(|r| StateReader::new(&r.state));
    let resume = restore.as_ref().zip(reader.as_mut());
    let r = train_method(method, &setup, &h, &test, seed, &mut out, resume)?;
    let mut s = Summary::default();
    for (k, v) in &r.summary {
        s.set(k, *v);
    }
    for n in r.notes {
        s.note(n);
    }
    Ok(s)
}

pub(super) fn run_e11(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    run_single(Method::Surrogate, p, seed, ctx)
}

pub(super) fn run_e12(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    run_single(Method::Regression, p, seed, ctx)
}

pub(super) fn run_e13(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    run_single(Method::Classifier, p, seed, ctx)
}

pub(super) fn run_e14(p: &Params, seed: u64, ctx: &mut dyn Ctx) -> Result<Summary, Halt> {
    run_single(Method::ForwardOnly, p, seed, ctx)
}
