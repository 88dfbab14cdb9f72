//! An agent's share card: the 1200 × 630 PNG that links to its page show in
//! chats and search results (Open Graph and Twitter `summary_large_image`).
//!
//! Drawn here, not by a browser: a gradient in the category's colour, the
//! name's initial in a badge (agents' icons are emoji, which no embedded
//! font draws), the name, the summary, and a line of facts (author, price,
//! rating, runs), in DejaVu Sans embedded from crates.io, rasterised by
//! `ab_glyph`. About 5 ms a card; `share.rs` keeps the last few hundred.

use ab_glyph::{Font as _, FontRef, GlyphId, PxScale, ScaleFont as _, point};

pub const WIDTH: u32 = 1200;
pub const HEIGHT: u32 = 630;
const MARGIN: f32 = 72.0;

/// What a card says.
#[derive(Clone, Debug, Hash, PartialEq, Eq)]
pub struct Card {
    pub name: String,
    pub summary: String,
    /// The category's slug, for the colour.
    pub category: String,
    /// The facts line: author, price, rating, runs.
    pub facts: String,
}

type Rgb = [u8; 3];

/// A deep and a deeper tone per category; others get the brand's violet.
fn colours(category: &str) -> (Rgb, Rgb) {
    match category {
        "content" => ([0x7c, 0x3a, 0xed], [0x3b, 0x0d, 0x8c]),
        "marketing" => ([0xdb, 0x27, 0x77], [0x7a, 0x0e, 0x3f]),
        "sales" => ([0x05, 0x96, 0x69], [0x03, 0x4d, 0x38]),
        "analytics" => ([0x25, 0x63, 0xeb], [0x10, 0x2a, 0x7a]),
        "strategy" => ([0xd9, 0x77, 0x06], [0x78, 0x35, 0x03]),
        "web" => ([0x08, 0x91, 0xb2], [0x0c, 0x3f, 0x58]),
        _ => ([0x5b, 0x4c, 0xf0], [0x26, 0x1c, 0x80]),
    }
}

struct Canvas {
    pixels: Vec<u8>,
}

impl Canvas {
    fn new(top: Rgb, bottom: Rgb) -> Self {
        let mut pixels = Vec::with_capacity((WIDTH * HEIGHT * 3) as usize);
        for y in 0..HEIGHT {
            for x in 0..WIDTH {
                // Diagonal: top-left light, bottom-right deep.
                let t = (x as f32 / WIDTH as f32 * 0.4 + y as f32 / HEIGHT as f32 * 0.6).min(1.0);
                for c in 0..3 {
                    let v = f32::from(top[c]) * (1.0 - t) + f32::from(bottom[c]) * t;
                    pixels.push(v.round() as u8);
                }
            }
        }
        Self { pixels }
    }

    /// Blends `colour` over the pixel at (`x`, `y`) with `alpha` (0–1).
    fn blend(&mut self, x: i64, y: i64, colour: Rgb, alpha: f32) {
        if x < 0 || y < 0 || x >= i64::from(WIDTH) || y >= i64::from(HEIGHT) || alpha <= 0.0 {
            return;
        }
        let at = ((y as usize) * WIDTH as usize + x as usize) * 3;
        let alpha = alpha.min(1.0);
        for (pixel, target) in self.pixels[at..at + 3].iter_mut().zip(colour) {
            let old = f32::from(*pixel);
            *pixel = (old + (f32::from(target) - old) * alpha).round() as u8;
        }
    }

    /// A rounded square, anti-aliased at its corners.
    fn rounded_square(
        &mut self,
        left: f32,
        top: f32,
        size: f32,
        radius: f32,
        colour: Rgb,
        alpha: f32,
    ) {
        for y in top as i64..(top + size).ceil() as i64 {
            for x in left as i64..(left + size).ceil() as i64 {
                let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
                let cx = px.clamp(left + radius, left + size - radius);
                let cy = py.clamp(top + radius, top + size - radius);
                let outside = ((px - cx).powi(2) + (py - cy).powi(2)).sqrt() - radius;
                self.blend(x, y, colour, alpha * (0.5 - outside).clamp(0.0, 1.0));
            }
        }
    }

    /// `text` on one line from `x` on the baseline `y`.
    fn text(
        &mut self,
        font: &FontRef<'_>,
        px: f32,
        (x, y): (f32, f32),
        text: &str,
        (colour, alpha): (Rgb, f32),
    ) {
        let scaled = font.as_scaled(PxScale::from(px));
        let mut caret = x;
        let mut previous: Option<GlyphId> = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(previous) = previous {
                caret += scaled.kern(previous, id);
            }
            let glyph = id.with_scale_and_position(px, point(caret, y));
            caret += scaled.h_advance(id);
            previous = Some(id);
            if let Some(outlined) = font.outline_glyph(glyph) {
                let bounds = outlined.px_bounds();
                outlined.draw(|gx, gy, coverage| {
                    self.blend(
                        bounds.min.x as i64 + i64::from(gx),
                        bounds.min.y as i64 + i64::from(gy),
                        colour,
                        coverage * alpha,
                    );
                });
            }
        }
    }

    fn png(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, WIDTH, HEIGHT);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder.set_compression(png::Compression::Fast);
        // Writing to a Vec fails only on a wrong image size, which this
        // canvas cannot have.
        if let Ok(mut writer) = encoder.write_header() {
            let _ = writer.write_image_data(&self.pixels);
        }
        out
    }
}

/// How wide `text` is at `px`.
fn width(font: &FontRef<'_>, px: f32, text: &str) -> f32 {
    let scaled = font.as_scaled(PxScale::from(px));
    let mut total = 0.0;
    let mut previous: Option<GlyphId> = None;
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(previous) = previous {
            total += scaled.kern(previous, id);
        }
        total += scaled.h_advance(id);
        previous = Some(id);
    }
    total
}

/// `text` in lines no wider than `max`, at most `lines` of them; text left
/// over (or a word too wide for a line, cut to fit) ends the last line
/// with "…".
pub fn wrap(font: &FontRef<'_>, px: f32, text: &str, max: f32, lines: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let longer = if line.is_empty() {
            word.to_owned()
        } else {
            format!("{line} {word}")
        };
        if width(font, px, &longer) <= max {
            line = longer;
            continue;
        }
        // The word starts a new line, if there is one left.
        if !line.is_empty() {
            out.push(std::mem::take(&mut line));
            if out.len() == lines {
                if let Some(last) = out.pop() {
                    out.push(ellipsis(font, px, &last, max));
                }
                return out;
            }
        }
        if width(font, px, word) <= max {
            line = word.to_owned();
        } else {
            out.push(ellipsis(font, px, &fit(font, px, word, max), max));
            return out;
        }
    }
    if !line.is_empty() {
        out.push(line);
    }
    out
}

/// The longest start of `word` that fits in `max`.
fn fit(font: &FontRef<'_>, px: f32, word: &str, max: f32) -> String {
    let mut fitted = String::new();
    for c in word.chars() {
        fitted.push(c);
        if width(font, px, &fitted) > max {
            fitted.pop();
            break;
        }
    }
    fitted
}

/// `line` with "…" at its end, shortened until both fit in `max`.
fn ellipsis(font: &FontRef<'_>, px: f32, line: &str, max: f32) -> String {
    let mut kept: Vec<char> = line.trim_end().chars().collect();
    loop {
        let text: String = kept.iter().collect::<String>() + "…";
        if kept.is_empty() || width(font, px, &text) <= max {
            return text;
        }
        kept.pop();
        while kept.last().is_some_and(|c| c.is_whitespace()) {
            kept.pop();
        }
    }
}

/// The first letter or digit of `name`, upper-cased ("?" when none).
fn initial(name: &str) -> String {
    name.chars()
        .find(|c| c.is_alphanumeric())
        .map_or_else(|| "?".to_owned(), |c| c.to_uppercase().collect())
}

/// The card as a PNG.
pub fn render(card: &Card) -> Vec<u8> {
    // Both faces are valid TrueType files, as published in the crate.
    let (Ok(regular), Ok(bold)) = (
        FontRef::try_from_slice(dejavu::sans::regular()),
        FontRef::try_from_slice(dejavu::sans::bold()),
    ) else {
        return Vec::new();
    };
    let white = [0xff, 0xff, 0xff];
    let (top, bottom) = colours(&card.category);
    let mut canvas = Canvas::new(top, bottom);

    // The badge with the initial, and the brand across from it.
    let badge = 132.0;
    canvas.rounded_square(MARGIN, MARGIN, badge, 30.0, white, 0.18);
    let letter = initial(&card.name);
    let letter_px = 84.0;
    let letter_x = MARGIN + (badge - width(&bold, letter_px, &letter)) / 2.0;
    let letter_y = MARGIN + badge / 2.0 + 30.0;
    canvas.text(
        &bold,
        letter_px,
        (letter_x, letter_y),
        &letter,
        (white, 1.0),
    );
    let brand = "Agentdeck";
    let brand_px = 40.0;
    let brand_x = WIDTH as f32 - MARGIN - width(&bold, brand_px, brand);
    canvas.text(
        &bold,
        brand_px,
        (brand_x, MARGIN + 44.0),
        brand,
        (white, 0.9),
    );

    // The name, then the summary, then the facts at the foot.
    let text_width = WIDTH as f32 - 2.0 * MARGIN;
    let mut y = MARGIN + badge + 96.0;
    for line in wrap(&bold, 68.0, &card.name, text_width, 2) {
        canvas.text(&bold, 68.0, (MARGIN, y), &line, (white, 1.0));
        y += 80.0;
    }
    y += 6.0;
    for line in wrap(&regular, 34.0, &card.summary, text_width, 3) {
        if y > HEIGHT as f32 - MARGIN - 60.0 {
            break;
        }
        canvas.text(&regular, 34.0, (MARGIN, y), &line, (white, 0.88));
        y += 46.0;
    }
    let facts = wrap(&regular, 30.0, &card.facts, text_width, 1);
    if let Some(facts) = facts.first() {
        let foot = HEIGHT as f32 - MARGIN + 8.0;
        canvas.text(&regular, 30.0, (MARGIN, foot), facts, (white, 0.8));
    }
    canvas.png()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn font() -> FontRef<'static> {
        FontRef::try_from_slice(dejavu::sans::regular()).expect("DejaVu Sans")
    }

    #[test]
    fn wraps_by_width_and_ends_what_is_cut_with_an_ellipsis() {
        let font = font();
        let text = "Writes blog posts, social captions and newsletters in your brand voice";
        let lines = wrap(&font, 34.0, text, 500.0, 2);
        assert_eq!(lines.len(), 2);
        assert!(
            lines.iter().all(|l| width(&font, 34.0, l) <= 500.0),
            "{lines:?}"
        );
        assert!(lines[1].ends_with('…'), "{lines:?}");
        // Everything fits: every word, no ellipsis.
        let all = wrap(&font, 34.0, text, 5000.0, 2);
        assert_eq!(all, vec![text.to_owned()]);
        // One word wider than the line is cut to fit.
        let long = wrap(&font, 34.0, &"x".repeat(200), 300.0, 2);
        assert_eq!(long.len(), 1, "{long:?}");
        assert!(width(&font, 34.0, &long[0]) <= 300.0);
        assert!(wrap(&font, 34.0, "   ", 300.0, 2).is_empty());
    }

    #[test]
    fn a_card_is_a_png_of_the_open_graph_size() {
        let png = render(&Card {
            name: "SEO Specialist".into(),
            summary: "Audits a page for search: titles, headings, links and speed.".into(),
            category: "marketing".into(),
            facts: "by Agentdeck · Free · ★ 4.8 (12) · 1.2k runs".into(),
        });
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let reader = decoder.read_info().expect("a PNG");
        let info = reader.info();
        assert_eq!((info.width, info.height), (WIDTH, HEIGHT));
        assert_eq!(initial("  🤖 bot"), "B");
        assert_eq!(initial("🤖"), "?");
    }
}
