//! The first crossing searches of a slot's flagged neurons, together (see `sweep.rs`): each
//! neuron's bracket (`Kernel::bracket`, its maxima in lanes: `Kernel::maxima_u_lanes`), then the roots of those in `u` (`τm = n τs`, `n` from
//! 2 to 4) in lanes, eight at a time (`Kernel::roots_u_lanes`, the bits of the scalar search),
//! so that independent searches overlap instead of waiting on each other's divisions. The
//! neurons then run through the slot as before (`slot_spikes`, from these first searches).

use super::SweepScratch;
use crate::engine::clock::PopConsts;
use crate::engine::closed_form::Decay;
use crate::engine::closed_form::{Bracket, Crossing, MaxLanes, RootLanes, LANES};
use crate::engine::params::Kernel;
use crate::engine::simd::{self, Isa};

use super::Slot;

/// Whether a population's first searches run in lanes: `τm = n τs` with `n` from 2 to 4, and at
/// least two searches in the slot.
#[inline]
pub(super) fn batched(pc: &PopConsts, searches: usize) -> bool {
    (2..=4).contains(&pc.k.pow) && searches >= 2
}

/// Fills `sw.found[c]` with the first crossing (`Kernel::first_crossing` over the slot, from
/// the slot's start) of neuron `sw.cands[c]` from its state in `sw.v`, `sw.i`.
///
/// Each candidate's bracket takes `Kernel::bracket`'s tests in its order, on the same numbers,
/// up to the maximum; the candidates that need the maximum in `u` (`Kernel::maximum_u`, a
/// division and a square or cube root) wait for it in lanes, eight at a time
/// (`Kernel::maxima_u_lanes`, the bits of `maximum_u`; one or two left over by `maximum_u`),
/// before `bracket`'s last test. The bracketed roots go to the lanes of the root search as
/// they come (in lanes or alone, each root has the same bits, so the order does not matter).
pub(super) fn first_searches(pc: &PopConsts, isa: Isa, sw: &mut SweepScratch, slot: &Slot) {
    let k = &pc.k;
    let (end, thr) = (&slot.d, k.threshold);
    let n = sw.cands.len();
    sw.found.clear();
    sw.found.resize(n, None);
    let mut roots = Batch::default();
    let mut maxima = Batch::default();
    for c in 0..n {
        let j = sw.cands[c] as usize;
        let (v, i) = (sw.v[j], sw.i[j]);
        // `Kernel::bracket` for `pow` from 2 to 4, up to the maximum.
        if v >= thr {
            sw.found[c] = Some(Crossing::AT_ONCE);
            continue;
        }
        if !(i > thr) {
            continue;
        }
        let v_end = end.voltage(v, i);
        let hi = if v_end >= thr {
            (1.0 - end.mem, v_end)
        } else if end.syn * i >= v_end || k.max_chord_bound(v, i) < thr * (1.0 - 8.0 * f64::EPSILON)
        {
            continue;
        } else if v == 0.0 {
            let (u_max, v_max) = (k.u_max_reset, k.kappa0 * i);
            if !(u_max < 1.0 - end.mem && v_max >= thr) {
                continue;
            }
            (u_max, v_max)
        } else {
            if maxima.push(c, (v, i), (0.0, 0.0)) {
                after_maxima(k, isa, end, &mut maxima, &mut roots, &mut sw.found);
            }
            continue;
        };
        if roots.push(c, (v, i), hi) {
            roots.solve(k, isa, &mut sw.found);
        }
    }
    if maxima.m > 0 {
        after_maxima(k, isa, end, &mut maxima, &mut roots, &mut sw.found);
    }
    if roots.m > 0 {
        roots.solve(k, isa, &mut sw.found);
    }
}

/// `bracket`'s last test on the maxima of `maxima`'s candidates (`first_searches`), in lanes
/// (more than two) or one by one; the bracketed ones to `roots`.
#[inline(always)]
fn after_maxima(
    k: &Kernel,
    isa: Isa,
    end: &Decay,
    maxima: &mut Batch,
    roots: &mut Batch,
    found: &mut [Option<Crossing>],
) {
    let used = maxima.m;
    // (Lanes past `used` hold earlier or default states, whose outcomes are not read.)
    let m = if used > 2 {
        simd::maxima_u(isa, k, &maxima.lanes.v0, &maxima.lanes.i0)
    } else {
        let mut m = MaxLanes::default();
        for l in 0..used {
            if let Some((u, v)) = k.maximum_u(maxima.lanes.v0[l], maxima.lanes.i0[l]) {
                (m.found[l], m.u[l], m.v[l]) = (true, u, v);
            }
        }
        m
    };
    for l in 0..used {
        if m.found[l] && m.u[l] < 1.0 - end.mem && m.v[l] >= k.threshold {
            let (v, i) = (maxima.lanes.v0[l], maxima.lanes.i0[l]);
            if roots.push(maxima.at[l], (v, i), (m.u[l], m.v[l])) {
                roots.solve(k, isa, found);
            }
        }
    }
    maxima.m = 0;
}

/// Up to [`LANES`] candidates waiting for a computation in lanes: their states and brackets,
/// and their indices in `cands`.
#[derive(Default)]
struct Batch {
    lanes: RootLanes,
    at: [usize; LANES],
    m: usize,
}

impl Batch {
    /// Adds candidate `c`; whether the batch is full.
    #[inline]
    fn push(&mut self, c: usize, (v, i): (f64, f64), (u_hi, v_hi): (f64, f64)) -> bool {
        let (l, r) = (self.m, &mut self.lanes);
        (r.v0[l], r.i0[l], r.u_hi[l], r.v_hi[l]) = (v, i, u_hi, v_hi);
        self.at[l] = c;
        self.m += 1;
        self.m == LANES
    }

    /// The roots of the batch's bracketed searches into `found` (a single one by the scalar
    /// search); empties the batch.
    #[inline(never)]
    fn solve(&mut self, k: &Kernel, isa: Isa, found: &mut [Option<Crossing>]) {
        let at = &self.at[..self.m];
        self.m = 0;
        let lanes = &mut self.lanes;
        if let [c] = at {
            let b = Bracket::Pow {
                u_hi: lanes.u_hi[0],
                v_hi: lanes.v_hi[0],
            };
            found[*c] = k.root_in(lanes.v0[0], lanes.i0[0], b);
            return;
        }
        lanes.pad(at.len());
        let u = simd::roots_u(isa, k, lanes);
        for (&c, &u) in at.iter().zip(&u) {
            found[c] = Some(k.crossing_at_u(u));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::model::{Name, Pop};
    use crate::engine::simd::VectorWidth;
    use crate::LifParams;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Oracle: `Kernel::first_crossing` of each candidate over the slot (what `slot_spikes`
    /// computes without `first_searches`). Random candidates of `τm = n τs` (`n` = 2, 3, 4)
    /// in slots of random length, 1 to 30 per slot, among them states right after a reset,
    /// above threshold, crossing at the slot's end, before an interior maximum, and silent,
    /// through every build of the lanes: every outcome and every crossing's bits equal.
    #[test]
    fn first_searches_give_the_bits_of_first_crossing() {
        let mut r = ChaCha8Rng::seed_from_u64(13);
        for n in 2..=4 {
            let params = LifParams {
                tau_mem: 5.0 * f64::from(n),
                tau_syn: 5.0,
                threshold: 1.0,
            };
            let pop = Pop {
                name: Name::Layer(0),
                size: 64,
                params,
                t_ref: 0.0,
                spiking: true,
                silent_maxima: false,
                first_spike_only: false,
            };
            let pc = PopConsts::new(&pop).unwrap();
            let k = &pc.k;
            let mut kinds = [0; 4];
            for round in 0..300 {
                let len = r.gen_range(0.01..40.0);
                let slot = Slot {
                    start: 1.0,
                    end: 1.0 + len,
                    d: k.decay_pow(len),
                    probes: 0..0,
                };
                let mut sw = SweepScratch::default();
                for _ in 0..64 {
                    let v = match r.gen_range(0..8) {
                        0..=2 => 0.0,
                        3 => r.gen_range(1.0..1.2),
                        _ => r.gen_range(-0.5..1.0),
                    };
                    sw.v.push(v);
                    // (After a reset `V` peaks at `κ0 I0`, `κ0` = 0.25 to 0.16 here.)
                    let i_max = if v == 0.0 { 16.0 } else { 6.0 };
                    sw.i.push(r.gen_range(-1.0..i_max));
                }
                let used = round % 30 + 1;
                sw.cands = (0..used as u32).map(|c| c * 2).collect();
                for width in [
                    VectorWidth::Baseline,
                    VectorWidth::UpToAvx2,
                    VectorWidth::Widest,
                ] {
                    first_searches(&pc, Isa::select(width), &mut sw, &slot);
                    for (c, &j) in sw.cands.iter().enumerate() {
                        let (v, i) = (sw.v[j as usize], sw.i[j as usize]);
                        let want = k.first_crossing(v, i, len, &slot.d);
                        let bits = |x: Option<Crossing>| {
                            x.map(|x| [x.t.to_bits(), x.mem.to_bits(), x.syn.to_bits()])
                        };
                        assert_eq!(
                            bits(sw.found[c]),
                            bits(want),
                            "n {n} round {round} candidate {c} {width:?}"
                        );
                        let b = k.bracket(v, i, len, &slot.d);
                        kinds[match b {
                            Bracket::Never => 0,
                            Bracket::AtOnce => 1,
                            _ if v == 0.0 => 2,
                            _ => 3,
                        }] += 1;
                    }
                }
            }
            assert!(kinds.iter().all(|&c| c > 300), "n {n}: {kinds:?}");
        }
    }
}
