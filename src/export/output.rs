//! From a figure to a file: PNG (plotters' bitmap back end drawing into memory, encoded here) or SVG
//! (plotters' SVG back end writing a string), chosen by the file's extension, then written
//! atomically, so a failed export never leaves a partial file or a stray temporary one.

use std::path::{Path, PathBuf};

use color_eyre::eyre::{eyre, Result, WrapErr};
use plotters::prelude::{BitMapBackend, DrawingBackend, IntoDrawingArea, SVGBackend};

use super::colors::PAPER;
use super::figures::Figure;
use super::fonts;
use super::pen::Pen;
use crate::error::{hinted, Hinted};
use crate::fsutil::{check_output, write_atomic};

/// The largest page drawn (pixels), so a huge --scale fails with a message instead of eating memory.
const MAX_PIXELS: u64 = 120_000_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Png,
    Svg,
}

impl Format {
    /// From the output path's extension (.png or .svg, any case); anything else is an error that
    /// names the path.
    pub fn from_path(path: &Path) -> Result<Self> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase());
        match ext.as_deref() {
            Some("png") => Ok(Format::Png),
            Some("svg") => Ok(Format::Svg),
            _ => hinted(
                format!(
                    "cannot export to {}: the file name must end in .png or .svg",
                    path.display()
                ),
                "use .png for a picture, .svg for vector slides",
            ),
        }
    }
}

/// Check an output path before any work: a known extension, and a path that can be written (see
/// [`check_output`]: an existing folder, no folder or device in the way).
pub fn check_target(path: &Path) -> Result<Format> {
    let format = Format::from_path(path)?;
    check_output(path)?;
    Ok(format)
}

/// Draw `figure` and write it to `path`. Returns the page size in pixels.
pub fn save(figure: &impl Figure, path: &Path) -> Result<(u32, u32)> {
    let format = check_target(path)?;
    let bytes = render(figure, format).wrap_err_with(|| format!("drawing {}", path.display()))?;
    write_bytes(path, &bytes)?;
    Ok(figure.size())
}

/// `dir/stem.ext` if no such file exists, else the first free `dir/stem-2.ext`, `dir/stem-3.ext`, …
/// (for exports that must not overwrite an earlier one, such as the tutor's export key).
pub fn unused_path(dir: &Path, stem: &str, ext: &str) -> PathBuf {
    let first = dir.join(format!("{stem}.{ext}"));
    if !first.exists() {
        return first;
    }
    (2u32..)
        .map(|i| dir.join(format!("{stem}-{i}.{ext}")))
        .find(|p| !p.exists())
        .unwrap_or(first)
}

/// Write `bytes` to `path` atomically, with a hint when the folder is not writable.
pub fn write_bytes(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |tmp| {
        std::fs::write(tmp, bytes).map_err(|e| {
            let hint = if e.kind() == std::io::ErrorKind::PermissionDenied {
                "choose a folder you can write to"
            } else {
                "check the path and the free space, or choose another path"
            };
            Hinted::new(format!("cannot write {}: {e}", path.display()), hint).into()
        })
    })
}

/// The file's bytes: a PNG image or an SVG document.
pub fn render(figure: &impl Figure, format: Format) -> Result<Vec<u8>> {
    fonts::register()?;
    let (w, h) = figure.size();
    if w == 0 || h == 0 || u64::from(w) * u64::from(h) > MAX_PIXELS {
        return hinted(
            format!("the figure would be {w}×{h} pixels"),
            "use a smaller --scale, or fewer layers and heads",
        );
    }
    match format {
        Format::Png => {
            let mut rgb = vec![255u8; w as usize * h as usize * 3];
            draw_on(BitMapBackend::with_buffer(&mut rgb, (w, h)), figure, true)?;
            encode_png(&rgb, w, h)
        }
        Format::Svg => {
            let mut svg = String::new();
            draw_on(SVGBackend::with_string(&mut svg, (w, h)), figure, false)?;
            Ok(svg.into_bytes())
        }
    }
}

fn draw_on<DB: DrawingBackend>(backend: DB, figure: &impl Figure, raster_text: bool) -> Result<()> {
    let root = backend.into_drawing_area();
    let fail = |e: String| eyre!("drawing the figure failed: {e}");
    root.fill(&PAPER).map_err(|e| fail(e.to_string()))?;
    figure
        .draw(&Pen::new(&root, raster_text))
        .map_err(|e| fail(e.to_string()))?;
    root.present().map_err(|e| fail(e.to_string()))
}

/// 8-bit RGB pixels, row-major, as a PNG file in memory. `Balanced` (zlib-style deflate): the fast
/// mode misses the long matches that hatching and anti-aliased text repeat, and writes files about
/// six times larger (a 64-token map: 395 KB against 62 KB) for a few milliseconds saved.
pub fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>> {
    encode_png_with(rgb, w, h, png::Compression::Balanced)
}

pub fn encode_png_with(rgb: &[u8], w: u32, h: u32, level: png::Compression) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(level);
    let mut writer = encoder.write_header().wrap_err("encoding the PNG")?;
    writer.write_image_data(rgb).wrap_err("encoding the PNG")?;
    writer.finish().wrap_err("encoding the PNG")?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extension_picks_the_format() {
        assert_eq!(
            Format::from_path(Path::new("a/b.PNG")).unwrap(),
            Format::Png
        );
        assert_eq!(Format::from_path(Path::new("b.svg")).unwrap(), Format::Svg);
        let e = Format::from_path(Path::new("map.jpg")).unwrap_err();
        assert!(e.to_string().contains("map.jpg"), "{e}");
        assert!(Format::from_path(Path::new("map")).is_err());
    }

    #[test]
    fn unused_path_never_names_an_existing_file() {
        let dir = tempfile::tempdir().unwrap();
        let first = unused_path(dir.path(), "L0H1", "png");
        assert_eq!(first, dir.path().join("L0H1.png"));
        std::fs::write(&first, b"x").unwrap();
        let second = unused_path(dir.path(), "L0H1", "png");
        assert_eq!(second, dir.path().join("L0H1-2.png"));
    }
}
