//! The bouncing ball with its derivative products written out by hand: what a user of a tiny
//! model may do instead of `impl Derivatives for MyModel {}` (the dual-number defaults), and the
//! second way `benches/ball_gradient.rs` times the gradient. `tests/ball_gradient_floor.rs` checks
//! every product against the dual-number defaults (`hybrid_testkit::check_derivatives`).
//!
//! With `x = [y, v]`, `p = [y0, v0, e, g]`: flow `f = [v, −g]`, so `f_x = [[0, 1], [0, 0]]` and
//! `f_p` has the single entry `∂f_v/∂g = −1`; jump `h = [y, −e v]`, so `h_x = diag(1, −e)` and
//! `∂h_v/∂e = −v`.

use bouncing_ball::BouncingBall;
use hybrid_core::{At, Crossing, Derivatives, Dims, Duals, HybridSystem, Scalar};

/// [`BouncingBall`] with exact derivative products.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExactBall;

impl HybridSystem for ExactBall {
    fn dims(&self) -> Dims {
        BouncingBall.dims()
    }
    fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) {
        BouncingBall.initial_state(p, x0)
    }
    fn flow<T: Scalar>(&self, q: usize, t: T, x: &[T], p: &[T], dx: &mut [T]) {
        BouncingBall.flow(q, t, x, p, dx)
    }
    fn guard<T: Scalar>(&self, q: usize, k: usize, t: T, x: &[T], p: &[T]) -> T {
        BouncingBall.guard(q, k, t, x, p)
    }
    fn direction(&self, q: usize, k: usize) -> Crossing {
        BouncingBall.direction(q, k)
    }
    fn jump<T: Scalar>(&self, q: usize, k: usize, t: T, x: &[T], p: &[T], xp: &mut [T]) {
        BouncingBall.jump(q, k, t, x, p, xp)
    }
}

impl Derivatives for ExactBall {
    fn flow_jacobian_depends_on_state(&self) -> bool {
        BouncingBall.flow_jacobian_depends_on_state()
    }
    fn flow_jacobian_depends_on_time(&self) -> bool {
        BouncingBall.flow_jacobian_depends_on_time()
    }
    fn flow_depends_on_time(&self) -> bool {
        BouncingBall.flow_depends_on_time()
    }
    fn guard_depends_on_parameters(&self) -> bool {
        BouncingBall.guard_depends_on_parameters()
    }
    fn guard_gradient_depends_on_state(&self) -> bool {
        BouncingBall.guard_gradient_depends_on_state()
    }
    fn guard_depends_on_time(&self) -> bool {
        BouncingBall.guard_depends_on_time()
    }

    /// Column `j`: `[S_vj, −δ_{j,g}]`.
    fn flow_jvp(&self, _: At<'_>, s: &[f64], out: &mut [f64], _: &mut Duals) {
        for j in 0..4 {
            out[2 * j] = s[2 * j + 1];
            out[2 * j + 1] = if j == 3 { -1.0 } else { 0.0 };
        }
    }

    /// `λᵀ f_x = [0, λ_y]`, `λᵀ f_p = [0, 0, 0, −λ_v]` (`op` left alone when empty: the
    /// caller does not need `λᵀ f_p`, as the trait allows).
    fn flow_vjp(&self, _: At<'_>, l: &[f64], ox: &mut [f64], op: &mut [f64], _: &mut Duals) {
        ox[0] = 0.0;
        ox[1] = l[0];
        if let [y0, v0, e, g] = op {
            (*y0, *v0, *e, *g) = (0.0, 0.0, 0.0, -l[1]);
        }
    }

    /// Column `j`: `[S_yj, −e S_vj − δ_{j,e} v⁻]`.
    fn jump_jvp(&self, _: usize, at: At<'_>, s: &[f64], out: &mut [f64], _: &mut Duals) {
        let (e, v) = (at.p[2], at.x[1]);
        for j in 0..4 {
            out[2 * j] = s[2 * j];
            out[2 * j + 1] = -e * s[2 * j + 1] - if j == 2 { v } else { 0.0 };
        }
    }

    /// `λᵀ h_x = [λ_y, −e λ_v]`, `λᵀ h_p = [0, 0, −v⁻ λ_v, 0]`.
    fn jump_vjp(
        &self,
        _: usize,
        at: At<'_>,
        l: &[f64],
        ox: &mut [f64],
        op: &mut [f64],
        _: &mut Duals,
    ) {
        let (e, v) = (at.p[2], at.x[1]);
        ox[0] = l[0];
        ox[1] = -e * l[1];
        op.fill(0.0);
        op[2] = -v * l[1];
    }
}
