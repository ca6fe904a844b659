//! The sampled scan's extremum test (docs/maths.md, "Event semantics"; docs/grazing.md): a guard
//! that turns towards zero and away again between two samples may have crossed zero and come
//! back unseen by them. Its rate `ġ` tells: towards zero at the step's start and away from it at
//! the end of the part scanned, so the guard has an extremum in between; the extremum is located
//! (Illinois on `ġ`) and the guard looked at there.
//!
//! The part scanned is the whole step when no sample fired, and `[t_a, s_j]` when one did at
//! sample `s_j`: a guard that dipped through zero and back before another guard's crossing is an
//! earlier event, and applying the later one first would be a silent wrong answer. A guard that
//! fired itself is looked at up to its bracket's start (`[t_a, a]`): it may have dipped through zero
//! and back there, before the crossing its samples saw.

use super::{fires, guard_nan, sign, Bracket, Detector, NearMiss, NEAR_MISS_FACTOR};
use crate::ode::Stepper;
use crate::{Error, HybridSystem};

impl Detector {
    /// The extremum test of every watched guard on `[t_a, t_hi]` (`t_hi` the last sample taken),
    /// or on `[t_a, a]` for a guard with a bracket `[a, b]`. A guard whose extremum is at or past
    /// zero gets the bracket `[t_a, t_ext]` (replacing a later one); an extremum short of zero by
    /// less than [`NEAR_MISS_FACTOR`]` σ_g` is a near miss. Returns whether a bracket was made.
    pub(super) fn scan_extrema<M: HybridSystem, S: Stepper>(
        &mut self,
        model: &M,
        q: usize,
        p: &[f64],
        n: usize,
        stepper: &S,
        t_hi: f64,
    ) -> Result<bool, Error> {
        let (ta, tb) = (stepper.t_prev(), stepper.t());
        let mut any = false;
        // The ends `t_a` and `t_hi` are seeded for rate probes once, when the first guard needs
        // them; `t_hi` inside the step costs one interpolation and one flow evaluation.
        let mut seeded = false;
        for k in 0..self.side.len() {
            let side = self.side[k];
            let g_a = self.g_start[k];
            if side == 0.0 || sign(g_a) != side || !model.guard_active(q, k) {
                continue;
            }
            let dir = model.direction(q, k);
            if !fires(dir, side, -side) {
                continue; // not watched from this side
            }
            let own = self.brackets[k].map(|b| b.a);
            let t_e = own.unwrap_or(t_hi);
            if t_e <= ta {
                continue;
            }
            if !seeded {
                if t_hi == tb {
                    self.probe.seed_ends(
                        &stepper.x_prev()[..n],
                        &self.f_start,
                        &stepper.x()[..n],
                        &stepper.dx()[..n],
                    );
                } else {
                    stepper.interpolate(t_hi, &mut self.x_hi);
                    model.flow(q, t_hi, &self.x_hi, p, &mut self.f_hi);
                    self.probe.seed_ends(
                        &stepper.x_prev()[..n],
                        &self.f_start,
                        &self.x_hi,
                        &self.f_hi,
                    );
                }
                seeded = true;
            }
            let rate_a = self.probe.rate_at_end(model, q, k, ta, 0);
            let rate_e = match own {
                None => self.probe.rate_at_end(model, q, k, t_hi, 1),
                Some(a) => {
                    let x = &mut self.buf[..n];
                    stepper.interpolate(a, x);
                    model.flow(q, a, x, p, &mut self.f_buf);
                    let (probe, f) = (&mut self.probe, &self.f_buf);
                    probe.rate_with_flow(model, q, k, a, x, f, p).1
                }
            };
            if !(side * rate_a < 0.0 && side * rate_e > 0.0) {
                continue;
            }
            let (buf, f_buf, probe) = (&mut self.buf, &mut self.f_buf, &mut self.probe);
            let t_ext = crate::events::locate::illinois(
                |s| {
                    stepper.interpolate(s, &mut buf[..n]);
                    model.flow(q, s, &buf[..n], p, f_buf);
                    probe.rate_with_flow(model, q, k, s, &buf[..n], f_buf, p).1
                },
                ta,
                rate_a,
                t_e,
                rate_e,
                0.0,
            );
            stepper.interpolate(t_ext, &mut self.buf[..n]);
            let g_ext = model.guard(q, k, t_ext, &self.buf[..n], p);
            if !g_ext.is_finite() {
                return Err(guard_nan(k, t_ext));
            }
            if fires(dir, side, g_ext) {
                self.brackets[k] = Some(Bracket {
                    a: ta,
                    ga: g_a,
                    b: t_ext,
                    gb: g_ext,
                    from_zero: false,
                });
                any = true;
            } else {
                let err = &stepper.error_bound()[..n];
                let noise = self.probe.noise(model, q, k, t_ext, &self.buf[..n], p, err);
                self.near_miss(k, t_ext, g_ext, noise);
            }
        }
        Ok(any)
    }

    /// Record the extremum `(t, g)` of guard `k`, short of zero, as a near miss when it is within
    /// [`NEAR_MISS_FACTOR`] times its noise `σ_g` of zero.
    pub(super) fn near_miss(&mut self, guard: usize, t: f64, g: f64, noise: f64) {
        if g.abs() <= NEAR_MISS_FACTOR * noise {
            self.near_misses.push(NearMiss { t, guard, g, noise });
        }
    }

    /// The step's events are located, the first at `τ`: forget the near misses found past it, on
    /// a trajectory the jump at `τ` leaves (a later step looks at the guards again).
    pub fn keep_near_misses_to(&mut self, tau: f64) {
        self.near_misses.retain(|m| m.t <= tau);
    }
}
