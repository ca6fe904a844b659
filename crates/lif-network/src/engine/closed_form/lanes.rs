//! The crossing search of `τm = n τs` (`Kernel::crossing_root_pow`) for several neurons at
//! once, in lanes, and before it the maxima of their brackets (`Kernel::maxima_u_lanes`): each lane runs `root_u`'s iterations on its own problem with the same
//! operations in the same order (`coeff_u`, `start_u`, `horner_step`, `halley_u`, shared with the scalar
//! search), so each root has the bits the scalar search gives it; a lane that has ended keeps
//! its root while the others go on. The lanes' loops have no branches but the end of the
//! whole batch, so the compiler vectorises them (`simd.rs` builds them for AVX2 and AVX-512),
//! and the latencies of independent searches (Horner's chain, the divisions) overlap.

use super::maximum::cbrt_unit;
use super::root_u::{halley_u, horner_step};
use crate::engine::params::Kernel;

/// Lanes per batch.
pub(crate) const LANES: usize = 8;

/// A batch of root problems of `Kernel::crossing_root_pow` (`V0`, `I0` and the bracket's end
/// `u_hi` with `V = v_hi` there), one per lane; unused lanes repeat a used one.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct RootLanes {
    pub v0: [f64; LANES],
    pub i0: [f64; LANES],
    pub u_hi: [f64; LANES],
    pub v_hi: [f64; LANES],
}

impl RootLanes {
    /// Repeats lane 0 into lanes `used..` (their iterations end with lane 0's).
    pub fn pad(&mut self, used: usize) {
        for l in used..LANES {
            self.v0[l] = self.v0[0];
            self.i0[l] = self.i0[0];
            self.u_hi[l] = self.u_hi[0];
            self.v_hi[l] = self.v_hi[0];
        }
    }
}

/// The maxima in `u` of a batch of states ([`Kernel::maxima_u_lanes`]), lane by lane: `(u*,
/// V(t*))` where `found`, as [`maximum_u`](Kernel::maximum_u) gives them.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MaxLanes {
    pub found: [bool; LANES],
    pub u: [f64; LANES],
    pub v: [f64; LANES],
}

impl Kernel {
    /// [`maximum_u`](Kernel::maximum_u) of each lane's state `(v0[l], i0[l])`, for
    /// [`pow`](Kernel::pow) = `N` (2 to 4), without branches: its operations in every lane
    /// (the root computed also where `maximum_u` returns before it, and discarded there), so
    /// each lane has the outcome and the bits of `maximum_u`; the loop vectorises (`simd.rs`
    /// builds it for AVX2 and AVX-512), where the divisions of the scalar calls (three with the
    /// cube root) waited on each other.
    #[inline(always)]
    pub(crate) fn maxima_u_lanes<const N: usize>(
        &self,
        v0: &[f64; LANES],
        i0: &[f64; LANES],
    ) -> MaxLanes {
        let a = &self.pow_coeffs;
        let mut out = MaxLanes::default();
        for l in 0..LANES {
            let (v0, i0) = (v0[l], i0[l]);
            let y = self.delta * (self.tau_syn * (i0 - v0) / i0);
            let w = 1.0 - y;
            let root = match N {
                2 => w,
                3 => w.sqrt(),
                _ => cbrt_unit(w),
            };
            let u = 1.0 - root;
            let q = a[0] + u * (a[1] + u * a[2]);
            let v = v0 * root + i0 * (u + u * u * q);
            out.found[l] = (y < 1.0) & (u > 0.0);
            (out.u[l], out.v[l]) = (u, v);
        }
        out
    }

    /// The roots `u` (`1 - e^{-t/τm}`, for [`crossing_at_u`](Self::crossing_at_u)) of the
    /// batch's problems, for [`pow`](Kernel::pow) = `N`: `root_u::<N>` in every lane.
    #[inline(always)]
    pub(crate) fn roots_u_lanes<const N: usize>(&self, r: &RootLanes) -> [f64; LANES] {
        // Coefficients lane by lane (`c[k][l]`), so that the loops below run across lanes.
        let mut c = [[0.0; LANES]; 9];
        for (k, ck) in c.iter_mut().enumerate().take(N + 1) {
            for l in 0..LANES {
                ck[l] = self.coeff_u(k, r.v0[l], r.i0[l]);
            }
        }
        let u0 = |l: usize| self.start_u([c[1][l], c[2][l]], r.v0[l], r.u_hi[l], r.v_hi[l]);
        let mut u: [f64; LANES] = std::array::from_fn(u0);
        let (mut lo, mut hi) = ([0.0; LANES], r.u_hi);
        let mut done = [false; LANES];
        for _ in 0..200 {
            // `derivatives::<N>` across the lanes, its steps unrolled (`m` a constant in each).
            let mut pd = [c[N], [0.0; LANES], [0.0; LANES], [0.0; LANES]];
            macro_rules! steps {
                ($($m:literal)*) => {$(
                    if $m <= N {
                        horner_lanes($m, &c[N.saturating_sub($m)], &u, &mut pd);
                    }
                )*};
            }
            steps!(1 2 3 4 5 6 7 8);
            for l in 0..LANES {
                let d = [pd[0][l], pd[1][l], pd[2][l], pd[3][l]];
                let (end, next, a, b) = halley_u(d, u[l], lo[l], hi[l]);
                let going = !done[l];
                u[l] = if going { next } else { u[l] };
                lo[l] = if going { a } else { lo[l] };
                hi[l] = if going { b } else { hi[l] };
                done[l] |= end;
            }
            if done.iter().all(|&d| d) {
                break;
            }
        }
        u
    }
}

/// [`horner_step`] `m` in every lane.
#[inline(always)]
fn horner_lanes(m: usize, ck: &[f64; LANES], u: &[f64; LANES], pd: &mut [[f64; LANES]; 4]) {
    for l in 0..LANES {
        let d = horner_step(m, ck[l], u[l], [pd[0][l], pd[1][l], pd[2][l], pd[3][l]]);
        for (x, y) in pd.iter_mut().zip(d) {
            x[l] = y;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::closed_form::tests::kernel;
    use crate::engine::closed_form::{Bracket, Crossing};
    use crate::engine::simd::{self, Isa, VectorWidth};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Oracle: the scalar search (`Kernel::root_in`, `root_u`) of each problem. Random states
    /// of `τm = n τs` (`n` = 2, 3, 4) whose interval brackets a crossing in `u` (at its end or
    /// before an interior maximum), in batches of 1 to 8 problems through every build of the
    /// lanes: every root's time and exponentials bit-identical.
    #[test]
    fn roots_in_lanes_have_the_bits_of_the_scalar_search() {
        let mut r = ChaCha8Rng::seed_from_u64(11);
        for n in 2..=4 {
            let k = kernel(5.0 * f64::from(n), 5.0);
            let mut checked = 0;
            for batch in 0..400 {
                let used = batch % LANES + 1;
                let mut lanes = RootLanes::default();
                let mut expected = Vec::new();
                while expected.len() < used {
                    let (v0, i0, len) = (
                        r.gen_range(-1.0..1.0),
                        r.gen_range(0.0..8.0),
                        r.gen_range(0.0..40.0),
                    );
                    if let Bracket::Pow { u_hi, v_hi } = k.bracket(v0, i0, len, &k.decay_pow(len)) {
                        let l = expected.len();
                        (lanes.v0[l], lanes.i0[l], lanes.u_hi[l], lanes.v_hi[l]) =
                            (v0, i0, u_hi, v_hi);
                        expected.push(k.root_in(v0, i0, Bracket::Pow { u_hi, v_hi }).unwrap());
                    }
                }
                lanes.pad(used);
                for width in [
                    VectorWidth::Baseline,
                    VectorWidth::UpToAvx2,
                    VectorWidth::Widest,
                ] {
                    let u = simd::roots_u(Isa::select(width), &k, &lanes);
                    for (l, want) in expected.iter().enumerate() {
                        let got: Crossing = k.crossing_at_u(u[l]);
                        let bits = |c: &Crossing| [c.t.to_bits(), c.mem.to_bits(), c.syn.to_bits()];
                        assert_eq!(
                            bits(&got),
                            bits(want),
                            "n {n} batch {batch} lane {l} {width:?}"
                        );
                        checked += 1;
                    }
                }
            }
            assert!(checked > 3000, "{checked}");
        }
    }

    /// Oracle: the scalar maximum (`Kernel::maximum_u`) of each state. Random states of
    /// `τm = n τs` (`n` = 2, 3, 4), some right after a reset (`V0 = 0`), some without a
    /// maximum (`I0 <= V0`, or `I0 <= 0`) and a few not finite, in batches of eight through
    /// every build of the lanes: every lane with the outcome and the bits of `maximum_u`.
    #[test]
    fn maxima_in_lanes_have_the_bits_of_the_scalar_maximum() {
        let mut r = ChaCha8Rng::seed_from_u64(12);
        for n in 2..=4 {
            let k = kernel(5.0 * f64::from(n), 5.0);
            let (mut found, mut none) = (0, 0);
            for batch in 0..500 {
                let (mut v0, mut i0) = ([0.0; LANES], [0.0; LANES]);
                for l in 0..LANES {
                    v0[l] = match r.gen_range(0..6) {
                        0 => 0.0,
                        _ => r.gen_range(-1.0..1.5),
                    };
                    i0[l] = r.gen_range(-1.0..8.0);
                }
                if batch % 50 == 0 {
                    (v0[1], i0[2], i0[3]) = (f64::NAN, f64::INFINITY, 0.0);
                }
                for width in [
                    VectorWidth::Baseline,
                    VectorWidth::UpToAvx2,
                    VectorWidth::Widest,
                ] {
                    let m = simd::maxima_u(Isa::select(width), &k, &v0, &i0);
                    for l in 0..LANES {
                        let got = m.found[l].then(|| (m.u[l].to_bits(), m.v[l].to_bits()));
                        let want = k.maximum_u(v0[l], i0[l]);
                        let want = want.map(|(u, v)| (u.to_bits(), v.to_bits()));
                        assert_eq!(got, want, "n {n} batch {batch} lane {l} {width:?}");
                        if want.is_some() {
                            found += 1;
                        } else {
                            none += 1;
                        }
                    }
                }
            }
            assert!(found > 5000 && none > 1000, "{found} {none}");
        }
    }
}
