//! The command line: one file (or folder) per subcommand, the arguments they share
//! (`args.rs`) and what they print (`out.rs`). `main.rs` parses and dispatches to them.
//!
//! | subcommand | file |
//! | --- | --- |
//! | (none): the lab | `lab.rs` |
//! | `run` | `run.rs` |
//! | `sweep` | `sweep/` (local pool, `--slurm`, the grid's table) |
//! | `export`, `plot` | `export.rs`, `plot.rs`, and `targets.rs` for the runs they name |
//! | `list` | `list.rs` |
//! | `reproduce` | `reproduce/` (plan, train or read the runs, judge, figures) |

pub mod args;
pub mod export;
pub mod lab;
pub mod list;
pub mod out;
pub mod plot;
pub mod reproduce;
pub mod run;
pub mod sweep;
mod targets;
