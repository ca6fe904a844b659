//! A smooth linear system with a closed-form solution: guards against errors in the forward
//! sensitivity equations, the adjoint ODE and its parameter quadrature, and the `∂x0/∂p` term,
//! in the absence of any event.

use crate::common;
use common::*;
use hybrid_core::{
    adjoint_gradient, forward_gradient, forward_sensitivities, Integrator, Loss, Scalar,
    SolverOptions,
};

const P: [f64; 4] = [0.7, 1.9, 1.3, -0.4];
const T_END: f64 = 2.5;

struct Terminal([f64; 1]);
impl Loss for Terminal {
    fn observation_times(&self) -> &[f64] {
        &self.0
    }
    fn observation<T: Scalar>(&self, _i: usize, x: &[T], _p: &[T]) -> Option<T> {
        Some(x[0] * x[0] + T::cst(3.0) * x[1])
    }
}

fn tight(integrator: Integrator) -> SolverOptions {
    SolverOptions {
        rtol: 1e-13,
        atol: 1e-13,
        integrator,
        ..Default::default()
    }
}

fn exact_gradient() -> Vec<f64> {
    dual_gradient(&P, |p| {
        let x = cascade_exact(p, Scalar::cst(T_END));
        x[0] * x[0] + x[1] * 3.0
    })
}

#[test]
fn forward_sensitivities_match_closed_form() {
    let sens = forward_sensitivities(
        &Cascade,
        &P,
        0.0,
        T_END,
        &[1.0, T_END],
        &tight(Integrator::Dopri5),
    )
    .unwrap();
    for sample in &sens.samples {
        for i in 0..2 {
            let exact = dual_gradient(&P, |p| cascade_exact(p, Scalar::cst(sample.t))[i]);
            let got: Vec<f64> = (0..4).map(|j| sample.s[i + 2 * j]).collect();
            assert!(
                max_rel_dev(&got, &exact, 1e-3) < 1e-9,
                "t = {}: {got:?} vs {exact:?}",
                sample.t
            );
        }
    }
}

#[test]
fn forward_and_adjoint_gradients_match_closed_form_with_both_integrators() {
    let exact = exact_gradient();
    for integrator in [Integrator::Dopri5, Integrator::Dop853] {
        let opts = tight(integrator);
        let fwd = forward_gradient(&Cascade, &P, 0.0, T_END, &Terminal([T_END]), &opts).unwrap();
        let adj = adjoint_gradient(&Cascade, &P, 0.0, T_END, &Terminal([T_END]), &opts).unwrap();
        let (ef, ea) = (
            max_rel_dev(&fwd.gradient, &exact, 1e-3),
            max_rel_dev(&adj.gradient, &exact, 1e-3),
        );
        assert!(ef < 1e-9, "{integrator:?} forward: {ef:e}");
        assert!(ea < 1e-9, "{integrator:?} adjoint: {ea:e}");
    }
}
