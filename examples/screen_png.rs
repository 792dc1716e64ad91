//! Draws a terminal screen captured by `tmux capture-pane -e -p` (text with its colour
//! escapes) as a PNG, cell by cell, in the monospace font shipped under `assets/fonts/`.
//! `scripts/make-assets.sh` uses it for the lab's picture in `assets/`.
//!
//! Usage: `cargo run --release --example screen_png -- CAPTURE COLS ROWS OUT.png`

use ab_glyph::{Font, FontRef, PxScale, ScaleFont};

static MONO: &[u8] = include_bytes!("../assets/fonts/DejaVuSansMono.ttf");

/// The terminal's default colours and its 16 named ones (a dark theme).
const DEFAULT_FG: [u8; 3] = [0xd4, 0xd4, 0xd4];
const DEFAULT_BG: [u8; 3] = [0x1e, 0x1e, 0x1e];
const NAMED: [[u8; 3]; 16] = [
    [0x1e, 0x1e, 0x1e],
    [0xcd, 0x31, 0x31],
    [0x0d, 0xbc, 0x79],
    [0xe5, 0xe5, 0x10],
    [0x24, 0x72, 0xc8],
    [0xbc, 0x3f, 0xbc],
    [0x11, 0xa8, 0xcd],
    [0xe5, 0xe5, 0xe5],
    [0x76, 0x76, 0x76],
    [0xf1, 0x4c, 0x4c],
    [0x23, 0xd1, 0x8b],
    [0xf5, 0xf5, 0x43],
    [0x3b, 0x8e, 0xea],
    [0xd6, 0x70, 0xd6],
    [0x29, 0xb8, 0xdb],
    [0xff, 0xff, 0xff],
];

/// An xterm 256-colour index as RGB.
fn indexed(i: u8) -> [u8; 3] {
    match i {
        0..=15 => NAMED[i as usize],
        16..=231 => {
            let i = i - 16;
            let level = |v: u8| if v == 0 { 0 } else { 55 + v * 40 };
            [level(i / 36), level(i / 6 % 6), level(i % 6)]
        }
        _ => {
            let g = 8 + (i - 232) * 10;
            [g, g, g]
        }
    }
}

fn rgb(c: vt100::Color, default: [u8; 3]) -> [u8; 3] {
    match c {
        vt100::Color::Default => default,
        vt100::Color::Idx(i) => indexed(i),
        vt100::Color::Rgb(r, g, b) => [r, g, b],
    }
}

/// An RGB picture.
struct Canvas {
    w: usize,
    h: usize,
    px: Vec<u8>,
}

impl Canvas {
    fn fill(&mut self, x0: usize, y0: usize, w: usize, h: usize, c: [u8; 3]) {
        for y in y0..(y0 + h).min(self.h) {
            for x in x0..(x0 + w).min(self.w) {
                let i = (y * self.w + x) * 3;
                self.px[i..i + 3].copy_from_slice(&c);
            }
        }
    }

    fn blend(&mut self, x: i64, y: i64, c: [u8; 3], a: f32) {
        if x < 0 || y < 0 || x as usize >= self.w || y as usize >= self.h {
            return;
        }
        let i = (y as usize * self.w + x as usize) * 3;
        for (dst, src) in self.px[i..i + 3].iter_mut().zip(c) {
            let old = *dst as f32;
            *dst = (old + (src as f32 - old) * a.clamp(0.0, 1.0)).round() as u8;
        }
    }
}

/// Cell size and the font at that size.
struct Cells<'f> {
    font: ab_glyph::PxScaleFont<FontRef<'f>>,
    w: usize,
    h: usize,
}

impl Cells<'_> {
    /// Draws one cell: its background, then its character (block halves as rectangles, so
    /// that pictures drawn in half-blocks tile without gaps).
    fn draw(&self, canvas: &mut Canvas, col: usize, row: usize, cell: &vt100::Cell) {
        let (mut fg, mut bg) = (
            rgb(cell.fgcolor(), DEFAULT_FG),
            rgb(cell.bgcolor(), DEFAULT_BG),
        );
        if cell.inverse() {
            std::mem::swap(&mut fg, &mut bg);
        }
        let (x0, y0) = (col * self.w, row * self.h);
        let wide = if cell.is_wide() { 2 } else { 1 };
        canvas.fill(x0, y0, self.w * wide, self.h, bg);
        let text = cell.contents();
        let Some(ch) = text.chars().next() else {
            return;
        };
        match ch {
            '▀' => canvas.fill(x0, y0, self.w, self.h / 2, fg),
            // lower eighths, up to the full block
            '▁'..='█' => {
                let eighths = ch as usize - '▁' as usize + 1;
                let top = self.h - self.h * eighths / 8;
                canvas.fill(x0, y0 + top, self.w, self.h - top, fg);
            }
            '\u{2801}'..='\u{28ff}' => self.braille(canvas, ch as u32 - 0x2800, x0, y0, fg),
            ' ' | '\u{2800}' => {}
            _ => self.glyph(canvas, ch, x0, y0, fg),
        }
    }

    /// A Braille pattern as dots in a 2 x 4 grid (the font has none).
    fn braille(&self, canvas: &mut Canvas, bits: u32, x0: usize, y0: usize, fg: [u8; 3]) {
        // bit -> (column, row) of the dot, as Unicode numbers the dots
        const DOTS: [(usize, usize); 8] = [
            (0, 0),
            (0, 1),
            (0, 2),
            (1, 0),
            (1, 1),
            (1, 2),
            (0, 3),
            (1, 3),
        ];
        let size = (self.w / 4).max(2);
        for (bit, (c, r)) in DOTS.iter().enumerate() {
            if bits & (1 << bit) != 0 {
                let x = x0 + self.w * (2 * c + 1) / 4 - size / 2;
                let y = y0 + self.h * (2 * r + 1) / 8 - size / 2;
                canvas.fill(x, y, size, size, fg);
            }
        }
    }

    fn glyph(&self, canvas: &mut Canvas, ch: char, x0: usize, y0: usize, fg: [u8; 3]) {
        let id = self.font.glyph_id(ch);
        let glyph = id.with_scale_and_position(
            self.font.scale(),
            ab_glyph::point(x0 as f32, y0 as f32 + self.font.ascent()),
        );
        if let Some(outline) = self.font.outline_glyph(glyph) {
            let b = outline.px_bounds();
            outline.draw(|x, y, a| {
                canvas.blend(b.min.x as i64 + x as i64, b.min.y as i64 + y as i64, fg, a)
            });
        }
    }
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [capture, cols, rows, out] = args.as_slice() else {
        return Err("usage: screen_png CAPTURE COLS ROWS OUT.png".into());
    };
    let cols: u16 = cols
        .parse()
        .map_err(|_| format!("COLS: {cols} is not a number"))?;
    let rows: u16 = rows
        .parse()
        .map_err(|_| format!("ROWS: {rows} is not a number"))?;
    let text = std::fs::read_to_string(capture).map_err(|e| format!("{capture}: {e}"))?;
    let mut parser = vt100::Parser::new(rows, cols, 0);
    // capture-pane ends lines with \n only
    parser.process(text.trim_end_matches('\n').replace('\n', "\r\n").as_bytes());
    let screen = parser.screen();
    let font = FontRef::try_from_slice(MONO).map_err(|e| e.to_string())?;
    let scaled = font.into_scaled(PxScale::from(18.0));
    let cells = Cells {
        w: scaled.h_advance(scaled.glyph_id('M')).ceil() as usize,
        h: (scaled.ascent() - scaled.descent()).ceil() as usize,
        font: scaled,
    };
    let (w, h) = (cols as usize * cells.w, rows as usize * cells.h);
    let mut canvas = Canvas {
        w,
        h,
        px: vec![0; w * h * 3],
    };
    for row in 0..rows {
        for col in 0..cols {
            match screen.cell(row, col) {
                Some(c) if !c.is_wide_continuation() => {
                    cells.draw(&mut canvas, col as usize, row as usize, c)
                }
                _ => {}
            }
        }
    }
    let png = fail_lab::figures::render::encode_png(&canvas.px, (w as u32, h as u32))?;
    std::fs::write(out, png).map_err(|e| format!("cannot write {out}: {e}"))?;
    eprintln!("wrote {out} ({w}x{h})");
    Ok(())
}
