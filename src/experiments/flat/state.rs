//! A method's training state in part 4 as checkpoint bytes: its model and optimizer, its data
//! stream, the loss since the last evaluation, and the last evaluation with its predictions
//! (what the summary and the figures are made of).

use super::model::{Eval, Model, Prediction};
use super::setup::DataRng;
use crate::experiments::ctx::Halt;
use crate::experiments::state::{StateReader, StateWriter};
use crate::nn::Optimizer;

/// Everything a method's training changes besides its model and optimizer.
pub(super) struct Progress {
    pub(super) rng: DataRng,
    pub(super) loss_sum: f64,
    pub(super) loss_n: u64,
    pub(super) eval_count: u64,
    pub(super) last: Eval,
    pub(super) last_pred: Prediction,
}

impl Progress {
    /// The state, after `head` (what an experiment of several methods keeps of the finished
    /// ones).
    pub(super) fn save(
        &self,
        head: &[u8],
        model: &Model,
        opt: &mut Optimizer,
    ) -> Result<Vec<u8>, Halt> {
        let snap = match model {
            Model::Linear(m) => m.snapshot(opt)?,
            Model::Net(m) => m.snapshot(opt)?,
        };
        let mut w = StateWriter::new();
        w.snapshot(&snap);
        for x in self.rng.words() {
            w.u64(x);
        }
        w.f64(self.loss_sum)
            .u64(self.loss_n)
            .u64(self.eval_count)
            .f64(self.last.wrong_level)
            .f64(self.last.mse)
            .f64(self.last.mae)
            .bool(self.last.linear.is_some());
        let (a, b, c) = self.last.linear.unwrap_or_default();
        w.f64(a).f64(b).f64(c).f32s(&self.last_pred.output);
        w.u64(self.last_pred.level.len() as u64);
        for &l in &self.last_pred.level {
            w.u64(l as u64);
        }
        let mut bytes = head.to_vec();
        bytes.extend(w.into_bytes());
        Ok(bytes)
    }

    /// The state of [`Progress::save`] (after its head) put back into `model` and `opt`.
    pub(super) fn load(
        r: &mut StateReader<'_>,
        model: &mut Model,
        opt: &mut Optimizer,
    ) -> Result<Self, String> {
        let snap = r.snapshot()?;
        match model {
            Model::Linear(m) => m.restore(opt, &snap),
            Model::Net(m) => m.restore(opt, &snap),
        }
        .map_err(|e| e.to_string())?;
        let words = [r.u64()?, r.u64()?, r.u64()?, r.u64()?];
        let (loss_sum, loss_n, eval_count) = (r.f64()?, r.u64()?, r.u64()?);
        let (wrong_level, mse, mae, linear) = (r.f64()?, r.f64()?, r.f64()?, r.bool()?);
        let abc = (r.f64()?, r.f64()?, r.f64()?);
        let output = r.f32s()?;
        let n = r.u64()? as usize;
        if n != output.len() {
            return Err(format!("{n} predicted levels for {} outputs", output.len()));
        }
        let level = (0..n)
            .map(|_| r.u64().map(|l| l as usize))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            rng: DataRng::from_words(words),
            loss_sum,
            loss_n,
            eval_count,
            last: Eval {
                wrong_level,
                mse,
                mae,
                linear: linear.then_some(abc),
            },
            last_pred: Prediction { output, level },
        })
    }
}
