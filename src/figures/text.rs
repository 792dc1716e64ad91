//! Text for the PNG figures, laid out glyph by glyph from the font's own metrics.
//!
//! plotters' bitmap text places each glyph's outline at the pen position without its left
//! side bearing, so glyphs with a large bearing or a wide slant (`\`, `/`, `(`) land on their
//! neighbours. [`Typeset`] wraps a drawing backend and draws (and measures) text itself:
//! advances, kerning and bearings as the font gives them, the anchor and the rotation the
//! style asks for, and the ink blended into the pixels below. Everything else goes to the
//! backend it wraps.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
    FontTransform,
};

/// A backend whose text is drawn with the font's metrics (see the module's text).
pub struct Typeset<'f, B> {
    inner: B,
    font: FontRef<'f>,
}

impl<'f, B: DrawingBackend> Typeset<'f, B> {
    /// `inner` with its text in `font` (a TrueType file's bytes); `None` when the bytes are
    /// not a font.
    pub fn new(inner: B, font: &'f [u8]) -> Option<Self> {
        let font = FontRef::try_from_slice(font).ok()?;
        Some(Typeset { inner, font })
    }
}

/// One line of text placed from its pen origin: each glyph's outline at its advance, plus
/// the line's width and its ascent and descent (descent negative), in pixels.
struct Line {
    glyphs: Vec<ab_glyph::Glyph>,
    width: f32,
    ascent: f32,
    descent: f32,
}

fn layout(font: &FontRef<'_>, size: f32, text: &str) -> Line {
    let scaled = font.as_scaled(PxScale::from(size));
    let mut x = 0.0f32;
    let mut prev = None;
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            x += scaled.kern(p, id);
        }
        glyphs.push(id.with_scale_and_position(size, ab_glyph::point(x, 0.0)));
        x += scaled.h_advance(id);
        prev = Some(id);
    }
    Line {
        glyphs,
        width: x,
        ascent: scaled.ascent(),
        descent: scaled.descent(),
    }
}

/// The width in pixels of `text` in the figures' font at `size`, as [`Typeset`] draws it
/// (SVG viewers draw the same font within a few per cent).
pub fn width(font: &[u8], size: f64, text: &str) -> f64 {
    match FontRef::try_from_slice(font) {
        Ok(f) => f64::from(layout(&f, size as f32, text).width),
        // an average glyph is about half as wide as the size
        Err(_) => text.chars().count() as f64 * size * 0.55,
    }
}

/// `text` broken at spaces into lines no wider than `room` pixels at `size`; a word wider
/// than the room is a line of its own.
pub fn wrap(font: &[u8], size: f64, text: &str, room: f64) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        let tried = if cur.is_empty() {
            word.to_string()
        } else {
            format!("{cur} {word}")
        };
        if !cur.is_empty() && width(font, size, &tried) > room {
            out.push(std::mem::replace(&mut cur, word.to_string()));
        } else {
            cur = tried;
        }
    }
    out.push(cur);
    out
}

/// `text` cut to fit `room` pixels at `size`, ending in `…` where it was cut.
pub fn ellipsize(font: &[u8], size: f64, text: &str, room: f64) -> String {
    if width(font, size, text) <= room {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    let (mut lo, mut hi) = (0, chars.len());
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        let t: String = chars[..mid].iter().chain(['…'].iter()).collect();
        if width(font, size, &t) <= room {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    chars[..lo].iter().chain(['…'].iter()).collect()
}

impl<B: DrawingBackend> DrawingBackend for Typeset<'_, B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_path(path, style)
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.fill_polygon(vert, style)
    }

    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        let l = layout(&self.font, style.size() as f32, text);
        Ok((l.width.ceil() as u32, (l.ascent - l.descent).ceil() as u32))
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let color = style.color();
        if color.alpha == 0.0 || text.is_empty() {
            return Ok(());
        }
        let l = layout(&self.font, style.size() as f32, text);
        let height = l.ascent - l.descent;
        let anchor = style.anchor();
        // the box's top-left corner, relative to the anchor, before any rotation
        let dx = match anchor.h_pos {
            HPos::Left => 0.0,
            HPos::Center => -l.width / 2.0,
            HPos::Right => -l.width,
        };
        let dy = match anchor.v_pos {
            VPos::Top => 0.0,
            VPos::Center => -height / 2.0,
            VPos::Bottom => -height,
        };
        let trans = style.transform();
        let (w, h) = self.inner.get_size();
        let mut ink = Vec::new();
        for g in l.glyphs {
            let Some(outline) = self.font.outline_glyph(g) else {
                continue;
            };
            let b = outline.px_bounds();
            outline.draw(|x, y, cover| {
                // glyph pixel -> box coordinates (baseline at the ascent) -> rotated
                let bx = (dx + b.min.x + x as f32).round() as i32;
                let by = (dy + l.ascent + b.min.y + y as f32).round() as i32;
                ink.push((bx, by, cover));
            });
        }
        for (bx, by, cover) in ink {
            if cover <= 0.0 {
                continue;
            }
            let (rx, ry) = match trans {
                FontTransform::None => (bx, by),
                FontTransform::Rotate90 => (-by, bx),
                FontTransform::Rotate180 => (-bx, -by),
                FontTransform::Rotate270 => (by, -bx),
            };
            let (x, y) = (pos.0 + rx, pos.1 + ry);
            if x < 0 || y < 0 || x >= w as i32 || y >= h as i32 {
                continue;
            }
            let c = BackendColor {
                alpha: color.alpha * f64::from(cover.min(1.0)),
                rgb: color.rgb,
            };
            self.inner.draw_pixel((x, y), c)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

    /// The columns of a one-line text where some glyph has ink.
    fn inked_columns(text: &str) -> Vec<bool> {
        let font = FontRef::try_from_slice(FONT).unwrap();
        let l = layout(&font, 40.0, text);
        let mut cols = vec![false; l.width.ceil() as usize + 8];
        for g in l.glyphs {
            if let Some(o) = font.outline_glyph(g) {
                let b = o.px_bounds();
                o.draw(|x, _, c| {
                    let i = (b.min.x + x as f32).round().max(0.0) as usize;
                    if c > 0.5 && i < cols.len() {
                        cols[i] = true;
                    }
                });
            }
        }
        cols
    }

    /// Runs of inked columns: separate glyphs leave blank columns between them.
    fn ink_runs(cols: &[bool]) -> usize {
        cols.windows(2).filter(|w| !w[0] && w[1]).count() + usize::from(cols[0])
    }

    #[test]
    fn backslashes_stand_apart_as_the_font_spaces_them() {
        // three backslashes in a row are three strokes, not one smudge
        assert_eq!(ink_runs(&inked_columns("\\ \\ \\")), 3);
        assert_eq!(ink_runs(&inked_columns("/ \\ /")), 3);
    }

    #[test]
    fn a_line_is_as_wide_as_its_advances() {
        let font = FontRef::try_from_slice(FONT).unwrap();
        let one = layout(&font, 20.0, "\\").width;
        let three = layout(&font, 20.0, "\\\\\\").width;
        assert!((three - 3.0 * one).abs() < 0.5, "{one} {three}");
        assert!(layout(&font, 20.0, "ab").ascent > 0.0);
    }
}
