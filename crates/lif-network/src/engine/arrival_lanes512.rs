//! The run of arrival slots of `arrival_lanes.rs` in AVX-512F vectors of eight neurons (x86-64
//! CPUs with AVX-512F, populations of 8 to 16 neurons, chosen at run time by
//! `simd::arrival_lanes`): the first `8 G` neurons in `G` vectors, the rest (at most seven) in
//! scalar code (`arrival_lanes::step`), in the same slot.
//!
//! Per slot and neuron, the operations of the scalar loop in the same order (the module docs
//! of `arrival_lanes.rs`): the decay of `(λ_V, λ_I)`, `λ_I` into the gradient row, the term
//! `w_j (λ_V - ρ λ_I)`; the terms summed in order of `j` from `+0.0` in scalar code, then
//! `Σ/τm` added to the spike's jump. Each lane performs its neuron's IEEE-754 operations
//! (nothing fused), so the bits are those of the scalar loop.

#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;

#[cfg(target_arch = "x86_64")]
use super::arrival_lanes::{lanes, step, ArrivalRun, ArrivalSlot};

/// The slots of `slots` in their order (module docs).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
pub(crate) fn run<const G: usize>(slots: &[ArrivalSlot], r: &mut ArrivalRun<'_>) {
    let n = r.lv.len();
    let tail = n - 8 * G;
    debug_assert!(tail < 8);
    let mut lv: [__m512d; G] = std::array::from_fn(|g| load(r.lv, 8 * g));
    let mut li: [__m512d; G] = std::array::from_fn(|g| load(r.li, 8 * g));
    let (mut lv_t, mut li_t) = ([0.0; 7], [0.0; 7]);
    lv_t[..tail].copy_from_slice(&r.lv[8 * G..]);
    li_t[..tail].copy_from_slice(&r.li[8 * G..]);
    let rho = _mm512_set1_pd(r.rho);
    for sl in slots {
        let d = &sl.d;
        let (mem, syn, cross) = (
            _mm512_set1_pd(d.mem),
            _mm512_set1_pd(d.syn),
            _mm512_set1_pd(d.cross),
        );
        let g_row = &mut r.grad[sl.row..sl.row + n];
        let w_row = &r.weights[sl.row..sl.row + n];
        let mut sum = 0.0;
        for g in 0..G {
            let a = _mm512_add_pd(_mm512_mul_pd(syn, li[g]), _mm512_mul_pd(cross, lv[g]));
            let b = _mm512_mul_pd(mem, lv[g]);
            (li[g], lv[g]) = (a, b);
            let grad = _mm512_add_pd(load(g_row, 8 * g), a);
            store(g_row, 8 * g, grad);
            let term = _mm512_mul_pd(load(w_row, 8 * g), _mm512_sub_pd(b, _mm512_mul_pd(rho, a)));
            for x in halves(term).into_iter().flatten() {
                sum += x;
            }
        }
        let (g_t, w_t) = (&mut g_row[8 * G..], &w_row[8 * G..]);
        for j in 0..tail {
            sum += step(d, r.rho, (&mut lv_t[j], &mut li_t[j]), &mut g_t[j], w_t[j]);
        }
        r.jump[sl.spike] += sum * r.inv_tau_mem;
    }
    for g in 0..G {
        store(r.lv, 8 * g, lv[g]);
        store(r.li, 8 * g, li[g]);
    }
    r.lv[8 * G..].copy_from_slice(&lv_t[..tail]);
    r.li[8 * G..].copy_from_slice(&li_t[..tail]);
}

/// Entries `from..from + 8` of `a` as a vector.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
fn load(a: &[f64], from: usize) -> __m512d {
    let x = &a[from..from + 8];
    _mm512_setr_pd(x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7])
}

/// The lanes of `x` into entries `from..from + 8` of `a`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
fn store(a: &mut [f64], from: usize, x: __m512d) {
    let [lo, hi] = halves(x);
    a[from..from + 4].copy_from_slice(&lo);
    a[from + 4..from + 8].copy_from_slice(&hi);
}

/// The eight lanes of `x`, in order, as two halves.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
fn halves(x: __m512d) -> [[f64; 4]; 2] {
    [
        lanes(_mm512_extractf64x4_pd::<0>(x)),
        lanes(_mm512_extractf64x4_pd::<1>(x)),
    ]
}
