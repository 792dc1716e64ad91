//! Full screens and the boxes drawn over them. Like a pane, each file holds its state, what
//! its keys do (`on_cmd`) and its `render`.

pub mod compare;
mod compare_groups;
pub mod dialogs;
pub mod figure;
pub mod help;
pub mod sweep;
mod sweep_chart;

/// What fills the screen below the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    Main,
    Compare,
    Sweep,
    Figure,
}
