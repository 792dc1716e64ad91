//! E3's probe: exact per-tuple gradients at the weights of N1's last layer (`100 -> 1`) for
//! the end-to-end, the first-image and the decomposition losses, and their SNR.

use dfdx::prelude::*;

use super::{LineNet, MapChunks, Net, Placed, TupleBatch, CHUNK_IMAGES};
use crate::nn::device::{on_device, Backend};
use crate::nn::loss::Loss;
use crate::nn::ops::{host, loss_tensor, Mat};
use crate::nn::snr::{snr_of_columns, Snr};
use crate::nn::{NnError, NnResult};

/// SNR of the gradient at N1's last layer (its 100 weights) for the two estimators.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadSnr {
    /// The primary loss through N2.
    pub end_to_end: Snr,
    /// The per-image hinge loss of the first image of each tuple only (the authors' script).
    pub first_image: Snr,
    /// The whole decomposition loss (primary plus the mean per-image loss of the tuple).
    pub decomposition: Snr,
}

/// Per-tuple gradients (`batch x width`, row-major) at the weights of N1's last layer.
#[derive(Debug, Clone, PartialEq)]
pub struct HeadGrads {
    /// Numbers per gradient (the width of N1's last hidden layer, 100).
    pub width: usize,
    /// Of the primary loss through N2.
    pub end_to_end: Vec<f32>,
    /// Of the per-image hinge loss of the tuple's first image only (E3's script).
    pub first_image: Vec<f32>,
    /// Of the decomposition loss: primary plus the mean per-image loss of the tuple.
    pub decomposition: Vec<f32>,
}

impl HeadGrads {
    fn zeros(batch: usize, width: usize) -> Self {
        HeadGrads {
            width,
            end_to_end: vec![0.0f32; batch * width],
            first_image: vec![0.0f32; batch * width],
            decomposition: vec![0.0f32; batch * width],
        }
    }

    /// Adds tuple `i`'s gradients from its images' features (`k x width`), the derivatives
    /// `ds` of its primary loss with respect to their scores and those `dh` of their own
    /// hinge losses: each image adds its features times `ds` (end-to-end) and times
    /// `ds + dh / k` (decomposition); the first image's features times its `dh` are the
    /// first-image gradient.
    fn add_tuple(&mut self, i: usize, features: &[f32], ds: &[f32], dh: &[f32]) {
        let (width, k) = (self.width, ds.len());
        let row = i * width..(i + 1) * width;
        for (j, hj) in features.chunks(width).enumerate() {
            let (a, c) = (ds[j], dh[j]);
            let d = a + c / k as f32;
            for ((e, dd), &hv) in self.end_to_end[row.clone()]
                .iter_mut()
                .zip(&mut self.decomposition[row.clone()])
                .zip(hj)
            {
                *e += a * hv;
                *dd += d * hv;
            }
            if j == 0 {
                for (f, &hv) in self.first_image[row.clone()].iter_mut().zip(hj) {
                    *f = c * hv;
                }
            }
        }
    }
}

impl LineNet {
    /// SNR at the weights of N1's last layer (`100 -> 1`, 100 numbers) for the end-to-end
    /// gradient, the per-image gradient of each tuple's first image (E3, as the authors'
    /// script measures it) and the whole decomposition gradient, from exact per-tuple
    /// gradients ([`LineNet::head_grads`]).
    pub fn head_snr(&self, t: &TupleBatch<'_>) -> NnResult<HeadSnr> {
        on_device!(&self.0, n => n.head_snr(t))
    }

    /// Per-tuple gradients at the weights of N1's last layer, see [`HeadGrads`].
    pub fn head_grads(&self, t: &TupleBatch<'_>) -> NnResult<HeadGrads> {
        on_device!(&self.0, n => n.head_grads(t))
    }

    /// N1's last hidden layer (`n x width` features after the ReLU, row-major) and its score
    /// for each of `n` images; fixed chunks of images run in parallel on the current rayon
    /// pool (on the CPU).
    pub fn image_features(&self, images: &[f32], n: usize) -> NnResult<(Vec<f32>, Vec<f32>)> {
        on_device!(&self.0, m => m.image_features(images, n))
    }

    /// [`LineNet::head_grads`] from N1's features and scores of the tuples' images (as
    /// [`LineNet::image_features`] gives them; `t.images` is not read): one backward pass of
    /// N2 gives every tuple's derivative with respect to its k scores, and the gradient at
    /// the last layer is the sum over the tuple's images of that derivative times the image's
    /// features.
    pub fn head_grads_from(
        &self,
        features: &[f32],
        scores: &[f32],
        t: &TupleBatch<'_>,
    ) -> NnResult<HeadGrads> {
        on_device!(&self.0, n => n.head_grads_from(features, scores, t))
    }
}

impl<D: Backend> Net<D>
where
    Self: MapChunks,
{
    /// SNR at the weights of N1's last layer (`100 -> 1`, 100 numbers) for the end-to-end
    /// gradient, the per-image gradient of each tuple's first image (E3, as the authors'
    /// script measures it) and the whole decomposition gradient, from exact per-tuple
    /// gradients ([`LineNet::head_grads`]).
    pub fn head_snr(&self, t: &TupleBatch<'_>) -> NnResult<HeadSnr> {
        let g = self.head_grads(t)?;
        let (n, w) = (t.batch, g.width);
        Ok(HeadSnr {
            end_to_end: snr_of_columns(&g.end_to_end, n, w, 0, w),
            first_image: snr_of_columns(&g.first_image, n, w, 0, w),
            decomposition: snr_of_columns(&g.decomposition, n, w, 0, w),
        })
    }

    /// Per-tuple gradients at the weights of N1's last layer, see [`HeadGrads`].
    pub fn head_grads(&self, t: &TupleBatch<'_>) -> NnResult<HeadGrads> {
        self.check_batch(t)?;
        let (features, scores) = self.image_features(t.images, t.batch * self.cfg.k)?;
        self.head_grads_from(&features, &scores, t)
    }

    /// N1's last hidden layer (`n x width` features after the ReLU, row-major) and its score
    /// for each of `n` images; fixed chunks of images run in parallel on the current rayon
    /// pool.
    pub fn image_features(&self, images: &[f32], n: usize) -> NnResult<(Vec<f32>, Vec<f32>)> {
        self.images_fit(images, n)?;
        let len = self.cfg.image_len();
        let chunks = self.map_chunks(n, CHUNK_IMAGES, |net, r| {
            let feats = net.features(net.images(&images[r.start * len..r.end * len], r.len())?);
            let h = host(&feats);
            Ok((h, host(&net.n1[2].forward(feats))))
        })?;
        let (h, s): (Vec<_>, Vec<_>) = chunks.into_iter().unzip();
        Ok((h.concat(), s.concat()))
    }

    /// [`LineNet::head_grads`] from N1's features and scores of the tuples' images (as
    /// [`LineNet::image_features`] gives them; `t.images` is not read): one backward pass of
    /// N2 gives every tuple's derivative with respect to its k scores, and the gradient at
    /// the last layer is the sum over the tuple's images of that derivative times the image's
    /// features.
    pub fn head_grads_from(
        &self,
        features: &[f32],
        scores: &[f32],
        t: &TupleBatch<'_>,
    ) -> NnResult<HeadGrads> {
        let width = self.head_width(features, scores, t)?;
        let ds = self.primary_score_grads(scores, t)?;
        // the derivative of each image's own hinge loss with respect to its score
        let dh: Vec<f32> = (t.image_labels.iter().zip(scores))
            .map(|(&y, &s)| if y * s < 1.0 { -y } else { 0.0 })
            .collect();
        let k = self.cfg.k;
        let mut g = HeadGrads::zeros(t.batch, width);
        for i in 0..t.batch {
            let images = i * k..(i + 1) * k;
            let tuple_features = &features[i * k * width..(i + 1) * k * width];
            g.add_tuple(i, tuple_features, &ds[images.clone()], &dh[images]);
        }
        Ok(g)
    }

    /// Checks the inputs of [`LineNet::head_grads_from`]; gives the width of the features.
    fn head_width(&self, features: &[f32], scores: &[f32], t: &TupleBatch<'_>) -> NnResult<usize> {
        let (k, n) = (self.cfg.k, t.batch);
        if t.labels.len() != n || t.image_labels.len() != n * k || scores.len() != n * k {
            return Err(NnError(format!(
                "{} scores, {} image labels and {} tuple labels for {n} tuples of {k}",
                scores.len(),
                t.image_labels.len(),
                t.labels.len()
            )));
        }
        let width = features.len() / scores.len().max(1);
        if features.len() != width * n * k || width == 0 {
            return Err(NnError("features do not fit the scores".into()));
        }
        Ok(width)
    }

    /// `d primary_i / d s_ij` for every image j of every tuple i: the loss is a mean over
    /// tuples, so tuple i's own derivative is `n` times its share of the batch gradient.
    fn primary_score_grads(&self, scores: &[f32], t: &TupleBatch<'_>) -> NnResult<Vec<f32>> {
        let n = t.batch;
        let s0: Mat<NoneTape, D> = self.dev.tensor_from_vec(scores.to_vec(), (scores.len(), 1));
        let primary = loss_tensor(
            &self.dev,
            self.combine(s0.clone().leaky_traced(), n),
            Loss::Hinge(t.labels),
        )?;
        let grads = primary.backward();
        Ok(host(&grads.get(&s0)).iter().map(|v| v * n as f32).collect())
    }
}
