//! Builds the presets of `scenarios/` into the binary, so that `fail-lab` has them from any
//! directory: `OUT_DIR/presets.rs` lists each `*.toml` file's name and text, in name order.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // the PTX target of a `cuda` build (scripts/build-cuda.sh sets it), named in device errors
    println!("cargo:rerun-if-env-changed=CUDA_COMPUTE_CAP");
    let arch = match std::env::var("CUDA_COMPUTE_CAP") {
        Ok(cap) if !cap.is_empty() => format!("sm_{cap}"),
        _ => "the GPU of the build machine".to_string(),
    };
    println!("cargo:rustc-env=FAIL_LAB_PTX_ARCH={arch}");

    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    println!("cargo:rerun-if-changed={}", dir.display());
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "toml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut out = String::from("pub static BUILT_IN: &[(&str, &str)] = &[\n");
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        let name = f.file_name().unwrap().to_string_lossy();
        writeln!(out, "    ({name:?}, include_str!({:?})),", f.display()).unwrap();
    }
    out.push_str("];\n");
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("presets.rs");
    std::fs::write(dest, out).unwrap();
}
