//! Names drawn around a chart rather than over it: the legend in rows above the plot,
//! and the x axis' unit in its last label.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::Span;
use ratatui::widgets::Paragraph;
use ratatui::Frame;

use super::plot::{x_labels, y_labels, Plot};

/// A line's glyph in a legend above its plot, and a set of points' (a fit's censored groups).
pub const LINE_GLYPH: &str = "━ ";
pub const MARK_GLYPH: &str = "• ";

/// The legend's rows above a plot of `width` columns: each named line's (or set of
/// points') glyph and name, packed into as few rows as hold them whole.
fn legend_rows<'a>(
    items: impl Iterator<Item = (&'a String, &'a Style, &'static str)>,
    width: usize,
) -> Vec<ratatui::text::Line<'static>> {
    let mut rows: Vec<ratatui::text::Line<'static>> = Vec::new();
    let mut used = 0;
    for (name, style, glyph) in items.filter(|l| !l.0.is_empty()) {
        let item = name.chars().count() + 2;
        if used > 0 && used + 2 + item > width {
            used = 0;
        }
        if used == 0 {
            rows.push(ratatui::text::Line::default());
        } else if let Some(row) = rows.last_mut() {
            row.spans.push(Span::raw("  "));
            used += 2;
        }
        if let Some(row) = rows.last_mut() {
            row.spans.push(Span::styled(glyph, *style));
            row.spans.push(Span::styled(name.clone(), *style));
        }
        used += item;
    }
    rows
}

/// Draws the legend of `items` in rows above `area` when it fits whole in a quarter of
/// its height; returns the area left for the plot.
pub fn legend_above<'a>(
    f: &mut Frame,
    items: impl Iterator<Item = (&'a String, &'a Style, &'static str)>,
    area: Rect,
) -> Option<Rect> {
    let rows = legend_rows(items, area.width as usize);
    let fits = rows.iter().all(|r| r.width() <= area.width as usize);
    if rows.is_empty() || !fits || rows.len() as u16 * 4 > area.height {
        return None;
    }
    let [top, rest] = ratatui::layout::Layout::vertical([
        Constraint::Length(rows.len() as u16),
        Constraint::Min(0),
    ])
    .areas(area);
    f.render_widget(Paragraph::new(rows), top);
    Some(rest)
}

/// The x axis' labels with what it counts in the last one (`300 steps`): an axis
/// title would be drawn inside the plot, over its lines, and against the next panel's
/// y labels (`step0.4│`).
pub fn named_x_labels(plot: &Plot) -> [String; 3] {
    let log_x = plot.look.log_x;
    let [a, b, c] = if plot.x_steps {
        x_labels(plot.x, log_x)
    } else {
        y_labels(plot.x, log_x)
    };
    // a parameter's axis is named in its chart's title (`… against n`): its ends are
    // padded values, not points to name
    let c = match (plot.x_steps, plot.x_label.as_str()) {
        (true, "step") => format!("{c} steps"),
        (true, name) if !name.is_empty() => format!("{name}={c}"),
        _ => c,
    };
    let c = if log_x { format!("{c} (log)") } else { c };
    [a, b, c]
}
