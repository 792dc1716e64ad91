//! A runtime-shaped multilayer perceptron: dense layers with a hidden activation and a linear
//! output, trained through dfdx with runtime (`usize`) shapes.

use dfdx::prelude::*;
use rand::Rng;

use super::device::{new_device, Dev};
use super::init::truncated_normal;
use super::loss::Loss;
use super::ops::{host, input_matrix, loss_tensor, push_grad, Dense, Mat};
use super::optim::Optimizer;
use super::{err, NnError, NnResult};

/// Activation between hidden layers (the output layer is always linear).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Relu,
    Identity,
}

/// One dense layer's weights as plain numbers: `w` is `inputs x outputs`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerWeights {
    pub inputs: usize,
    pub outputs: usize,
    pub w: Vec<f32>,
    pub b: Vec<f32>,
}

/// Dense layers `sizes[0] -> sizes[1] -> ... -> sizes[n]`, the hidden activation after every
/// layer but the last.
pub struct Mlp {
    dev: Dev,
    layers: Vec<Dense>,
    hidden: Activation,
}

impl Mlp {
    /// Truncated-normal weights with std `1/sqrt(fan_in)`, zero biases.
    pub fn new<R: Rng + ?Sized>(sizes: &[usize], hidden: Activation, rng: &mut R) -> Self {
        let layers = sizes
            .windows(2)
            .map(|io| {
                let (i, o) = (io[0], io[1]);
                LayerWeights {
                    inputs: i,
                    outputs: o,
                    w: truncated_normal(rng, i * o, 1.0 / (i as f32).sqrt()),
                    b: vec![0.0; o],
                }
            })
            .collect();
        Self::from_weights(layers, hidden).expect("shapes built from `sizes` are consistent")
    }

    /// A network with the given weights (checked for consistent shapes).
    pub fn from_weights(layers: Vec<LayerWeights>, hidden: Activation) -> NnResult<Self> {
        if layers.is_empty() {
            return Err(NnError("an MLP needs at least one layer".into()));
        }
        let dev = new_device(0);
        let mut built = Vec::with_capacity(layers.len());
        for (k, l) in layers.into_iter().enumerate() {
            if l.w.len() != l.inputs * l.outputs || l.b.len() != l.outputs {
                return Err(NnError(format!(
                    "layer {}: {} weights and {} biases do not fit {} x {}",
                    k + 1,
                    l.w.len(),
                    l.b.len(),
                    l.inputs,
                    l.outputs
                )));
            }
            if let Some(prev) = built.last() {
                let prev: &Dense = prev;
                if prev.w.shape().1 != l.inputs {
                    return Err(NnError(format!(
                        "layer {} takes {} inputs but the previous layer gives {}",
                        k + 1,
                        l.inputs,
                        prev.w.shape().1
                    )));
                }
            }
            built.push(Dense {
                w: dev.tensor_from_vec(l.w, (l.inputs, l.outputs)),
                b: dev.tensor_from_vec(l.b, (l.outputs,)),
            });
        }
        Ok(Self {
            dev,
            layers: built,
            hidden,
        })
    }

    /// The current weights as plain numbers.
    pub fn weights(&self) -> Vec<LayerWeights> {
        self.layers
            .iter()
            .map(|l| LayerWeights {
                inputs: l.w.shape().0,
                outputs: l.w.shape().1,
                w: host(&l.w),
                b: host(&l.b),
            })
            .collect()
    }

    pub fn inputs(&self) -> usize {
        self.layers[0].w.shape().0
    }

    pub fn outputs(&self) -> usize {
        self.layers[self.layers.len() - 1].w.shape().1
    }

    /// Number of trainable numbers.
    pub fn num_params(&self) -> usize {
        self.param_layout().iter().map(|(_, n)| n).sum()
    }

    /// Names and sizes of the parameter blocks, in the order of flattened gradients:
    /// `layer1.w`, `layer1.b`, `layer2.w`, ...
    pub fn param_layout(&self) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        for (k, l) in self.layers.iter().enumerate() {
            let (i, o) = *l.w.shape();
            out.push((format!("layer{}.w", k + 1), i * o));
            out.push((format!("layer{}.b", k + 1), o));
        }
        out
    }

    fn forward_t<T: Tape<f32, Dev> + Merge<T>>(&self, x: Mat<T>) -> Mat<T> {
        let n = self.layers.len();
        let mut h = x;
        for (k, l) in self.layers.iter().enumerate() {
            h = l.forward(h);
            if k + 1 < n && self.hidden == Activation::Relu {
                h = h.relu();
            }
        }
        h
    }

    fn input(&self, x: &[f32], batch: usize) -> NnResult<Mat> {
        input_matrix(&self.dev, x, batch, self.inputs())
    }

    /// Outputs (`batch x outputs`, row-major) for a batch of inputs (`batch x inputs`).
    pub fn forward(&self, x: &[f32], batch: usize) -> NnResult<Vec<f32>> {
        let x = self.input(x, batch)?;
        Ok(host(&self.forward_t(x)))
    }

    fn backward(
        &self,
        x: &[f32],
        batch: usize,
        loss: Loss<'_>,
    ) -> NnResult<(f32, Gradients<f32, Dev>)> {
        let x = self.input(x, batch)?.leaky_traced();
        let out = self.forward_t(x);
        let l = loss_tensor(&self.dev, out, loss)?;
        let value = l.array();
        let grads = l.backward();
        Ok((value, grads))
    }

    fn flatten(&self, grads: &mut Gradients<f32, Dev>) -> NnResult<Vec<f32>> {
        let mut flat = Vec::with_capacity(self.num_params());
        for l in &self.layers {
            push_grad(grads, &l.w, &mut flat)?;
            push_grad(grads, &l.b, &mut flat)?;
        }
        Ok(flat)
    }

    /// The loss on a batch and its gradient with respect to every parameter, flattened in
    /// the order of [`Mlp::param_layout`].
    pub fn loss_and_grads(
        &self,
        x: &[f32],
        batch: usize,
        loss: Loss<'_>,
    ) -> NnResult<(f32, Vec<f32>)> {
        let (value, mut grads) = self.backward(x, batch, loss)?;
        Ok((value, self.flatten(&mut grads)?))
    }

    /// One gradient of the loss per sample (`batch x num_params`, row-major): sample `i`'s
    /// row is the gradient of the loss on that sample alone.
    pub fn per_sample_grads(&self, x: &[f32], batch: usize, loss: Loss<'_>) -> NnResult<Vec<f32>> {
        let d = self.inputs();
        let width = self.outputs();
        let mut out = Vec::with_capacity(batch * self.num_params());
        for i in 0..batch {
            let (_, g) = self.loss_and_grads(&x[i * d..(i + 1) * d], 1, loss.slice(i, 1, width))?;
            out.extend(g);
        }
        Ok(out)
    }

    /// Gradient SNR (whole model and per parameter block, see [`crate::nn::gradient_snr`]) of
    /// `loss` over a probe batch of `batch` samples.
    ///
    /// For a dense layer the gradient of sample i is the outer product of the layer's input
    /// a_i and the loss's gradient at its output delta_i, so the mean gradient is A^T Delta / n
    /// and ||g_i||^2 = ||a_i||^2 ||delta_i||^2: one batched forward and backward pass gives the
    /// exact per-sample statistics without forming per-sample gradients.
    pub fn gradient_snr(
        &self,
        x: &[f32],
        batch: usize,
        loss: Loss<'_>,
    ) -> NnResult<super::SnrReport> {
        if batch == 0 {
            return Err(NnError("an SNR probe needs at least one sample".into()));
        }
        let n_layers = self.layers.len();
        let mut inputs: Vec<Vec<f32>> = vec![x.to_vec()];
        let mut outputs: Vec<Mat> = Vec::with_capacity(n_layers);
        let mut h = self.input(x, batch)?.leaky_traced();
        for (k, l) in self.layers.iter().enumerate() {
            let z = l.forward(h);
            outputs.push(z.retaped::<NoneTape>());
            h = if k + 1 < n_layers && self.hidden == Activation::Relu {
                z.relu()
            } else {
                z
            };
            if k + 1 < n_layers {
                inputs.push(host(&h));
            }
        }
        let l = loss_tensor(&self.dev, h, loss)?;
        let mut grads = l.backward();
        let n = batch as f64;
        let mut blocks = Vec::with_capacity(2 * n_layers);
        for (k, (a, z)) in inputs.iter().zip(&outputs).enumerate() {
            let (fan_in, fan_out) = *self.layers[k].w.shape();
            grads.try_alloc_for(z).map_err(err)?;
            // the loss is a mean over the batch: sample i's own gradient is n times its share
            let delta: Vec<f64> = host(&grads.get(z)).iter().map(|&v| v as f64 * n).collect();
            let mut mean_b = vec![0.0f64; fan_out];
            let (mut sq_w, mut sq_b) = (0.0f64, 0.0f64);
            for i in 0..batch {
                let ai = &a[i * fan_in..(i + 1) * fan_in];
                let di = &delta[i * fan_out..(i + 1) * fan_out];
                let a2: f64 = ai.iter().map(|&v| (v as f64).powi(2)).sum();
                let d2: f64 = di.iter().map(|v| v * v).sum();
                sq_w += a2 * d2;
                sq_b += d2;
                for (m, dv) in mean_b.iter_mut().zip(di) {
                    *m += dv;
                }
            }
            // sum_i a_i (x) delta_i = A^T Delta, on the device
            let at: Mat = self.dev.tensor_from_vec(a.clone(), (batch, fan_in));
            let dt: Mat = self
                .dev
                .tensor_from_vec(delta.iter().map(|&v| v as f32).collect(), (batch, fan_out));
            let mean_w: Vec<f64> = at
                .permute::<_, Axes2<1, 0>>()
                .matmul(dt)
                .as_vec()
                .into_iter()
                .map(f64::from)
                .collect();
            let block = |mean: &[f64], sq: f64| {
                let plugin: f64 = mean.iter().map(|m| (m / n).powi(2)).sum();
                super::Snr::from_moments(plugin, (sq / n - plugin).max(0.0), batch)
            };
            blocks.push((format!("layer{}.w", k + 1), block(&mean_w, sq_w)));
            blocks.push((format!("layer{}.b", k + 1), block(&mean_b, sq_b)));
        }
        let total = blocks
            .iter()
            .skip(1)
            .fold(blocks[0].1, |acc, (_, s)| acc.combine(s));
        Ok(super::SnrReport { total, blocks })
    }

    /// One optimizer step on the batch; returns the loss before the step.
    pub fn train_step(
        &mut self,
        x: &[f32],
        batch: usize,
        loss: Loss<'_>,
        opt: &mut Optimizer,
    ) -> NnResult<f32> {
        let (value, mut grads) = self.backward(x, batch, loss)?;
        opt.begin_step();
        for l in &mut self.layers {
            opt.update(&mut l.w, &mut grads)?;
            opt.update(&mut l.b, &mut grads)?;
        }
        Ok(value)
    }
}
