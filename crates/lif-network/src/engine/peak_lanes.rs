//! Readout neurons through all their slots four at a time, in AVX2 vectors (x86-64 CPUs with
//! AVX2, chosen at run time by `simd::readout_lanes`): the loop of
//! `Model::sweep_readout_by_neuron` for one neuron, with its maximum as `PeakTracker` keeps it
//! (`peak.rs`), run for up to twelve neurons side by side.
//!
//! Per slot and lane, the same operations in the same order as the loop of one neuron: the
//! update `V1 = e^{-Δ/τm} V0 + K(Δ) I0`, `I1 = e^{-Δ/τs} I0`; if the slot has positive length,
//! the interior maximum's tests (`V̇ > 0` at the start, `< 0` at the end, `max_upper_bound`
//! above the maximum so far; the maximum itself, `Kernel::maximum`, only for the lanes that
//! pass them, which is rare, in scalar code) and then the end's test `V1 >` the maximum so far;
//! then the event's weight added to `I1`. The tests are ordered comparisons (`_CMP_GT_OQ`,
//! `_CMP_LT_OQ`: false on NaN, as `>` and `<`), the arithmetic IEEE-754 multiplications and
//! additions per lane (nothing fused), so every lane holds the bits of its neuron's own loop.
//! (`max_upper_bound`'s `max(V0, 0)` may differ from `f64::max` in the sign of a zero, which
//! changes neither the bound's comparison nor anything else.) The end's test picks values
//! without a branch: it holds at most slots while a readout's voltage rises and flips
//! unpredictably after. A slot end that beats the maximum keeps only its slot and `I` there
//! (`V` there is the maximum); time, cause and `V̇⁻` are made once by [`PeakLanes::finish`].

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::closed_form::Decay;
use super::params::Kernel;
use super::sweep::Arrival;
use super::workspace::{PeakCause, VoltagePeak};

/// The slots of a readout population: each slot but the last with its length and `Decay` and
/// the event that ends it, that event's row offset into the weights of the population's single
/// projection (pre-major), the last slot's `Decay` (up to `t_end`).
#[derive(Clone, Copy)]
pub(crate) struct ReadoutSlots<'s> {
    pub decays: &'s [(f64, Decay)],
    pub events: &'s [Arrival],
    pub rows: &'s [(u32, usize)],
    pub last: Decay,
    pub t_end: f64,
    pub weights: &'s [f64],
}

/// The most lanes of one [`run`].
pub(crate) const LANES_MAX: usize = 12;

/// Up to [`LANES_MAX`] readout neurons `j0..j0 + lanes` (local) after their slots: their maxima (the
/// value; the slot whose end it is, `-1` if none, with `I` there; else an interior stationary
/// point's time, if one is the maximum) and their state at `t_end`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PeakLanes {
    pub j0: usize,
    pub lanes: usize,
    pub value: [f64; LANES_MAX],
    pub end_slot: [f64; LANES_MAX],
    pub end_i: [f64; LANES_MAX],
    pub stationary: [Option<f64>; LANES_MAX],
    pub v: [f64; LANES_MAX],
    pub i: [f64; LANES_MAX],
}

impl PeakLanes {
    /// Neurons `j0..j0 + lanes` from the maxima they start with (`peaks`, local, all tracked).
    pub fn new(j0: usize, lanes: usize, peaks: &[VoltagePeak]) -> Self {
        Self {
            j0,
            lanes,
            value: std::array::from_fn(|l| peaks.get(j0 + l).map_or(0.0, |pk| pk.value)),
            end_slot: [-1.0; LANES_MAX],
            end_i: [0.0; LANES_MAX],
            stationary: [None; LANES_MAX],
            v: [0.0; LANES_MAX],
            i: [0.0; LANES_MAX],
        }
    }

    /// Lane `l`'s maximum as `PeakTracker::finish` makes it, from `start` (the maximum it
    /// started with) and `cause(s)`, the cause of slot `s`'s end.
    pub fn finish(
        &self,
        l: usize,
        k: &Kernel,
        slots: &ReadoutSlots,
        start: VoltagePeak,
        cause: impl Fn(usize) -> PeakCause,
    ) -> VoltagePeak {
        if self.end_slot[l] >= 0.0 {
            let s = self.end_slot[l] as usize;
            VoltagePeak {
                value: self.value[l],
                time: slots.events.get(s).map_or(slots.t_end, |ev| ev.time),
                cause: cause(s),
                vdot_minus: (self.end_i[l] - self.value[l]) * k.inv_tau_mem,
            }
        } else if let Some(time) = self.stationary[l] {
            VoltagePeak {
                value: self.value[l],
                time,
                cause: PeakCause::Stationary,
                vdot_minus: 0.0,
            }
        } else {
            start
        }
    }
}

/// `G` groups of four lanes (`out.lanes <= 4 G`) through every slot (module docs).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(crate) fn run<const G: usize>(k: &Kernel, slots: &ReadoutSlots, out: &mut PeakLanes) {
    let zero = _mm256_setzero_pd();
    let (mut v, mut i) = ([zero; G], [zero; G]);
    let mut m = Maxima {
        value: std::array::from_fn(|g| load(&out.value, 4 * g)),
        end_slot: [_mm256_set1_pd(-1.0); G],
        end_i: [zero; G],
    };
    let kappa = (_mm256_set1_pd(k.kappa0), _mm256_set1_pd(1.0 - k.kappa0));
    let (j0, limit, w) = (out.j0, out.j0 + out.lanes, slots.weights);
    // Per group, all ones in its lanes below `limit`: a row's four weights from `j0 + 4 g` on,
    // masked by it, are the lanes' weights and `+0.0` past `limit` (the entries read there are
    // the next row's, or the row is read entry by entry at the end of the weights).
    let keep: [__m256d; G] = std::array::from_fn(|g| {
        let on = |l: usize| if j0 + 4 * g + l < limit { -1.0 } else { 0.0 };
        _mm256_cmp_pd::<_CMP_LT_OQ>(load(&[on(0), on(1), on(2), on(3)], 0), zero)
    });
    let n_ev = slots.events.len();
    let (mut start, mut v1, mut i1) = (0.0, v, i);
    // The slot's index as a lane value (`s as f64`: exact, counted in `f64`).
    let (mut slot, one) = (zero, _mm256_set1_pd(1.0));
    // The slots ended by the events, then the last one (up to `t_end`): one call site of
    // `track`, inlined.
    for s in 0..=n_ev {
        let (d, t1) = match slots.decays.get(s).zip(slots.events.get(s)) {
            Some((&(_, d), ev)) => (d, ev.time),
            None => (slots.last, slots.t_end),
        };
        (v1, i1) = update(&d, &v, &i);
        if t1 > start {
            track(k, kappa, (&v, &i, start), (&v1, &i1, t1), slot, &mut m, out);
        }
        let Some(&(_, row)) = slots.rows.get(s) else {
            break;
        };
        let whole = w.get(row + j0..row + j0 + 4 * G);
        for g in 0..G {
            let from = j0 + 4 * g;
            let wg = match whole {
                Some(r) => {
                    let r = &r[4 * g..4 * g + 4];
                    _mm256_and_pd(_mm256_set_pd(r[3], r[2], r[1], r[0]), keep[g])
                }
                None => {
                    let r: [f64; 4] = std::array::from_fn(|l| {
                        if from + l < limit {
                            w[row + from + l]
                        } else {
                            0.0
                        }
                    });
                    load(&r, 0)
                }
            };
            (v[g], i[g]) = (v1[g], _mm256_add_pd(i1[g], wg));
        }
        start = t1;
        slot = _mm256_add_pd(slot, one);
    }
    for g in 0..G {
        store(&mut out.value, 4 * g, m.value[g]);
        store(&mut out.end_slot, 4 * g, m.end_slot[g]);
        store(&mut out.end_i, 4 * g, m.end_i[g]);
        store(&mut out.v, 4 * g, v1[g]);
        store(&mut out.i, 4 * g, i1[g]);
    }
}

/// The lanes' maxima so far, as in [`PeakLanes`]: value, slot of the end (`-1` if none), `I`
/// there.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct Maxima<const G: usize> {
    value: [__m256d; G],
    end_slot: [__m256d; G],
    end_i: [__m256d; G],
}

/// `(V, I)` at the slot's end.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn update<const G: usize>(
    d: &Decay,
    v: &[__m256d; G],
    i: &[__m256d; G],
) -> ([__m256d; G], [__m256d; G]) {
    let (mem, syn, cross) = (
        _mm256_set1_pd(d.mem),
        _mm256_set1_pd(d.syn),
        _mm256_set1_pd(d.cross),
    );
    let v1 = std::array::from_fn(|g| {
        _mm256_add_pd(_mm256_mul_pd(mem, v[g]), _mm256_mul_pd(cross, i[g]))
    });
    let i1 = std::array::from_fn(|g| _mm256_mul_pd(syn, i[g]));
    (v1, i1)
}

/// The maxima through a slot of positive length `(t0, t1)`, slot `s` (its index in every
/// lane; module docs).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn track<const G: usize>(
    k: &Kernel,
    (k0, k1): (__m256d, __m256d),
    (v, i, t0): (&[__m256d; G], &[__m256d; G], f64),
    (v1, i1, t1): (&[__m256d; G], &[__m256d; G], f64),
    s: __m256d,
    m: &mut Maxima<G>,
    out: &mut PeakLanes,
) {
    let zero = _mm256_setzero_pd();
    for g in 0..G {
        // `κ0 I0 + (1 - κ0) max(V0, 0)` (`Kernel::max_upper_bound`).
        let bound = _mm256_add_pd(
            _mm256_mul_pd(k0, i[g]),
            _mm256_mul_pd(k1, _mm256_max_pd(v[g], zero)),
        );
        let rising = _mm256_cmp_pd::<_CMP_GT_OQ>(i[g], v[g]);
        let falling = _mm256_cmp_pd::<_CMP_LT_OQ>(i1[g], v1[g]);
        let above = _mm256_cmp_pd::<_CMP_GT_OQ>(bound, m.value[g]);
        let flags = _mm256_movemask_pd(_mm256_and_pd(_mm256_and_pd(rising, falling), above));
        if flags != 0 {
            let at = (lanes(v[g]), lanes(i[g]));
            let (mut best, mut slot) = (lanes(m.value[g]), lanes(m.end_slot[g]));
            interior(k, flags, at, (t0, t1), 4 * g, (&mut best, &mut slot), out);
            (m.value[g], m.end_slot[g]) = (load(&best, 0), load(&slot, 0));
        }
        let up = _mm256_cmp_pd::<_CMP_GT_OQ>(v1[g], m.value[g]);
        m.value[g] = _mm256_blendv_pd(m.value[g], v1[g], up);
        m.end_slot[g] = _mm256_blendv_pd(m.end_slot[g], s, up);
        m.end_i[g] = _mm256_blendv_pd(m.end_i[g], i1[g], up);
    }
}

/// The interior maxima of the flagged lanes (`flags`, bit `l` for lane `l` of a group whose
/// first lane is `first`): `interior_maximum` of `peak.rs`, kept where inside the slot and
/// above the maximum so far (`best`), which then is no slot's end.
#[cold]
#[inline(never)]
pub(crate) fn interior(
    k: &Kernel,
    flags: i32,
    (v, i): ([f64; 4], [f64; 4]),
    (t0, t1): (f64, f64),
    first: usize,
    (best, slot): (&mut [f64; 4], &mut [f64; 4]),
    out: &mut PeakLanes,
) {
    for l in (0..4).filter(|l| flags & (1 << l) != 0) {
        if let Some((ts, vm)) = k.maximum(v[l], i[l]) {
            if ts < t1 - t0 && vm > best[l] {
                (best[l], slot[l]) = (vm, -1.0);
                out.stationary[first + l] = Some(t0 + ts);
            }
        }
    }
}

/// Lanes `from..from + 4` of `a` as a vector.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn load<const N: usize>(a: &[f64; N], from: usize) -> __m256d {
    _mm256_set_pd(a[from + 3], a[from + 2], a[from + 1], a[from])
}

/// `x` into lanes `from..from + 4` of `a`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn store(a: &mut [f64; LANES_MAX], from: usize, x: __m256d) {
    a[from..from + 4].copy_from_slice(&lanes(x));
}

/// The four lanes of `x`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn lanes(x: __m256d) -> [f64; 4] {
    let (lo, hi) = (_mm256_castpd256_pd128(x), _mm256_extractf128_pd::<1>(x));
    [
        _mm_cvtsd_f64(lo),
        _mm_cvtsd_f64(_mm_unpackhi_pd(lo, lo)),
        _mm_cvtsd_f64(hi),
        _mm_cvtsd_f64(_mm_unpackhi_pd(hi, hi)),
    ]
}
