//! Draws a [`Figure`] with plotters, as SVG text or PNG bytes, in the font shipped under
//! `assets/fonts/` (nothing is read from the system).
//!
//! A log axis is drawn on the base-10 logarithms of the values (its ticks are labelled with
//! the values); points that cannot be drawn (not finite, or not positive on a log axis) are
//! left out and break the line there.

use std::path::Path;
use std::sync::Once;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::model::{Axis, Figure, Image, Panel};
use super::scale;
use super::text::{self, Typeset};

/// The font every figure is drawn in (DejaVu Sans, see `assets/fonts/LICENSE-DejaVu.txt`).
pub static FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
const FAMILY: &str = "sans-serif";

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // the font is part of the binary; it always parses
        let _ = plotters::style::register_font(FAMILY, FontStyle::Normal, FONT);
    });
}

/// The file formats a figure can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Svg,
    Png,
}

impl Format {
    /// The format a file name asks for, by its extension.
    pub fn of(path: &Path) -> Result<Format, String> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("svg") => Ok(Format::Svg),
            Some("png") => Ok(Format::Png),
            _ => Err(format!(
                "{}: allowed: a file name ending in .svg or .png",
                path.display()
            )),
        }
    }
}

/// The figure as an SVG document of `size` pixels.
pub fn svg(fig: &Figure, size: (u32, u32)) -> Result<String, String> {
    register_font();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, size).into_drawing_area();
        draw(&root, fig)?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// The figure as a PNG file's bytes, `size` pixels, RGB.
pub fn png(fig: &Figure, size: (u32, u32)) -> Result<Vec<u8>, String> {
    register_font();
    let (w, h) = size;
    let mut rgb = vec![255u8; w as usize * h as usize * 3];
    {
        let bitmap = BitMapBackend::with_buffer(&mut rgb, size);
        // the font is part of the binary; it always parses
        let typeset = Typeset::new(bitmap, FONT).ok_or("the figures' font does not parse")?;
        let root = typeset.into_drawing_area();
        draw(&root, fig)?;
        root.present().map_err(|e| e.to_string())?;
    }
    encode_png(&rgb, size)
}

/// RGB pixels, row by row, as a PNG file's bytes.
pub fn encode_png(rgb: &[u8], (w, h): (u32, u32)) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    let mut enc = png::Encoder::new(&mut bytes, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Best);
    enc.set_adaptive_filter(png::AdaptiveFilterType::Adaptive);
    let mut writer = enc.write_header().map_err(|e| e.to_string())?;
    writer.write_image_data(rgb).map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())?;
    Ok(bytes)
}

/// Writes the figure to `path` in the format its extension names.
pub fn write(fig: &Figure, path: &Path, size: (u32, u32)) -> Result<(), String> {
    let bytes = match Format::of(path)? {
        Format::Svg => svg(fig, size)?.into_bytes(),
        Format::Png => png(fig, size)?,
    };
    std::fs::write(path, bytes).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Font sizes for a panel of `w` x `h` pixels.
#[derive(Debug, Clone, Copy)]
struct Fonts {
    caption: f64,
    label: f64,
    legend: f64,
    note: f64,
}

impl Fonts {
    fn for_panel(w: u32, h: u32) -> Fonts {
        let unit = (w.min(h) as f64 / 24.0).clamp(10.0, 20.0);
        Fonts {
            caption: unit * 1.15,
            label: unit,
            legend: unit * 0.9,
            note: unit * 0.85,
        }
    }
}

type Area<DB> = DrawingArea<DB, Shift>;

fn err(e: impl std::fmt::Display) -> String {
    format!("drawing the figure: {e}")
}

/// The smallest panel, in pixels, whose axes, labels and title are legible.
pub const MIN_PANEL: (u32, u32) = (160, 120);

fn draw<DB: DrawingBackend>(root: &Area<DB>, fig: &Figure) -> Result<(), String> {
    root.fill(&WHITE).map_err(err)?;
    let (w, h) = root.dim_in_pixel();
    let (rows, cols) = fig.grid();
    let big = Fonts::for_panel(w, h / rows as u32);
    let (pw, ph) = (w / cols as u32, h / rows as u32);
    if pw < MIN_PANEL.0 || ph < MIN_PANEL.1 {
        return Err(format!(
            "{w}x{h} pixels leave {pw}x{ph} to each of the {} panels; each needs at least \
             {}x{}: a size of {}x{} or more, or fewer panels",
            fig.panels.len(),
            MIN_PANEL.0,
            MIN_PANEL.1,
            MIN_PANEL.0 * cols as u32,
            MIN_PANEL.1 * rows as u32 + h / 10,
        ));
    }
    let notes = wrap(&fig.notes, w.saturating_sub(16), big.note);
    let notes_h = lines_height(notes.len(), big.note);
    let (rest, bottom) = root.split_vertically(h.saturating_sub(notes_h).max(1));
    let body = titled(&rest, &fig.title, big.caption)?;
    text_lines(&bottom, &notes, big.note, 8)?;
    let areas = body.split_evenly((rows, cols));
    for (area, panel) in areas.iter().zip(&fig.panels) {
        draw_panel(area, panel)?;
    }
    Ok(())
}

/// `lines` broken at spaces to fit `width` pixels of text of `size` (an average glyph of
/// the font is about half as wide as the size).
fn wrap(lines: &[String], width: u32, size: f64) -> Vec<String> {
    let room = ((width as f64 / (size * 0.55)) as usize).max(20);
    let mut out = Vec::new();
    for line in lines {
        let mut cur = String::new();
        for word in line.split(' ') {
            if !cur.is_empty() && cur.chars().count() + 1 + word.chars().count() > room {
                out.push(std::mem::take(&mut cur));
            }
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(word);
        }
        out.push(cur);
    }
    out
}

/// The height `lines` of text of `size` take, one above the other.
fn lines_height(n: usize, size: f64) -> u32 {
    (n as f64 * size * 1.35).ceil() as u32
}

/// Lines of text from the top-left corner of `area`, `indent` pixels in.
fn text_lines<DB: DrawingBackend>(
    area: &Area<DB>,
    lines: &[String],
    size: f64,
    indent: i32,
) -> Result<(), String> {
    let style = TextStyle::from((FAMILY, size).into_font()).color(&RGBColor(60, 60, 60));
    for (i, line) in lines.iter().enumerate() {
        let y = (i as f64 * size * 1.35 + size * 0.2) as i32;
        area.draw_text(line, &style, (indent, y)).map_err(err)?;
    }
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(area: &Area<DB>, panel: &Panel) -> Result<(), String> {
    let (w, h) = area.dim_in_pixel();
    let fonts = Fonts::for_panel(w, h);
    let indent = (fonts.label * 4.0) as i32;
    let notes = wrap(
        &panel.notes,
        w.saturating_sub(indent as u32 + 8),
        fonts.note,
    );
    let note_h = lines_height(notes.len(), fonts.note);
    let (chart_a, notes_a) = area.split_vertically(h.saturating_sub(note_h).max(1));
    text_lines(&notes_a, &notes, fonts.note, indent)?;
    let chart_a = titled(&chart_a, &panel.title, fonts.caption)?;
    if let Some(img) = &panel.image {
        return draw_image(&chart_a, img);
    }
    let bounds = scale::bounds(panel);
    let (cw, ch) = chart_a.dim_in_pixel();
    // axis labels as long as their axis, cut with an ellipsis beyond
    let x_desc = text::ellipsize(FONT, fonts.label, &panel.x.label, cw as f64 * 0.8);
    let y_desc = text::ellipsize(FONT, fonts.label, &panel.y.label, ch as f64 * 0.8);
    let mut chart = ChartBuilder::on(&chart_a)
        .margin((fonts.label * 0.8) as i32)
        // room for the last tick's label
        .margin_right((fonts.label * 2.2) as i32)
        .x_label_area_size((fonts.label * 2.8) as i32)
        .y_label_area_size((fonts.label * 4.6) as i32)
        .build_cartesian_2d(bounds.x.0..bounds.x.1, bounds.y.0..bounds.y.1)
        .map_err(err)?;
    let xf = tick_format(&panel.x, bounds.x);
    let yf = tick_format(&panel.y, bounds.y);
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(y_desc)
        .x_labels(6)
        .y_labels(6)
        .max_light_lines(2)
        .x_label_formatter(&xf)
        .y_label_formatter(&yf)
        .label_style((FAMILY, fonts.label * 0.9))
        .axis_desc_style((FAMILY, fonts.label))
        .light_line_style(RGBColor(246, 246, 246))
        .bold_line_style(RGBColor(220, 220, 220))
        .draw()
        .map_err(err)?;
    super::series::draw_data(&mut chart, panel, &bounds)?;
    if !panel.legend().is_empty() {
        chart
            .configure_series_labels()
            .position(super::series::legend_corner(panel, &bounds))
            .label_font((FAMILY, fonts.legend))
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(180, 180, 180))
            .draw()
            .map_err(err)?;
    }
    Ok(())
}

/// The tick labels of an axis over `range`: its values (on a log axis, 10 to the tick); a
/// tick a rounding error away from 0 is 0.
fn tick_format(axis: &Axis, (lo, hi): (f64, f64)) -> impl Fn(&f64) -> String {
    let log = axis.log;
    let zero = (hi - lo).abs() * 1e-9;
    move |v: &f64| match (log, v.abs() < zero) {
        (true, _) => scale::fmt_tick(10f64.powf(*v)),
        (false, true) => "0".into(),
        (false, false) => scale::fmt_tick(*v),
    }
}

/// A picture in the panel, as large as fits with square pixels.
fn draw_image<DB: DrawingBackend>(area: &Area<DB>, img: &Image) -> Result<(), String> {
    let (aw, ah) = area.dim_in_pixel();
    if img.width == 0 || img.height == 0 || img.pixels.len() < img.width * img.height {
        return Ok(());
    }
    let px = (aw as f64 / img.width as f64)
        .min(ah as f64 / img.height as f64)
        .max(1.0);
    let x0 = (aw as f64 - px * img.width as f64) / 2.0;
    let (lo, hi) = scale::pixel_range(&img.pixels);
    for y in 0..img.height {
        for x in 0..img.width {
            let v = (img.pixels[y * img.width + x] - lo) / (hi - lo);
            let g = (v.clamp(0.0, 1.0) * 255.0) as u8;
            let a = ((x0 + x as f64 * px) as i32, (y as f64 * px) as i32);
            let b = (
                (x0 + (x + 1) as f64 * px) as i32,
                ((y + 1) as f64 * px) as i32,
            );
            area.draw(&Rectangle::new([a, b], RGBColor(g, g, g).filled()))
                .map_err(err)?;
        }
    }
    Ok(())
}

/// Draws `title` centred at the top of `area`, in at most two lines that fit its width, and
/// returns the area under it.
fn titled<DB: DrawingBackend>(area: &Area<DB>, title: &str, size: f64) -> Result<Area<DB>, String> {
    if title.is_empty() {
        return Ok(area.clone());
    }
    let (w, h) = area.dim_in_pixel();
    let (lines, size) = fit_title(title, (w as f64 - 8.0).max(16.0), size);
    let line_h = size * 1.3;
    let title_h = (lines.len() as f64 * line_h + size * 0.4).ceil() as u32;
    let (top, rest) = area.split_vertically(title_h.min(h.saturating_sub(1)));
    let style = TextStyle::from((FAMILY, size).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    for (i, line) in lines.iter().enumerate() {
        let y = (size * 0.2 + i as f64 * line_h) as i32;
        top.draw_text(line, &style, (w as i32 / 2, y))
            .map_err(err)?;
    }
    Ok(rest)
}

/// A title's lines and type size within `room` pixels: one or two lines at `size`, else in
/// smaller type, else two lines of the smallest with the second cut by an ellipsis.
pub(crate) fn fit_title(title: &str, room: f64, size: f64) -> (Vec<String>, f64) {
    let fits = |lines: &[String], s: f64| {
        lines.len() <= 2 && lines.iter().all(|l| text::width(FONT, s, l) <= room)
    };
    for s in [size, size * 0.85] {
        let lines = text::wrap(FONT, s, title, room);
        if fits(&lines, s) {
            return (lines, s);
        }
    }
    let s = size * 0.72;
    let lines = text::wrap(FONT, s, title, room);
    if fits(&lines, s) {
        return (lines, s);
    }
    let first = text::ellipsize(FONT, s, &lines[0], room);
    let rest = title.get(lines[0].len()..).unwrap_or_default().trim_start();
    let mut out = vec![first];
    if !rest.is_empty() {
        out.push(text::ellipsize(FONT, s, rest, room));
    }
    (out, s)
}
