//! fail-lab: a terminal lab for the experiments of *Failures of Gradient-Based Deep Learning*
//! (Shalev-Shwartz, Shamir, Shammah, ICML 2017).

pub mod engine;
pub mod experiments;
pub mod figures;
pub mod nn;
pub mod slurm;
pub mod spec;
pub mod stats;
pub mod sweep;
pub mod tui;
