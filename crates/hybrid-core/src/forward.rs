//! Forward sensitivities `S = ∂x/∂p` integrated with the state, with the jump rule at every event
//! (docs/maths.md §2), and the loss gradient they give. For a model whose flow Jacobians are
//! declared free of the state and of time (and no running loss), `S` does not ride on the steps:
//! the steps carry the state alone, and `S` crosses each interval between events and stops by the
//! exact propagator of `Ṡ = f_x S + f_p` ([`SensitivityPropagator`]).

use crate::constant_jacobian::SensitivityPropagator;
use crate::derivatives::Duals;
use crate::engine::{run, Workspace};
use crate::event_partials::EventPartials;
use crate::events::checks::check_differentiable;
use crate::loss::{LossDuals, Occurrence};
use crate::ode::{StepStats, Stepper};
use crate::trajectory::EventRecord;
use crate::{Derivatives, Error, Loss, SolverOptions};

mod augment;

use augment::ForwardAugment;

/// `x` and `S = ∂x/∂p` at one time.
#[derive(Debug, Clone, PartialEq)]
pub struct SensitivitySample {
    /// Time.
    pub t: f64,
    /// State (after the jump, at an event time).
    pub x: Vec<f64>,
    /// `∂x/∂p`, `n × m` column-major: `s[i + n * j] = ∂x_i/∂p_j`.
    pub s: Vec<f64>,
}

/// Result of [`crate::forward_sensitivities`].
#[derive(Debug, Clone)]
pub struct Sensitivities {
    /// One sample per requested time.
    pub samples: Vec<SensitivitySample>,
    /// One record per event.
    pub events: Vec<EventRecord>,
    /// `(S⁻, S⁺)` around each event, in the order of `events`.
    pub event_sensitivities: Vec<(Vec<f64>, Vec<f64>)>,
    /// Smallest `|ġ|` over the guard events.
    pub min_abs_gdot: f64,
    /// Largest grazing index `κ` over the guard events.
    pub max_grazing: f64,
    /// Integrator work.
    pub stats: StepStats,
}

/// The buffers of the forward method, owned by the solver (no allocation once warm).
pub(crate) struct ForwardWork<S: Stepper> {
    /// The run: `[x, S, (L_running, ∇L_running)]`.
    pub w: Workspace<S>,
    /// Everything else.
    pub st: FwdState,
}

/// The forward method's state besides the workspace.
pub(crate) struct FwdState {
    /// Loss value and gradient of the last run.
    pub value: f64,
    pub grad: Vec<f64>,
    running: bool,
    s_minus: Vec<f64>,
    dtau: Vec<f64>,
    ep: EventPartials,
    duals: Duals,
    loss: LossDuals,
    contribution: Vec<f64>,
    /// Per selector: matches so far, whether one was taken, and a tentative `Last` term
    /// `[value, gradient]`.
    hits: Vec<usize>,
    taken: Vec<bool>,
    last: Vec<f64>,
    /// Samples and `(S⁻, S⁺)` per event, when recording (`forward_sensitivities`).
    pub record: bool,
    pub samples: Vec<SensitivitySample>,
    pub event_s: Vec<(Vec<f64>, Vec<f64>)>,
    missing_running: bool,
    /// `S` beside the steps instead of on them ([`exact_sensitivities`]), with what it needs.
    exact: Option<ExactS>,
}

/// `S` moved by its exact propagator: its value at `t_sync` in mode `mode`.
struct ExactS {
    s: Vec<f64>,
    t_sync: f64,
    mode: usize,
    prop: SensitivityPropagator,
    /// [`SolverOptions::max_steps`], for the propagator's sub-steps.
    max_steps: usize,
}

/// Whether the forward method moves `S` by the exact propagator of `Ṡ = f_x S + f_p` rather than
/// on the Runge-Kutta steps: when `f_x` and `f_p` are declared free of the state and of time
/// (one constant matrix per mode), there is no running loss (its quadrature `∫ ℓ_x S` reads the
/// state), and the sensitivities are kept out of the step-size control (with it, they would
/// steer the steps).
pub(crate) fn exact_sensitivities<M: Derivatives>(
    model: &M,
    running: bool,
    opts: &SolverOptions,
) -> bool {
    !running
        && !opts.sensitivities_in_error_control
        && !model.flow_jacobian_depends_on_state()
        && !model.flow_jacobian_depends_on_time()
}

impl<S: Stepper> ForwardWork<S> {
    /// Buffers for `dims`, with or without a running loss, for `selectors` event terms; `exact`
    /// from [`exact_sensitivities`].
    pub fn new(
        dims: crate::Dims,
        running: bool,
        selectors: usize,
        exact: bool,
        opts: &SolverOptions,
    ) -> Self {
        let (n, m) = (dims.states, dims.params);
        let extra = if exact {
            0
        } else {
            n * m + if running { 1 + m } else { 0 }
        };
        Self {
            w: Workspace::new(dims, n + extra, opts),
            st: FwdState {
                value: 0.0,
                grad: vec![0.0; m],
                running,
                s_minus: vec![0.0; n * m],
                dtau: vec![0.0; m],
                ep: EventPartials::new(n, m),
                duals: Duals::new(n, m),
                loss: LossDuals::default(),
                contribution: vec![0.0; m],
                hits: vec![0; selectors],
                taken: vec![false; selectors],
                last: vec![0.0; selectors * (1 + m)],
                record: false,
                samples: Vec::new(),
                event_s: Vec::new(),
                missing_running: false,
                exact: exact.then(|| ExactS {
                    s: vec![0.0; n * m],
                    t_sync: 0.0,
                    mode: 0,
                    prop: SensitivityPropagator::new(n, m),
                    max_steps: opts.max_steps,
                }),
            },
        }
    }

    /// Whether these buffers fit a run with or without a running loss, `selectors` terms and
    /// the exact propagator or not.
    pub fn fits(&self, running: bool, selectors: usize, exact: bool) -> bool {
        self.st.running == running
            && self.st.hits.len() == selectors
            && self.st.exact.is_some() == exact
    }
}

/// One forward run with sensitivities (samples recorded at `stops` when `fw.record`), then the
/// loss and gradient completed in `fw.value`, `fw.grad`.
pub(crate) fn forward<M: Derivatives, L: Loss, S: Stepper>(
    model: &M,
    loss: &L,
    p: &[f64],
    (t0, t_end): (f64, f64),
    stops: &[f64],
    opts: &SolverOptions,
    fw: &mut ForwardWork<S>,
) -> Result<(), Error> {
    let dims = model.dims();
    let (n, m) = (dims.states, dims.params);
    let ForwardWork { w, st } = fw;
    st.value = 0.0;
    st.grad.fill(0.0);
    st.hits.fill(0);
    st.taken.fill(false);
    st.samples.clear();
    st.event_s.clear();
    st.missing_running = false;
    let mut aug = ForwardAugment {
        n,
        m,
        t0,
        loss,
        opts,
        fw: st,
    };
    run(model, p, t0, t_end, stops, opts, &mut aug, w, false)?;
    if std::mem::take(&mut st.missing_running) {
        return Err(Error::MissingLossTerm {
            part: "running",
            index: 0,
        });
    }
    let obs = if st.record { &[][..] } else { stops };
    check_differentiable(&w.events, w.near_misses(), obs, opts)?;
    if st.record {
        return Ok(());
    }
    for (j, sel) in loss.event_selectors().iter().enumerate() {
        if !st.taken[j] && sel.occurrence != Occurrence::Every {
            return Err(Error::MissingEvent {
                index: j,
                selector: format!("{sel:?}"),
                available: st.hits[j],
            });
        }
        if sel.occurrence == Occurrence::Last {
            let slot = &st.last[j * (1 + m)..(j + 1) * (1 + m)];
            st.value += slot[0];
            st.grad
                .iter_mut()
                .zip(&slot[1..])
                .for_each(|(g, c)| *g += c);
        }
    }
    let nm = n * m;
    if st.running {
        st.value += w.z[n + nm];
        for j in 0..m {
            st.grad[j] += w.z[n + nm + 1 + j];
        }
    }
    if !st.value.is_finite() {
        return Err(Error::NonFinite {
            what: "loss".into(),
            t: t_end,
        });
    }
    if let Some(j) = st.grad.iter().position(|g| !g.is_finite()) {
        return Err(Error::NonFinite {
            what: format!("gradient component {j}"),
            t: t0,
        });
    }
    Ok(())
}
