//! The readout loop of `peak_lanes.rs` in AVX-512F vectors of eight lanes (x86-64 CPUs with
//! AVX-512F, chosen at run time by `simd::readout_lanes`): up to [`LANES_MAX`] readout neurons
//! in one or two vectors (MNIST's ten in two, the second with two lanes in use), with the
//! lanes' maxima in registers (AVX-512 has 32 of them; the AVX2 build of twelve lanes keeps
//! some on the stack).
//!
//! Per slot and lane, the operations of `peak_lanes.rs` in the same order (its module docs):
//! the update, the interior maximum's three tests (ordered comparisons `_CMP_GT_OQ`,
//! `_CMP_LT_OQ`, here into mask registers; the maximum itself in scalar code for the rare
//! flagged lanes, `peak_lanes::interior`), the end's test `V1 >` the maximum so far and its
//! selects, the event's weight added (`+0.0` in the lanes past the block). `_mm512_max_pd` is
//! the instruction `_mm256_max_pd` is, lane by lane, so every lane holds the bits of its
//! neuron's own loop, as in the AVX2 build.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

#[cfg(target_arch = "x86_64")]
use super::params::Kernel;
#[cfg(target_arch = "x86_64")]
use super::peak_lanes::{interior, PeakLanes, ReadoutSlots, LANES_MAX};

/// `G` vectors of eight lanes (`out.lanes <= 8 G`, at most [`LANES_MAX`]) through every slot
/// (module docs).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(crate) fn run<const G: usize>(k: &Kernel, slots: &ReadoutSlots, out: &mut PeakLanes) {
    let zero = _mm512_setzero_pd();
    let (mut v, mut i) = ([zero; G], [zero; G]);
    let mut value: [__m512d; G] = std::array::from_fn(|g| load(&out.value, 8 * g));
    let (mut end_slot, mut end_i) = ([_mm512_set1_pd(-1.0); G], [zero; G]);
    let (k0, k1) = (_mm512_set1_pd(k.kappa0), _mm512_set1_pd(1.0 - k.kappa0));
    let (j0, limit, w) = (out.j0, out.j0 + out.lanes, slots.weights);
    // Per vector, its lanes below `limit`.
    let keep: [__mmask8; G] = std::array::from_fn(|g| {
        let used = limit.saturating_sub(j0 + 8 * g).min(8);
        ((1u16 << used) - 1) as __mmask8
    });
    let n_ev = slots.events.len();
    let (mut start, mut v1, mut i1) = (0.0, v, i);
    let (mut slot, one) = (zero, _mm512_set1_pd(1.0));
    for s in 0..=n_ev {
        let (d, t1) = match slots.decays.get(s).zip(slots.events.get(s)) {
            Some((&(_, d), ev)) => (d, ev.time),
            None => (slots.last, slots.t_end),
        };
        let (mem, syn, cross) = (
            _mm512_set1_pd(d.mem),
            _mm512_set1_pd(d.syn),
            _mm512_set1_pd(d.cross),
        );
        for g in 0..G {
            v1[g] = _mm512_add_pd(_mm512_mul_pd(mem, v[g]), _mm512_mul_pd(cross, i[g]));
            i1[g] = _mm512_mul_pd(syn, i[g]);
        }
        if t1 > start {
            for g in 0..G {
                // `κ0 I0 + (1 - κ0) max(V0, 0)` (`Kernel::max_upper_bound`).
                let bound = _mm512_add_pd(
                    _mm512_mul_pd(k0, i[g]),
                    _mm512_mul_pd(k1, _mm512_max_pd(v[g], zero)),
                );
                let rising = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(i[g], v[g]);
                let falling = _mm512_cmp_pd_mask::<_CMP_LT_OQ>(i1[g], v1[g]);
                let above = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(bound, value[g]);
                let flags = rising & falling & above;
                if flags != 0 {
                    let (lo, hi) = (8 * g, 8 * g + 4);
                    for (first, half) in [(lo, 0), (hi, 4)] {
                        let f = i32::from(flags >> half) & 0xf;
                        if f == 0 {
                            continue;
                        }
                        let at = (lanes(v[g], half), lanes(i[g], half));
                        let (mut best, mut at_slot) =
                            (lanes(value[g], half), lanes(end_slot[g], half));
                        interior(k, f, at, (start, t1), first, (&mut best, &mut at_slot), out);
                        value[g] = put(value[g], half, best);
                        end_slot[g] = put(end_slot[g], half, at_slot);
                    }
                }
                let up = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(v1[g], value[g]);
                value[g] = _mm512_mask_blend_pd(up, value[g], v1[g]);
                end_slot[g] = _mm512_mask_blend_pd(up, end_slot[g], slot);
                end_i[g] = _mm512_mask_blend_pd(up, end_i[g], i1[g]);
            }
        }
        let Some(&(_, row)) = slots.rows.get(s) else {
            break;
        };
        let whole = w.get(row + j0..row + j0 + 8 * G);
        for g in 0..G {
            let wg = match whole {
                Some(r) => _mm512_maskz_mov_pd(keep[g], from_slice(&r[8 * g..8 * g + 8])),
                None => {
                    let from = j0 + 8 * g;
                    let r: [f64; 8] = std::array::from_fn(|l| {
                        if from + l < limit {
                            w[row + from + l]
                        } else {
                            0.0
                        }
                    });
                    from_slice(&r)
                }
            };
            (v[g], i[g]) = (v1[g], _mm512_add_pd(i1[g], wg));
        }
        start = t1;
        slot = _mm512_add_pd(slot, one);
    }
    for g in 0..G {
        store(&mut out.value, 8 * g, value[g]);
        store(&mut out.end_slot, 8 * g, end_slot[g]);
        store(&mut out.end_i, 8 * g, end_i[g]);
        store(&mut out.v, 8 * g, v1[g]);
        store(&mut out.i, 8 * g, i1[g]);
    }
}

/// The eight entries of `r` as a vector.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
fn from_slice(r: &[f64]) -> __m512d {
    let r = &r[..8];
    _mm512_setr_pd(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7])
}

/// Lanes `from..from + 8` of `a` (entries past its end read as `+0.0`) as a vector.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
fn load(a: &[f64; LANES_MAX], from: usize) -> __m512d {
    let r: [f64; 8] = std::array::from_fn(|l| a.get(from + l).copied().unwrap_or(0.0));
    from_slice(&r)
}

/// The lanes of `x` that fit into `a` from `from` on.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
fn store(a: &mut [f64; LANES_MAX], from: usize, x: __m512d) {
    let all = [lanes(x, 0), lanes(x, 4)];
    for (slot, &x) in a[from..].iter_mut().zip(all.iter().flatten()) {
        *slot = x;
    }
}

/// Lanes `half..half + 4` of `x` (`half` = 0 or 4).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
fn lanes(x: __m512d, half: usize) -> [f64; 4] {
    let q = if half == 0 {
        _mm512_extractf64x4_pd::<0>(x)
    } else {
        _mm512_extractf64x4_pd::<1>(x)
    };
    super::arrival_lanes::lanes(q)
}

/// `x` with lanes `half..half + 4` replaced by `q`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
fn put(x: __m512d, half: usize, q: [f64; 4]) -> __m512d {
    let q = _mm256_set_pd(q[3], q[2], q[1], q[0]);
    if half == 0 {
        _mm512_insertf64x4::<0>(x, q)
    } else {
        _mm512_insertf64x4::<1>(x, q)
    }
}
