//! The state size seen by the Runge-Kutta kernels: known at run time ([`Dyn`]) or a compile-time
//! constant ([`Fixed`]).
//!
//! Every vector loop of a stepper runs over `0..d.n()` on slices first cut to `[..d.n()]`. For
//! [`Fixed`] the bound is a constant, so the compiler removes the bounds checks and unrolls the
//! loops into straight-line arithmetic (what a stack vector such as `SVector<f64, 4>` gives), while
//! the storage stays the stepper's preallocated vectors. The operations and their order are the
//! same for both, so the results are bit-identical (checked by the tests below). [`with_dim!`]
//! picks the fixed kernel for a few small sizes and the run-time one otherwise.

/// A state size.
pub(super) trait Dim: Copy {
    /// Number of state components.
    fn n(self) -> usize;

    /// Storage of a vector of `n` components on the stack: an array for [`Fixed`], nothing for
    /// [`Dyn`] (whose vectors stay in the stepper's buffers).
    type Local;

    /// Fresh (zeroed) stack storage.
    fn local(self) -> Self::Local;

    /// The vector to work on: the stack array for [`Fixed`], `buf[..n]` for [`Dyn`]. Whatever
    /// is computed into it reaches `buf` by [`Dim::store`].
    ///
    /// This is how a stage argument and the stage computed from it stay in registers for the
    /// small sizes: the right-hand side reads the argument from an array nothing else can write,
    /// and the next stage reads the new stage's values from an array nothing else can write,
    /// where values in the stepper's buffers would go through memory (a store, then a load the
    /// compiler cannot remove because it cannot prove the buffers distinct), which puts the
    /// store-to-load latency on the step's dependency chain twice per stage.
    fn pick<'a>(self, local: &'a mut Self::Local, buf: &'a mut [f64]) -> &'a mut [f64];

    /// Copy the stack array into `buf` ([`Fixed`]; nothing to do for [`Dyn`]).
    fn store(self, local: &Self::Local, buf: &mut [f64]);
}

/// A size known only at run time.
#[derive(Debug, Clone, Copy)]
pub(super) struct Dyn(pub usize);

impl Dim for Dyn {
    #[inline(always)]
    fn n(self) -> usize {
        self.0
    }

    type Local = ();

    #[inline(always)]
    fn local(self) {}

    #[inline(always)]
    fn pick<'a>(self, _: &'a mut (), buf: &'a mut [f64]) -> &'a mut [f64] {
        &mut buf[..self.0]
    }

    #[inline(always)]
    fn store(self, _: &(), _: &mut [f64]) {}
}

/// A size fixed at compile time (outside the tests, used only by builds without debug
/// assertions: [`with_dim!`]).
#[derive(Debug, Clone, Copy)]
#[cfg_attr(all(debug_assertions, not(test)), allow(dead_code))]
pub(super) struct Fixed<const N: usize>;

impl<const N: usize> Dim for Fixed<N> {
    #[inline(always)]
    fn n(self) -> usize {
        N
    }

    type Local = [f64; N];

    #[inline(always)]
    fn local(self) -> [f64; N] {
        [0.0; N]
    }

    #[inline(always)]
    fn pick<'a>(self, local: &'a mut [f64; N], _: &'a mut [f64]) -> &'a mut [f64] {
        local
    }

    #[inline(always)]
    fn store(self, local: &[f64; N], buf: &mut [f64]) {
        buf[..N].copy_from_slice(local);
    }
}

/// Evaluate `$body` with `$d` bound to the [`Dim`] of size `$n`: a [`Fixed`] kernel for
/// `n ∈ {1, 2, 3, 4, 6, 8, 10}` (each size is one more copy of the step in the binary), [`Dyn`]
/// otherwise. 10 is the forward-sensitivity system `n (1 + m)` of a 2-state model with 4
/// parameters (the bouncing ball of docs/performance.md, section 7).
///
/// Builds with debug assertions (the dev and test profiles) take [`Dyn`] for every size (the
/// definition below): eight copies of each step per right-hand side made the test binaries'
/// optimised code generation the longest part of CI (docs/architecture.md, "Build time"). The
/// results are the same bits either way, which the tests of this module check on the kernels
/// of every fixed size directly.
#[cfg(not(debug_assertions))]
macro_rules! with_dim {
    ($n:expr, $d:ident => $body:expr) => {{
        use $crate::ode::dim::{Dyn, Fixed};
        match $n {
            1 => {
                let $d = Fixed::<1>;
                $body
            }
            2 => {
                let $d = Fixed::<2>;
                $body
            }
            3 => {
                let $d = Fixed::<3>;
                $body
            }
            4 => {
                let $d = Fixed::<4>;
                $body
            }
            6 => {
                let $d = Fixed::<6>;
                $body
            }
            8 => {
                let $d = Fixed::<8>;
                $body
            }
            10 => {
                let $d = Fixed::<10>;
                $body
            }
            n => {
                let $d = Dyn(n);
                $body
            }
        }
    }};
}

/// [`with_dim!`] of builds with debug assertions: the run-time kernel for every size.
#[cfg(debug_assertions)]
macro_rules! with_dim {
    ($n:expr, $d:ident => $body:expr) => {{
        let $d = $crate::ode::dim::Dyn($n);
        $body
    }};
}
pub(super) use with_dim;

#[cfg(test)]
mod tests {
    //! The compile-time kernels must reproduce the run-time kernel exactly: same steps, same
    //! states, same dense output, same error estimates, bit for bit.

    use super::{Dim, Dyn, Fixed};
    use crate::ode::explicit_rk::{RkCore, RkScheme};
    use crate::ode::{Dop853, Dopri5, StepError, Stepper, StepperOptions};

    fn options() -> StepperOptions {
        StepperOptions {
            rtol: 1e-9,
            atol: 1e-9,
            max_step: f64::INFINITY,
            first_step: 0.0,
            max_steps: 100_000,
        }
    }

    /// Van der Pol, `μ = 2` (n = 2).
    fn van_der_pol(_t: f64, x: &[f64], dx: &mut [f64]) {
        dx[0] = x[1];
        dx[1] = 2.0 * (1.0 - x[0] * x[0]) * x[1] - x[0];
    }

    /// A damped rotation driven in time, with a decaying third component (n = 3).
    fn driven_rotation(t: f64, x: &[f64], dx: &mut [f64]) {
        dx[0] = -0.1 * x[0] + x[1];
        dx[1] = -x[0] - 0.1 * x[1] + t.sin();
        dx[2] = -0.5 * x[2] + x[0] * x[1];
    }

    /// The first two components of [`driven_rotation`], which do not read the third, as a
    /// system of their own (n = 2).
    fn driven_rotation_state(t: f64, x: &[f64], dx: &mut [f64]) {
        dx[0] = -0.1 * x[0] + x[1];
        dx[1] = -x[0] - 0.1 * x[1] + t.sin();
    }

    /// A chain of `n/2` anharmonic oscillators with fixed ends (any even n).
    fn chain(_t: f64, x: &[f64], dx: &mut [f64]) {
        let m = x.len() / 2;
        let (q, v) = x.split_at(m);
        let (dq, dv) = dx.split_at_mut(m);
        dq.copy_from_slice(v);
        for i in 0..m {
            let left = if i > 0 { q[i - 1] } else { 0.0 };
            let right = if i + 1 < m { q[i + 1] } else { 0.0 };
            dv[i] = -q[i] + (left - 2.0 * q[i] + right) - 0.5 * q[i] * q[i] * q[i];
        }
    }

    /// Everything a stepper exposes after a step, as bits.
    fn snapshot<S: Stepper>(s: &mut S) -> Vec<u64> {
        let (t, t_prev, x, x_prev, dx, err) = (
            s.t(),
            s.t_prev(),
            s.x().to_vec(),
            s.x_prev().to_vec(),
            s.dx().to_vec(),
            s.error_bound().to_vec(),
        );
        let seg = s.segment();
        [t, t_prev, seg.t0, seg.h]
            .iter()
            .chain(&x)
            .chain(&x_prev)
            .chain(&dx)
            .chain(seg.coefficients)
            .chain(&err)
            .map(|v| v.to_bits())
            .collect()
    }

    /// Integrate `f` from `x0` over `[0, t_end]` (or backwards for `t_end < 0`) twice with fresh
    /// steppers, once with the kernel of dimension `a` and once with `b`, and require identical
    /// snapshots after every step. `n_err` components steer the step size. Returns the steps.
    fn same_trajectory<S, A, B>(
        core: fn(&mut S) -> &mut RkCore,
        a: A,
        b: B,
        f: fn(f64, &[f64], &mut [f64]),
        x0: &[f64],
        t_end: f64,
        n_err: usize,
    ) -> usize
    where
        S: Stepper + RkScheme,
        A: Dim,
        B: Dim,
    {
        let mut rhs = f;
        let (mut sa, mut sb) = (S::new(x0.len(), options()), S::new(x0.len(), options()));
        for s in [&mut sa, &mut sb] {
            s.set_error_components(n_err);
            s.reset(&mut rhs, 0.0, x0, t_end.signum());
        }
        let mut steps = 0;
        while sa.t() != t_end {
            let ra: Result<(), StepError> = core(&mut sa).step::<S, A, _>(a, &mut rhs, t_end);
            let rb: Result<(), StepError> = core(&mut sb).step::<S, B, _>(b, &mut rhs, t_end);
            assert_eq!(ra, Ok(()));
            assert_eq!(rb, Ok(()));
            steps += 1;
            assert_eq!(
                snapshot(&mut sa),
                snapshot(&mut sb),
                "step {steps} at t = {}",
                sa.t()
            );
            assert_eq!(sa.stats(), sb.stats());
        }
        steps
    }

    fn dopri5(s: &mut Dopri5) -> &mut RkCore {
        &mut s.core
    }

    fn dop853(s: &mut Dop853) -> &mut RkCore {
        &mut s.core
    }

    #[test]
    fn dopri5_fixed_kernels_reproduce_the_run_time_kernel_bit_for_bit() {
        let vdp = [2.0, 0.0];
        let rot = [1.0, 0.0, 0.5];
        let chain4 = [0.8, -0.3, 0.0, 0.1];
        let chain8 = [0.5, 0.9, 0.9, 0.5, 0.0, 0.0, 0.0, 0.0];
        let chain10 = [0.5, 0.9, 1.0, 0.9, 0.5, 0.0, 0.1, 0.0, -0.1, 0.0];
        let n = [
            same_trajectory(dopri5, Fixed::<2>, Dyn(2), van_der_pol, &vdp, 10.0, 2),
            same_trajectory(dopri5, Fixed::<3>, Dyn(3), driven_rotation, &rot, 10.0, 3),
            // Backwards, and with a component outside the error norm.
            same_trajectory(dopri5, Fixed::<3>, Dyn(3), driven_rotation, &rot, -5.0, 2),
            same_trajectory(dopri5, Fixed::<4>, Dyn(4), chain, &chain4, 20.0, 4),
            same_trajectory(dopri5, Fixed::<8>, Dyn(8), chain, &chain8, 20.0, 8),
            // And with the last eight components outside the error norm (sensitivities).
            same_trajectory(dopri5, Fixed::<10>, Dyn(10), chain, &chain10, 20.0, 10),
            same_trajectory(dopri5, Fixed::<10>, Dyn(10), chain, &chain10, 20.0, 2),
        ];
        // Enough steps for the comparison to mean something (and rejections on the way).
        assert!(n.iter().all(|&steps| steps > 50), "{n:?}");
    }

    /// The event polish steps the state alone: `step_from_prev_to` with fewer components than
    /// the stepper has, on the kernel of that size. Those components must come out as in the
    /// polish of all components, bit for bit, and the stepper must be left as it was: its next
    /// steps, and its dense output, which a `Dopri5` builds only when first asked for, from the
    /// last accepted step's stages (here after the polishes, and first for the state alone).
    /// `a` polishes all components, `b` the leading two, `c` nothing. Returns the steps.
    fn polishing_the_state_alone<S: Stepper + RkScheme>() -> usize {
        let x0 = [1.0, 0.0, 0.5];
        let (mut rhs, mut state) = (driven_rotation, driven_rotation_state);
        let (mut a, mut b, mut c) = (
            S::new(3, options()),
            S::new(3, options()),
            S::new(3, options()),
        );
        for s in [&mut a, &mut b, &mut c] {
            s.reset(&mut rhs, 0.0, &x0, 1.0);
        }
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let mut steps = 0;
        while c.t() != 10.0 {
            for s in [&mut a, &mut b, &mut c] {
                assert_eq!(s.step(&mut rhs, 10.0), Ok(()));
            }
            steps += 1;
            let (t_prev, t) = (c.t_prev(), c.t());
            for tm in [t_prev + 0.3 * (t - t_prev), t] {
                let (mut full, mut prefix) = ([0.0; 3], [0.0; 2]);
                a.step_from_prev_to(&mut rhs, tm, &mut full);
                b.step_from_prev_to(&mut state, tm, &mut prefix);
                assert_eq!(bits(&prefix), bits(&full[..2]), "step {steps}, t = {tm}");
            }
            let tm = t_prev + 0.6 * (t - t_prev);
            let (mut from_c, mut from_b) = ([0.0; 3], [0.0; 2]);
            c.interpolate(tm, &mut from_c);
            b.interpolate(tm, &mut from_b);
            assert_eq!(bits(&from_b), bits(&from_c[..2]), "step {steps}");
            let expected = snapshot(&mut c);
            assert_eq!(snapshot(&mut a), expected, "step {steps}");
            assert_eq!(snapshot(&mut b), expected, "step {steps}");
        }
        steps
    }

    #[test]
    fn polishing_the_state_alone_matches_the_full_polish_and_leaves_the_stepper_as_it_was() {
        let n = [
            polishing_the_state_alone::<Dopri5>(),
            polishing_the_state_alone::<Dop853>(),
        ];
        assert!(n.iter().all(|&steps| steps > 10), "{n:?}");
    }

    #[test]
    fn dop853_fixed_kernels_reproduce_the_run_time_kernel_bit_for_bit() {
        let vdp = [2.0, 0.0];
        let rot = [1.0, 0.0, 0.5];
        let chain4 = [0.8, -0.3, 0.0, 0.1];
        let n = [
            same_trajectory(dop853, Fixed::<2>, Dyn(2), van_der_pol, &vdp, 10.0, 2),
            same_trajectory(dop853, Fixed::<3>, Dyn(3), driven_rotation, &rot, -5.0, 2),
            same_trajectory(dop853, Fixed::<4>, Dyn(4), chain, &chain4, 20.0, 4),
        ];
        assert!(n.iter().all(|&steps| steps > 10), "{n:?}");
    }
}
