//! The adjoint gradient (docs/maths.md §3): one forward pass that stores the dense trajectory, then a
//! backward pass for `λ` and the parameter quadrature `μ` with the jump conditions at every event.
//!
//! Everything lives in an [`AdjointWork`] owned by the solver: repeated gradients allocate nothing
//! once it is warm.

use crate::constant_jacobian::ConstantJacobian;
use crate::derivatives::Duals;
use crate::engine::{run, Augment, Workspace};
use crate::event_partials::EventPartials;
use crate::events::checks::check_differentiable;
use crate::loss::{has_running, EventPoint, LossDuals};
use crate::ode::{Stepper, StepperOptions};
use crate::trajectory::EventRecord;
use crate::{Derivatives, Error, EventSelector, HybridSystem, Loss, SolverOptions};

mod backward;

use backward::backward;

/// Carries the running-loss integral and sums the observation terms; for the backward pass, keeps
/// the state at every observation (`n` values each, in order).
struct LossValue<'a, L: Loss> {
    loss: &'a L,
    running: bool,
    value: f64,
    missing_running: bool,
    observed: Option<&'a mut Vec<f64>>,
}

impl<M: HybridSystem, L: Loss> Augment<M> for LossValue<'_, L> {
    fn extra(&self) -> usize {
        usize::from(self.running)
    }
    fn init(&mut self, _: &M, _: &[f64], _: &[f64], _: &mut [f64]) -> Result<(), Error> {
        Ok(())
    }
    fn rhs(&mut self, _: &M, _: usize, t: f64, x: &[f64], p: &[f64], _: &[f64], dz: &mut [f64]) {
        if let Some(d) = dz.first_mut() {
            *d = self.loss.running(t, x, p).unwrap_or_else(|| {
                self.missing_running = true;
                0.0
            });
        }
    }
    fn event(&mut self, _: &M, _: &[f64], _: &EventRecord, _: &mut [f64]) -> Result<(), Error> {
        Ok(())
    }
    fn stop(
        &mut self,
        _: &M,
        p: &[f64],
        i: usize,
        _: f64,
        x: &[f64],
        _: &[f64],
    ) -> Result<(), Error> {
        if let Some(kept) = &mut self.observed {
            kept.extend_from_slice(x);
        }
        self.value += self
            .loss
            .observation(i, x, p)
            .ok_or(Error::MissingLossTerm {
                part: "observation",
                index: i,
            })?;
        Ok(())
    }
}

/// What happens at one breakpoint of the backward pass.
#[derive(Debug, Clone, Copy)]
enum Breakpoint {
    Event(usize),
    Observation(usize),
}

/// The buffers of the adjoint: the forward pass's workspace and the backward pass's.
pub(crate) struct AdjointWork<S: Stepper> {
    /// Forward pass (state, and the running-loss integral when there is one).
    pub fwd: Workspace<S>,
    back: S,
    /// `[λ, μ]`: `μ` accumulates `∫ (λᵀ f_p + ℓ_p) dt` from `t` to `T`.
    z: Vec<f64>,
    /// `dL/dp`.
    pub grad: Vec<f64>,
    points: Vec<(f64, Breakpoint)>,
    /// The state at every observation of the forward pass (`n` each, in order): the points where
    /// the loss was evaluated, where the backward pass takes its gradient.
    observed: Vec<f64>,
    /// The events the loss's selectors pick: `(selector, event, occurrence)`, in event order.
    pub picks: Vec<(usize, usize, usize)>,
    sc: Scratch,
    running: bool,
    /// Whether `μ` is integrated (the flow depends on `p`, or a running loss does).
    quadrature: bool,
}

struct Scratch {
    x: Vec<f64>,
    lambda: Vec<f64>,
    vjp_x: Vec<f64>,
    vjp_p: Vec<f64>,
    psi_xm: Vec<f64>,
    /// `[f_x, f_p]` of one mode when the flow's Jacobians are constant in it
    /// ([`Derivatives::flow_jacobian_depends_on_time`]).
    jac: ConstantJacobian,
    ep: EventPartials,
    duals: Duals,
    loss: LossDuals,
    missing_running: bool,
    /// [`SolverOptions::max_steps`], for the sub-steps of [`ConstantJacobian::propagate`].
    max_steps: usize,
}

impl<S: Stepper> AdjointWork<S> {
    /// Buffers for `dims`, with or without a running loss; `flow_p` says whether the flow
    /// depends on the parameters ([`Derivatives::flow_depends_on_parameters`]).
    pub fn new(dims: crate::Dims, running: bool, flow_p: bool, opts: &SolverOptions) -> Self {
        let (n, m) = (dims.states, dims.params);
        // μ = ∫ (λᵀ f_p + ℓ_p) dt vanishes when neither the flow nor a running loss has `p`.
        let quadrature = flow_p || running;
        let nq = if quadrature { m } else { 0 };
        let step_opts = StepperOptions {
            rtol: opts.rtol,
            atol: opts.atol,
            max_step: opts.max_step,
            first_step: 0.0,
            max_steps: opts.max_steps,
        };
        let mut back = S::new(n + nq, step_opts);
        // μ is a quadrature: it rides on the steps λ chooses (docs/maths.md §3).
        back.set_error_components(n);
        Self {
            fwd: Workspace::new(dims, n + usize::from(running), opts),
            back,
            z: vec![0.0; n + nq],
            grad: vec![0.0; m],
            points: Vec::new(),
            observed: Vec::new(),
            picks: Vec::new(),
            sc: Scratch {
                x: vec![0.0; n],
                lambda: vec![0.0; n],
                vjp_x: vec![0.0; n],
                vjp_p: vec![0.0; m],
                psi_xm: vec![0.0; n],
                jac: ConstantJacobian::new(n, nq),
                ep: EventPartials::new(n, m),
                duals: Duals::new(n, m),
                loss: LossDuals::default(),
                missing_running: false,
                max_steps: opts.max_steps,
            },
            running,
            quadrature,
        }
    }

    /// Whether these buffers fit a run with or without a running loss.
    pub fn fits(&self, running: bool) -> bool {
        self.running == running
    }
}

/// Whether the loss has a running part at these parameters (it answers at `(t0, x0(p))`);
/// `x0` is scratch of length `n`.
pub(crate) fn running_at<M: HybridSystem, L: Loss>(
    model: &M,
    loss: &L,
    p: &[f64],
    t0: f64,
    x0: &mut [f64],
) -> bool {
    model.initial_state(p, x0);
    has_running(loss, t0, x0, p)
}

/// What a forward pass keeps for a backward pass.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Keep {
    /// Nothing: the loss alone.
    Nothing,
    /// The states at the observations.
    Observations,
    /// Those and the dense trajectory (the backward pass reads states between breakpoints).
    Trajectory,
}

/// The forward pass: simulate (keeping what `keep` says), and return the loss.
pub(crate) fn forward_pass<M: Derivatives, L: Loss, S: Stepper>(
    model: &M,
    loss: &L,
    p: &[f64],
    (t0, t_end): (f64, f64),
    opts: &SolverOptions,
    w: &mut AdjointWork<S>,
    keep: Keep,
) -> Result<f64, Error> {
    w.observed.clear();
    let mut aug = LossValue {
        loss,
        running: w.running,
        value: 0.0,
        missing_running: false,
        observed: (keep != Keep::Nothing).then_some(&mut w.observed),
    };
    let obs = loss.observation_times();
    let store = keep == Keep::Trajectory;
    run(model, p, t0, t_end, obs, opts, &mut aug, &mut w.fwd, store)?;
    if aug.missing_running {
        return Err(Error::MissingLossTerm {
            part: "running",
            index: 0,
        });
    }
    EventSelector::resolve(loss.event_selectors(), &w.fwd.events, &mut w.picks)?;
    let n = model.dims().states;
    let mut value = aug.value + w.fwd.z.get(n).copied().unwrap_or(0.0);
    for &(j, e, occurrence) in &w.picks {
        let rec = &w.fwd.events[e];
        let point = EventPoint {
            t: rec.t,
            x_minus: &rec.x_minus,
            x_plus: &rec.x_plus,
            occurrence,
        };
        value += loss.event_term(j, point, p).ok_or(Error::MissingLossTerm {
            part: "event term",
            index: j,
        })?;
    }
    if !value.is_finite() {
        return Err(Error::NonFinite {
            what: "loss".into(),
            t: t_end,
        });
    }
    Ok(value)
}

/// `dL/dp` by the adjoint method (docs/maths.md §3), into `w.grad`; returns the loss.
///
/// Backwards from `λ(T⁺) = 0`: `λ̇ = −f_xᵀλ − ℓ_xᵀ` between breakpoints, `λ ← λ + φ_xᵀ` at
/// observations, and at each event, with `λ̃ = λ⁺ + ψ_{x⁺}ᵀ`,
/// `λ⁻ = h_xᵀλ̃ − (c/ġ) g_xᵀ + ψ_{x⁻}ᵀ` where
/// `c = λ̃·(h_t + h_x f⁻ − f⁺) + ψ_τ + ψ_{x⁻} f⁻ + ψ_{x⁺} f⁺ + ℓ⁻ − ℓ⁺`; the gradient collects
/// `∫(λᵀf_p + ℓ_p) dt`, `λ̃ᵀh_p − (c/ġ) g_p + ψ_p` per event, `φ_p` per observation and
/// `λ(t0)ᵀ ∂x0/∂p`. Its cost is one simulation plus `n + m` backward quadratures, whatever `m`.
pub(crate) fn adjoint<M: Derivatives, L: Loss, S: Stepper>(
    model: &M,
    loss: &L,
    p: &[f64],
    span: (f64, f64),
    opts: &SolverOptions,
    w: &mut AdjointWork<S>,
) -> Result<f64, Error> {
    // The backward pass reads the stored trajectory only for `f_x`, `f_p` or a running loss that
    // vary along it; Jacobians constant in each mode are formed at a state the events or the
    // observations hold (`backward`).
    let keep = if w.running
        || model.flow_jacobian_depends_on_state()
        || model.flow_jacobian_depends_on_time()
    {
        Keep::Trajectory
    } else {
        Keep::Observations
    };
    let value = forward_pass(model, loss, p, span, opts, w, keep)?;
    // Refuse non-differentiable events before the backward pass, naming the first in time (the
    // forward method names the same one: both see one event sequence).
    check_differentiable(
        &w.fwd.events,
        w.fwd.near_misses(),
        loss.observation_times(),
        opts,
    )?;
    backward(model, loss, p, span, w)?;
    Ok(value)
}
