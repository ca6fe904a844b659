//! The first crossing searches of a slot's flagged neurons, together (see `sweep.rs`): each
//! neuron's bracket (`Kernel::bracket`), then the roots of those in `u` (`τm = n τs`, `n` from
//! 2 to 4) in lanes, eight at a time (`Kernel::roots_u_lanes`, the bits of the scalar search),
//! so that independent searches overlap instead of waiting on each other's divisions. The
//! neurons then run through the slot as before (`slot_spikes`, from these first searches).

use super::SweepScratch;
use crate::engine::clock::PopConsts;
use crate::engine::closed_form::{Bracket, RootLanes, LANES};
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
pub(super) fn first_searches(pc: &PopConsts, isa: Isa, sw: &mut SweepScratch, slot: &Slot) {
    let k = &pc.k;
    let len = slot.end - slot.start;
    sw.found.clear();
    let mut lanes = RootLanes::default();
    let mut at = [0_usize; LANES];
    let mut m = 0;
    let solve = |lanes: &mut RootLanes, at: &[usize], found: &mut [_]| {
        if let [c] = at {
            // One search: the scalar one.
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
    };
    for c in 0..sw.cands.len() {
        let j = sw.cands[c] as usize;
        let (v, i) = (sw.v[j], sw.i[j]);
        match k.bracket(v, i, len, &slot.d) {
            Bracket::Pow { u_hi, v_hi } => {
                sw.found.push(None);
                (lanes.v0[m], lanes.i0[m], lanes.u_hi[m], lanes.v_hi[m]) = (v, i, u_hi, v_hi);
                at[m] = c;
                m += 1;
                if m == LANES {
                    solve(&mut lanes, &at, &mut sw.found);
                    m = 0;
                }
            }
            b => sw.found.push(k.root_in(v, i, b)),
        }
    }
    if m > 0 {
        solve(&mut lanes, &at[..m], &mut sw.found);
    }
}
