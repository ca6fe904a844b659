//! A [`Problem`] (model, time span, loss, options) validated once, and a [`Solver`] that owns
//! every buffer the passes need, so that repeated simulations and gradients (a fit, a training
//! loop) allocate nothing once it is warm.

use crate::adjoint::{adjoint, forward_pass, running_at, AdjointWork, Keep};
use crate::engine::{run, validate_params, validate_setup, NoAugment, Workspace};
use crate::forward::{exact_sensitivities, forward, ForwardWork, Sensitivities};
use crate::loss::NoLoss;
use crate::ode::{Dop853, Dopri5, StepStats, Stepper};
use crate::trajectory::{max_grazing, min_abs_gdot, EventRecord, Solution};
use crate::{Derivatives, Error, Gradient, Integrator, Loss, SolverOptions};

/// A hybrid system to solve: model, time span `[t0, t_end]`, loss and options, validated when
/// built. The parameters are given to each [`Solver`] call.
///
/// ```
/// # use hybrid_core::{Crossing, Derivatives, Dims, HybridSystem, Loss, Problem, Scalar};
/// # struct Ball;
/// # impl HybridSystem for Ball {
/// #     fn dims(&self) -> Dims { Dims { states: 2, params: 1, guards: 1 } }
/// #     fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) { x0[0] = p[0]; x0[1] = T::zero(); }
/// #     fn flow<T: Scalar>(&self, _q: usize, _t: T, x: &[T], _p: &[T], dx: &mut [T]) { dx[0] = x[1]; dx[1] = T::cst(-10.0); }
/// #     fn guard<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], _p: &[T]) -> T { x[0] }
/// #     fn direction(&self, _q: usize, _k: usize) -> Crossing { Crossing::Falling }
/// #     fn jump<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], _p: &[T], xp: &mut [T]) {
/// #         xp[0] = x[0]; xp[1] = T::cst(-0.5) * x[1];
/// #     }
/// # }
/// # impl Derivatives for Ball {}
/// /// L = y(1.5)².
/// struct Height;
/// impl Loss for Height {
///     fn observation_times(&self) -> &[f64] { &[1.5] }
///     fn observation<T: Scalar>(&self, _i: usize, x: &[T], _p: &[T]) -> Option<T> { Some(x[0] * x[0]) }
/// }
///
/// let problem = Problem::new(Ball, 0.0, 1.5)?.with_loss(Height)?;
/// let mut solver = problem.solver();
/// for h in [5.0, 5.5, 6.0] {
///     let g = solver.adjoint_gradient(&[h])?; // no allocation after the first call
///     assert!(g.gradient[0].is_finite());
/// }
/// # Ok::<(), hybrid_core::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Problem<M, L = NoLoss> {
    model: M,
    loss: L,
    t0: f64,
    t_end: f64,
    opts: SolverOptions,
}

impl<M: Derivatives> Problem<M, NoLoss> {
    /// The model on `[t0, t_end]` with default options and no loss.
    pub fn new(model: M, t0: f64, t_end: f64) -> Result<Self, Error> {
        let problem = Self {
            model,
            loss: NoLoss,
            t0,
            t_end,
            opts: SolverOptions::default(),
        };
        problem.validate()?;
        Ok(problem)
    }
}

impl<M: Derivatives, L: Loss> Problem<M, L> {
    /// The same problem with loss `loss` (its observation times are checked against the span).
    pub fn with_loss<L2: Loss>(self, loss: L2) -> Result<Problem<M, L2>, Error> {
        let problem = Problem {
            model: self.model,
            loss,
            t0: self.t0,
            t_end: self.t_end,
            opts: self.opts,
        };
        problem.validate()?;
        Ok(problem)
    }

    /// The same problem with options `opts` (checked).
    pub fn with_options(self, opts: SolverOptions) -> Result<Self, Error> {
        let problem = Self { opts, ..self };
        problem.validate()?;
        Ok(problem)
    }

    fn validate(&self) -> Result<(), Error> {
        validate_setup(
            &self.model,
            self.t0,
            self.t_end,
            self.loss.observation_times(),
            &self.opts,
        )
    }

    /// The model.
    pub fn model(&self) -> &M {
        &self.model
    }

    /// The loss.
    pub fn loss(&self) -> &L {
        &self.loss
    }

    /// The options.
    pub fn options(&self) -> &SolverOptions {
        &self.opts
    }

    /// The time span `(t0, t_end)`.
    pub fn span(&self) -> (f64, f64) {
        (self.t0, self.t_end)
    }

    /// A solver for this problem. It allocates its buffers on first use and reuses them.
    pub fn solver(&self) -> Solver<'_, M, L> {
        let work = match self.opts.integrator {
            Integrator::Dopri5 => Work::Dopri5(Passes::default()),
            Integrator::Dop853 => Work::Dop853(Passes::default()),
        };
        Solver {
            problem: self,
            work,
            x0: vec![0.0; self.model.dims().states],
            out: Gradient {
                loss: 0.0,
                gradient: vec![0.0; self.model.dims().params],
                min_abs_gdot: f64::INFINITY,
                max_grazing: 0.0,
                events: Vec::new(),
                stats: StepStats::default(),
            },
        }
    }
}

/// The buffers of each pass, made on first use.
struct Passes<S: Stepper> {
    simulate: Option<Workspace<S>>,
    adjoint: Option<AdjointWork<S>>,
    forward: Option<ForwardWork<S>>,
}

impl<S: Stepper> Default for Passes<S> {
    fn default() -> Self {
        Self {
            simulate: None,
            adjoint: None,
            forward: None,
        }
    }
}

enum Work {
    Dopri5(Passes<Dopri5>),
    Dop853(Passes<Dop853>),
}

/// Run `$body` with `$w` bound to the passes of the chosen integrator.
macro_rules! with_passes {
    ($self:ident, $w:ident => $body:expr) => {
        match &mut $self.work {
            Work::Dopri5($w) => $body,
            Work::Dop853($w) => $body,
        }
    };
}

/// Solves one [`Problem`] for any number of parameter vectors, reusing its buffers: after the
/// first call of a kind, [`Solver::adjoint_gradient`], [`Solver::forward_gradient`] and
/// [`Solver::loss`] allocate nothing (as long as the number of events does not grow).
pub struct Solver<'a, M, L> {
    problem: &'a Problem<M, L>,
    work: Work,
    x0: Vec<f64>,
    out: Gradient,
}

impl<M: Derivatives, L: Loss> Solver<'_, M, L> {
    fn running(&mut self, p: &[f64]) -> Result<bool, Error> {
        let pb = self.problem;
        validate_params(&pb.model, p, pb.t0)?;
        Ok(running_at(&pb.model, &pb.loss, p, pb.t0, &mut self.x0))
    }

    /// Simulate at parameters `p`: the dense trajectory and one record per event.
    pub fn simulate(&mut self, p: &[f64]) -> Result<Solution, Error> {
        let pb = self.problem;
        validate_params(&pb.model, p, pb.t0)?;
        let dims = pb.model.dims();
        with_passes!(self, w => {
            let ws = w
                .simulate
                .get_or_insert_with(|| Workspace::new(dims, dims.states, &pb.opts));
            run(&pb.model, p, pb.t0, pb.t_end, &[], &pb.opts, &mut NoAugment, ws, true)?;
            // The result owns the records and the trajectory (moved out, not copied).
            Ok(Solution {
                trajectory: ws.take_trajectory(),
                events: std::mem::take(&mut ws.events),
                near_misses: ws.near_misses().to_vec(),
                x_end: ws.z.clone(),
                mode_end: ws.mode_end,
                stats: ws.stepper.stats(),
            })
        })
    }

    /// The loss `L(p)` by one simulation, without gradient.
    pub fn loss(&mut self, p: &[f64]) -> Result<f64, Error> {
        let running = self.running(p)?;
        let pb = self.problem;
        with_passes!(self, w => {
            let aw = adjoint_work(&mut w.adjoint, pb, running);
            forward_pass(&pb.model, &pb.loss, p, (pb.t0, pb.t_end), &pb.opts, aw, Keep::Nothing)
        })
    }

    /// `dL/dp` by the adjoint method (docs/maths.md §3): one simulation, then one backward pass
    /// of `n + m` components, whatever the number of parameters `m`.
    pub fn adjoint_gradient(&mut self, p: &[f64]) -> Result<&Gradient, Error> {
        let running = self.running(p)?;
        let pb = self.problem;
        let out = &mut self.out;
        with_passes!(self, w => {
            let aw = adjoint_work(&mut w.adjoint, pb, running);
            aw.fwd.recycle(&mut out.events);
            let value = adjoint(&pb.model, &pb.loss, p, (pb.t0, pb.t_end), &pb.opts, aw)?;
            out.loss = value;
            out.gradient.copy_from_slice(&aw.grad);
            out.stats = aw.fwd.stepper.stats();
            out.events.append(&mut aw.fwd.events);
        });
        out.min_abs_gdot = min_abs_gdot(&out.events);
        out.max_grazing = max_grazing(&out.events);
        Ok(out)
    }

    /// `dL/dp` by forward sensitivities (docs/maths.md §2): `n m` more components along the
    /// simulation; cheap for few parameters.
    pub fn forward_gradient(&mut self, p: &[f64]) -> Result<&Gradient, Error> {
        let running = self.running(p)?;
        let pb = self.problem;
        let out = &mut self.out;
        let obs = pb.loss.observation_times();
        with_passes!(self, w => {
            let fw = forward_work(&mut w.forward, pb, running);
            fw.st.record = false;
            fw.w.recycle(&mut out.events);
            forward(&pb.model, &pb.loss, p, (pb.t0, pb.t_end), obs, &pb.opts, fw)?;
            out.loss = fw.st.value;
            out.gradient.copy_from_slice(&fw.st.grad);
            out.stats = fw.w.stepper.stats();
            out.events.append(&mut fw.w.events);
        });
        out.min_abs_gdot = min_abs_gdot(&out.events);
        out.max_grazing = max_grazing(&out.events);
        Ok(out)
    }

    /// `x` and `S = ∂x/∂p` at `sample_times` (sorted, within the span), and `(S⁻, S⁺)` at every
    /// event (docs/maths.md §2). The loss is not used.
    pub fn forward_sensitivities(
        &mut self,
        p: &[f64],
        sample_times: &[f64],
    ) -> Result<Sensitivities, Error> {
        let pb = self.problem;
        validate_setup(&pb.model, pb.t0, pb.t_end, sample_times, &pb.opts)?;
        validate_params(&pb.model, p, pb.t0)?;
        let (dims, span) = (pb.model.dims(), (pb.t0, pb.t_end));
        let exact = exact_sensitivities(&pb.model, false, &pb.opts);
        with_passes!(self, w => {
            let fw = w
                .forward
                .get_or_insert_with(|| ForwardWork::new(dims, false, 0, exact, &pb.opts));
            if !fw.fits(false, 0, exact) {
                *fw = ForwardWork::new(dims, false, 0, exact, &pb.opts);
            }
            fw.st.record = true;
            let r = forward(&pb.model, &NoLoss, p, span, sample_times, &pb.opts, fw);
            fw.st.record = false;
            r?;
            let events: Vec<EventRecord> = fw.w.events.clone();
            Ok(Sensitivities {
                samples: std::mem::take(&mut fw.st.samples),
                event_sensitivities: std::mem::take(&mut fw.st.event_s),
                min_abs_gdot: min_abs_gdot(&events),
                max_grazing: max_grazing(&events),
                events,
                stats: fw.w.stepper.stats(),
            })
        })
    }
}

fn adjoint_work<'w, S: Stepper, M: Derivatives, L: Loss>(
    slot: &'w mut Option<AdjointWork<S>>,
    pb: &Problem<M, L>,
    running: bool,
) -> &'w mut AdjointWork<S> {
    let dims = pb.model.dims();
    if !slot.as_ref().is_some_and(|w| w.fits(running)) {
        let flow_p = pb.model.flow_depends_on_parameters();
        *slot = Some(AdjointWork::new(dims, running, flow_p, &pb.opts));
    }
    slot.as_mut().expect("just filled")
}

fn forward_work<'w, S: Stepper, M: Derivatives, L: Loss>(
    slot: &'w mut Option<ForwardWork<S>>,
    pb: &Problem<M, L>,
    running: bool,
) -> &'w mut ForwardWork<S> {
    let (dims, k) = (pb.model.dims(), pb.loss.event_selectors().len());
    let exact = exact_sensitivities(&pb.model, running, &pb.opts);
    if !slot.as_ref().is_some_and(|w| w.fits(running, k, exact)) {
        *slot = Some(ForwardWork::new(dims, running, k, exact, &pb.opts));
    }
    slot.as_mut().expect("just filled")
}
