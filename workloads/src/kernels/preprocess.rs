//! `preprocess`: camera frame to classifier input, as in front of MobileNet-class models.
//! A 640x480 RGB u8 frame is resized (bilinear) to 224x224 and normalised with the ImageNet
//! mean/std into a 1x3x224x224 f32 NCHW tensor. One unit = one output row: resize that row
//! and write its 3 channel rows of the tensor. A whole frame = 224 units.

use std::hint::black_box;
use std::sync::OnceLock;

use super::ShapeError;

pub const SRC_W: usize = 640;
pub const SRC_H: usize = 480;
pub const DST: usize = 224;
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];
/// Units in one whole job (one frame).
pub const UNITS_PER_JOB: u64 = DST as u64;

/// One source position of a 1-D bilinear interpolation: `(1 - w) * p[i0] + w * p[i1]`.
#[derive(Debug, Clone, Copy)]
struct Tap {
    i0: usize,
    i1: usize,
    w: f32,
}

/// Half-pixel centres, clamped at the edges (OpenCV INTER_LINEAR, PyTorch align_corners=False).
fn taps(src: usize, dst: usize) -> Vec<Tap> {
    let scale = src as f32 / dst as f32;
    (0..dst)
        .map(|d| {
            let s = ((d as f32 + 0.5) * scale - 0.5).max(0.0);
            let i0 = (s as usize).min(src - 1);
            let i1 = (i0 + 1).min(src - 1);
            Tap { i0, i1, w: if i1 == i0 { 0.0 } else { s - i0 as f32 } }
        })
        .collect()
}

/// A bilinear resize of interleaved RGB u8 images with fixed sizes, computed row by row.
#[derive(Debug, Clone)]
pub struct Resize {
    sw: usize,
    src_len: usize,
    xs: Vec<Tap>,
    ys: Vec<Tap>,
}

impl Resize {
    /// Fails if the source is empty while the destination is not, or on sizes that overflow.
    pub fn new(sw: usize, sh: usize, dw: usize, dh: usize) -> Result<Self, ShapeError> {
        let (src_len, dst_len) = (rgb_len(sw, sh)?, rgb_len(dw, dh)?);
        if src_len == 0 && dst_len > 0 {
            return Err(ShapeError::Invalid { what: "resize", reason: "empty source image" });
        }
        let (xs, ys) = if dst_len == 0 { (vec![], vec![]) } else { (taps(sw, dw), taps(sh, dh)) };
        Ok(Resize { sw, src_len, xs, ys })
    }

    pub fn dst_width(&self) -> usize {
        self.xs.len()
    }

    pub fn dst_height(&self) -> usize {
        self.ys.len()
    }

    /// Writes output row `dy` (`3 * dst_width` bytes) into `out`.
    pub fn row(&self, src: &[u8], dy: usize, out: &mut [u8]) -> Result<(), ShapeError> {
        check_len("resize source", src.len(), self.src_len)?;
        check_len("resize output row", out.len(), self.dst_width() * 3)?;
        let Some(ty) = self.ys.get(dy) else {
            return Err(ShapeError::Invalid { what: "resize", reason: "row index out of range" });
        };
        let stride = self.sw * 3;
        let (r0, r1) = (&src[ty.i0 * stride..][..stride], &src[ty.i1 * stride..][..stride]);
        for (tx, px) in self.xs.iter().zip(out.chunks_exact_mut(3)) {
            let (a, b) = (tx.i0 * 3, tx.i1 * 3);
            for c in 0..3 {
                let top = f32::from(r0[a + c]) * (1.0 - tx.w) + f32::from(r0[b + c]) * tx.w;
                let bot = f32::from(r1[a + c]) * (1.0 - tx.w) + f32::from(r1[b + c]) * tx.w;
                // In [0, 255]: a convex combination of u8 values; + 0.5 rounds.
                px[c] = (top * (1.0 - ty.w) + bot * ty.w + 0.5) as u8;
            }
        }
        Ok(())
    }
}

/// `3 * w * h`, or an error if it overflows.
fn rgb_len(w: usize, h: usize) -> Result<usize, ShapeError> {
    w.checked_mul(h)
        .and_then(|n| n.checked_mul(3))
        .ok_or(ShapeError::Invalid { what: "image", reason: "size overflows" })
}

fn check_len(what: &'static str, got: usize, expected: usize) -> Result<(), ShapeError> {
    if got == expected {
        Ok(())
    } else {
        Err(ShapeError::Len { what, expected, got })
    }
}

/// Bilinear resize of an interleaved RGB u8 image `sw x sh` to `dw x dh`.
pub fn resize_bilinear(src: &[u8], sw: usize, sh: usize, dw: usize, dh: usize) -> Result<Vec<u8>, ShapeError> {
    let r = Resize::new(sw, sh, dw, dh)?;
    check_len("resize source", src.len(), r.src_len)?;
    let mut out = vec![0u8; rgb_len(dw, dh)?];
    if dw > 0 {
        for (dy, row) in out.chunks_exact_mut(dw * 3).enumerate() {
            r.row(src, dy, row)?;
        }
    }
    Ok(out)
}

/// `(p / 255 - mean[c]) / std[c]` for one interleaved RGB row, written to the three planar
/// rows `out[c * plane_stride..][..w]` (the row's place in an NCHW tensor).
pub fn normalize_row(row: &[u8], mean: [f32; 3], std: [f32; 3], out: &mut [f32], plane_stride: usize) -> Result<(), ShapeError> {
    let w = row.len() / 3;
    check_len("normalize row", row.len(), w * 3)?;
    let need = plane_stride.checked_mul(2).and_then(|n| n.checked_add(w));
    if w > plane_stride || need.is_none_or(|n| out.len() < n) {
        return Err(ShapeError::Invalid { what: "normalize", reason: "output too small for 3 planes" });
    }
    for c in 0..3 {
        let scale = 1.0 / (255.0 * std[c]);
        let bias = -mean[c] / std[c];
        for (o, px) in out[c * plane_stride..][..w].iter_mut().zip(row.chunks_exact(3)) {
            *o = f32::from(px[c]) * scale + bias;
        }
    }
    Ok(())
}

/// An interleaved RGB `w x h` image to a planar (NCHW, N = 1) normalised f32 tensor.
pub fn normalize_nchw(rgb: &[u8], w: usize, h: usize, mean: [f32; 3], std: [f32; 3]) -> Result<Vec<f32>, ShapeError> {
    let len = rgb_len(w, h)?;
    check_len("normalize image", rgb.len(), len)?;
    let plane = len / 3;
    let mut out = vec![0f32; len];
    if w > 0 {
        for (y, row) in rgb.chunks_exact(w * 3).enumerate() {
            normalize_row(row, mean, std, &mut out[y * w..], plane)?;
        }
    }
    Ok(out)
}

/// The standard input: a 640x480 frame with a horizontal red gradient, a vertical green
/// gradient, a 32-pixel blue checkerboard and sensor noise of -8..=7 levels.
pub fn standard_frame() -> &'static [u8] {
    static F: OnceLock<Vec<u8>> = OnceLock::new();
    F.get_or_init(|| {
        let mut f = vec![0u8; SRC_W * SRC_H * 3];
        for (i, px) in f.chunks_exact_mut(3).enumerate() {
            let (x, y) = (i % SRC_W, i / SRC_W);
            // Noise in -8..=7 from a multiplicative hash of the pixel index.
            let noise = ((i as u32).wrapping_mul(0x9E37_79B1) >> 28) as i32 - 8;
            let r = (x * 255 / (SRC_W - 1)) as i32;
            let g = (y * 255 / (SRC_H - 1)) as i32;
            let b = if (x / 32 + y / 32) % 2 == 0 { 200 } else { 40 };
            for (p, v) in px.iter_mut().zip([r, g, b]) {
                *p = (v + noise).clamp(0, 255) as u8;
            }
        }
        f
    })
}

fn standard_resize() -> &'static Resize {
    static R: OnceLock<Resize> = OnceLock::new();
    // Invariant: constant, non-empty sizes, so `new` cannot fail.
    R.get_or_init(|| Resize::new(SRC_W, SRC_H, DST, DST).expect("standard sizes are valid"))
}

/// Rows `0..units` of the standard frame's tensor, cycling; returns the bits of their sum.
pub fn run(units: u64) -> u64 {
    let (frame, resize) = (black_box(standard_frame()), standard_resize());
    let mut row = [0u8; DST * 3];
    let mut planes = [0f32; DST * 3];
    let mut acc = 0f32;
    for i in 0..units {
        let dy = (i % UNITS_PER_JOB) as usize;
        // Sizes are the standard ones, so neither call can fail; errors count as no work.
        if resize.row(frame, dy, &mut row).is_ok()
            && normalize_row(&row, IMAGENET_MEAN, IMAGENET_STD, &mut planes, DST).is_ok()
        {
            acc += planes.iter().sum::<f32>();
        }
    }
    u64::from(acc.to_bits())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gray_rgb(v: &[u8]) -> Vec<u8> {
        v.iter().flat_map(|&p| [p, 255 - p, 7]).collect()
    }

    #[test]
    fn two_by_two_to_four_by_four_known_values() {
        let src = gray_rgb(&[0, 100, 200, 255]);
        let out = resize_bilinear(&src, 2, 2, 4, 4).unwrap();
        // Half-pixel centres: source x = -0.25 (clamped), 0.25, 0.75, 1.25 (clamped).
        let want: [u8; 16] = [
            0, 25, 75, 100, //
            50, 72, 117, 139, //
            150, 167, 200, 216, //
            200, 214, 241, 255,
        ];
        let r: Vec<u8> = out.chunks(3).map(|p| p[0]).collect();
        let g: Vec<u8> = out.chunks(3).map(|p| p[1]).collect();
        assert_eq!(r, want);
        // 255 - v interpolates to 255 - (interpolated v), up to rounding.
        for (a, b) in g.iter().zip(want) {
            assert!((i32::from(*a) - (255 - i32::from(b))).abs() <= 1);
        }
        assert!(out.chunks(3).all(|p| p[2] == 7), "a constant channel stays constant");
    }

    #[test]
    fn constant_image_stays_constant_and_identity_is_exact() {
        let src = vec![93u8; 640 * 480 * 3];
        let out = resize_bilinear(&src, 640, 480, 224, 224).unwrap();
        assert!(out.iter().all(|&p| p == 93));
        let f = standard_frame();
        assert_eq!(resize_bilinear(f, SRC_W, SRC_H, SRC_W, SRC_H).unwrap(), f);
    }

    #[test]
    fn bad_shapes_are_errors_not_panics() {
        assert!(resize_bilinear(&[1, 2, 3], 2, 2, 4, 4).is_err());
        assert!(resize_bilinear(&[], 0, 0, 4, 4).is_err());
        assert_eq!(resize_bilinear(&[], 0, 0, 0, 0).unwrap(), Vec::<u8>::new());
        assert!(normalize_nchw(&[1, 2], 1, 1, IMAGENET_MEAN, IMAGENET_STD).is_err());
        let r = Resize::new(4, 4, 2, 2).unwrap();
        assert!(r.row(&[0; 48], 2, &mut [0; 6]).is_err());
        assert!(resize_bilinear(&[0; 3], 1, 1, usize::MAX, 2).is_err());
        assert!(normalize_row(&[0; 6], IMAGENET_MEAN, IMAGENET_STD, &mut [0.0; 6], usize::MAX).is_err());
    }

    #[test]
    fn normalisation_of_a_known_pixel() {
        let t = normalize_nchw(&[255, 0, 128, 124, 124, 124], 2, 1, IMAGENET_MEAN, IMAGENET_STD).unwrap();
        // Planar: [R0 R1 G0 G1 B0 B1].
        let want = [
            (1.0 - 0.485) / 0.229,
            (124.0 / 255.0 - 0.485) / 0.229,
            -0.456 / 0.224,
            (124.0 / 255.0 - 0.456) / 0.224,
            (128.0 / 255.0 - 0.406) / 0.225,
            (124.0 / 255.0 - 0.406) / 0.225,
        ];
        for (a, b) in t.iter().zip(want) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }

    #[test]
    fn row_units_build_the_whole_tensor() {
        let small = resize_bilinear(standard_frame(), SRC_W, SRC_H, DST, DST).unwrap();
        let whole = normalize_nchw(&small, DST, DST, IMAGENET_MEAN, IMAGENET_STD).unwrap();
        assert_eq!(whole.len(), 3 * DST * DST);
        let (mut row, mut planes) = ([0u8; DST * 3], [0f32; DST * 3]);
        for dy in [0, 17, DST - 1] {
            standard_resize().row(standard_frame(), dy, &mut row).unwrap();
            assert_eq!(row[..], small[dy * DST * 3..][..DST * 3]);
            normalize_row(&row, IMAGENET_MEAN, IMAGENET_STD, &mut planes, DST).unwrap();
            for c in 0..3 {
                assert_eq!(planes[c * DST..][..DST], whole[c * DST * DST + dy * DST..][..DST]);
            }
        }
    }
}
