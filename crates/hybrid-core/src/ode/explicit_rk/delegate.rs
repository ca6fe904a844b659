//! The `Stepper` methods both Runge-Kutta pairs delegate to [`super::RkCore`].

/// The `Stepper` methods every Runge-Kutta pair implements the same way, by delegating to its
/// `core: RkCore` and to the module's own `interpolate` (its dense-output formula).
macro_rules! delegate_stepper_to_core {
    () => {
        fn reset<F: FnMut(f64, &[f64], &mut [f64])>(
            &mut self,
            rhs: &mut F,
            t: f64,
            x: &[f64],
            direction: f64,
        ) {
            self.core.reset::<Self, F>(rhs, t, x, direction, 0.0);
        }

        fn reset_with_step<F: FnMut(f64, &[f64], &mut [f64])>(
            &mut self,
            rhs: &mut F,
            t: f64,
            x: &[f64],
            direction: f64,
            first: f64,
        ) {
            self.core.reset::<Self, F>(rhs, t, x, direction, first);
        }

        fn next_step(&self) -> f64 {
            self.core.next_step()
        }

        fn step<F: FnMut(f64, &[f64], &mut [f64])>(
            &mut self,
            rhs: &mut F,
            t_bound: f64,
        ) -> Result<(), StepError> {
            let core = &mut self.core;
            if core.poly.active() {
                return core.step_polynomial::<Self, F>(rhs, t_bound);
            }
            $crate::ode::dim::with_dim!(core.x.len(), d => core.step::<Self, _, F>(d, rhs, t_bound))
        }

        fn set_polynomial_flow(&mut self, flow: Option<(&[f64], usize)>) {
            self.core.poly.set(flow);
        }

        fn polynomial_step(&self) -> Option<(&[f64], usize)> {
            let core = &self.core;
            (core.poly.active() && core.h_last != 0.0).then(|| core.poly.coefficients())
        }

        fn t(&self) -> f64 {
            self.core.t
        }

        fn x(&self) -> &[f64] {
            &self.core.x
        }

        fn t_prev(&self) -> f64 {
            self.core.t_prev
        }

        fn x_prev(&self) -> &[f64] {
            &self.core.x_prev
        }

        fn dx(&self) -> &[f64] {
            &self.core.k[..self.core.x.len()]
        }

        fn interpolate(&self, t: f64, out: &mut [f64]) {
            let ns = self.core.poly.ns;
            // The state of a polynomial flow by its polynomial (what rides along, if asked
            // for, from the dense output). (`ns == 0` when off.)
            if ns != 0 && out.len() <= ns && self.core.h_last != 0.0 {
                self.core.polynomial_at(t, out);
                return;
            }
            let cont = self.core.dense::<Self>(out.len());
            interpolate(self.core.t_prev, self.core.h_last, &cont, t, out);
            if ns != 0 && self.core.h_last != 0.0 {
                self.core.polynomial_at(t, &mut out[..ns]);
            }
        }

        fn segment(&mut self) -> DenseSegment<'_> {
            self.core.segment::<Self>(Self::METHOD)
        }

        fn step_from_prev_to<F: FnMut(f64, &[f64], &mut [f64])>(
            &mut self,
            rhs: &mut F,
            t_target: f64,
            out: &mut [f64],
        ) {
            // Every event (three or more polishing steps) and every stop inside a step: the
            // fixed-size kernels of the small sizes, like `step`.
            let core = &mut self.core;
            assert!(
                out.len() <= core.x.len(),
                "{} components asked of a stepper of {}",
                out.len(),
                core.x.len()
            );
            if core.poly.active() {
                return core.polynomial_from_prev_to::<Self, F>(rhs, t_target, out);
            }
            $crate::ode::dim::with_dim!(out.len(), d => {
                core.step_from_prev_to::<Self, _, F>(d, rhs, t_target, out)
            })
        }

        fn stats(&self) -> StepStats {
            self.core.stats
        }

        fn error_bound(&self) -> &[f64] {
            self.core.error_bound()
        }

        fn set_error_components(&mut self, count: usize) {
            self.core.n_err = count.min(self.core.x.len());
        }

        fn clear_accounting(&mut self) {
            self.core.stats = StepStats::default();
            self.core.clear_error_bound();
        }
    };
}
pub(crate) use delegate_stepper_to_core;
