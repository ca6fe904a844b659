//! The kit must pass a correct model and fail a wrong one: a check that cannot fail proves
//! nothing. Guards against a kit that compares a quantity with itself.

use hybrid_core::{At, Derivatives, Duals};

use hybrid_core::{Crossing, Dims, HybridSystem, Loss, Scalar, SolverOptions};
use hybrid_testkit::{
    check_derivatives, check_gradients, CheckError, GradientReport, Point, Tolerances,
};

/// Damped oscillator with a moving wall: `ẋ = v`, `v̇ = −k x − c v`; guard `x − (w + s t)`
/// rising; jump `v⁺ = −e v⁻`. Parameters `[k, c, w, s, e, x0]`. Its `flow_vjp` override is
/// right, or has a wrong sign, or writes `out_p` when the caller passed it empty, as hand-written
/// products might ([`Vjp`]). With `state_free_claim` it
/// declares `flow_jacobian_depends_on_state() = false`: true of `f_x` (the flow is affine in the
/// state), false of `f_p = [0, −x λ_v, −v λ_v]`.
struct Wall {
    vjp: Vjp,
    state_free_claim: bool,
}

/// How the [`Wall`]'s `flow_vjp` override behaves.
#[derive(Clone, Copy, PartialEq)]
enum Vjp {
    /// `λᵀ f_x` and `λᵀ f_p` as the trait asks.
    Right,
    /// A sign error in `λᵀ f_x`.
    WrongSign,
    /// Writes `out_p[0]` and `out_p[1]` even when `out_p` is empty (the trait allows an empty one).
    IgnoresEmptyOutP,
}

impl HybridSystem for Wall {
    fn dims(&self) -> Dims {
        Dims {
            states: 2,
            params: 6,
            guards: 1,
        }
    }
    fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) {
        x0[0] = p[5];
        x0[1] = T::zero();
    }
    fn flow<T: Scalar>(&self, _q: usize, _t: T, x: &[T], p: &[T], dx: &mut [T]) {
        dx[0] = x[1];
        dx[1] = -p[0] * x[0] - p[1] * x[1];
    }
    fn guard<T: Scalar>(&self, _q: usize, _k: usize, t: T, x: &[T], p: &[T]) -> T {
        x[0] - (p[2] + p[3] * t)
    }
    fn direction(&self, _q: usize, _k: usize) -> Crossing {
        Crossing::Rising
    }
    fn jump<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], p: &[T], xp: &mut [T]) {
        xp[0] = x[0];
        xp[1] = -p[4] * x[1];
    }
}

impl Derivatives for Wall {
    fn flow_jacobian_depends_on_state(&self) -> bool {
        !self.state_free_claim
    }
    fn flow_vjp(&self, at: At<'_>, l: &[f64], out_x: &mut [f64], out_p: &mut [f64], _: &mut Duals) {
        let (x, p) = (at.x, at.p);
        let sign = if self.vjp == Vjp::WrongSign {
            -1.0
        } else {
            1.0
        };
        out_x[0] = -p[0] * l[1];
        out_x[1] = l[0] - p[1] * l[1] * sign;
        if out_p.is_empty() && self.vjp != Vjp::IgnoresEmptyOutP {
            return;
        }
        out_p.fill(0.0);
        out_p[0] = -x[0] * l[1];
        out_p[1] = -x[1] * l[1];
    }
}

struct Terminal([f64; 1]);
impl Loss for Terminal {
    fn observation_times(&self) -> &[f64] {
        &self.0
    }
    fn observation<T: Scalar>(&self, _i: usize, x: &[T], _p: &[T]) -> Option<T> {
        Some(x[0] * x[0] + x[1])
    }
}

const P: [f64; 6] = [4.0, 0.3, 0.5, 0.05, 0.7, -1.0];

/// The state at which `check_derivatives` compares the products.
fn probe_point() -> Point {
    Point {
        t: 0.3,
        x: vec![0.2, -0.7],
        q: 0,
    }
}

/// `check_gradients` on `[0, t_end]` with the terminal loss at `t_end`, tight solver
/// tolerances and the default comparison tolerances.
fn check_tight_gradients<M: Derivatives>(
    model: &M,
    p: &[f64],
    t_end: f64,
) -> Result<GradientReport, CheckError> {
    let opts = SolverOptions {
        rtol: 1e-12,
        atol: 1e-12,
        ..Default::default()
    };
    let loss = Terminal([t_end]);
    check_gradients(model, p, 0.0, t_end, &loss, &opts, &Tolerances::default())
}

/// The wall on `[0, 3]`.
fn check_wall_gradients(wall: &Wall) -> Result<GradientReport, CheckError> {
    check_tight_gradients(wall, &P, 3.0)
}

#[test]
fn correct_model_passes_both_checks() {
    let report = check_derivatives(
        &Wall {
            vjp: Vjp::Right,
            state_free_claim: false,
        },
        &P,
        &probe_point(),
    )
    .unwrap();
    assert!(report.flow < 1e-6 && report.overrides < 1e-12, "{report:?}");
    let report = check_wall_gradients(&Wall {
        vjp: Vjp::Right,
        state_free_claim: false,
    })
    .unwrap();
    assert!(
        report.min_abs_gdot.is_finite() && report.min_abs_gdot > 0.1,
        "the test wants transversal events: {report:?}"
    );
    assert!(
        report.adjoint_vs_forward < 1e-8 && report.forward_vs_central < 1e-5,
        "{report:?}"
    );
}

#[test]
fn wrong_vjp_override_is_caught() {
    let err = check_derivatives(
        &Wall {
            vjp: Vjp::WrongSign,
            state_free_claim: false,
        },
        &P,
        &probe_point(),
    )
    .unwrap_err();
    assert!(
        matches!(err, CheckError::Disagreement { ref what, .. } if what.starts_with("flow_vjp")),
        "{err}"
    );
    let err = check_wall_gradients(&Wall {
        vjp: Vjp::WrongSign,
        state_free_claim: false,
    })
    .unwrap_err();
    assert!(
        matches!(err, CheckError::Disagreement { ref what, .. } if what.starts_with("adjoint vs forward")),
        "{err}"
    );
}

/// The backward pass asks a model whose flow reads no parameter for `λᵀ f_x` alone, with an
/// empty `out_p`: an override that indexes `out_p` regardless passes every comparison of full
/// products and panics later, inside a gradient. The kit must call it so and report the panic.
#[test]
fn vjp_override_that_writes_an_empty_out_p_is_caught() {
    let err = check_derivatives(
        &Wall {
            vjp: Vjp::IgnoresEmptyOutP,
            state_free_claim: false,
        },
        &P,
        &probe_point(),
    )
    .unwrap_err();
    assert!(
        matches!(err, CheckError::Panicked { ref what, .. } if what.contains("empty out_p")),
        "{err}"
    );
}

/// A flow affine in the state whose `f_p` still reads the state: declaring its Jacobians
/// state-free would let the adjoint take `λᵀ f_p` at the wrong state. The kit must refuse the
/// claim, and the gradients it would give must disagree with the forward method.
#[test]
fn state_free_claim_with_state_dependent_f_p_is_caught() {
    let wall = Wall {
        vjp: Vjp::Right,
        state_free_claim: true,
    };
    let err = check_derivatives(&wall, &P, &probe_point()).unwrap_err();
    assert!(
        matches!(err, CheckError::Disagreement { ref what, .. } if what.starts_with("flow_vjp (p) at a second state")),
        "{err}"
    );
    let err = check_wall_gradients(&wall).unwrap_err();
    assert!(
        matches!(err, CheckError::Disagreement { ref what, .. } if what.starts_with("adjoint vs forward")),
        "{err}"
    );
}

/// A ball under a gravity that grows with time, `ẏ = v`, `v̇ = −g (1 + a t)`; guard `y` falling;
/// jump `v⁺ = −e v⁻`. Parameters `[y0, v0, e, g, a]`. Its Jacobians are free of the state
/// (declared), but `f_p = [0, −(1 + a t), −g t]` in the `v` row reads the time: with
/// `time_free_claim` it declares `flow_jacobian_depends_on_time() = false` as well, wrongly.
struct RampBall {
    time_free_claim: bool,
}

impl HybridSystem for RampBall {
    fn dims(&self) -> Dims {
        Dims {
            states: 2,
            params: 5,
            guards: 1,
        }
    }
    fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) {
        x0[0] = p[0];
        x0[1] = p[1];
    }
    fn flow<T: Scalar>(&self, _q: usize, t: T, x: &[T], p: &[T], dx: &mut [T]) {
        dx[0] = x[1];
        dx[1] = -p[3] * (T::one() + p[4] * t);
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

impl Derivatives for RampBall {
    fn flow_jacobian_depends_on_state(&self) -> bool {
        false
    }
    fn flow_jacobian_depends_on_time(&self) -> bool {
        !self.time_free_claim
    }
}

const RAMP_P: [f64; 5] = [1.0, 0.5, 0.8, 9.81, 0.5];

/// The ramp ball on `[0, 1.5]` (two impacts).
fn check_ramp_gradients(ball: &RampBall) -> Result<GradientReport, CheckError> {
    check_tight_gradients(ball, &RAMP_P, 1.5)
}

/// Declared state-free alone (true), the ramp ball passes both checks: the adjoint, which then
/// evaluates `λᵀ f_p` at the stage times, agrees with the forward method.
#[test]
fn ramp_ball_with_true_claims_passes_both_checks() {
    let ball = RampBall {
        time_free_claim: false,
    };
    let report = check_derivatives(&ball, &RAMP_P, &probe_point()).unwrap();
    assert!(report.flow < 1e-6 && report.overrides < 1e-12, "{report:?}");
    let report = check_ramp_gradients(&ball).unwrap();
    assert!(
        report.adjoint_vs_forward < 1e-8 && report.forward_vs_central < 1e-5,
        "{report:?}"
    );
}

/// A flow whose Jacobians are state-free but read the time: declaring them time-free would let
/// the adjoint form `[f_x, f_p]` once, at one time, for every stage. The kit must refuse the
/// claim, and the gradients it would give must disagree with the forward method.
#[test]
fn time_free_claim_with_time_dependent_f_p_is_caught() {
    let ball = RampBall {
        time_free_claim: true,
    };
    let err = check_derivatives(&ball, &RAMP_P, &probe_point()).unwrap_err();
    assert!(
        matches!(err, CheckError::Disagreement { ref what, .. } if what.starts_with("flow_vjp (p) at a second time")),
        "{err}"
    );
    let err = check_ramp_gradients(&ball).unwrap_err();
    assert!(
        matches!(err, CheckError::Disagreement { ref what, .. } if what.starts_with("adjoint vs forward")),
        "{err}"
    );
}

/// A ball whose gravity alternates between two values at each impact: mode `q` falls with
/// `v̇ = −g_q`. Parameters `[y0, v0, e, g0, g1]`. Its Jacobians are free of the state and of
/// time in each mode but differ between the modes (`f_p` picks `g_q`), so the adjoint's
/// constant `[f_x, f_p]` must be formed per mode.
struct TwoGravityBall;

impl HybridSystem for TwoGravityBall {
    fn dims(&self) -> Dims {
        Dims {
            states: 2,
            params: 5,
            guards: 1,
        }
    }
    fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) {
        x0[0] = p[0];
        x0[1] = p[1];
    }
    fn flow<T: Scalar>(&self, q: usize, _t: T, x: &[T], p: &[T], dx: &mut [T]) {
        dx[0] = x[1];
        dx[1] = -p[3 + q];
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
    fn next_mode(&self, q: usize, _k: usize) -> usize {
        1 - q
    }
}

impl Derivatives for TwoGravityBall {
    fn flow_jacobian_depends_on_state(&self) -> bool {
        false
    }
    fn flow_jacobian_depends_on_time(&self) -> bool {
        false
    }
}

/// Constant Jacobians that differ between modes: the kit accepts the claims in both modes, and
/// the adjoint (one `[f_x, f_p]` per mode) agrees with the forward method and central
/// differences over four impacts, alternating the modes.
#[test]
fn constant_jacobians_per_mode_pass_both_checks() {
    let p = [1.0, 0.5, 0.8, 9.81, 12.0];
    for q in 0..2 {
        let point = Point { q, ..probe_point() };
        let report = check_derivatives(&TwoGravityBall, &p, &point).unwrap();
        assert!(report.flow < 1e-6 && report.overrides < 1e-12, "{report:?}");
    }
    let opts = SolverOptions {
        rtol: 1e-12,
        atol: 1e-12,
        ..Default::default()
    };
    let report = check_gradients(
        &TwoGravityBall,
        &p,
        0.0,
        2.5,
        &Terminal([2.5]),
        &opts,
        &Tolerances::default(),
    )
    .unwrap();
    assert!(
        report.adjoint_vs_forward < 1e-8 && report.forward_vs_central < 1e-5,
        "{report:?}"
    );
}

/// A ball pushed by a forcing that grows with time, `ẏ = v`, `v̇ = −g + 2 t`; guard `y` falling;
/// jump `v⁺ = −e v⁻`. Parameters `[y0, v0, e, g]`. Its Jacobians `f_x`, `f_p` are free of the
/// state and of time (declared, truly), but the flow itself reads the time: with
/// `autonomous_claim` it declares `flow_depends_on_time() = false` as well, wrongly (the passes
/// would move the state by the polynomial of a forcing frozen at each step's start).
struct ForcedBall {
    autonomous_claim: bool,
}

impl HybridSystem for ForcedBall {
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
    fn flow<T: Scalar>(&self, _q: usize, t: T, x: &[T], p: &[T], dx: &mut [T]) {
        dx[0] = x[1];
        dx[1] = -p[3] + T::cst(2.0) * t;
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

impl Derivatives for ForcedBall {
    fn flow_jacobian_depends_on_state(&self) -> bool {
        false
    }
    fn flow_jacobian_depends_on_time(&self) -> bool {
        false
    }
    fn flow_depends_on_time(&self) -> bool {
        !self.autonomous_claim
    }
}

const FORCED_P: [f64; 4] = [1.0, 0.5, 0.8, 9.81];

/// With its true claims (the Jacobians constant, the flow not autonomous) the forced ball passes
/// both checks: the passes step its state by Runge-Kutta stages.
#[test]
fn forced_ball_with_true_claims_passes_both_checks() {
    let ball = ForcedBall {
        autonomous_claim: false,
    };
    let report = check_derivatives(&ball, &FORCED_P, &probe_point()).unwrap();
    assert!(report.flow < 1e-6 && report.overrides < 1e-12, "{report:?}");
    let report = check_tight_gradients(&ball, &FORCED_P, 1.5).unwrap();
    assert!(
        report.adjoint_vs_forward < 1e-8 && report.forward_vs_central < 1e-5,
        "{report:?}"
    );
}

/// A flow that reads the time declared autonomous: the kit must refuse the claim.
#[test]
fn autonomous_claim_with_a_time_dependent_forcing_is_caught() {
    let ball = ForcedBall {
        autonomous_claim: true,
    };
    let err = check_derivatives(&ball, &FORCED_P, &probe_point()).unwrap_err();
    assert!(
        matches!(err, CheckError::Disagreement { ref what, .. } if what.starts_with("flow at a second time")),
        "{err}"
    );
}

/// A ball `ẏ = v`, `v̇ = −g` whose guard is not what it declares: `y + 0.1 y²` (not affine in the
/// state) or `y − 0.1 t` (time dependent), each declared affine in the state and free of time
/// (the detector would take it as the polynomial `c · x(s) + g₀` on a polynomial step).
struct MisdeclaredGuard {
    reads_time: bool,
}

impl HybridSystem for MisdeclaredGuard {
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
    fn guard<T: Scalar>(&self, _q: usize, _k: usize, t: T, x: &[T], _p: &[T]) -> T {
        if self.reads_time {
            x[0] - T::cst(0.1) * t
        } else {
            x[0] + T::cst(0.1) * x[0] * x[0]
        }
    }
    fn direction(&self, _q: usize, _k: usize) -> Crossing {
        Crossing::Falling
    }
    fn jump<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], p: &[T], xp: &mut [T]) {
        xp[0] = x[0];
        xp[1] = -p[2] * x[1];
    }
}

impl Derivatives for MisdeclaredGuard {
    fn flow_jacobian_depends_on_state(&self) -> bool {
        false
    }
    fn flow_jacobian_depends_on_time(&self) -> bool {
        false
    }
    fn flow_depends_on_time(&self) -> bool {
        false
    }
    fn guard_gradient_depends_on_state(&self) -> bool {
        false
    }
    fn guard_depends_on_time(&self) -> bool {
        false
    }
}

/// A guard quadratic in the state declared affine: the kit must refuse the claim.
#[test]
fn affine_guard_claim_on_a_quadratic_guard_is_caught() {
    let model = MisdeclaredGuard { reads_time: false };
    let err = check_derivatives(&model, &FORCED_P, &probe_point()).unwrap_err();
    assert!(
        matches!(err, CheckError::Disagreement { ref what, .. } if what.starts_with("guard 0 g_x at a second state")),
        "{err}"
    );
}

/// A guard that reads the time declared time-free: the kit must refuse the claim.
#[test]
fn time_free_guard_claim_on_a_time_dependent_guard_is_caught() {
    let model = MisdeclaredGuard { reads_time: true };
    let err = check_derivatives(&model, &FORCED_P, &probe_point()).unwrap_err();
    assert!(
        matches!(err, CheckError::Disagreement { ref what, .. } if what.starts_with("guard 0 at a second time")),
        "{err}"
    );
}
