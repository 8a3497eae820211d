//! What a screenshot holds: its size, how many colours, and how many pixels near a colour.

use std::collections::HashSet;
use std::path::Path;

/// A decoded RGB image.
pub(crate) struct Image {
    pub(crate) width: u32,
    pub(crate) height: u32,
    rgb: Vec<[u8; 3]>,
}

impl Image {
    /// Decodes a PNG file (any colour type, normalized to 8-bit RGB).
    pub(crate) fn open(path: &Path) -> Self {
        let bytes = std::fs::read(path).expect("read png");
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info().expect("png header");
        let mut buffer = vec![0; reader.output_buffer_size().expect("png size")];
        let info = reader.next_frame(&mut buffer).expect("png frame");
        let channels = info.color_type.samples();
        let rgb = buffer[..info.buffer_size()]
            .chunks_exact(channels)
            .map(|p| match channels {
                1 | 2 => [p[0], p[0], p[0]],
                _ => [p[0], p[1], p[2]],
            })
            .collect();
        Self { width: info.width, height: info.height, rgb }
    }

    /// How many different colours appear.
    pub(crate) fn distinct_colours(&self) -> usize {
        self.rgb.iter().collect::<HashSet<_>>().len()
    }

    /// Pixels within `tolerance` of `#rrggbb` in every channel.
    pub(crate) fn pixels_near(&self, hex: &str, tolerance: u8) -> usize {
        let target: Vec<u8> =
            (0..3).map(|i| u8::from_str_radix(&hex[1 + 2 * i..3 + 2 * i], 16).expect("hex colour")).collect();
        self.rgb.iter().filter(|p| (0..3).all(|i| p[i].abs_diff(target[i]) <= tolerance)).count()
    }
}
