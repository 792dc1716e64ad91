//! The CUDA path against the CPU: the same short runs, same seeds, on both devices, every
//! metric point compared within float tolerance. It runs where a GPU is usable (a build with
//! the `cuda` feature, `scripts/build-cuda.sh`'s, on a machine with a GPU); elsewhere it prints
//! why it is skipped. Without a GPU, `tests/cli.rs` checks what `--device` says instead.

use fail_lab::experiments::{params_with, run_direct, CollectCtx};
use fail_lab::nn::{resolve, with_device, ComputeDevice, DeviceChoice};

/// The first GPU, or `None` with the reason printed.
fn gpu() -> Option<ComputeDevice> {
    match resolve(DeviceChoice::Cuda(0)) {
        Ok((info, _)) => {
            eprintln!("on {}", info.label());
            Some(info.device)
        }
        Err(e) => {
            eprintln!("skipped: no usable GPU: {e}");
            None
        }
    }
}

fn run_on(device: ComputeDevice, id: &str, overrides: &[(&str, &str)], seed: u64) -> CollectCtx {
    with_device(device, || {
        let p = params_with(id, overrides).unwrap();
        let mut ctx = CollectCtx::new();
        run_direct(id, &p, seed, &mut ctx).unwrap_or_else(|e| panic!("{id} on {device}: {e:?}"));
        ctx
    })
}

/// Every metric point of `gpu` within `abs + rel |cpu|` of the CPU's, the same points on both.
fn assert_agree(id: &str, cpu: &CollectCtx, gpu: &CollectCtx, rel: f64, abs: f64) {
    assert_eq!(
        cpu.metrics.keys().collect::<Vec<_>>(),
        gpu.metrics.keys().collect::<Vec<_>>(),
        "{id}: the same metrics"
    );
    let mut compared = 0;
    for (name, c) in &cpu.metrics {
        let g = &gpu.metrics[name];
        assert_eq!(c.len(), g.len(), "{id} {name}: as many points");
        for ((sc, vc), (sg, vg)) in c.iter().zip(g) {
            assert_eq!(sc, sg, "{id} {name}: the same steps");
            if vc.is_nan() && vg.is_nan() {
                continue;
            }
            assert!(
                (vc - vg).abs() <= abs + rel * vc.abs(),
                "{id} {name} at step {sc}: CPU {vc}, GPU {vg}"
            );
            compared += 1;
        }
    }
    assert!(compared > 0, "{id}: no metric point to compare");
    eprintln!("{id}: {compared} metric points agree");
}

/// Short runs of every experiment whose networks train on the GPU.
const RUNS: &[(&str, &[(&str, &str)])] = &[
    ("E1", &[("d", "10"), ("steps", "300"), ("eval_every", "50")]),
    (
        "E4",
        &[
            ("d", "100"),
            ("k", "10"),
            ("steps", "200"),
            ("eval_every", "50"),
        ],
    ),
    (
        "E9",
        &[
            ("train_size", "1000"),
            ("val_size", "200"),
            ("steps", "200"),
            ("eval_every", "50"),
        ],
    ),
    (
        "E11",
        &[
            ("steps", "200"),
            ("eval_every", "50"),
            ("test_samples", "1000"),
        ],
    ),
    (
        "E12",
        &[
            ("steps", "200"),
            ("eval_every", "50"),
            ("test_samples", "1000"),
        ],
    ),
    (
        "E13",
        &[
            ("steps", "200"),
            ("eval_every", "50"),
            ("test_samples", "1000"),
        ],
    ),
    (
        "E14",
        &[
            ("steps", "200"),
            ("eval_every", "50"),
            ("test_samples", "1000"),
        ],
    ),
    (
        "LP",
        &[
            ("steps", "300"),
            ("eval_every", "100"),
            ("eval_samples", "500"),
        ],
    ),
];

#[test]
fn the_networks_agree_on_the_gpu_and_the_cpu() {
    let Some(gpu) = gpu() else { return };
    for (id, overrides) in RUNS {
        let cpu = run_on(ComputeDevice::Cpu, id, overrides, 3);
        let on_gpu = run_on(gpu, id, overrides, 3);
        // a few hundred steps of float32 in another order of summation
        assert_agree(id, &cpu, &on_gpu, 1e-3, 1e-4);
    }
}

#[test]
fn an_unusable_device_is_an_error_not_a_panic() {
    // without the cuda feature, or on a machine with one GPU at most, cuda:64 does not exist
    let err = resolve(DeviceChoice::Cuda(64)).unwrap_err();
    assert!(err.0.starts_with("cuda:64: "), "{}", err.0);
    // auto always gives a device
    let (info, _) = resolve(DeviceChoice::Auto).unwrap();
    if fail_lab::nn::cuda_built() {
        eprintln!("auto: {}", info.label());
    } else {
        assert_eq!(info.device, ComputeDevice::Cpu);
    }
}
