//! The network on its device: N1's conv + pool stages and dense layers, N2, their forward
//! and backward passes in data-parallel chunks, and the state they read and write.

use super::*;

/// A [`LineNet`] on device `D`.
pub(super) struct Net<D: Backend> {
    pub(super) dev: D,
    pub(super) cfg: LineNetConfig,
    pub(super) conv: [(Mat<NoneTape, D>, Vector<D>); 2],
    pub(super) n1: Vec<Dense<D>>,
    pub(super) n2: Vec<Dense<D>>,
}

/// How a network runs its chunks of a batch: side by side on the CPU's rayon pool, one after
/// the other on a GPU (whose handles are not shared between threads).
pub(super) trait MapChunks {
    fn map_chunks<T, F>(&self, n: usize, chunk: usize, f: F) -> NnResult<Vec<T>>
    where
        T: Send,
        F: Fn(&Self, Range<usize>) -> NnResult<T> + Sync;
}

impl MapChunks for Net<Cpu> {
    fn map_chunks<T, F>(&self, n: usize, chunk: usize, f: F) -> NnResult<Vec<T>>
    where
        T: Send,
        F: Fn(&Self, Range<usize>) -> NnResult<T> + Sync,
    {
        map_chunks(n, chunk, |r| f(self, r))
    }
}

#[cfg(feature = "cuda")]
impl MapChunks for Net<dfdx::tensor::Cuda> {
    fn map_chunks<T, F>(&self, n: usize, chunk: usize, f: F) -> NnResult<Vec<T>>
    where
        T: Send,
        F: Fn(&Self, Range<usize>) -> NnResult<T> + Sync,
    {
        map_chunks_in_order(n, chunk, |r| f(self, r))
    }
}

impl<D: Backend> Net<D>
where
    Self: MapChunks,
{
    /// The authors' initialisation: truncated normal with std 1/sqrt(28) for the first
    /// convolution (TensorFlow took the input's last axis, 28, as its fan-in), 1/sqrt(channels)
    /// for the second, 1/sqrt(fan_in) for the dense layers; biases 0.
    pub(super) fn new<R: Rng + ?Sized>(dev: D, cfg: LineNetConfig, rng: &mut R) -> Self {
        let c = cfg.channels;
        let conv_layer = |rng: &mut R, s: ConvPoolShape, std: f32| {
            (
                dev.tensor_from_vec(truncated_normal(rng, s.filter_len(), std), s.filter_shape()),
                dev.tensor_from_vec(vec![0.0; s.cout], (s.cout,)),
            )
        };
        let c1 = conv_layer(rng, cfg.stage1(), 1.0 / (cfg.side as f32).sqrt());
        let c2 = conv_layer(rng, cfg.stage2(), 1.0 / (c as f32).sqrt());
        let flat = cfg.stage2().out_len();
        let n1 = vec![
            Dense::new(&dev, flat, 50, rng),
            Dense::new(&dev, 50, 100, rng),
            Dense::new(&dev, 100, 1, rng),
        ];
        let n2 = new_n2(&dev, cfg, rng);
        Net {
            dev,
            cfg,
            conv: [c1, c2],
            n1,
            n2,
        }
    }

    pub(super) fn with_new_n2<R: Rng + ?Sized>(&self, k: usize, rng: &mut R) -> NnResult<Self> {
        let cfg = LineNetConfig { k, ..self.cfg };
        cfg.check()?;
        let mut net = self.duplicate();
        net.cfg = cfg;
        net.n2 = new_n2(&net.dev, cfg, rng);
        Ok(net)
    }

    /// An independent copy with the same weights.
    pub(super) fn duplicate(&self) -> Self {
        let mut net = Net {
            dev: self.dev.clone(),
            cfg: self.cfg,
            conv: self.conv.clone(),
            n1: self.n1.clone(),
            n2: self.n2.clone(),
        };
        // fresh tensors, so that optimizer state and gradients never mix between copies
        net.set_params(&self.params())
            .expect("a copy has the same layout");
        net
    }

    /// Every (weights, bias) pair, in the order of flattened parameters: the two
    /// convolutions, N1's dense layers, N2's.
    pub(super) fn layers(&self) -> impl Iterator<Item = (&Mat<NoneTape, D>, &Vector<D>)> {
        let dense = self.n1.iter().chain(&self.n2).map(|d| (&d.w, &d.b));
        self.conv.iter().map(|(w, b)| (w, b)).chain(dense)
    }

    pub(super) fn layers_mut(
        &mut self,
    ) -> impl Iterator<Item = (&mut Mat<NoneTape, D>, &mut Vector<D>)> {
        let dense = self.n1.iter_mut().chain(self.n2.iter_mut());
        let dense = dense.map(|d| (&mut d.w, &mut d.b));
        self.conv.iter_mut().map(|(w, b)| (w, b)).chain(dense)
    }

    /// Names and sizes of the parameter blocks in the order of flattened gradients:
    /// `conv1.w, conv1.b, conv2.w, conv2.b, n1.dense1.w, n1.dense1.b, ..., n2.dense2.b`.
    pub(super) fn param_layout(&self) -> Vec<(String, usize)> {
        let mut names: Vec<String> = (1..=self.conv.len()).map(|i| format!("conv{i}")).collect();
        for (net, layers) in [("n1", &self.n1), ("n2", &self.n2)] {
            names.extend((1..=layers.len()).map(|i| format!("{net}.dense{i}")));
        }
        let mut out = Vec::new();
        for (name, (w, b)) in names.iter().zip(self.layers()) {
            out.push((format!("{name}.w"), w.shape().num_elements()));
            out.push((format!("{name}.b"), b.shape().0));
        }
        out
    }

    pub(super) fn num_params(&self) -> usize {
        self.param_layout().iter().map(|(_, n)| n).sum()
    }

    /// Every parameter, flattened in the order of [`LineNet::param_layout`].
    pub(super) fn params(&self) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.num_params());
        for (w, b) in self.layers() {
            out.extend(host(w));
            out.extend(host(b));
        }
        out
    }

    /// The parameters and `opt`'s state for them, for a checkpoint.
    pub(super) fn snapshot(&self, opt: &mut Optimizer) -> NnResult<crate::nn::TrainSnapshot> {
        use crate::nn::snapshot::{take_snapshot, ParamRef};
        take_snapshot(
            self.layers()
                .flat_map(|(w, b)| [ParamRef::Mat(w), ParamRef::Vec(b)]),
            opt,
        )
    }

    /// Writes a checkpoint's parameters and optimizer state back (the same shapes).
    pub(super) fn restore(
        &mut self,
        opt: &mut Optimizer,
        s: &crate::nn::TrainSnapshot,
    ) -> NnResult<()> {
        use crate::nn::snapshot::{restore_snapshot, ParamMut};
        restore_snapshot(
            self.layers_mut()
                .flat_map(|(w, b)| [ParamMut::Mat(w), ParamMut::Vec(b)]),
            opt,
            s,
        )
    }

    /// Replaces every parameter (flattened as [`LineNet::params`]).
    pub(super) fn set_params(&mut self, p: &[f32]) -> NnResult<()> {
        if p.len() != self.num_params() {
            return Err(NnError(format!(
                "{} numbers for {} parameters",
                p.len(),
                self.num_params()
            )));
        }
        let dev = self.dev.clone();
        let mut rest = p;
        for (w, b) in self.layers_mut() {
            *w = take(&dev, &mut rest, *w.shape());
            *b = take(&dev, &mut rest, *b.shape());
        }
        Ok(())
    }

    pub(super) fn images(&self, images: &[f32], n: usize) -> NnResult<Mat<NoneTape, D>> {
        let len = self.cfg.image_len();
        if images.len() != n * len {
            return Err(NnError(format!(
                "{} numbers do not fit {n} images of {len} pixels",
                images.len()
            )));
        }
        Ok(self.dev.tensor_from_vec(images.to_vec(), (n, len)))
    }

    pub(super) fn check_batch(&self, t: &TupleBatch<'_>) -> NnResult<()> {
        let k = self.cfg.k;
        if t.labels.len() != t.batch || t.image_labels.len() != t.batch * k {
            return Err(NnError(format!(
                "{} tuple labels and {} image labels for {} tuples of {k}",
                t.labels.len(),
                t.image_labels.len(),
                t.batch
            )));
        }
        if t.batch == 0 {
            return Err(NnError("a batch needs at least one tuple".into()));
        }
        Ok(())
    }

    /// N1 up to its last hidden layer: `n x 100` features after the ReLU.
    pub(super) fn features<T: Tape<f32, D> + Merge<T>>(&self, x: Mat<T, D>) -> Mat<T, D> {
        let h = D::conv_pool(
            x,
            &self.conv[0].0,
            &self.conv[0].1,
            self.cfg.stage1(),
            false,
        );
        let h = D::conv_pool(h, &self.conv[1].0, &self.conv[1].1, self.cfg.stage2(), true);
        let h = self.n1[0].forward(h).relu();
        self.n1[1].forward(h).relu()
    }

    /// N1's score of each image: `n x 1`.
    pub(super) fn scores<T: Tape<f32, D> + Merge<T>>(&self, x: Mat<T, D>) -> Mat<T, D> {
        self.n1[2].forward(self.features(x))
    }

    /// N2 on the per-image scores (`batch k x 1`): the tuple scores, `batch x 1`.
    pub(super) fn combine<T: Tape<f32, D> + Merge<T>>(
        &self,
        scores: Mat<T, D>,
        batch: usize,
    ) -> Mat<T, D> {
        let u = scores.reshape_like(&(batch, self.cfg.k)).sigmoid();
        let h = self.n2[0].forward(u).relu();
        self.n2[1].forward(h)
    }

    /// N1's score of each of `n` images (fixed chunks in parallel).
    pub(super) fn image_scores(&self, images: &[f32], n: usize) -> NnResult<Vec<f32>> {
        self.images_fit(images, n)?;
        let len = self.cfg.image_len();
        let chunks = self.map_chunks(n, CHUNK_IMAGES, |net, r| {
            let x = net.images(&images[r.start * len..r.end * len], r.len())?;
            Ok(host(&net.scores(x)))
        })?;
        Ok(chunks.concat())
    }

    /// Checks that `images` holds `n` images.
    pub(super) fn images_fit(&self, images: &[f32], n: usize) -> NnResult<()> {
        let len = self.cfg.image_len();
        if images.len() != n * len {
            return Err(NnError(format!(
                "{} numbers do not fit {n} images of {len} pixels",
                images.len()
            )));
        }
        Ok(())
    }

    pub(super) fn sub_batch<'a>(&self, t: &TupleBatch<'a>, r: Range<usize>) -> TupleBatch<'a> {
        let (k, len) = (self.cfg.k, self.cfg.image_len());
        TupleBatch {
            images: &t.images[r.start * k * len..r.end * k * len],
            batch: r.len(),
            labels: &t.labels[r.clone()],
            image_labels: &t.image_labels[r.start * k..r.end * k],
        }
    }

    /// Tuples in a chunk of a data-parallel pass: whole tuples, about [`CHUNK_IMAGES`] images.
    pub(super) fn chunk_tuples(&self) -> usize {
        (CHUNK_IMAGES / self.cfg.k).max(1)
    }

    /// Both loss parts of the tuples of `t` times `weight` (their share of a larger batch),
    /// and the gradient of `objective` so weighted.
    pub(super) fn backward(
        &self,
        t: &TupleBatch<'_>,
        objective: Objective,
        weight: f32,
    ) -> NnResult<(LossParts, Gradients<f32, D>)> {
        let x = self.images(t.images, t.batch * self.cfg.k)?.leaky_traced();
        let s = self.scores(x);
        let s_img = s.with_empty_tape();
        let primary = loss_tensor(&self.dev, self.combine(s, t.batch), Loss::Hinge(t.labels))?;
        let per_image = loss_tensor(&self.dev, s_img, Loss::Hinge(t.image_labels))?;
        let parts = LossParts {
            primary: primary.array() * weight,
            per_image: per_image.array() * weight,
        };
        let grads = match objective {
            Objective::EndToEnd => {
                drop(per_image);
                weighted(primary, weight).backward()
            }
            Objective::Decomposition => weighted(primary + per_image, weight).backward(),
        };
        Ok((parts, grads))
    }

    pub(super) fn flatten(&self, grads: &mut Gradients<f32, D>) -> NnResult<Vec<f32>> {
        let mut flat = Vec::with_capacity(self.num_params());
        for (w, b) in self.layers() {
            push_grad(grads, w, &mut flat)?;
            push_grad(grads, b, &mut flat)?;
        }
        Ok(flat)
    }

    /// Both loss parts of a batch and the flattened gradient of `objective`, from fixed chunks
    /// of tuples run in parallel on the current rayon pool and summed in chunk order: the same
    /// numbers at any thread count.
    pub(super) fn chunked_grads(
        &self,
        t: &TupleBatch<'_>,
        objective: Objective,
    ) -> NnResult<(LossParts, Vec<f32>)> {
        self.check_batch(t)?;
        let chunks = self.map_chunks(t.batch, self.chunk_tuples(), |net, r| {
            let weight = share(r.len(), t.batch);
            let (parts, mut grads) = net.backward(&net.sub_batch(t, r), objective, weight)?;
            Ok((parts, net.flatten(&mut grads)?))
        })?;
        let mut total = LossParts {
            primary: 0.0,
            per_image: 0.0,
        };
        let mut grads = Vec::with_capacity(chunks.len());
        for (parts, g) in chunks {
            total.primary += parts.primary;
            total.per_image += parts.per_image;
            grads.push(g);
        }
        Ok((total, sum_in_order(grads)))
    }

    /// Both loss parts on a batch and the gradient of `objective` with respect to every
    /// parameter, flattened as [`LineNet::params`].
    pub(super) fn loss_and_grads(
        &self,
        t: &TupleBatch<'_>,
        objective: Objective,
    ) -> NnResult<(LossParts, Vec<f32>)> {
        self.chunked_grads(t, objective)
    }

    /// One optimizer step on `objective`; returns the loss parts before the step.
    pub(super) fn train_step(
        &mut self,
        t: &TupleBatch<'_>,
        objective: Objective,
        opt: &mut Optimizer,
    ) -> NnResult<LossParts> {
        let (parts, grads) = self.chunked_grads(t, objective)?;
        opt.begin_step();
        let mut rest = &grads[..];
        for (w, b) in self.layers_mut() {
            opt.update_from_host(w, split_off(&mut rest, w.shape().num_elements()))?;
            opt.update_from_host(b, split_off(&mut rest, b.shape().0))?;
        }
        Ok(parts)
    }

    /// The per-image hinge loss of N1's scores on `n` images and its gradient (flattened as
    /// [`LineNet::params`]; N2's blocks are zero): N1 trained alone as an image classifier.
    /// Fixed chunks of images run in parallel, as in [`LineNet::train_step`].
    pub(super) fn image_loss_and_grads(
        &self,
        images: &[f32],
        n: usize,
        labels: &[f32],
    ) -> NnResult<(f32, Vec<f32>)> {
        if labels.len() != n {
            return Err(NnError(format!("{} labels for {n} images", labels.len())));
        }
        let len = self.cfg.image_len();
        if images.len() != n * len || n == 0 {
            return Err(NnError(format!(
                "{} numbers do not fit {n} images of {len} pixels (at least one)",
                images.len()
            )));
        }
        let chunks = self.map_chunks(n, CHUNK_IMAGES, |net, r| {
            let x = net.images(&images[r.start * len..r.end * len], r.len())?;
            let loss = loss_tensor(
                &net.dev,
                net.scores(x.leaky_traced()),
                Loss::Hinge(&labels[r.clone()]),
            )?;
            let weight = share(r.len(), n);
            let value = loss.array() * weight;
            let mut grads = weighted(loss, weight).backward();
            Ok((value, net.flatten(&mut grads)?))
        })?;
        let mut value = 0.0f32;
        let mut grads = Vec::with_capacity(chunks.len());
        for (v, g) in chunks {
            value += v;
            grads.push(g);
        }
        Ok((value, sum_in_order(grads)))
    }

    /// One gradient of `objective` per tuple (`batch x num_params`, row-major); the tuples'
    /// backward passes run in parallel on the current rayon pool.
    pub(super) fn per_sample_grads(
        &self,
        t: &TupleBatch<'_>,
        objective: Objective,
    ) -> NnResult<Vec<f32>> {
        self.check_batch(t)?;
        let rows = self.map_chunks(t.batch, 1, |net, r| {
            Ok(net.loss_and_grads(&net.sub_batch(t, r), objective)?.1)
        })?;
        Ok(rows.concat())
    }

    /// The tuple scores and N1's per-image scores of `batch` tuples in one pass (fixed
    /// chunks of tuples in parallel).
    pub(super) fn predict_all(
        &self,
        images: &[f32],
        batch: usize,
    ) -> NnResult<(Vec<f32>, Vec<f32>)> {
        let (k, len) = (self.cfg.k, self.cfg.image_len());
        self.images_fit(images, batch * k)?;
        let chunks = self.map_chunks(batch, self.chunk_tuples(), |net, r| {
            let x = net.images(&images[r.start * k * len..r.end * k * len], r.len() * k)?;
            let s = net.scores(x);
            let per_image = host(&s);
            Ok((host(&net.combine(s, r.len())), per_image))
        })?;
        let (tuples, per_image): (Vec<_>, Vec<_>) = chunks.into_iter().unzip();
        Ok((tuples.concat(), per_image.concat()))
    }
}

/// `loss` times `weight`; a weight of 1 (a batch in one chunk) adds no op to the tape.
fn weighted<D: Backend, T: Tape<f32, D> + Merge<T>>(
    loss: Tensor<(), f32, D, T>,
    weight: f32,
) -> Tensor<(), f32, D, T> {
    if weight == 1.0 {
        loss
    } else {
        loss * weight
    }
}

/// The first `n` numbers of `rest`, which keeps the others.
fn split_off<'a>(rest: &mut &'a [f32], n: usize) -> &'a [f32] {
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    head
}

/// N2 for `cfg`: `k -> n2_width -> ReLU -> 1`.
fn new_n2<D: Backend, R: Rng + ?Sized>(dev: &D, cfg: LineNetConfig, rng: &mut R) -> Vec<Dense<D>> {
    vec![
        Dense::new(dev, cfg.k, cfg.n2_width, rng),
        Dense::new(dev, cfg.n2_width, 1, rng),
    ]
}

/// A tensor of `shape` from the first numbers of `rest`, which keeps the others.
fn take<D: Backend, S: Shape>(dev: &D, rest: &mut &[f32], shape: S) -> Tensor<S, f32, D> {
    let (head, tail) = rest.split_at(shape.num_elements());
    *rest = tail;
    dev.tensor_from_vec(head.to_vec(), shape)
}

// the chunks run side by side on the CPU only
