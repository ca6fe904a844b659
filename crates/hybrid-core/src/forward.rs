//! Forward sensitivities `S = ∂x/∂p` integrated with the state, with the jump rule at every event
//! (docs/maths.md §2), and the loss gradient they give.

use crate::engine::{run, with_stepper, Augment};
use crate::event_partials::{event_partials, event_time_partials};
use crate::events::checks::{check_differentiable, refusal};
use crate::loss::scalar_partials;
use crate::ode::StepStats;
use crate::trajectory::{max_grazing, min_abs_gdot, EventRecord};
use crate::{derivatives, Error, Gradient, HybridSystem, Loss, SolverOptions};
use num_dual::Dual64;

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

/// Result of [`forward_sensitivities`].
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

/// A loss with no terms, for sensitivities without a loss.
pub(crate) struct NoLoss;
impl Loss for NoLoss {}

struct ForwardAugment<'a, L: Loss + ?Sized> {
    n: usize,
    m: usize,
    loss: &'a L,
    opts: SolverOptions,
    value: f64,
    grad: Vec<f64>,
    samples: Vec<SensitivitySample>,
    event_s: Vec<(Vec<f64>, Vec<f64>)>,
    record_samples: bool,
    selector_hits: Vec<usize>,
    selector_done: Vec<bool>,
    xd: Vec<Dual64>,
    pd: Vec<Dual64>,
}

impl<'a, L: Loss + ?Sized> ForwardAugment<'a, L> {
    fn new(n: usize, m: usize, loss: &'a L, opts: &SolverOptions) -> Self {
        let k = loss.event_selectors().len();
        Self {
            n,
            m,
            loss,
            opts: *opts,
            value: 0.0,
            grad: vec![0.0; m],
            samples: Vec::new(),
            event_s: Vec::new(),
            record_samples: false,
            selector_hits: vec![0; k],
            selector_done: vec![false; k],
            xd: vec![Dual64::new(0.0, 0.0); n],
            pd: vec![Dual64::new(0.0, 0.0); m],
        }
    }
}

impl<M: HybridSystem + ?Sized, L: Loss + ?Sized> Augment<M> for ForwardAugment<'_, L> {
    fn extra(&self) -> usize {
        // S, then the running loss and its gradient ∫ (ℓ_x S + ℓ_p) dt.
        self.n * self.m
            + if self.loss.has_running() {
                1 + self.m
            } else {
                0
            }
    }

    fn init(&mut self, model: &M, p: &[f64], _x0: &[f64], z: &mut [f64]) -> Result<(), Error> {
        let s0 = derivatives::initial_state_jacobian(model, p);
        z[..self.n * self.m].copy_from_slice(&s0);
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
        let nm = self.n * self.m;
        let (s, rest) = z.split_at(nm);
        let (ds, drest) = dz.split_at_mut(nm);
        model.flow_sensitivity(q, t, x, p, s, ds);
        if self.loss.has_running() {
            let td = Dual64::new(t, 0.0);
            for (d, &v) in self.xd.iter_mut().zip(x) {
                *d = Dual64::new(v, 0.0);
            }
            for (d, &v) in self.pd.iter_mut().zip(p) {
                *d = Dual64::new(v, 0.0);
            }
            drest[0] = self.loss.running(t, x, p);
            // ℓ_x S_j + ℓ_p,j by one dual evaluation per parameter.
            for j in 0..self.m {
                for i in 0..self.n {
                    self.xd[i].eps = s[i + self.n * j];
                }
                self.pd[j].eps = 1.0;
                drest[1 + j] = self.loss.running(td, &self.xd, &self.pd).eps;
                self.pd[j].eps = 0.0;
            }
            let _ = rest;
        }
    }

    fn event(
        &mut self,
        model: &M,
        p: &[f64],
        record: &EventRecord,
        z: &mut [f64],
    ) -> Result<(), Error> {
        let (n, m) = (self.n, self.m);
        let refused = record
            .guard()
            .is_some_and(|k| refusal(record, k, &self.opts).is_some());
        if refused {
            // Not differentiable: the pass is refused once the run ends (`check_differentiable`,
            // which names the first such event); keep `S` finite until then.
            self.event_s
                .push((z[..n * m].to_vec(), z[..n * m].to_vec()));
            return Ok(());
        }
        let ep = event_partials(model, Some(self.loss), p, record, true);
        let s_minus = z[..n * m].to_vec();
        // dτ/dp = −(g_x S⁻ + g_p)/ġ (zero for scheduled events).
        let dtau: Vec<f64> = (0..m)
            .map(|j| {
                if !ep.located {
                    return 0.0;
                }
                let gs: f64 = (0..n).map(|i| ep.g_x[i] * s_minus[i + n * j]).sum();
                -(gs + ep.g_p[j]) / ep.gdot
            })
            .collect();
        // S⁺ = h_x S⁻ + h_p + (h_t + h_x f⁻ − f⁺) dτ/dp.
        for j in 0..m {
            for i in 0..n {
                let hs: f64 = (0..n).map(|l| ep.h_x[i + n * l] * s_minus[l + n * j]).sum();
                z[i + n * j] = hs + ep.h_p[i + n * j] + ep.v[i] * dtau[j];
            }
        }
        if self.loss.has_running() {
            for j in 0..m {
                z[n * m + 1 + j] += ep.dl_running * dtau[j];
            }
        }
        for (sel_j, sel) in self.loss.event_selectors().iter().enumerate() {
            if !sel.matches(record) {
                continue;
            }
            if self.selector_hits[sel_j] == sel.occurrence {
                let (v, d_tau, d_p) = event_time_partials(self.loss, sel_j, record.t, p);
                self.value += v;
                for j in 0..m {
                    self.grad[j] += d_tau * dtau[j] + d_p[j];
                }
                self.selector_done[sel_j] = true;
            }
            self.selector_hits[sel_j] += 1;
        }
        self.event_s.push((s_minus, z[..n * m].to_vec()));
        Ok(())
    }

    fn stop(
        &mut self,
        _model: &M,
        p: &[f64],
        i: usize,
        t: f64,
        x: &[f64],
        z: &[f64],
    ) -> Result<(), Error> {
        let (n, m) = (self.n, self.m);
        let s = &z[..n * m];
        if !self.record_samples {
            let (v, _, phi_x, phi_p) =
                scalar_partials(t, x, p, |_, xd, pd| self.loss.observation(i, xd, pd));
            self.value += v;
            for j in 0..m {
                self.grad[j] += phi_p[j] + (0..n).map(|l| phi_x[l] * s[l + n * j]).sum::<f64>();
            }
        } else {
            self.samples.push(SensitivitySample {
                t,
                x: x.to_vec(),
                s: s.to_vec(),
            });
        }
        Ok(())
    }
}

fn run_forward<'a, M: HybridSystem + ?Sized, L: Loss + ?Sized>(
    model: &M,
    p: &[f64],
    t0: f64,
    t_end: f64,
    stops: &[f64],
    loss: &'a L,
    record_samples: bool,
    opts: &SolverOptions,
) -> Result<(ForwardAugment<'a, L>, crate::engine::Run), Error> {
    let dims = model.dims();
    let mut aug = ForwardAugment::new(dims.states, dims.params, loss, opts);
    aug.record_samples = record_samples;
    let r = with_stepper!(opts.integrator, S => run::<M, _, S>(model, p, t0, t_end, stops, opts, &mut aug, false)?);
    Ok((aug, r))
}

/// Integrate `x` and `S = ∂x/∂p` from `t0` to `t_end` (docs/maths.md §2: `Ṡ = f_x S + f_p`, and
/// `S⁺ = h_x S⁻ + h_p + (h_t + h_x f⁻ − f⁺) dτ/dp` at every event), sampling `(x, S)` at
/// `sample_times` (sorted, within the span).
///
/// Fails with [`Error::GrazingEvent`] when an event's grazing index exceeds
/// `opts.grazing_limit`, and with [`Error::EventAtRestart`] for an event that fired the instant
/// its guard was released: the sensitivities are not defined there. A sample time that coincides
/// with an event sees the state and sensitivities after the jump.
pub fn forward_sensitivities<M: HybridSystem + ?Sized>(
    model: &M,
    p: &[f64],
    t0: f64,
    t_end: f64,
    sample_times: &[f64],
    opts: &SolverOptions,
) -> Result<Sensitivities, Error> {
    let (aug, r) = run_forward(model, p, t0, t_end, sample_times, &NoLoss, true, opts)?;
    check_differentiable(&r.events, &r.near_misses, &[], opts)?;
    Ok(Sensitivities {
        samples: aug.samples,
        event_sensitivities: aug.event_s,
        min_abs_gdot: min_abs_gdot(&r.events),
        max_grazing: max_grazing(&r.events),
        events: r.events,
        stats: r.stats,
    })
}

/// `dL/dp` from forward sensitivities (docs/maths.md §2, "The loss gradient"): one extra `n × m` system.
/// Cheap for few parameters; see [`crate::adjoint_gradient`] for many.
pub fn forward_gradient<M: HybridSystem + ?Sized, L: Loss + ?Sized>(
    model: &M,
    p: &[f64],
    t0: f64,
    t_end: f64,
    loss: &L,
    opts: &SolverOptions,
) -> Result<Gradient, Error> {
    let (mut aug, r) = run_forward(
        model,
        p,
        t0,
        t_end,
        loss.observation_times(),
        loss,
        false,
        opts,
    )?;
    check_differentiable(&r.events, &r.near_misses, loss.observation_times(), opts)?;
    if let Some(j) = aug.selector_done.iter().position(|d| !d) {
        let selector = format!("{:?}", loss.event_selectors()[j]);
        return Err(Error::MissingEvent {
            index: j,
            selector,
            available: aug.selector_hits[j],
        });
    }
    let nm = model.dims().states * model.dims().params;
    if loss.has_running() {
        aug.value += r.z_end[model.dims().states + nm];
        for j in 0..aug.m {
            aug.grad[j] += r.z_end[model.dims().states + nm + 1 + j];
        }
    }
    if !aug.value.is_finite() {
        return Err(Error::NonFinite {
            what: "loss".into(),
            t: t_end,
        });
    }
    if let Some(j) = aug.grad.iter().position(|g| !g.is_finite()) {
        return Err(Error::NonFinite {
            what: format!("gradient component {j}"),
            t: t0,
        });
    }
    Ok(Gradient {
        loss: aug.value,
        gradient: aug.grad,
        min_abs_gdot: min_abs_gdot(&r.events),
        max_grazing: max_grazing(&r.events),
        events: r.events,
        stats: r.stats,
    })
}
