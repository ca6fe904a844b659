//! The population sweeps' per-neuron loops, compiled more than once and chosen at run time.
//!
//! The workspace builds for the baseline of its target (on x86-64: SSE2, two `f64` per vector).
//! The loops here run over a population's structure of arrays without branches: the slot
//! update of `V`, `I` with the crossing flags (`sweep.rs`), a presynaptic neuron's row of dense
//! weights added to the currents, the backward decay of the adjoints and a dense gradient row
//! with the spike's share of the jump (`sweep_back.rs`). Dense weights are pre-major
//! (`[pre · n_post + post]`), so each row is contiguous.
//! Each is written once as an `#[inline(always)]` body and compiled three times on x86-64: for
//! the baseline, inside an `avx2` function and inside an `avx512f` function (four and eight
//! lanes). [`Isa::select`] picks the widest one the CPU has (`is_x86_feature_detected!`); on
//! other architectures only the baseline build exists.
//!
//! Every build computes the same bits: each lane performs the same IEEE-754 multiplications
//! and additions, in the same order per neuron, as the scalar code. Nothing is fused (Rust does
//! not contract `a * b + c` into an FMA, and `fma` is not enabled here) and no sum is
//! reassociated (the loops have no reduction but an `|`of flags). The comparisons of the flags
//! are exact. A test runs random Yin-Yang- and MNIST-like networks through both builds
//! (`NetworkWorkspace::vectors`) and compares every bit of spikes, loss and gradient.
//!
//! Calling a `#[target_feature]` function needs `unsafe`: the one obligation is that the CPU
//! has the feature. The dispatchers below are the crate's only `unsafe` blocks; the levels that
//! lead to them are made only by [`Isa::select`] after the run-time check, and the two that run
//! the readouts' AVX2 bodies (`peak_lanes.rs`, `arrival_lanes.rs`, written with `core::arch`
//! intrinsics) check AVX2 themselves just before; their AVX-512F bodies (`peak_lanes512.rs`,
//! `arrival_lanes512.rs`) run only at the AVX-512F level.

use super::arrival_lanes::{ArrivalRun, ArrivalSlot};
use super::clock::PopConsts;
use super::closed_form::{Decay, MaxLanes, RootLanes, LANES};
use super::params::Kernel;
use super::peak_lanes::{PeakLanes, ReadoutSlots};

/// The widest build of the population sweeps' per-neuron loops that a
/// [`NetworkWorkspace`](super::NetworkWorkspace) may run
/// ([`vectors`](super::NetworkWorkspace::vectors)); the CPU's features, checked at run time,
/// may lower it. Every build computes the same bits (see `engine/simd.rs`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum VectorWidth {
    /// The baseline build of the compilation target (on x86-64: SSE2).
    Baseline,
    /// AVX2 (four `f64` lanes) if the CPU has it, else the baseline.
    UpToAvx2,
    /// The widest build the CPU runs: AVX-512F, AVX2 or the baseline.
    #[default]
    Widest,
}

/// The build of the loops that runs: made only by [`Isa::select`], which checks the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Isa(Level);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Level {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2,
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Isa {
    /// The widest build up to `limit` that this CPU runs.
    #[inline]
    pub(crate) fn select(limit: VectorWidth) -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected;
            if limit == VectorWidth::Widest && is_x86_feature_detected!("avx512f") {
                return Isa(Level::Avx512);
            }
            if limit >= VectorWidth::UpToAvx2 && is_x86_feature_detected!("avx2") {
                return Isa(Level::Avx2);
            }
        }
        let _ = limit;
        Isa(Level::Portable)
    }

    /// The build's name (for the examples' output).
    pub(crate) fn name(self) -> &'static str {
        match self.0 {
            Level::Portable => "baseline",
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => "avx2",
            #[cfg(target_arch = "x86_64")]
            Level::Avx512 => "avx512f",
        }
    }
}

/// Defines `$name(isa, args..)`, which runs `$body` (an `#[inline(always)]` function of the
/// same arguments) in the build `isa` names.
macro_rules! dispatched {
    ($(#[$doc:meta])* fn $name:ident / $body:ident ($($arg:ident : $ty:ty),*) -> $ret:ty) => {
        $(#[$doc])*
        #[inline(always)]
        pub(crate) fn $name(isa: Isa, $($arg: $ty),*) -> $ret {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2")]
                fn avx2($($arg: $ty),*) -> $ret {
                    $body($($arg),*)
                }
                #[target_feature(enable = "avx512f")]
                fn avx512($($arg: $ty),*) -> $ret {
                    $body($($arg),*)
                }
                match isa.0 {
                    // SAFETY: `Level::Avx2` and `Level::Avx512` are made only by `Isa::select`,
                    // after `is_x86_feature_detected!` found the feature on this CPU.
                    #[allow(unsafe_code)]
                    Level::Avx2 => return unsafe { avx2($($arg),*) },
                    #[allow(unsafe_code)]
                    Level::Avx512 => return unsafe { avx512($($arg),*) },
                    Level::Portable => {}
                }
            }
            let _ = isa;
            $body($($arg),*)
        }
    };
}

dispatched! {
    /// One slot of a spiking population: `(V, I)` at the slot's end into `(v1, i1)` and the
    /// flag of a possible crossing (`may_cross_wide`) into `slow` (one byte per neuron); whether
    /// any neuron is flagged. The slices have one length.
    fn slot_update / slot_update_body(
        pc: &PopConsts,
        d: &Decay,
        v: &[f64],
        i: &[f64],
        v1: &mut [f64],
        i1: &mut [f64],
        slow: &mut [u8]
    ) -> bool
}

#[inline(always)]
fn slot_update_body(
    pc: &PopConsts,
    d: &Decay,
    v: &[f64],
    i: &[f64],
    v1: &mut [f64],
    i1: &mut [f64],
    slow: &mut [u8],
) -> bool {
    let n = v.len();
    let (i, v1, i1, slow) = (&i[..n], &mut v1[..n], &mut i1[..n], &mut slow[..n]);
    let mut any = false;
    for j in 0..n {
        let (a, b) = (d.voltage(v[j], i[j]), d.syn * i[j]);
        let f = may_cross_wide(pc, v[j], i[j], a, b);
        v1[j] = a;
        i1[j] = b;
        slow[j] = u8::from(f);
        any |= f;
    }
    any
}

/// A slightly wider necessary condition than `sweep::may_cross`, for the vectorised slot loop:
/// two operations fewer, at the price of also flagging the rare neurons with `I <= ϑ` and `V`
/// within `8 ε` of `ϑ` (their exact search finds no crossing and returns the same end state):
/// with `V0 < ϑ`, `I0 <= ϑ` the bound `κ0 I0 + (1 - κ0) max(V0, 0)` is below `ϑ (1 - 8 ε)` but
/// for those; `V1 >= ϑ` and `V0 >= ϑ` are flagged from `ϑ (1 - 8 ε)` on. A NaN state compares
/// false as in `may_cross`.
#[inline(always)]
fn may_cross_wide(pc: &PopConsts, v: f64, i: f64, v1: f64, i1: f64) -> bool {
    let tb = pc.thr_bound;
    (v1 >= tb) | (v >= tb) | ((i1 < v1) & (pc.k.max_upper_bound(v, i) >= tb))
}

dispatched! {
    /// `i[j] += row[j]`: a presynaptic neuron's row of pre-major dense weights added to the
    /// currents. The slices have one length.
    fn add_row / add_row_body(i: &mut [f64], row: &[f64]) -> ()
}

#[inline(always)]
fn add_row_body(i: &mut [f64], row: &[f64]) {
    let row = &row[..i.len()];
    for j in 0..i.len() {
        i[j] += row[j];
    }
}

dispatched! {
    /// The adjoints `(λ_V, λ_I)` at a slot's start from those at its end:
    /// `λ_I ← e^{-Δ/τs} λ_I + K(Δ) λ_V`, `λ_V ← e^{-Δ/τm} λ_V`.
    fn adjoint_decay / adjoint_decay_body(
        d: &Decay,
        lv: &[f64],
        li: &[f64],
        lv1: &mut [f64],
        li1: &mut [f64]
    ) -> ()
}

#[inline(always)]
fn adjoint_decay_body(d: &Decay, lv: &[f64], li: &[f64], lv1: &mut [f64], li1: &mut [f64]) {
    let n = lv.len();
    let (li, lv1, li1) = (&li[..n], &mut lv1[..n], &mut li1[..n]);
    for j in 0..n {
        li1[j] = d.syn * li[j] + d.cross * lv[j];
        lv1[j] = d.mem * lv[j];
    }
}

dispatched! {
    /// `grad[j] += li[j]`: `λ_I` into a presynaptic neuron's row of a pre-major gradient. The
    /// slices have one length.
    fn add_to_row / add_to_row_body(grad: &mut [f64], li: &[f64]) -> ()
}

#[inline(always)]
fn add_to_row_body(grad: &mut [f64], li: &[f64]) {
    let li = &li[..grad.len()];
    for j in 0..grad.len() {
        grad[j] += li[j];
    }
}

dispatched! {
    /// `grad[j] += li[j]` and `Σ_j w[j] (lv[j] - ρ li[j])` (summed in order of `j`, from
    /// `+0.0`): a spike arrival's gradient row and the targets' share of its jump. The sum is a
    /// reduction in a fixed order, so it stays scalar in every build; the gradient row is a
    /// separate loop, which vectorises. The slices have one length.
    fn arrival_row / arrival_row_body(
        grad: &mut [f64],
        w: &[f64],
        lv: &[f64],
        li: &[f64],
        rho: f64
    ) -> f64
}

#[inline(always)]
fn arrival_row_body(grad: &mut [f64], w: &[f64], lv: &[f64], li: &[f64], rho: f64) -> f64 {
    let n = grad.len();
    let (w, lv, li) = (&w[..n], &lv[..n], &li[..n]);
    for j in 0..n {
        grad[j] += li[j];
    }
    let mut sum = 0.0;
    for j in 0..n {
        sum += w[j] * (lv[j] - rho * li[j]);
    }
    sum
}

/// `Kernel::roots_u_lanes::<N>` for `N` = the kernel's [`pow`](super::params::Kernel::pow)
/// (2, 3 or 4): the roots of a batch of crossing searches, in lanes.
#[inline]
pub(crate) fn roots_u(isa: Isa, k: &Kernel, r: &RootLanes) -> [f64; LANES] {
    match k.pow {
        2 => roots_u2(isa, k, r),
        3 => roots_u3(isa, k, r),
        _ => roots_u4(isa, k, r),
    }
}

dispatched! {
    /// `Kernel::roots_u_lanes::<2>`.
    fn roots_u2 / roots_u2_body(k: &Kernel, r: &RootLanes) -> [f64; LANES]
}

dispatched! {
    /// `Kernel::roots_u_lanes::<3>`.
    fn roots_u3 / roots_u3_body(k: &Kernel, r: &RootLanes) -> [f64; LANES]
}

dispatched! {
    /// `Kernel::roots_u_lanes::<4>`.
    fn roots_u4 / roots_u4_body(k: &Kernel, r: &RootLanes) -> [f64; LANES]
}

#[inline(always)]
fn roots_u2_body(k: &Kernel, r: &RootLanes) -> [f64; LANES] {
    k.roots_u_lanes::<2>(r)
}

#[inline(always)]
fn roots_u3_body(k: &Kernel, r: &RootLanes) -> [f64; LANES] {
    k.roots_u_lanes::<3>(r)
}

#[inline(always)]
fn roots_u4_body(k: &Kernel, r: &RootLanes) -> [f64; LANES] {
    k.roots_u_lanes::<4>(r)
}

/// `Kernel::maxima_u_lanes::<N>` for `N` = the kernel's [`pow`](super::params::Kernel::pow)
/// (2, 3 or 4): the maxima in `u` of a batch of states, in lanes.
#[inline]
pub(crate) fn maxima_u(isa: Isa, k: &Kernel, v0: &[f64; LANES], i0: &[f64; LANES]) -> MaxLanes {
    match k.pow {
        2 => maxima_u2(isa, k, v0, i0),
        3 => maxima_u3(isa, k, v0, i0),
        _ => maxima_u4(isa, k, v0, i0),
    }
}

dispatched! {
    /// `Kernel::maxima_u_lanes::<2>`.
    fn maxima_u2 / maxima_u2_body(k: &Kernel, v0: &[f64; LANES], i0: &[f64; LANES]) -> MaxLanes
}

dispatched! {
    /// `Kernel::maxima_u_lanes::<3>`.
    fn maxima_u3 / maxima_u3_body(k: &Kernel, v0: &[f64; LANES], i0: &[f64; LANES]) -> MaxLanes
}

dispatched! {
    /// `Kernel::maxima_u_lanes::<4>`.
    fn maxima_u4 / maxima_u4_body(k: &Kernel, v0: &[f64; LANES], i0: &[f64; LANES]) -> MaxLanes
}

#[inline(always)]
fn maxima_u2_body(k: &Kernel, v0: &[f64; LANES], i0: &[f64; LANES]) -> MaxLanes {
    k.maxima_u_lanes::<2>(v0, i0)
}

#[inline(always)]
fn maxima_u3_body(k: &Kernel, v0: &[f64; LANES], i0: &[f64; LANES]) -> MaxLanes {
    k.maxima_u_lanes::<3>(v0, i0)
}

#[inline(always)]
fn maxima_u4_body(k: &Kernel, v0: &[f64; LANES], i0: &[f64; LANES]) -> MaxLanes {
    k.maxima_u_lanes::<4>(v0, i0)
}

/// Readout neurons `out.j0..out.j0 + out.lanes` (at most `LANES_MAX`) through their slots in
/// AVX-512F lanes (`peak_lanes512.rs`) when this build is AVX-512F, else in AVX2 lanes
/// (`peak_lanes.rs`) when this build may run AVX2 and the CPU has it, both with the bits of
/// the loop neuron by neuron; returns whether they ran (else the caller runs them one by one).
#[inline]
pub(crate) fn readout_lanes(
    isa: Isa,
    k: &Kernel,
    slots: &ReadoutSlots<'_>,
    out: &mut PeakLanes,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use super::peak_lanes::run;
        if isa.0 == Level::Avx512 {
            use super::peak_lanes512::run as run512;
            // SAFETY: `Level::Avx512` is made only by `Isa::select`, after
            // `is_x86_feature_detected!("avx512f")`, the only feature `run512` enables.
            #[allow(unsafe_code)]
            unsafe {
                match out.lanes.div_ceil(8) {
                    0 | 1 => run512::<1>(k, slots, out),
                    _ => run512::<2>(k, slots, out),
                }
            }
            return true;
        }
        if isa.0 != Level::Portable && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2 (checked just above), the only feature `run` enables.
            #[allow(unsafe_code)]
            unsafe {
                match out.lanes.div_ceil(4) {
                    0 | 1 => run::<1>(k, slots, out),
                    2 => run::<2>(k, slots, out),
                    _ => run::<3>(k, slots, out),
                }
            }
            return true;
        }
    }
    let _ = (isa, k, slots, out);
    false
}

/// The slots of `run` through `r` in AVX-512F lanes (`arrival_lanes512.rs`) for 8 to 16
/// neurons when this build is AVX-512F, else in AVX2 lanes (`arrival_lanes.rs`) for 4 to 16
/// neurons when this build may run AVX2 and the CPU has it, both with the bits of the scalar
/// loop; returns whether they ran (else the caller runs the scalar loop).
#[inline]
pub(crate) fn arrival_lanes(isa: Isa, run: &[ArrivalSlot], r: &mut ArrivalRun<'_>) -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        use super::arrival_lanes::run as lanes;
        let n = r.lv.len();
        if isa.0 == Level::Avx512 && (8..=16).contains(&n) {
            use super::arrival_lanes512::run as lanes512;
            // SAFETY: `Level::Avx512` is made only by `Isa::select`, after
            // `is_x86_feature_detected!("avx512f")`, the only feature `lanes512` enables.
            #[allow(unsafe_code)]
            unsafe {
                match n / 8 {
                    1 => lanes512::<1>(run, r),
                    _ => lanes512::<2>(run, r),
                }
            }
            return true;
        }
        if isa.0 != Level::Portable
            && (4..=16).contains(&n)
            && std::arch::is_x86_feature_detected!("avx2")
        {
            // SAFETY: the CPU has AVX2 (checked just above), the only feature `lanes` enables.
            #[allow(unsafe_code)]
            unsafe {
                match n / 4 {
                    1 => lanes::<1>(run, r),
                    2 => lanes::<2>(run, r),
                    3 => lanes::<3>(run, r),
                    _ => lanes::<4>(run, r),
                }
            }
            return true;
        }
    }
    let _ = (isa, run, r);
    false
}
