//! `audio-features`: the log-mel front end of a keyword spotter or speech model.
//! Standard input: 1 s of 16 kHz audio (three tones + noise). One unit = one frame: 400
//! samples (25 ms) at a 160-sample (10 ms) hop, Hann window, zero-padded 512-point radix-2
//! FFT, power spectrum, 40-band HTK mel filterbank, log. A whole second = 98 units.

use std::f64::consts::PI;
use std::hint::black_box;
use std::sync::OnceLock;

use super::ShapeError;
use crate::rng::Rng;

pub const SAMPLE_RATE: u32 = 16_000;
pub const WIN: usize = 400;
pub const HOP: usize = 160;
pub const N_FFT: usize = 512;
pub const N_MELS: usize = 40;
const BINS: usize = N_FFT / 2 + 1;
/// Frames in one second of audio: one whole job.
pub const FRAMES: usize = 1 + (SAMPLE_RATE as usize - WIN) / HOP;
pub const UNITS_PER_JOB: u64 = FRAMES as u64;
/// Floor of the mel energies before the log (about -23 in the log domain).
pub const LOG_FLOOR: f32 = 1e-10;

/// A radix-2 complex FFT plan: bit-reversal table and twiddles exp(-2 pi i k / n).
#[derive(Debug, Clone)]
pub struct Fft {
    bitrev: Vec<usize>,
    twiddles: Vec<(f32, f32)>,
}

impl Fft {
    /// Fails unless `n` is a power of two.
    pub fn new(n: usize) -> Result<Self, ShapeError> {
        if !n.is_power_of_two() {
            return Err(ShapeError::Invalid { what: "FFT", reason: "length is not a power of two" });
        }
        let bits = n.trailing_zeros();
        let bitrev = (0..n).map(|i| if bits == 0 { 0 } else { i.reverse_bits() >> (usize::BITS - bits) }).collect();
        let twiddles = (0..n / 2)
            .map(|k| {
                let a = -2.0 * PI * k as f64 / n as f64;
                (a.cos() as f32, a.sin() as f32)
            })
            .collect();
        Ok(Fft { bitrev, twiddles })
    }

    pub fn len(&self) -> usize {
        self.bitrev.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bitrev.is_empty()
    }

    /// Forward, unnormalised DFT of (re, im) in place.
    pub fn process(&self, re: &mut [f32], im: &mut [f32]) -> Result<(), ShapeError> {
        let n = self.len();
        if re.len() != n || im.len() != n {
            return Err(ShapeError::Len { what: "FFT input", expected: n, got: re.len().min(im.len()) });
        }
        for (i, &j) in self.bitrev.iter().enumerate() {
            if i < j {
                re.swap(i, j);
                im.swap(i, j);
            }
        }
        let mut half = 1;
        while half < n {
            let step = n / (2 * half);
            for start in (0..n).step_by(2 * half) {
                for j in 0..half {
                    let (wr, wi) = self.twiddles[j * step];
                    let (a, b) = (start + j, start + j + half);
                    let tr = re[b] * wr - im[b] * wi;
                    let ti = re[b] * wi + im[b] * wr;
                    re[b] = re[a] - tr;
                    im[b] = im[a] - ti;
                    re[a] += tr;
                    im[a] += ti;
                }
            }
            half *= 2;
        }
        Ok(())
    }
}

/// Forward, unnormalised FFT in place; the length must be a power of two.
pub fn fft_in_place(re: &mut [f32], im: &mut [f32]) -> Result<(), ShapeError> {
    Fft::new(re.len())?.process(re, im)
}

/// HTK mel scale.
pub fn hz_to_mel(hz: f64) -> f64 {
    2595.0 * (1.0 + hz / 700.0).log10()
}

pub fn mel_to_hz(mel: f64) -> f64 {
    700.0 * (10f64.powf(mel / 2595.0) - 1.0)
}

/// `n_mels` triangular filters over the `n_fft / 2 + 1` bins of a real FFT, centres equally
/// spaced on the HTK mel scale from 0 Hz to `sample_rate / 2`, peak 1 (no area
/// normalisation). Degenerate arguments (`n_fft < 2`, `sample_rate == 0`) give zero rows.
pub fn mel_filterbank(n_mels: usize, n_fft: usize, sample_rate: u32) -> Vec<Vec<f32>> {
    let bins = n_fft / 2 + 1;
    let mut bank = vec![vec![0f32; bins]; n_mels];
    if n_fft < 2 || sample_rate == 0 {
        return bank;
    }
    let top = hz_to_mel(f64::from(sample_rate) / 2.0);
    let edges: Vec<f64> = (0..n_mels + 2).map(|i| mel_to_hz(top * i as f64 / (n_mels + 1) as f64)).collect();
    for (m, row) in bank.iter_mut().enumerate() {
        let (l, c, r) = (edges[m], edges[m + 1], edges[m + 2]);
        for (k, w) in row.iter_mut().enumerate() {
            let f = k as f64 * f64::from(sample_rate) / n_fft as f64;
            *w = ((f - l) / (c - l)).min((r - f) / (r - c)).max(0.0) as f32;
        }
    }
    bank
}

/// `|X[k]|^2` for the first `out.len()` bins.
pub fn power_spectrum(re: &[f32], im: &[f32], out: &mut [f32]) {
    for ((o, r), i) in out.iter_mut().zip(re).zip(im) {
        *o = r * r + i * i;
    }
}

/// Log of the filterbank energies of a power spectrum, floored at [`LOG_FLOOR`].
pub fn log_mel(power: &[f32], bank: &[Vec<f32>]) -> Vec<f32> {
    bank.iter()
        .map(|row| row.iter().zip(power).map(|(w, p)| w * p).sum::<f32>().max(LOG_FLOOR).ln())
        .collect()
}

/// The whole front end with fixed sizes; the filterbank kept sparse (first bin + weights).
#[derive(Debug, Clone)]
pub struct LogMel {
    window: Vec<f32>,
    fft: Fft,
    bands: Vec<(usize, Vec<f32>)>,
}

impl LogMel {
    pub fn new() -> Self {
        // Periodic Hann, as torchaudio and librosa use.
        let window = (0..WIN).map(|n| (0.5 - 0.5 * (2.0 * PI * n as f64 / WIN as f64).cos()) as f32).collect();
        let bands = mel_filterbank(N_MELS, N_FFT, SAMPLE_RATE)
            .into_iter()
            .map(|row| {
                let first = row.iter().position(|&w| w > 0.0).unwrap_or(0);
                let last = row.iter().rposition(|&w| w > 0.0).unwrap_or(0);
                (first, row[first..=last.max(first)].to_vec())
            })
            .collect();
        // Invariant: N_FFT is a power of two.
        LogMel { window, fft: Fft::new(N_FFT).expect("N_FFT is a power of two"), bands }
    }

    /// Log-mel energies of the `WIN` samples of `frame` into `out` (`N_MELS` values).
    pub fn frame(&self, frame: &[f32], out: &mut [f32]) -> Result<(), ShapeError> {
        if frame.len() != WIN || out.len() != N_MELS {
            return Err(ShapeError::Invalid { what: "log-mel frame", reason: "need 400 samples and 40 outputs" });
        }
        let (mut re, mut im) = ([0f32; N_FFT], [0f32; N_FFT]);
        for ((r, x), w) in re.iter_mut().zip(frame).zip(&self.window) {
            *r = x * w;
        }
        self.fft.process(&mut re, &mut im)?;
        let mut power = [0f32; BINS];
        power_spectrum(&re, &im, &mut power);
        for (o, (first, w)) in out.iter_mut().zip(&self.bands) {
            let e: f32 = w.iter().zip(&power[*first..]).map(|(w, p)| w * p).sum();
            *o = e.max(LOG_FLOOR).ln();
        }
        Ok(())
    }

    /// Log-mel energies of every full frame of `signal` (`1 + (len - WIN) / HOP` frames).
    pub fn signal(&self, signal: &[f32]) -> Vec<[f32; N_MELS]> {
        signal
            .windows(WIN)
            .step_by(HOP)
            .map(|f| {
                let mut out = [0f32; N_MELS];
                // Cannot fail: `windows(WIN)` and an N_MELS array.
                let _ = self.frame(f, &mut out);
                out
            })
            .collect()
    }
}

impl Default for LogMel {
    fn default() -> Self {
        Self::new()
    }
}

fn standard() -> &'static LogMel {
    static M: OnceLock<LogMel> = OnceLock::new();
    M.get_or_init(LogMel::new)
}

/// The standard input: 1 s at 16 kHz of 0.5 sin(1000 Hz) + 0.2 sin(440 Hz) + 0.1 sin(3000 Hz)
/// + uniform noise in [-0.02, 0.02].
pub fn standard_signal() -> &'static [f32] {
    static S: OnceLock<Vec<f32>> = OnceLock::new();
    S.get_or_init(|| {
        let mut rng = Rng::new(16_000);
        (0..SAMPLE_RATE as usize)
            .map(|n| {
                let t = n as f64 / f64::from(SAMPLE_RATE);
                let tone = |f: f64, a: f64| a * (2.0 * PI * f * t).sin();
                let noise = 0.02 * (2.0 * rng.next_f64() - 1.0);
                (tone(1000.0, 0.5) + tone(440.0, 0.2) + tone(3000.0, 0.1) + noise) as f32
            })
            .collect()
    })
}

/// Frames `0..units` of the standard signal, cycling; returns the bits of the energies' sum.
pub fn run(units: u64) -> u64 {
    let (signal, lm) = (black_box(standard_signal()), standard());
    let mut out = [0f32; N_MELS];
    let mut acc = 0f32;
    for i in 0..units {
        let start = (i % UNITS_PER_JOB) as usize * HOP;
        // Cannot fail: FRAMES frames of WIN samples fit in the signal.
        if lm.frame(&signal[start..start + WIN], &mut out).is_ok() {
            acc += out.iter().sum::<f32>();
        }
    }
    u64::from(acc.to_bits())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dft(x: &[f32]) -> Vec<(f64, f64)> {
        let n = x.len();
        (0..n)
            .map(|k| {
                x.iter().enumerate().fold((0.0, 0.0), |(r, i), (t, &v)| {
                    let a = -2.0 * PI * (k * t) as f64 / n as f64;
                    (r + f64::from(v) * a.cos(), i + f64::from(v) * a.sin())
                })
            })
            .collect()
    }

    #[test]
    fn fft_matches_a_naive_dft() {
        let mut rng = Rng::new(5);
        for n in [1, 2, 4, 16, 64] {
            let x: Vec<f32> = (0..n).map(|_| rng.standard_normal() as f32).collect();
            let (mut re, mut im) = (x.clone(), vec![0f32; n]);
            fft_in_place(&mut re, &mut im).unwrap();
            for (k, (r, i)) in dft(&x).into_iter().enumerate() {
                assert!((f64::from(re[k]) - r).abs() < 1e-4 && (f64::from(im[k]) - i).abs() < 1e-4, "n {n} k {k}");
            }
        }
    }

    #[test]
    fn fft_of_a_pure_sine_peaks_at_its_bin() {
        let n = 64;
        let mut re: Vec<f32> = (0..n).map(|t| (2.0 * PI * 5.0 * t as f64 / n as f64).sin() as f32).collect();
        let mut im = vec![0f32; n];
        fft_in_place(&mut re, &mut im).unwrap();
        // sin -> -i n/2 at bin 5, +i n/2 at bin n-5, ~0 elsewhere.
        for k in 0..n {
            let mag = re[k].hypot(im[k]);
            let want = if k == 5 || k == n - 5 { 32.0 } else { 0.0 };
            assert!((mag - want).abs() < 1e-3, "bin {k}: {mag}");
        }
        assert!((im[5] + 32.0).abs() < 1e-3);
    }

    #[test]
    fn fft_of_an_impulse_is_flat() {
        let mut re = vec![0f32; 512];
        re[0] = 1.0;
        let mut im = vec![0f32; 512];
        fft_in_place(&mut re, &mut im).unwrap();
        assert!(re.iter().all(|&r| (r - 1.0).abs() < 1e-6) && im.iter().all(|&i| i.abs() < 1e-6));
    }

    #[test]
    fn parseval_holds() {
        let x = &standard_signal()[..N_FFT];
        let (mut re, mut im) = (x.to_vec(), vec![0f32; N_FFT]);
        fft_in_place(&mut re, &mut im).unwrap();
        let time: f64 = x.iter().map(|&v| f64::from(v * v)).sum();
        let freq: f64 = re.iter().zip(&im).map(|(r, i)| f64::from(r * r + i * i)).sum::<f64>() / N_FFT as f64;
        assert!((time - freq).abs() / time < 1e-5, "{time} vs {freq}");
    }

    #[test]
    fn bad_lengths_are_errors() {
        assert!(fft_in_place(&mut [0.0; 6], &mut [0.0; 6]).is_err());
        assert!(fft_in_place(&mut [0.0; 8], &mut [0.0; 4]).is_err());
        assert!(LogMel::new().frame(&[0.0; 10], &mut [0.0; N_MELS]).is_err());
        assert!(mel_filterbank(4, 0, 16_000).iter().all(|r| r == &[0.0]));
        assert!(mel_filterbank(0, 512, 16_000).is_empty());
    }

    #[test]
    fn htk_mel_known_values() {
        assert!((hz_to_mel(1000.0) - 1000.0).abs() < 0.05);
        assert!((hz_to_mel(8000.0) - 2840.02).abs() < 0.01);
        assert!((mel_to_hz(hz_to_mel(3210.0)) - 3210.0).abs() < 1e-9);
    }

    #[test]
    fn filterbank_rows_are_triangles_covering_the_band() {
        let bank = mel_filterbank(N_MELS, N_FFT, SAMPLE_RATE);
        assert_eq!((bank.len(), bank[0].len()), (N_MELS, BINS));
        let mut peaks = vec![];
        for row in &bank {
            assert!(row.iter().all(|&w| (0.0..=1.0).contains(&w)));
            // Unimodal: rises to the peak, then falls; nonzero only around it.
            let peak = (0..BINS).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
            assert!(row[peak] > 0.0);
            assert!(row[..=peak].windows(2).all(|w| w[0] <= w[1]));
            assert!(row[peak..].windows(2).all(|w| w[0] >= w[1]));
            peaks.push(peak);
        }
        assert!(peaks.windows(2).all(|p| p[0] <= p[1]), "centres ascend");
        // Between the first and the last centre, neighbouring triangles sum to 1.
        let hz = |k: usize| k as f64 * f64::from(SAMPLE_RATE) / N_FFT as f64;
        let (c0, c1) = (mel_to_hz(2840.02 / 41.0), mel_to_hz(2840.02 * 40.0 / 41.0));
        for k in (0..BINS).filter(|&k| hz(k) > c0 + 1.0 && hz(k) < c1 - 1.0) {
            let s: f32 = bank.iter().map(|r| r[k]).sum();
            assert!((s - 1.0).abs() < 1e-4, "bin {k}: {s}");
        }
        // The last filter ends at Nyquist.
        assert!(bank[N_MELS - 1][BINS - 1] < 1e-6);
        assert!(bank[N_MELS - 1][BINS - 2] > 0.0);
    }

    #[test]
    fn log_mel_of_the_test_signal_peaks_at_1000_hz() {
        let frames = LogMel::new().signal(standard_signal());
        assert_eq!(frames.len(), FRAMES);
        let mean: Vec<f32> = (0..N_MELS).map(|m| frames.iter().map(|f| f[m]).sum::<f32>() / FRAMES as f32).collect();
        let peak = (0..N_MELS).max_by(|&a, &b| mean[a].total_cmp(&mean[b])).unwrap();
        // Band m has its centre at 69.27 * (m + 1) mel. 1000 Hz = 1000 mel: bands 13
        // (955 Hz) and 14 (1060 Hz) straddle it, 13 nearer.
        assert_eq!(peak, 13, "{mean:?}");
        // The weaker tones are local maxima: 440 Hz in band 7 (445 Hz), 3000 Hz in band 26
        // (2978 Hz).
        for m in [7, 26] {
            assert!(mean[m] > mean[m - 1] && mean[m] > mean[m + 1], "band {m}: {mean:?}");
        }
        // The sparse per-frame path equals the dense reference functions.
        let bank = mel_filterbank(N_MELS, N_FFT, SAMPLE_RATE);
        let lm = LogMel::new();
        let x = &standard_signal()[HOP * 7..HOP * 7 + WIN];
        let (mut re, mut im) = (vec![0f32; N_FFT], vec![0f32; N_FFT]);
        for (n, (r, v)) in re.iter_mut().zip(x).enumerate() {
            *r = v * lm.window[n];
        }
        fft_in_place(&mut re, &mut im).unwrap();
        let mut power = vec![0f32; BINS];
        power_spectrum(&re, &im, &mut power);
        let dense = log_mel(&power, &bank);
        for (a, b) in dense.iter().zip(&frames[7]) {
            assert!((a - b).abs() < 1e-4, "{a} vs {b}");
        }
    }
}
