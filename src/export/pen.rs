//! A thin layer over a plotters drawing area: rectangles, lines and text in pixel coordinates, so the
//! figure code reads as layout, and the same code draws PNG and SVG.
//!
//! Text in SVG is a `<text>` element the viewer renders; in a bitmap the pen lays the glyphs out with
//! ab_glyph itself (advances, kerning and side bearings) and blends their coverage into the pixels.

use ab_glyph::{point, Font as _, FontRef, PxScale, ScaleFont};
use plotters::coord::Shift;
use plotters::drawing::{DrawingArea, DrawingAreaErrorKind};
use plotters::element::{PathElement, Rectangle};
use plotters::prelude::DrawingBackend;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{
    Color, FontDesc, FontFamily, FontStyle, FontTransform, RGBColor, ShapeStyle, TextStyle,
};

use super::fonts::{self, SANS};

pub type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// Horizontal anchor of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Center,
    Right,
}

/// A text's look: size in pixels, weight, colour, and whether it runs up the page (rotated 270°, read
/// from bottom to top, as matplotlib's rotated tick labels).
#[derive(Debug, Clone, Copy)]
pub struct Font {
    pub size: f64,
    pub bold: bool,
    pub color: RGBColor,
    pub upright: bool,
}

impl Font {
    pub fn new(size: f64, color: RGBColor) -> Self {
        Self {
            size,
            bold: false,
            color,
            upright: false,
        }
    }

    pub fn bold(mut self) -> Self {
        self.bold = true;
        self
    }

    pub fn upright(mut self) -> Self {
        self.upright = true;
        self
    }

    fn desc(&self) -> FontDesc<'static> {
        let style = if self.bold {
            FontStyle::Bold
        } else {
            FontStyle::Normal
        };
        // plotters writes font-size = size / 1.24 into SVG, while the bitmap path scales DejaVu so its
        // ascent-to-descent height is `size` (an em of size × 2048/2384). Match the em sizes.
        FontDesc::new(
            FontFamily::Name(SANS),
            self.size * 1.24 * 2048.0 / 2384.0,
            style,
        )
    }

    fn face(&self) -> Option<&'static FontRef<'static>> {
        let faces = fonts::sans()?;
        Some(if self.bold {
            &faces.bold
        } else {
            &faces.regular
        })
    }

    /// Width in pixels of `text` laid out horizontally.
    pub fn width(&self, text: &str) -> f64 {
        match self.face() {
            Some(face) => f64::from(layout(face, self.size, text).1),
            // Only if the embedded font were corrupt; a rough guess keeps the layout sane.
            None => 0.6 * self.size * text.chars().count() as f64,
        }
    }

    /// `text` shortened with "…" to at most `max_w` pixels.
    pub fn fit(&self, text: &str, max_w: f64) -> String {
        if self.width(text) <= max_w {
            return text.to_string();
        }
        let chars: Vec<char> = text.chars().collect();
        // Binary search on the number of characters kept.
        let (mut lo, mut hi) = (0usize, chars.len());
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            let candidate: String = chars[..mid].iter().collect::<String>() + "…";
            if self.width(&candidate) <= max_w {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        let kept: String = chars[..lo].iter().collect();
        format!("{}…", kept.trim_end())
    }
}

/// Glyphs of `text` on a baseline at y = 0 starting at x = 0, and the advance width.
fn layout(face: &FontRef<'static>, size: f64, text: &str) -> (Vec<ab_glyph::Glyph>, f32) {
    let scale = PxScale::from(size as f32);
    let scaled = face.as_scaled(scale);
    let mut caret = 0.0f32;
    let mut prev = None;
    let mut glyphs = Vec::with_capacity(text.len());
    for ch in text.chars() {
        let id = scaled.glyph_id(ch);
        if let Some(p) = prev {
            caret += scaled.kern(p, id);
        }
        glyphs.push(id.with_scale_and_position(scale, point(caret, 0.0)));
        caret += scaled.h_advance(id);
        prev = Some(id);
    }
    (glyphs, caret)
}

/// Draws on one area; every coordinate is in pixels from the area's top left.
pub struct Pen<'a, DB: DrawingBackend> {
    area: &'a DrawingArea<DB, Shift>,
    /// Lay text out here (bitmaps) rather than hand it to the back end (SVG).
    raster_text: bool,
}

impl<'a, DB: DrawingBackend> Pen<'a, DB> {
    pub fn new(area: &'a DrawingArea<DB, Shift>, raster_text: bool) -> Self {
        Self { area, raster_text }
    }

    /// The part of this pen's area from `top` pixels down, `h` high, for a figure drawn under
    /// another: draw on it with `Pen::new(&area, pen.raster_text())`.
    pub fn area_below(&self, top: u32, w: u32, h: u32) -> DrawingArea<DB, Shift> {
        self.area.clone().shrink((0, top), (w, h))
    }

    pub fn raster_text(&self) -> bool {
        self.raster_text
    }

    /// A filled rectangle covering [x0, x1) × [y0, y1).
    pub fn fill(&self, x0: i32, y0: i32, x1: i32, y1: i32, color: RGBColor) -> DrawResult<DB> {
        if x1 <= x0 || y1 <= y0 {
            return Ok(());
        }
        self.area
            .draw(&Rectangle::new([(x0, y0), (x1, y1)], color.filled()))
    }

    /// A rectangle's outline along its edge pixels.
    pub fn frame(&self, x0: i32, y0: i32, x1: i32, y1: i32, color: RGBColor) -> DrawResult<DB> {
        let (r, b) = (x1 - 1, y1 - 1);
        self.line(&[(x0, y0), (r, y0), (r, b), (x0, b), (x0, y0)], color, 1)
    }

    pub fn line(&self, points: &[(i32, i32)], color: RGBColor, width: u32) -> DrawResult<DB> {
        let style = ShapeStyle::from(color).stroke_width(width);
        self.area.draw(&PathElement::new(points.to_vec(), style))
    }

    /// `text` anchored at (x, y): `align` says which end (or the middle) of the text sits at x, and y
    /// is the middle of its capital letters. Upright text is turned about the anchor: with
    /// `Align::Right` its end is at (x, y) and it runs downward from there.
    pub fn text(&self, text: &str, x: f64, y: f64, font: Font, align: Align) -> DrawResult<DB> {
        if text.is_empty() {
            return Ok(());
        }
        if self.raster_text {
            if let Some(face) = font.face() {
                return self.glyphs(face, text, x, y, font, align);
            }
        }
        let h = match align {
            Align::Left => HPos::Left,
            Align::Center => HPos::Center,
            Align::Right => HPos::Right,
        };
        let mut desc = font.desc();
        if font.upright {
            desc = desc.transform(FontTransform::Rotate270);
        }
        let style: TextStyle = desc.color(&font.color).pos(Pos::new(h, VPos::Center));
        self.area
            .draw_text(text, &style, (x.round() as i32, y.round() as i32))
    }

    fn glyphs(
        &self,
        face: &FontRef<'static>,
        text: &str,
        x: f64,
        y: f64,
        font: Font,
        align: Align,
    ) -> DrawResult<DB> {
        let (glyphs, width) = layout(face, font.size, text);
        let dx = match align {
            Align::Left => 0.0,
            Align::Center => -width / 2.0,
            Align::Right => -width,
        };
        let cap = fonts::sans().map_or(0.63, |f| f.cap) * font.size as f32;
        let (x, y) = (x as f32, y as f32);
        let mut result = Ok(());
        for glyph in glyphs {
            let Some(outline) = face.outline_glyph(glyph) else {
                continue;
            };
            let b = outline.px_bounds();
            outline.draw(|gx, gy, coverage| {
                if result.is_err() || coverage <= 0.0 {
                    return;
                }
                // Offset from the anchor along the text (u) and across it (v, down the glyph).
                let u = dx + b.min.x + gx as f32;
                let v = cap / 2.0 + b.min.y + gy as f32;
                let (px, py) = if font.upright {
                    (x + v, y - u)
                } else {
                    (x + u, y + v)
                };
                let color = font.color.mix(f64::from(coverage.min(1.0)));
                result = self
                    .area
                    .draw_pixel((px.floor() as i32, py.floor() as i32), &color);
            });
        }
        result
    }
}
