//! The backward sweep's run of item-free slots of a small population, each opened by a spike
//! arrival through one dense projection (`Model::arrival_slots`, `sweep_back.rs`), with the
//! adjoints in AVX2 vectors of four neurons, the last (at most three) in scalar code (x86-64
//! CPUs with AVX2, populations of 4 to 16 neurons, chosen at run time by `simd::arrival_lanes`).
//!
//! Per slot, walking back from its end to the arrival that opens it, and per neuron `j`, the
//! operations of the scalar loop in the same order: the decay
//! `λ_I ← e^{-Δ/τs} λ_I + K(Δ) λ_V`, `λ_V ← e^{-Δ/τm} λ_V` (eq. 2 between events), `λ_I` into
//! the gradient row of the arrival's presynaptic neuron, and the term `w_j (λ_V - ρ λ_I)` of
//! the spike's jump (eq. 52a); the terms are then summed in order of `j` from `+0.0` in scalar
//! code (a reduction in a fixed order), and `Σ/τm` added to the spike's jump. Each lane
//! performs the IEEE-754 multiplications, additions and subtractions of its neuron (nothing
//! fused), so the bits are those of the scalar loop.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

use super::closed_form::Decay;

/// One slot of the run: its `Decay` (from the arrival to the slot's end), the arrival's row
/// offset in the projection's pre-major weights and gradient, and its spike in the record.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ArrivalSlot {
    pub d: Decay,
    pub row: usize,
    pub spike: usize,
}

/// The population's adjoints and the projection's rows that the run reads and writes.
pub(crate) struct ArrivalRun<'a> {
    /// `λ_V`, `λ_I` of the population's `n` neurons (at the end of the run's first slot on
    /// entry, at the start of its last on return).
    pub lv: &'a mut [f64],
    pub li: &'a mut [f64],
    pub grad: &'a mut [f64],
    pub weights: &'a [f64],
    /// Per spike of the record: its jump's share so far.
    pub jump: &'a mut [f64],
    pub rho: f64,
    pub inv_tau_mem: f64,
}

/// One neuron `j` through an arrival slot in scalar code (module docs): `(λ_V, λ_I)` from the
/// slot's end to the arrival (`λ_I ← e^{-Δ/τs} λ_I + K(Δ) λ_V`, `λ_V ← e^{-Δ/τm} λ_V`), the
/// new `λ_I` added to its gradient entry `g`; returns its term `w_j (λ_V - ρ λ_I)` of the
/// spike's jump. The scalar loop (`sweep_back.rs`) and the lanes' tail both run this.
#[inline(always)]
pub(crate) fn step(
    d: &Decay,
    rho: f64,
    (lv, li): (&mut f64, &mut f64),
    g: &mut f64,
    w: f64,
) -> f64 {
    let (a, b) = (d.syn * *li + d.cross * *lv, d.mem * *lv);
    (*li, *lv) = (a, b);
    *g += a;
    w * (b - rho * a)
}

/// The slots of `slots` in their order: the first `4 G` neurons in `G` groups of four lanes,
/// the rest (at most three) in scalar code, in the same slot.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
pub(crate) fn run<const G: usize>(slots: &[ArrivalSlot], r: &mut ArrivalRun<'_>) {
    let n = r.lv.len();
    let tail = n - 4 * G;
    debug_assert!(tail < 4);
    let mut lv: [__m256d; G] = std::array::from_fn(|g| load(r.lv, 4 * g));
    let mut li: [__m256d; G] = std::array::from_fn(|g| load(r.li, 4 * g));
    let (mut lv_t, mut li_t) = ([0.0; 3], [0.0; 3]);
    lv_t[..tail].copy_from_slice(&r.lv[4 * G..]);
    li_t[..tail].copy_from_slice(&r.li[4 * G..]);
    let rho = _mm256_set1_pd(r.rho);
    for sl in slots {
        let d = &sl.d;
        let (mem, syn, cross) = (
            _mm256_set1_pd(d.mem),
            _mm256_set1_pd(d.syn),
            _mm256_set1_pd(d.cross),
        );
        let g_row = &mut r.grad[sl.row..sl.row + n];
        let w_row = &r.weights[sl.row..sl.row + n];
        let mut sum = 0.0;
        for g in 0..G {
            let a = _mm256_add_pd(_mm256_mul_pd(syn, li[g]), _mm256_mul_pd(cross, lv[g]));
            let b = _mm256_mul_pd(mem, lv[g]);
            (li[g], lv[g]) = (a, b);
            let grad = _mm256_add_pd(load(g_row, 4 * g), a);
            store(g_row, 4 * g, grad);
            let term = _mm256_mul_pd(load(w_row, 4 * g), _mm256_sub_pd(b, _mm256_mul_pd(rho, a)));
            for x in lanes(term) {
                sum += x;
            }
        }
        let (g_t, w_t) = (&mut g_row[4 * G..], &w_row[4 * G..]);
        for j in 0..tail {
            sum += step(d, r.rho, (&mut lv_t[j], &mut li_t[j]), &mut g_t[j], w_t[j]);
        }
        r.jump[sl.spike] += sum * r.inv_tau_mem;
    }
    for g in 0..G {
        store(r.lv, 4 * g, lv[g]);
        store(r.li, 4 * g, li[g]);
    }
    r.lv[4 * G..].copy_from_slice(&lv_t[..tail]);
    r.li[4 * G..].copy_from_slice(&li_t[..tail]);
}

/// Entries `from..from + 4` of `a` as a vector.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn load(a: &[f64], from: usize) -> __m256d {
    let x = &a[from..from + 4];
    _mm256_set_pd(x[3], x[2], x[1], x[0])
}

/// The lanes of `x` into entries `from..from + 4` of `a`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn store(a: &mut [f64], from: usize, x: __m256d) {
    a[from..from + 4].copy_from_slice(&lanes(x));
}

/// The four lanes of `x`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
pub(crate) fn lanes(x: __m256d) -> [f64; 4] {
    let (lo, hi) = (_mm256_castpd256_pd128(x), _mm256_extractf128_pd::<1>(x));
    [
        _mm_cvtsd_f64(lo),
        _mm_cvtsd_f64(_mm_unpackhi_pd(lo, lo)),
        _mm_cvtsd_f64(hi),
        _mm_cvtsd_f64(_mm_unpackhi_pd(hi, hi)),
    ]
}
