use hybrid_core::{Crossing, Derivatives, Dims, HybridSystem, Scalar};

/// Ball falling onto the floor `y = 0` under gravity, losing speed at each impact (Fig. 1A).
///
/// State `x = [y, v]`; parameters `p = [y0, v0, e, g]` (initial height and velocity,
/// restitution, gravity). Flow `ẏ = v`, `v̇ = −g` (eq. 6); guard `y`, falling (eq. 10);
/// jump `y⁺ = y⁻`, `v⁺ = −e v⁻` (eq. 11, with `e = 0.8` in the paper).
#[derive(Debug, Clone, Copy, Default)]
pub struct BouncingBall;

impl HybridSystem for BouncingBall {
    fn dims(&self) -> Dims {
        Dims {
            states: 2,
            params: 4,
            guards: 1,
        }
    }

    fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) {
        x0[0] = p[0];
        x0[1] = p[1];
    }

    fn flow<T: Scalar>(&self, _q: usize, _t: T, x: &[T], p: &[T], dx: &mut [T]) {
        dx[0] = x[1];
        dx[1] = -p[3];
    }

    fn guard<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], _p: &[T]) -> T {
        x[0]
    }

    fn direction(&self, _q: usize, _k: usize) -> Crossing {
        Crossing::Falling
    }

    fn jump<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], p: &[T], xp: &mut [T]) {
        xp[0] = x[0];
        xp[1] = -p[2] * x[1];
    }
}

/// Derivative products by dual numbers (the defaults). The flow `[v, −g]` has the same
/// Jacobians `f_x`, `f_p` at every state and time, so the adjoint need not read the stored
/// trajectory, forms `[f_x, f_p]` once per gradient and crosses each interval by the exact
/// propagator of `λ` and `μ` instead of Runge-Kutta steps. The flow reads no time either, so
/// every pass moves the state across a step by its exact polynomial (a parabola) instead of
/// Runge-Kutta stages; the guard `y` is affine in the state and reads neither time nor the
/// parameters, so on that parabola it is a quadratic, detected at its turning point and located in
/// closed form, and its gradient is formed once per pass.
impl Derivatives for BouncingBall {
    fn flow_jacobian_depends_on_state(&self) -> bool {
        false
    }
    fn flow_jacobian_depends_on_time(&self) -> bool {
        false
    }
    fn flow_depends_on_time(&self) -> bool {
        false
    }
    fn guard_depends_on_parameters(&self) -> bool {
        false
    }
    fn guard_gradient_depends_on_state(&self) -> bool {
        false
    }
    fn guard_depends_on_time(&self) -> bool {
        false
    }
}
