//! Convolutions (spec parts 2 and 3).
