//! The backward pass through the pool's winners against the dense reference, and against a
//! case worked out by hand.

use rand::{Rng, SeedableRng};

use super::op::{conv_pool_backward, conv_pool_backward_dense, conv_pool_forward, CHUNK};
use super::{conv_kernels_available, conv_pool_grads, with_conv_kernels, ConvPoolShape};

/// The largest difference of `got` from `want`, over the largest magnitude of `want`.
fn rel_diff(got: &[f32], want: &[f32]) -> f64 {
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64));
    let diff = got
        .iter()
        .zip(want)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs() as f64));
    if scale == 0.0 {
        diff
    } else {
        diff / scale
    }
}

/// Every number within float rounding of the reference: `1e-5` of itself plus `1e-6` of the
/// largest one (sums of many terms of both signs lose digits to cancellation).
fn assert_close(got: &[f32], want: &[f32], what: &str) -> f64 {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= 1e-5 * b.abs() + 1e-6 * scale,
            "{what}[{i}]: winners {a}, dense {b} (largest {scale})"
        );
    }
    rel_diff(got, want)
}

/// Inputs of a stage: uniform in [-1, 1], or E2-like binary images (mostly zero: whole pooling
/// windows of equal conv outputs, ties the winner index breaks), or all zero (every window a
/// tie).
#[derive(Clone, Copy, Debug)]
enum Inputs {
    Uniform,
    Binary,
    Zero,
}

fn draw_inputs(rng: &mut impl Rng, kind: Inputs, len: usize) -> Vec<f32> {
    (0..len)
        .map(|_| match kind {
            Inputs::Uniform => rng.gen_range(-1.0..1.0),
            Inputs::Binary => f32::from(u8::from(rng.gen_bool(0.1))),
            Inputs::Zero => 0.0,
        })
        .collect()
}

/// Compares the two backward passes on `n` images of shape `s`; returns the largest relative
/// difference of the filter and input gradients.
fn compare(rng: &mut impl Rng, s: ConvPoolShape, n: usize, kind: Inputs) -> f64 {
    let x = draw_inputs(rng, kind, n * s.in_len());
    let w: Vec<f32> = (0..s.filter_len())
        .map(|_| rng.gen_range(-0.5..0.5))
        .collect();
    let b: Vec<f32> = (0..s.cout).map(|_| rng.gen_range(-0.5..0.5)).collect();
    // a fifth of the pooled gradients zero, as where a loss passes nothing back
    let mut gout: Vec<f32> = (0..n * s.out_len())
        .map(|_| {
            if rng.gen_bool(0.2) {
                0.0
            } else {
                rng.gen_range(-1.0..1.0)
            }
        })
        .collect();
    // and every pooled gradient of the second image, as where a tuple's loss is flat
    if n > 1 {
        gout[s.out_len()..2 * s.out_len()].fill(0.0);
    }
    let (_, arg) = conv_pool_forward(&x, n, s, &w, &b);
    let what = format!("{s:?} n={n} {kind:?}");
    let (dw, db, dx) = conv_pool_backward(&x, n, s, &w, &arg, &gout, true);
    let (dw0, db0, dx0) = conv_pool_backward_dense(&x, n, s, &w, &arg, &gout, true);
    let mut worst = assert_close(&dw, &dw0, &format!("{what}: filter gradient"));
    assert_eq!(db, db0, "{what}: bias gradient");
    worst = worst.max(assert_close(
        dx.as_ref().unwrap(),
        dx0.as_ref().unwrap(),
        &format!("{what}: input gradient"),
    ));
    // without the input gradient: the same filter gradient, no input gradient
    let (dw1, _, dx1) = conv_pool_backward(&x, n, s, &w, &arg, &gout, false);
    assert_eq!(
        dw1, dw,
        "{what}: filter gradient without the input gradient"
    );
    assert!(dx1.is_none());
    worst
}

#[test]
fn winners_backward_matches_the_dense_reference_with_every_kernel() {
    let stage1 = ConvPoolShape {
        h: 28,
        w: 28,
        cin: 1,
        cout: 16,
    };
    let stage2 = ConvPoolShape {
        h: 14,
        w: 14,
        cin: 16,
        cout: 16,
    };
    // rows of 5 cin numbers that are not whole vectors, channel counts of every lane block
    let odd = [
        ConvPoolShape {
            h: 6,
            w: 8,
            cin: 3,
            cout: 4,
        },
        ConvPoolShape {
            h: 4,
            w: 2,
            cin: 2,
            cout: 5,
        },
        ConvPoolShape {
            h: 2,
            w: 2,
            cin: 1,
            cout: 1,
        },
    ];
    for kind in conv_kernels_available() {
        with_conv_kernels(kind, || {
            let mut rng = rand::rngs::StdRng::seed_from_u64(11);
            let mut worst = 0.0f64;
            for inputs in [Inputs::Uniform, Inputs::Binary, Inputs::Zero] {
                for n in [1, 5, CHUNK, CHUNK + 3, 2 * CHUNK + 7] {
                    worst = worst.max(compare(&mut rng, stage1, n, inputs));
                    worst = worst.max(compare(&mut rng, stage2, n, inputs));
                }
                for s in odd {
                    for n in [1, 3, CHUNK + 1] {
                        worst = worst.max(compare(&mut rng, s, n, inputs));
                    }
                }
            }
            println!("{kind}: largest relative difference {worst:.2e}");
        })
        .unwrap();
    }
}

/// One 2x2 image, two channels: channel 0 the image itself (its winner the 5 at (0, 1)),
/// channel 1 the image negated (its winner the 1 at (0, 0)); a winner read from the wrong
/// channel or pixel moves the gradients.
#[test]
fn winners_backward_matches_a_case_worked_by_hand() {
    let s = ConvPoolShape {
        h: 2,
        w: 2,
        cin: 1,
        cout: 2,
    };
    let x = [1.0, 5.0, 3.0, 2.0];
    // HWIO: only the centre tap (2, 2), +1 to channel 0 and -1 to channel 1
    let mut w = vec![0.0f32; s.filter_len()];
    w[12 * 2] = 1.0;
    w[12 * 2 + 1] = -1.0;
    let b = [0.0, 0.0];
    let gout = [2.0, 3.0];
    for kind in conv_kernels_available() {
        let (dw, db, dx) =
            with_conv_kernels(kind, || conv_pool_grads(&x, 1, s, &w, &b, &gout).unwrap()).unwrap();
        // d w[dy][dx][0][co] = g[co] * xpad[y + dy][x + dx] at the winner (y, x) of co
        let mut want = vec![0.0f32; s.filter_len()];
        let mut put = |dy: usize, dx: usize, co: usize, v: f32| want[(dy * 5 + dx) * 2 + co] = v;
        // channel 0, winner (0, 1): x[0][0] .. x[1][1] sit at taps (2..4, 1..3)
        put(2, 1, 0, 2.0 * 1.0);
        put(2, 2, 0, 2.0 * 5.0);
        put(3, 1, 0, 2.0 * 3.0);
        put(3, 2, 0, 2.0 * 2.0);
        // channel 1, winner (0, 0): taps (2..4, 2..4)
        put(2, 2, 1, 3.0 * 1.0);
        put(2, 3, 1, 3.0 * 5.0);
        put(3, 2, 1, 3.0 * 3.0);
        put(3, 3, 1, 3.0 * 2.0);
        assert_eq!(dw, want, "{kind}: filter gradient");
        assert_eq!(db, vec![2.0, 3.0], "{kind}: bias gradient");
        // d x = g[co] * w[2][2][0][co] at each winner: +2 at (0, 1), -3 at (0, 0)
        assert_eq!(dx, vec![-3.0, 2.0, 0.0, 0.0], "{kind}: input gradient");
    }
}
