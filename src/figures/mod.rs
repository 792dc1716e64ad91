//! Figures out of the lab: a plain plot model ([`model`]), filled from runs ([`views`]) or
//! by the paper's figures ([`paper`]), and drawn as SVG or PNG ([`render`]).

pub mod model;
pub mod paper;
pub mod render;
mod scale;
mod series;
mod text;
pub mod views;

pub use model::{parse_size, Axis, ErrorBars, ErrorPoint, Figure, Image, Line, Panel, Reference};
pub use render::{png, svg, write, Format};
pub use series::{colour, PALETTE};

/// The width in pixels of `text` in the figures' font at `size`.
pub fn text_width(text: &str, size: f64) -> f64 {
    text::width(render::FONT, size, text)
}
