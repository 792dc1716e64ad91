//! E2's data: 28 x 28 images of a line, labelled by whether it rises or falls, and k-tuples of
//! them labelled by the parity (product) of their labels; E3 draws the same images.

use crate::experiments::state::Stream;
use rand::Rng;

use crate::experiments::ctx::Figure;
use crate::nn::TupleBatch;

/// Side of a line image.
pub const SIDE: usize = 28;

/// One line image with what produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct LineImage {
    /// `SIDE x SIDE` pixels in {0, 1}, row-major, row 0 at the top (y grows upward).
    pub pixels: Vec<f32>,
    /// +1 if the angle is below pi/2 (a rising "/" line), else -1.
    pub label: f32,
    pub theta: f64,
    pub length: f64,
    pub centre: (f64, f64),
}

/// Draws one image as the authors' script does: centre c ~ 28 U(0,1)^2, length l ~ U(5, 23),
/// angle theta ~ U[0, pi), u = (cos theta, sin theta); for j = 0 .. floor(l/2) - 1 and
/// s = -1, +1 the pixel at c + s j u, each coordinate truncated toward zero, is set to 1 if it
/// lies inside the image.
pub fn line_image<R: Rng + ?Sized>(rng: &mut R) -> LineImage {
    let side = SIDE as f64;
    let centre = (side * rng.gen::<f64>(), side * rng.gen::<f64>());
    let length: f64 = rng.gen_range(5.0..23.0);
    let theta: f64 = rng.gen_range(0.0..std::f64::consts::PI);
    let (ux, uy) = (theta.cos(), theta.sin());
    let mut pixels = vec![0.0f32; SIDE * SIDE];
    let half = (length / 2.0).floor() as i64;
    for j in 0..half {
        for s in [-1.0, 1.0] {
            // `as` truncates toward zero, as Python's int() does
            let px = (centre.0 + s * j as f64 * ux) as i64;
            let py = (centre.1 + s * j as f64 * uy) as i64;
            if (0..SIDE as i64).contains(&px) && (0..SIDE as i64).contains(&py) {
                let row = SIDE - 1 - py as usize;
                pixels[row * SIDE + px as usize] = 1.0;
            }
        }
    }
    let label = if theta < std::f64::consts::FRAC_PI_2 {
        1.0
    } else {
        -1.0
    };
    LineImage {
        pixels,
        label,
        theta,
        length,
        centre,
    }
}

/// A batch of k-tuples of line images.
#[derive(Debug, Clone, PartialEq)]
pub struct Tuples {
    pub batch: usize,
    pub k: usize,
    /// `batch * k` images of `SIDE x SIDE`, tuple-major.
    pub images: Vec<f32>,
    /// The orientation label of every image.
    pub image_labels: Vec<f32>,
    /// The primary label of every tuple: the product of its image labels (the paper's
    /// definition; the authors' script negates it for even k).
    pub labels: Vec<f32>,
}

/// `batch` tuples of `k` independent line images.
pub fn sample_tuples<R: Rng + ?Sized>(rng: &mut R, batch: usize, k: usize) -> Tuples {
    let mut images = Vec::with_capacity(batch * k * SIDE * SIDE);
    let mut image_labels = Vec::with_capacity(batch * k);
    let mut labels = Vec::with_capacity(batch);
    for _ in 0..batch {
        let mut y = 1.0f32;
        for _ in 0..k {
            let img = line_image(rng);
            images.extend_from_slice(&img.pixels);
            image_labels.push(img.label);
            y *= img.label;
        }
        labels.push(y);
    }
    Tuples {
        batch,
        k,
        images,
        image_labels,
        labels,
    }
}

pub(super) fn batch_of(t: &Tuples) -> TupleBatch<'_> {
    TupleBatch {
        images: &t.images,
        batch: t.batch,
        labels: &t.labels,
        image_labels: &t.image_labels,
    }
}

/// A grid of `rows` tuples of k images (one per row, a dark line between images) and a title
/// with their labels.
pub(super) fn tuples_figure(t: &Tuples, rows: usize, title: &str) -> Figure {
    let (k, s) = (t.k, SIDE);
    let rows = rows.min(t.batch);
    let (width, height) = (k * (s + 1) - 1, rows * (s + 1) - 1);
    let mut pixels = vec![0.25f32; width * height];
    let mut labels = Vec::new();
    for r in 0..rows {
        for j in 0..k {
            let img = &t.images[(r * k + j) * s * s..(r * k + j + 1) * s * s];
            for y in 0..s {
                for x in 0..s {
                    pixels[(r * (s + 1) + y) * width + j * (s + 1) + x] = img[y * s + x];
                }
            }
        }
        let per: Vec<&str> = t.image_labels[r * k..(r + 1) * k]
            .iter()
            .map(|&y| if y > 0.0 { "/" } else { "\\" })
            .collect();
        labels.push(format!("{} = {:+}", per.join(""), t.labels[r] as i32));
    }
    Figure::Image {
        title: format!("{title}: {}", labels.join(", ")),
        width,
        height,
        pixels,
    }
}

/// Five images of each class, as in the paper's Figure 2: top row +1 ("/"), bottom row -1.
pub(super) fn classes_figure(rng: &mut Stream) -> Figure {
    let mut pos = Vec::new();
    let mut neg = Vec::new();
    while pos.len() < 5 || neg.len() < 5 {
        let img = line_image(rng);
        if img.label > 0.0 && pos.len() < 5 {
            pos.push(img);
        } else if img.label < 0.0 && neg.len() < 5 {
            neg.push(img);
        }
    }
    let t = Tuples {
        batch: 2,
        k: 5,
        images: pos
            .iter()
            .chain(&neg)
            .flat_map(|i| i.pixels.iter().copied())
            .collect(),
        image_labels: pos.iter().chain(&neg).map(|i| i.label).collect(),
        labels: vec![1.0, -1.0],
    };
    let mut f = tuples_figure(&t, 2, "");
    if let Figure::Image { title, .. } = &mut f {
        *title = "E2: line images, top row y = +1 (rising), bottom row y = -1 (falling)".into();
    }
    f
}
