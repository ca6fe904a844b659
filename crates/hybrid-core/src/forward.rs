//! Forward sensitivities `S = ∂x/∂p` integrated with the state, with the jump rule at every event
//! (docs/maths.md §2), and the loss gradient they give. For a model whose flow Jacobians are
//! declared free of the state and of time (and no running loss), `S` does not ride on the steps:
//! the steps carry the state alone, and `S` crosses each interval between events and stops by the
//! exact propagator of `Ṡ = f_x S + f_p` ([`SensitivityPropagator`]).

use crate::constant_jacobian::SensitivityPropagator;
use crate::derivatives::{initial_state_jacobian, At, Duals};
use crate::engine::{run, Augment, Workspace};
use crate::event_partials::{dot, EventPartials};
use crate::events::checks::{check_differentiable, refusal};
use crate::loss::{LossDuals, Occurrence};
use crate::ode::{StepStats, Stepper};
use crate::trajectory::{EventKind, EventRecord};
use crate::{Derivatives, Error, Loss, SolverOptions};

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

/// The augment of one forward run: the buffers and the loss.
struct ForwardAugment<'a, L: Loss> {
    n: usize,
    m: usize,
    t0: f64,
    loss: &'a L,
    opts: &'a SolverOptions,
    fw: &'a mut FwdState,
}

impl<M: Derivatives, L: Loss> Augment<M> for ForwardAugment<'_, L> {
    fn extra(&self) -> usize {
        // S, then the running loss and its gradient ∫ (ℓ_x S + ℓ_p) dt; nothing when S moves
        // by its exact propagator.
        if self.fw.exact.is_some() {
            return 0;
        }
        self.n * self.m + if self.fw.running { 1 + self.m } else { 0 }
    }

    fn init(&mut self, model: &M, p: &[f64], _x0: &[f64], z: &mut [f64]) -> Result<(), Error> {
        let nm = self.n * self.m;
        self.fw.loss.set_parameters(p);
        self.fw.ep.set_parameters(p);
        if let Some(ex) = &mut self.fw.exact {
            initial_state_jacobian(model, p, &mut ex.s, &mut self.fw.duals);
            ex.t_sync = self.t0;
            ex.mode = model.initial_mode();
            // The matrices of the last run's parameters are stale.
            ex.prop.forget();
            return Ok(());
        }
        initial_state_jacobian(model, p, &mut z[..nm], &mut self.fw.duals);
        z[nm..].fill(0.0);
        Ok(())
    }

    fn rhs(
        &mut self,
        model: &M,
        q: usize,
        t: f64,
        x: &[f64],
        p: &[f64],
        z: &[f64],
        dz: &mut [f64],
    ) {
        let (n, m) = (self.n, self.m);
        let nm = n * m;
        if self.fw.exact.is_some() {
            return; // S moves by its exact propagator: nothing rides on the steps
        }
        let (s, ds) = (&z[..nm], &mut dz[..nm]);
        model.flow_jvp(At { q, t, x, p }, s, ds, &mut self.fw.duals);
        if self.fw.running {
            let fw = &mut *self.fw;
            match fw.loss.running(self.loss, t, x, p) {
                Some(l) => {
                    dz[nm] = l;
                    // ℓ_x S_j + ℓ_p,j.
                    let (l_x, l_p) = (&fw.loss.grad, &fw.loss.grad_p);
                    for j in 0..m {
                        dz[nm + 1 + j] = dot(l_x, &s[n * j..n * (j + 1)]) + l_p[j];
                    }
                }
                None => fw.missing_running = true,
            }
        }
    }

    fn event(
        &mut self,
        model: &M,
        p: &[f64],
        record: &EventRecord,
        z: &mut [f64],
    ) -> Result<(), Error> {
        let nm = self.n * self.m;
        if self.fw.exact.is_none() {
            let (s, quadrature) = z.split_at_mut(nm);
            return self.jump(model, p, record, s, quadrature);
        }
        debug_assert_eq!(
            self.fw.exact.as_ref().map(|ex| ex.mode),
            Some(record.mode_before)
        );
        self.advance(model, p, record.t, &record.x_minus)?;
        let mut ex = self.fw.exact.take().expect("exact");
        let r = self.jump(model, p, record, &mut ex.s, &mut []);
        ex.mode = record.mode_after;
        self.fw.exact = Some(ex);
        r
    }

    fn stop(
        &mut self,
        model: &M,
        p: &[f64],
        i: usize,
        t: f64,
        x: &[f64],
        z: &[f64],
    ) -> Result<(), Error> {
        let (n, m) = (self.n, self.m);
        if self.fw.exact.is_some() {
            self.advance(model, p, t, x)?;
        }
        let fw = &mut *self.fw;
        let s = match &fw.exact {
            Some(ex) => &ex.s[..],
            None => &z[..n * m],
        };
        if fw.record {
            fw.samples.push(SensitivitySample {
                t,
                x: x.to_vec(),
                s: s.to_vec(),
            });
            return Ok(());
        }
        fw.value += fw.loss.observation(self.loss, i, x, p)?;
        let (phi_x, phi_p) = (&fw.loss.grad, &fw.loss.grad_p);
        for j in 0..m {
            fw.grad[j] += phi_p[j] + dot(phi_x, &s[n * j..n * (j + 1)]);
        }
        Ok(())
    }
}

impl<L: Loss> ForwardAugment<'_, L> {
    /// `S⁻ → S⁺` in `s` (and the running loss's gradient in `quadrature`, `[L, ∇L]`, or empty)
    /// at the event of `record`.
    fn jump<M: Derivatives>(
        &mut self,
        model: &M,
        p: &[f64],
        record: &EventRecord,
        s: &mut [f64],
        quadrature: &mut [f64],
    ) -> Result<(), Error> {
        let (n, m) = (self.n, self.m);
        let fw = &mut *self.fw;
        let refused = record
            .guard()
            .is_some_and(|k| refusal(record, k, self.opts).is_some());
        if refused {
            // Not differentiable: the pass is refused once the run ends (`check_differentiable`,
            // which names the first such event); keep `S` finite until then.
            if fw.record {
                fw.event_s.push((s.to_vec(), s.to_vec()));
            }
            return Ok(());
        }
        fw.s_minus.copy_from_slice(s);
        let at = At {
            q: record.mode_before,
            t: record.t,
            x: &record.x_minus,
            p,
        };
        // S⁺ = h_x S⁻ + h_p + (h_t + h_x f⁻ − f⁺) dτ/dp, dτ/dp = −(g_x S⁻ + g_p)/ġ.
        match record.kind {
            EventKind::Scheduled(i) => {
                model.scheduled_jump_jvp(i, at, &fw.s_minus, s, &mut fw.duals);
                fw.dtau.fill(0.0);
            }
            EventKind::Guard(k) => {
                fw.ep
                    .eval(model, self.loss, fw.running, p, record, k, &mut fw.duals);
                for j in 0..m {
                    let gs = dot(&fw.ep.g_x, &fw.s_minus[n * j..n * (j + 1)]);
                    fw.dtau[j] = -(gs + fw.ep.g_p[j]) / fw.ep.gdot;
                }
                model.jump_jvp(k, at, &fw.s_minus, s, &mut fw.duals);
                for j in 0..m {
                    for i in 0..n {
                        s[i + n * j] += fw.ep.v[i] * fw.dtau[j];
                    }
                }
                if fw.running {
                    for j in 0..m {
                        quadrature[1 + j] += fw.ep.dl_running * fw.dtau[j];
                    }
                }
                event_terms(self.loss, fw, record, &*s, p, n, m)?;
            }
        }
        if fw.record {
            fw.event_s.push((fw.s_minus.clone(), s.to_vec()));
        }
        Ok(())
    }

    /// Move `S` (exact propagator) from its last time to `t`, where the state is `x` (in the
    /// current mode: the matrix of a mode met for the first time is formed there).
    fn advance<M: Derivatives>(
        &mut self,
        model: &M,
        p: &[f64],
        t: f64,
        x: &[f64],
    ) -> Result<(), Error> {
        let FwdState { exact, duals, .. } = &mut *self.fw;
        let ex = exact.as_mut().expect("exact");
        if t <= ex.t_sync {
            return Ok(());
        }
        if !ex.prop.holds(ex.mode) {
            let at = At {
                q: ex.mode,
                t,
                x,
                p,
            };
            ex.prop.form(model, at, duals);
        }
        ex.prop
            .propagate(&mut ex.s, t - ex.t_sync, t, ex.max_steps)
            .map_err(Error::from_step)?;
        ex.t_sync = t;
        Ok(())
    }
}

/// The event terms at a guard event: `dψ/dp = ψ_τ τ_p + ψ_{x⁻}(S⁻ + f⁻ τ_p) + ψ_{x⁺}(S⁺ + f⁺ τ_p)
/// + ψ_p` (docs/maths.md §2), added now (`Nth`, `Every`) or held until the run ends (`Last`).
fn event_terms<L: Loss>(
    loss: &L,
    fw: &mut FwdState,
    record: &EventRecord,
    s_plus: &[f64],
    p: &[f64],
    n: usize,
    m: usize,
) -> Result<(), Error> {
    for (j, sel) in loss.event_selectors().iter().enumerate() {
        if !sel.matches(record) {
            continue;
        }
        let count = fw.hits[j];
        fw.hits[j] += 1;
        let take = match sel.occurrence {
            Occurrence::Nth(c) => c == count,
            Occurrence::Last | Occurrence::Every => true,
        };
        if !take {
            continue;
        }
        let inputs = loss.event_term_inputs(j);
        let v = fw.loss.event_term(loss, j, record, count, p, inputs)?;
        let (d, d_p) = (&fw.loss.grad, &fw.loss.grad_p);
        let (d_tau, d_xm, d_xp) = (d[0], &d[1..1 + n], &d[1 + n..1 + 2 * n]);
        let rate = d_tau + dot(d_xm, &fw.ep.f_minus) + dot(d_xp, &fw.ep.f_plus);
        for jj in 0..m {
            let col = n * jj..n * (jj + 1);
            fw.contribution[jj] = rate * fw.dtau[jj]
                + dot(d_xm, &fw.s_minus[col.clone()])
                + dot(d_xp, &s_plus[col])
                + d_p[jj];
        }
        fw.taken[j] = true;
        if sel.occurrence == Occurrence::Last {
            let slot = &mut fw.last[j * (1 + m)..(j + 1) * (1 + m)];
            slot[0] = v;
            slot[1..].copy_from_slice(&fw.contribution);
        } else {
            fw.value += v;
            fw.grad
                .iter_mut()
                .zip(&fw.contribution)
                .for_each(|(g, c)| *g += c);
        }
    }
    Ok(())
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
