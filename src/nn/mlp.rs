//! A runtime-shaped multilayer perceptron: dense layers with a hidden activation and a linear
//! output, trained through dfdx with runtime (`usize`) shapes.

use dfdx::prelude::*;
use rand::Rng;

use dfdx::tensor::Cpu;

use super::device::{on_device, place, Backend};
use super::init::truncated_normal;
use super::loss::Loss;
use super::ops::{host, input_matrix, loss_tensor, push_grad, Dense, Mat};
use super::optim::Optimizer;
#[cfg(feature = "cuda")]
use super::parallel::map_chunks_in_order;
use super::parallel::{map_chunks, share, sum_in_order};
use super::{err, NnError, NnResult};

/// Samples per chunk of a data-parallel training step, at least (see [`Mlp::chunk_rows`]).
/// Every chunk packs the weights for its matmuls again and sums a whole gradient: with chunks
/// of 64 samples a step of E12's MLP (batch 256) took 15% longer on one thread and E9's
/// autoencoder (batch 100, two chunks of 50) 20%, so the paper's batches stay in one pass and
/// only larger ones are cut.
const CHUNK_ROWS: usize = 256;
/// Multiply-adds of a chunk's forward pass, at least (samples x parameters): below, the cost
/// of a pass on its own tape and of summing its gradient outweighs what a thread gains.
const MIN_CHUNK_WORK: usize = 4_000_000;

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
///
/// Placed on the current device ([`crate::nn::current_device`]) when built.
pub struct Mlp(Placed);

enum Placed {
    Cpu(MlpOn<Cpu>),
    #[cfg(feature = "cuda")]
    Cuda(MlpOn<dfdx::tensor::Cuda>),
}

impl Mlp {
    /// Truncated-normal weights with std `1/sqrt(fan_in)`, zero biases.
    ///
    /// # Panics
    /// When the current device is a GPU that fails (out of memory, a driver error): the
    /// engine ends the run as failed with the message.
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
        match Self::from_weights(layers, hidden) {
            Ok(m) => m,
            Err(e) => panic!("{e}"),
        }
    }

    /// A network with the given weights (checked for consistent shapes).
    pub fn from_weights(layers: Vec<LayerWeights>, hidden: Activation) -> NnResult<Self> {
        Ok(Mlp(
            place!(dev => MlpOn::from_weights(dev, layers, hidden)?),
        ))
    }

    /// The current weights as plain numbers.
    pub fn weights(&self) -> Vec<LayerWeights> {
        on_device!(&self.0, m => m.weights())
    }

    pub fn inputs(&self) -> usize {
        on_device!(&self.0, m => m.inputs())
    }

    pub fn outputs(&self) -> usize {
        on_device!(&self.0, m => m.outputs())
    }

    /// Number of trainable numbers.
    pub fn num_params(&self) -> usize {
        on_device!(&self.0, m => m.num_params())
    }

    /// Parameter blocks in flattening order: `layer{k}.w`, `layer{k}.b`, ...
    pub fn param_layout(&self) -> Vec<(String, usize)> {
        on_device!(&self.0, m => m.param_layout())
    }

    /// Outputs (`batch x outputs`, row-major) for a batch of inputs (`batch x inputs`).
    pub fn forward(&self, x: &[f32], batch: usize) -> NnResult<Vec<f32>> {
        on_device!(&self.0, m => m.forward(x, batch))
    }

    /// The loss on a batch and its gradient with respect to every parameter, flattened in
    /// the order of [`Mlp::param_layout`].
    pub fn loss_and_grads(
        &self,
        x: &[f32],
        batch: usize,
        loss: Loss<'_>,
    ) -> NnResult<(f32, Vec<f32>)> {
        on_device!(&self.0, m => m.loss_and_grads(x, batch, loss))
    }

    /// One gradient of the loss per sample (`batch x num_params`, row-major): sample `i`'s
    /// row is the gradient of the loss on that sample alone.
    pub fn per_sample_grads(&self, x: &[f32], batch: usize, loss: Loss<'_>) -> NnResult<Vec<f32>> {
        on_device!(&self.0, m => m.per_sample_grads(x, batch, loss))
    }

    /// Gradient SNR (whole model and per parameter block, see [`crate::nn::gradient_snr`]) of
    /// `loss` over a probe batch of `batch` samples (see `MlpOn::gradient_snr`).
    pub fn gradient_snr(
        &self,
        x: &[f32],
        batch: usize,
        loss: Loss<'_>,
    ) -> NnResult<super::SnrReport> {
        on_device!(&self.0, m => m.gradient_snr(x, batch, loss))
    }

    /// One optimizer step on the batch; returns the loss before the step. A large batch is
    /// cut into fixed chunks whose passes run in parallel on the CPU (see
    /// [`Mlp::loss_and_grads`]).
    pub fn train_step(
        &mut self,
        x: &[f32],
        batch: usize,
        loss: Loss<'_>,
        opt: &mut Optimizer,
    ) -> NnResult<f32> {
        on_device!(&mut self.0, m => m.train_step(x, batch, loss, opt))
    }

    /// The parameters and `opt`'s state for them, for a checkpoint.
    pub fn snapshot(&self, opt: &mut Optimizer) -> NnResult<crate::nn::TrainSnapshot> {
        on_device!(&self.0, n => n.snapshot(opt))
    }

    /// Writes a checkpoint's parameters and optimizer state back (the same shapes).
    pub fn restore(&mut self, opt: &mut Optimizer, s: &crate::nn::TrainSnapshot) -> NnResult<()> {
        on_device!(&mut self.0, n => n.restore(opt, s))
    }

    #[cfg(test)]
    fn chunk_rows(&self, batch: usize) -> usize {
        on_device!(&self.0, m => m.chunk_rows(batch))
    }

    /// The network on the CPU (where the tests build it).
    #[cfg(test)]
    fn on_cpu(&self) -> &MlpOn<Cpu> {
        #[allow(unreachable_patterns)]
        match &self.0 {
            Placed::Cpu(m) => m,
            _ => panic!("the tests build networks on the CPU"),
        }
    }
}

/// An [`Mlp`] on device `D`.
struct MlpOn<D: Backend> {
    dev: D,
    layers: Vec<Dense<D>>,
    hidden: Activation,
}

/// How a network runs its chunks of a batch: side by side on the CPU's rayon pool, one after
/// the other on a GPU (whose handles are not shared between threads).
trait MapChunks {
    fn map_chunks<T, F>(&self, n: usize, chunk: usize, f: F) -> NnResult<Vec<T>>
    where
        T: Send,
        F: Fn(&Self, std::ops::Range<usize>) -> NnResult<T> + Sync;
}

impl MapChunks for MlpOn<Cpu> {
    fn map_chunks<T, F>(&self, n: usize, chunk: usize, f: F) -> NnResult<Vec<T>>
    where
        T: Send,
        F: Fn(&Self, std::ops::Range<usize>) -> NnResult<T> + Sync,
    {
        map_chunks(n, chunk, |r| f(self, r))
    }
}

#[cfg(feature = "cuda")]
impl MapChunks for MlpOn<dfdx::tensor::Cuda> {
    fn map_chunks<T, F>(&self, n: usize, chunk: usize, f: F) -> NnResult<Vec<T>>
    where
        T: Send,
        F: Fn(&Self, std::ops::Range<usize>) -> NnResult<T> + Sync,
    {
        map_chunks_in_order(n, chunk, |r| f(self, r))
    }
}

impl<D: Backend> MlpOn<D>
where
    Self: MapChunks,
{
    fn from_weights(dev: D, layers: Vec<LayerWeights>, hidden: Activation) -> NnResult<Self> {
        if layers.is_empty() {
            return Err(NnError("an MLP needs at least one layer".into()));
        }
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
                let prev: &Dense<D> = prev;
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

    /// The parameters and `opt`'s state for them, for a checkpoint.
    pub fn snapshot(&self, opt: &mut Optimizer) -> NnResult<crate::nn::TrainSnapshot> {
        use crate::nn::snapshot::{take_snapshot, ParamRef};
        take_snapshot(
            self.layers
                .iter()
                .flat_map(|l| [ParamRef::Mat(&l.w), ParamRef::Vec(&l.b)]),
            opt,
        )
    }

    /// Writes a checkpoint's parameters and optimizer state back (the same shapes).
    pub fn restore(&mut self, opt: &mut Optimizer, s: &crate::nn::TrainSnapshot) -> NnResult<()> {
        use crate::nn::snapshot::{restore_snapshot, ParamMut};
        restore_snapshot(
            self.layers
                .iter_mut()
                .flat_map(|l| [ParamMut::Mat(&mut l.w), ParamMut::Vec(&mut l.b)]),
            opt,
            s,
        )
    }

    /// The current weights as plain numbers.
    fn weights(&self) -> Vec<LayerWeights> {
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

    fn inputs(&self) -> usize {
        self.layers[0].w.shape().0
    }

    fn outputs(&self) -> usize {
        self.layers[self.layers.len() - 1].w.shape().1
    }

    /// Number of trainable numbers.
    fn num_params(&self) -> usize {
        self.param_layout().iter().map(|(_, n)| n).sum()
    }

    /// Names and sizes of the parameter blocks, in the order of flattened gradients:
    /// `layer1.w`, `layer1.b`, `layer2.w`, ...
    fn param_layout(&self) -> Vec<(String, usize)> {
        let mut out = Vec::new();
        for (k, l) in self.layers.iter().enumerate() {
            let (i, o) = *l.w.shape();
            out.push((format!("layer{}.w", k + 1), i * o));
            out.push((format!("layer{}.b", k + 1), o));
        }
        out
    }

    fn forward_t<T: Tape<f32, D> + Merge<T>>(&self, x: Mat<T, D>) -> Mat<T, D> {
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

    fn input(&self, x: &[f32], batch: usize) -> NnResult<Mat<NoneTape, D>> {
        input_matrix(&self.dev, x, batch, self.inputs())
    }

    /// Outputs (`batch x outputs`, row-major) for a batch of inputs (`batch x inputs`).
    fn forward(&self, x: &[f32], batch: usize) -> NnResult<Vec<f32>> {
        let x = self.input(x, batch)?;
        Ok(host(&self.forward_t(x)))
    }

    /// The loss on a batch times `weight` (its share of a larger batch) and the gradients.
    fn backward(
        &self,
        x: &[f32],
        batch: usize,
        loss: Loss<'_>,
        weight: f32,
    ) -> NnResult<(f32, Gradients<f32, D>)> {
        let x = self.input(x, batch)?.leaky_traced();
        let out = self.forward_t(x);
        let l = loss_tensor(&self.dev, out, loss)?;
        let value = l.array() * weight;
        let grads = if weight == 1.0 { l } else { l * weight }.backward();
        Ok((value, grads))
    }

    fn flatten(&self, grads: &mut Gradients<f32, D>) -> NnResult<Vec<f32>> {
        let mut flat = Vec::with_capacity(self.num_params());
        for l in &self.layers {
            push_grad(grads, &l.w, &mut flat)?;
            push_grad(grads, &l.b, &mut flat)?;
        }
        Ok(flat)
    }

    /// Samples per chunk of a data-parallel pass over `batch` samples (`batch` itself: one
    /// chunk, below the size where chunks pay). A function of the batch and the model only,
    /// never of the thread count, so the numbers of a step do not depend on it.
    fn chunk_rows(&self, batch: usize) -> usize {
        if !D::CHUNKS_IN_PARALLEL {
            // a device runs the whole batch at once
            return batch.max(1);
        }
        let rows = CHUNK_ROWS.max(MIN_CHUNK_WORK.div_ceil(self.num_params().max(1)));
        let chunks = batch.div_ceil(rows).max(1);
        batch.div_ceil(chunks).max(1)
    }

    /// The loss on a batch and its flattened gradient, from fixed chunks of samples run in
    /// parallel on the current rayon pool and summed in chunk order.
    fn chunked_grads(&self, x: &[f32], batch: usize, loss: Loss<'_>) -> NnResult<(f32, Vec<f32>)> {
        let (d, width) = (self.inputs(), self.outputs());
        if x.len() != batch * d || batch == 0 {
            return Err(NnError(format!(
                "input has {} numbers, expected batch {batch} (at least 1) x {d}",
                x.len()
            )));
        }
        let chunks = self.map_chunks(batch, self.chunk_rows(batch), |m, r| {
            // the loss is a mean over the batch, but `OutputSum` is already a sum
            let weight = match loss {
                Loss::OutputSum => 1.0,
                _ => share(r.len(), batch),
            };
            let (value, mut grads) = m.backward(
                &x[r.start * d..r.end * d],
                r.len(),
                loss.slice(r.start, r.len(), width),
                weight,
            )?;
            Ok((value, m.flatten(&mut grads)?))
        })?;
        let mut value = 0.0f32;
        let mut grads = Vec::with_capacity(chunks.len());
        for (v, g) in chunks {
            value += v;
            grads.push(g);
        }
        Ok((value, sum_in_order(grads)))
    }

    /// The loss on a batch and its gradient with respect to every parameter, flattened in
    /// the order of [`Mlp::param_layout`].
    fn loss_and_grads(&self, x: &[f32], batch: usize, loss: Loss<'_>) -> NnResult<(f32, Vec<f32>)> {
        if self.chunk_rows(batch) >= batch {
            let (value, mut grads) = self.backward(x, batch, loss, 1.0)?;
            return Ok((value, self.flatten(&mut grads)?));
        }
        self.chunked_grads(x, batch, loss)
    }

    /// One gradient of the loss per sample (`batch x num_params`, row-major): sample `i`'s
    /// row is the gradient of the loss on that sample alone.
    fn per_sample_grads(&self, x: &[f32], batch: usize, loss: Loss<'_>) -> NnResult<Vec<f32>> {
        let d = self.inputs();
        let width = self.outputs();
        if x.len() != batch * d {
            return Err(NnError(format!(
                "input has {} numbers, expected batch {batch} x {d}",
                x.len()
            )));
        }
        let rows = self.map_chunks(batch, 1, |m, r| {
            let i = r.start;
            let (_, g) = m.loss_and_grads(&x[i * d..(i + 1) * d], 1, loss.slice(i, 1, width))?;
            Ok(g)
        })?;
        Ok(rows.concat())
    }

    /// Gradient SNR (whole model and per parameter block, see [`crate::nn::gradient_snr`]) of
    /// `loss` over a probe batch of `batch` samples.
    ///
    /// For a dense layer the gradient of sample i is the outer product of the layer's input
    /// a_i and the loss's gradient at its output delta_i, so the mean gradient is A^T Delta / n
    /// and ||g_i||^2 = ||a_i||^2 ||delta_i||^2: one batched forward and backward pass gives the
    /// exact per-sample statistics without forming per-sample gradients.
    fn gradient_snr(&self, x: &[f32], batch: usize, loss: Loss<'_>) -> NnResult<super::SnrReport> {
        if batch == 0 {
            return Err(NnError("an SNR probe needs at least one sample".into()));
        }
        let n_layers = self.layers.len();
        let mut inputs: Vec<Vec<f32>> = vec![x.to_vec()];
        let mut outputs: Vec<Mat<NoneTape, D>> = Vec::with_capacity(n_layers);
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
            let at: Mat<NoneTape, D> = self.dev.tensor_from_vec(a.clone(), (batch, fan_in));
            let dt: Mat<NoneTape, D> = self
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

    /// One optimizer step on the batch; returns the loss before the step. A large batch is
    /// cut into fixed chunks whose passes run in parallel (see [`Mlp::loss_and_grads`]).
    fn train_step(
        &mut self,
        x: &[f32],
        batch: usize,
        loss: Loss<'_>,
        opt: &mut Optimizer,
    ) -> NnResult<f32> {
        if self.chunk_rows(batch) >= batch {
            let (value, mut grads) = self.backward(x, batch, loss, 1.0)?;
            opt.begin_step();
            for l in &mut self.layers {
                opt.update(&mut l.w, &mut grads)?;
                opt.update(&mut l.b, &mut grads)?;
            }
            return Ok(value);
        }
        let (value, grads) = self.chunked_grads(x, batch, loss)?;
        opt.begin_step();
        let mut at = 0;
        for l in &mut self.layers {
            let (nw, nb) = (l.w.shape().num_elements(), l.b.shape().0);
            opt.update_from_host(&mut l.w, &grads[at..at + nw])?;
            opt.update_from_host(&mut l.b, &grads[at + nw..at + nw + nb])?;
            at += nw + nb;
        }
        Ok(value)
    }
}

// the chunks run side by side on the CPU only
#[cfg(all(test, not(feature = "cuda")))]
mod tests {
    use super::*;
    use crate::nn::{with_compute_threads, OptimKind};
    use rand::SeedableRng;

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    fn data(batch: usize, d: usize, o: usize) -> (Vec<f32>, Vec<f32>) {
        let mut rng = rand::rngs::StdRng::seed_from_u64(9);
        let x = (0..batch * d).map(|_| rng.gen_range(-1.0..1.0)).collect();
        let y = (0..batch * o).map(|_| rng.gen_range(-1.0..1.0)).collect();
        (x, y)
    }

    /// E12's network: 30,000 parameters, so a batch of 1,000 runs as four chunks of 250.
    fn big() -> Mlp {
        Mlp::new(
            &[100, 100, 100, 100, 1],
            Activation::Relu,
            &mut rand::rngs::StdRng::seed_from_u64(1),
        )
    }

    #[test]
    fn only_large_batches_of_large_models_are_cut_into_chunks() {
        let net = big();
        assert_eq!(net.chunk_rows(1000), 250);
        assert_eq!(net.chunk_rows(1024), 256);
        assert_eq!(net.chunk_rows(600), 200);
        // the paper's batch: one pass, as before the chunks
        assert!(net.chunk_rows(256) >= 256);
        // E1's MLP at its batch: one chunk
        let small = Mlp::new(
            &[30, 300, 1],
            Activation::Relu,
            &mut rand::rngs::StdRng::seed_from_u64(1),
        );
        assert!(small.chunk_rows(128) >= 128);
    }

    #[test]
    fn chunked_gradients_are_the_same_bits_at_any_thread_count_and_near_the_whole_batch() {
        let net = big();
        let (x, y) = data(1000, 100, 1);
        for loss in [Loss::Mse(&y), Loss::OutputSum] {
            let (v1, g1) = with_compute_threads(1, || net.loss_and_grads(&x, 1000, loss).unwrap());
            for threads in [2, 3] {
                let (v, g) =
                    with_compute_threads(threads, || net.loss_and_grads(&x, 1000, loss).unwrap());
                assert_eq!(bits(&g), bits(&g1), "{loss:?} at {threads} threads");
                assert_eq!(v.to_bits(), v1.to_bits());
            }
            let (whole, mut grads) = net.on_cpu().backward(&x, 1000, loss, 1.0).unwrap();
            let whole_g = net.on_cpu().flatten(&mut grads).unwrap();
            let d: f64 = g1
                .iter()
                .zip(&whole_g)
                .map(|(a, b)| ((a - b) as f64).powi(2))
                .sum::<f64>()
                .sqrt()
                / whole_g
                    .iter()
                    .map(|b| (*b as f64).powi(2))
                    .sum::<f64>()
                    .sqrt();
            assert!(d < 1e-5, "{loss:?}: relative distance {d}");
            assert!((v1 - whole).abs() <= 1e-5 * whole.abs().max(1e-3));
        }
    }

    #[test]
    fn training_steps_give_the_same_weights_at_any_thread_count() {
        let train = |threads: usize| {
            with_compute_threads(threads, || {
                let mut net = big();
                let mut opt = Optimizer::new(OptimKind::adam_tf(1e-3));
                let (x, y) = data(1000, 100, 1);
                let losses: Vec<u32> = (0..3)
                    .map(|_| {
                        net.train_step(&x, 1000, Loss::Mse(&y), &mut opt)
                            .unwrap()
                            .to_bits()
                    })
                    .collect();
                let w: Vec<Vec<u32>> = net.weights().iter().map(|l| bits(&l.w)).collect();
                (w, losses)
            })
        };
        let one = train(1);
        assert_eq!(train(2), one);
        assert_eq!(train(3), one);
    }

    #[test]
    fn per_sample_rows_do_not_depend_on_the_threads() {
        let net = big();
        let (x, y) = data(20, 100, 1);
        let run = |t: usize| {
            with_compute_threads(t, || {
                bits(&net.per_sample_grads(&x, 20, Loss::Mse(&y)).unwrap())
            })
        };
        let one = run(1);
        assert_eq!(run(3), one);
        let (_, g3) = net
            .loss_and_grads(&x[300..400], 1, Loss::Mse(&y[3..4]))
            .unwrap();
        let p = net.num_params();
        assert_eq!(bits(&g3), one[3 * p..4 * p].to_vec());
    }
}
