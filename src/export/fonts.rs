//! The fonts every export uses, embedded in the binary (DejaVu, from the `dejavu` crate) so export
//! works on a machine with no fonts installed and no fontconfig: plotters' `ab_glyph` back end only
//! knows the fonts registered here, and never looks at the system.

use std::sync::OnceLock;

use ab_glyph::FontRef;
use color_eyre::eyre::{eyre, Result};
use plotters::style::{register_font, FontStyle};

/// The family name figures ask plotters for. It is also the generic CSS family written into SVG
/// files, so a viewer without DejaVu still shows a sans-serif face.
pub const SANS: &str = "sans-serif";

/// Register DejaVu Sans (regular and bold) with plotters, once per process.
pub fn register() -> Result<()> {
    static DONE: OnceLock<bool> = OnceLock::new();
    let ok = *DONE.get_or_init(|| {
        register_font(SANS, FontStyle::Normal, dejavu::sans::regular()).is_ok()
            && register_font(SANS, FontStyle::Bold, dejavu::sans::bold()).is_ok()
    });
    if ok {
        Ok(())
    } else {
        // Only a corrupt build can get here: the bytes are compiled in.
        Err(eyre!("the embedded DejaVu font could not be read"))
    }
}

/// DejaVu Sans for figures drawn into a bitmap: the export lays glyphs out itself (plotters'
/// `ab_glyph` drawing ignores each glyph's side bearing, which spaces letters unevenly), and measures
/// text with the same layout for PNG and SVG.
pub struct SansFaces {
    pub regular: FontRef<'static>,
    pub bold: FontRef<'static>,
    /// Cap height as a fraction of the pixel scale, for centring text on a line.
    pub cap: f32,
}

/// The parsed faces, once per process; `None` only if the embedded bytes were corrupt.
pub fn sans() -> Option<&'static SansFaces> {
    static FACES: OnceLock<Option<SansFaces>> = OnceLock::new();
    FACES
        .get_or_init(|| {
            let regular = FontRef::try_from_slice(dejavu::sans::regular()).ok()?;
            let bold = FontRef::try_from_slice(dejavu::sans::bold()).ok()?;
            let cap = {
                use ab_glyph::{Font, ScaleFont};
                let scaled = regular.as_scaled(100.0);
                let glyph = scaled.scaled_glyph('H');
                regular
                    .outline_glyph(glyph)
                    .map_or(0.63, |o| -o.px_bounds().min.y / 100.0)
            };
            Some(SansFaces { regular, bold, cap })
        })
        .as_ref()
}

/// The faces the screenshot rasterizer draws terminal cells with.
pub struct MonoFaces {
    pub regular: FontRef<'static>,
    pub bold: FontRef<'static>,
    /// For characters DejaVu Sans Mono lacks (it has fewer symbols than DejaVu Sans).
    pub fallback: FontRef<'static>,
}

pub fn mono() -> Result<MonoFaces> {
    let parse = |bytes: &'static [u8]| {
        FontRef::try_from_slice(bytes)
            .map_err(|_| eyre!("the embedded DejaVu Sans Mono font could not be read"))
    };
    Ok(MonoFaces {
        regular: parse(dejavu::sans_mono::regular())?,
        bold: parse(dejavu::sans_mono::bold())?,
        fallback: parse(dejavu::sans::regular())?,
    })
}
