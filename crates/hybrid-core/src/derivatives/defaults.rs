//! The dual-number defaults of [`Derivatives`](super::Derivatives)' products: the flow's and the
//! jumps' `F_x S + F_p` and `(λᵀ F_x, λᵀ F_p)` on the wide kernels where they fit, else on
//! [`Duals`], and the initial state's.

use super::maps::{eval_jump, Flow, Jump, JumpMap};
use super::wide::{wide_jvp, wide_vjp};
use super::{At, Duals};
use crate::HybridSystem;
use num_dual::Dual64;

/// `f_x S + f_p` by dual numbers: one flow evaluation on `m` lanes, lane `j` seeded with
/// `(S_j, e_j)` (`n ≤ 4`, `m ≤ 8`), else one `Dual64` evaluation per parameter.
#[inline]
pub fn ad_flow_jvp<M: HybridSystem>(
    model: &M,
    at: At<'_>,
    s: &[f64],
    out: &mut [f64],
    ad: &mut Duals,
) {
    let (q, n) = (at.q, at.x.len());
    let map = Flow(model, q, at.t);
    if wide_jvp(&map, at.x, at.p, s, out) {
        return;
    }
    let t = Dual64::from_re(at.t);
    ad.jvp(at.x, at.p, s, n, out, |x, p, o| model.flow(q, t, x, p, o))
}

/// `(λᵀ f_x, λᵀ f_p)` by dual numbers: one flow evaluation on a lane per state and per
/// parameter (`n ≤ 4`, `n + out_p.len() ≤ 8`), else one `Dual64` evaluation per state and per
/// parameter.
#[inline]
pub fn ad_flow_vjp<M: HybridSystem>(
    model: &M,
    at: At<'_>,
    lambda: &[f64],
    out_x: &mut [f64],
    out_p: &mut [f64],
    ad: &mut Duals,
) {
    let q = at.q;
    if wide_vjp(&Flow(model, q, at.t), at.x, at.p, lambda, out_x, out_p) {
        return;
    }
    let t = Dual64::from_re(at.t);
    ad.vjp(at.x, at.p, lambda, out_x, out_p, |x, p, o| {
        model.flow(q, t, x, p, o)
    })
}

/// `h_x S + h_p` of a jump at `x⁻` by dual numbers, as [`ad_flow_jvp`].
pub fn ad_jump_jvp<M: HybridSystem>(
    model: &M,
    jump: Jump,
    at: At<'_>,
    s: &[f64],
    out: &mut [f64],
    ad: &mut Duals,
) {
    let (q, n) = (at.q, at.x.len());
    if wide_jvp(&JumpMap(model, jump, q, at.t), at.x, at.p, s, out) {
        return;
    }
    let t = Dual64::from_re(at.t);
    ad.jvp(at.x, at.p, s, n, out, |x, p, o| {
        eval_jump(model, jump, q, t, x, p, o)
    })
}

/// `(λᵀ h_x, λᵀ h_p)` of a jump at `x⁻` by dual numbers, as [`ad_flow_vjp`].
pub fn ad_jump_vjp<M: HybridSystem>(
    model: &M,
    jump: Jump,
    at: At<'_>,
    lambda: &[f64],
    out_x: &mut [f64],
    out_p: &mut [f64],
    ad: &mut Duals,
) {
    let q = at.q;
    if wide_vjp(
        &JumpMap(model, jump, q, at.t),
        at.x,
        at.p,
        lambda,
        out_x,
        out_p,
    ) {
        return;
    }
    let t = Dual64::from_re(at.t);
    ad.vjp(at.x, at.p, lambda, out_x, out_p, |x, p, o| {
        eval_jump(model, jump, q, t, x, p, o)
    })
}

/// `∂x0/∂p` (`n × m`, column-major, into `out`), as [`ad_flow_jvp`] with no state directions.
pub fn initial_state_jacobian<M: HybridSystem>(
    model: &M,
    p: &[f64],
    out: &mut [f64],
    ad: &mut Duals,
) {
    let n = model.dims().states;
    ad.jvp(&[], p, &[], n, out, |_, p, o| model.initial_state(p, o))
}

/// `λᵀ ∂x0/∂p` (into `out`, length `m`), as [`ad_flow_vjp`] with no state directions.
pub fn ad_initial_state_vjp<M: HybridSystem>(
    model: &M,
    p: &[f64],
    lambda: &[f64],
    out: &mut [f64],
    ad: &mut Duals,
) {
    ad.vjp(&[], p, lambda, &mut [], out, |_, p, o| {
        model.initial_state(p, o)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dims, Scalar};

    /// `ẋ = [p0 x1, -p1 x0 + x0 x1]`: both parameters enter the flow.
    struct Rotor;
    impl HybridSystem for Rotor {
        fn dims(&self) -> Dims {
            Dims {
                states: 2,
                params: 2,
                guards: 0,
            }
        }
        fn initial_state<T: Scalar>(&self, _p: &[T], x0: &mut [T]) {
            x0.fill(T::zero());
        }
        fn flow<T: Scalar>(&self, _q: usize, _t: T, x: &[T], p: &[T], dx: &mut [T]) {
            dx[0] = p[0] * x[1];
            dx[1] = -p[1] * x[0] + x[0] * x[1];
        }
    }

    #[test]
    fn an_empty_parameter_output_asks_for_the_state_part_only() {
        let (x, p, lambda) = ([2.0, 3.0], [0.5, 4.0], [1.5, -1.0]);
        let at = At {
            q: 0,
            t: 0.0,
            x: &x,
            p: &p,
        };
        let mut ad = Duals::new(2, 2);
        let (mut full_x, mut full_p) = ([0.0; 2], [0.0; 2]);
        ad_flow_vjp(&Rotor, at, &lambda, &mut full_x, &mut full_p, &mut ad);
        // λᵀ f_x = [λ1 (-p1 + x1), λ0 p0 + λ1 x0], λᵀ f_p = [λ0 x1, -λ1 x0].
        assert_eq!(full_x, [-(-4.0 + 3.0), 1.5 * 0.5 - 2.0]);
        assert_eq!(full_p, [1.5 * 3.0, 2.0]);
        let mut state_x = [0.0; 2];
        ad_flow_vjp(&Rotor, at, &lambda, &mut state_x, &mut [], &mut ad);
        assert_eq!(state_x, full_x);
    }
}
