//! Losses, always a mean over the batch.

/// A training loss and its targets. Targets are row-major `batch x outputs`.
#[derive(Debug, Clone, Copy)]
pub enum Loss<'a> {
    /// mean over the batch of `max(0, 1 - y * score)`, with `y` in {-1, +1} (one output).
    Hinge(&'a [f32]),
    /// The part of the hinge loss that depends on the label: for y in {-1, +1},
    /// hinge(y s) = a(s) + y b(s) with b(s) = (hinge(s) - hinge(-s)) / 2, and this loss is the
    /// batch mean of y b(s). Its gradient is the target-dependent part of the hinge gradient
    /// (the part Theorem 1 is about); the rest, a'(s) grad s, is the same whatever the target.
    HingeLabelPart(&'a [f32]),
    /// mean over all elements of `(prediction - target)^2`.
    Mse(&'a [f32]),
    /// softmax cross-entropy against class indices (one per sample), mean over the batch.
    SoftmaxCrossEntropy(&'a [usize]),
    /// the model's output itself, summed over the batch (one output): its gradient is the
    /// sum of the per-sample score gradients. Used to read `d score / d w`.
    OutputSum,
}

impl Loss<'_> {
    /// The same loss restricted to the samples `start..start + len` of a batch with
    /// `outputs` outputs per sample.
    pub fn slice(&self, start: usize, len: usize, outputs: usize) -> Self {
        match *self {
            Loss::Hinge(y) => Loss::Hinge(&y[start..start + len]),
            Loss::HingeLabelPart(y) => Loss::HingeLabelPart(&y[start..start + len]),
            Loss::Mse(y) => Loss::Mse(&y[start * outputs..(start + len) * outputs]),
            Loss::SoftmaxCrossEntropy(c) => Loss::SoftmaxCrossEntropy(&c[start..start + len]),
            Loss::OutputSum => Loss::OutputSum,
        }
    }

    /// Plain-number value of this loss on already computed outputs (no tensors involved).
    pub fn value(&self, outputs: &[f32], width: usize) -> f64 {
        let n = outputs.len() / width.max(1);
        if n == 0 {
            return 0.0;
        }
        match *self {
            Loss::Hinge(y) => {
                outputs
                    .iter()
                    .zip(y)
                    .map(|(&s, &y)| (1.0 - (y * s) as f64).max(0.0))
                    .sum::<f64>()
                    / n as f64
            }
            Loss::HingeLabelPart(y) => {
                outputs
                    .iter()
                    .zip(y)
                    .map(|(&s, &y)| {
                        let z = (y * s) as f64;
                        ((1.0 - z).max(0.0) - (1.0 + z).max(0.0)) / 2.0
                    })
                    .sum::<f64>()
                    / n as f64
            }
            Loss::Mse(t) => {
                outputs
                    .iter()
                    .zip(t)
                    .map(|(&p, &t)| ((p - t) as f64).powi(2))
                    .sum::<f64>()
                    / outputs.len() as f64
            }
            Loss::SoftmaxCrossEntropy(c) => {
                let mut total = 0.0;
                for (row, &class) in outputs.chunks(width).zip(c) {
                    let m = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max) as f64;
                    let lse = m + row.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln();
                    total += lse - row[class] as f64;
                }
                total / n as f64
            }
            Loss::OutputSum => outputs.iter().map(|&v| v as f64).sum(),
        }
    }
}
