//! The lab's data, apart from its drawing (nothing here imports ratatui): the runs the lab
//! knows and the table's cursor over them (`run_list`), the tree of sweeps, groups and runs
//! with what a group's runs add up to (`run_tree`), and the runs filter (`run_filter`).
//! Panes and screens read it; the app changes it.

pub mod run_filter;
pub mod run_list;
pub mod run_row;
pub mod run_tree;
