//! The adjoint `λ(s)` at chosen times, read off a gradient: kick state component `c` by a
//! parameter `ε` (nominally 0) at the fixed time `s`; the kick is a scheduled jump with `h_x = 1`
//! and `h_p = e_c`, so `docs/maths.md` §"6. Scheduled events" gives `dL/dε = λ_c(s)` (`λ` is continuous across
//! it). Used to plot the paper's Fig. 2 panels D–G from the generic adjoint.

use hybrid_core::{
    adjoint_gradient, At, Crossing, Derivatives, Dims, Duals, Error, Gradient, HybridSystem, Loss,
    Scalar, SolverOptions,
};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Scheduled {
    Inner(usize),
    Probe(usize),
}

/// `model` with one extra parameter per probe `(s_k, c_k)`: a scheduled jump `x_{c_k} += p[m + k]`
/// at `s_k`, where `m` is `model`'s parameter count. With the extra parameters at 0 it is the
/// same system, and the gradient with respect to them is `λ_{c_k}(s_k)`.
///
/// The loss sees the full parameter vector (the model's parameters first).
#[derive(Debug)]
pub struct AdjointProbes<'a, M> {
    inner: &'a M,
    m: usize,
    probes: Vec<(f64, usize)>,
    times: Vec<f64>,
    merged: Vec<Scheduled>,
}

impl<'a, M: HybridSystem> AdjointProbes<'a, M> {
    /// Wraps `inner` with probes `(time, state component)`. Returns
    /// [`Error::InvalidTime`] for a non-finite probe time and [`Error::WrongLength`] for a
    /// component `>= n`.
    pub fn new(inner: &'a M, probes: &[(f64, usize)]) -> Result<Self, Error> {
        let dims = inner.dims();
        for &(t, c) in probes {
            if !t.is_finite() {
                return Err(Error::InvalidTime {
                    what: "adjoint probe",
                    t,
                    t0: f64::NEG_INFINITY,
                    t_end: f64::INFINITY,
                });
            }
            if c >= dims.states {
                return Err(Error::WrongLength {
                    what: "adjoint probe component (as index)",
                    expected: dims.states,
                    got: c,
                });
            }
        }
        let mut all: Vec<(f64, Scheduled)> = inner
            .scheduled_times()
            .iter()
            .enumerate()
            .map(|(i, &t)| (t, Scheduled::Inner(i)))
            .chain(
                probes
                    .iter()
                    .enumerate()
                    .map(|(k, &(t, _))| (t, Scheduled::Probe(k))),
            )
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        Ok(Self {
            inner,
            m: dims.params,
            probes: probes.to_vec(),
            times: all.iter().map(|a| a.0).collect(),
            merged: all.into_iter().map(|a| a.1).collect(),
        })
    }
}

impl<M: HybridSystem> HybridSystem for AdjointProbes<'_, M> {
    fn dims(&self) -> Dims {
        let d = self.inner.dims();
        Dims {
            params: self.m + self.probes.len(),
            ..d
        }
    }
    fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) {
        self.inner.initial_state(&p[..self.m], x0)
    }
    fn flow<T: Scalar>(&self, q: usize, t: T, x: &[T], p: &[T], dx: &mut [T]) {
        self.inner.flow(q, t, x, &p[..self.m], dx)
    }
    fn guard<T: Scalar>(&self, q: usize, k: usize, t: T, x: &[T], p: &[T]) -> T {
        self.inner.guard(q, k, t, x, &p[..self.m])
    }
    fn direction(&self, q: usize, k: usize) -> Crossing {
        self.inner.direction(q, k)
    }
    fn jump<T: Scalar>(&self, q: usize, k: usize, t: T, x: &[T], p: &[T], xp: &mut [T]) {
        self.inner.jump(q, k, t, x, &p[..self.m], xp)
    }
    fn initial_mode(&self) -> usize {
        self.inner.initial_mode()
    }
    fn next_mode(&self, q: usize, k: usize) -> usize {
        self.inner.next_mode(q, k)
    }
    fn guard_active(&self, q: usize, k: usize) -> bool {
        self.inner.guard_active(q, k)
    }
    fn scheduled_times(&self) -> &[f64] {
        &self.times
    }
    fn scheduled_jump<T: Scalar>(&self, i: usize, t: T, x: &[T], p: &[T], xp: &mut [T]) {
        match self.merged[i] {
            Scheduled::Inner(j) => self.inner.scheduled_jump(j, t, x, &p[..self.m], xp),
            Scheduled::Probe(k) => {
                xp.copy_from_slice(x);
                xp[self.probes[k].1] += p[self.m + k];
            }
        }
    }
}

/// The model's own vector-Jacobian products and guard gradient (the adjoint's), with the probes'
/// parameters, which enter no flow, no guard, no guard jump and not the initial state,
/// contributing zero; the forward products keep the dual defaults.
impl<M: Derivatives> Derivatives for AdjointProbes<'_, M> {
    fn flow_vjp(
        &self,
        at: At<'_>,
        lambda: &[f64],
        out_x: &mut [f64],
        out_p: &mut [f64],
        ad: &mut Duals,
    ) {
        // An empty `out_p` (not wanted: the model's flow reads no parameter) stays empty.
        let (model_p, probe_p) = out_p.split_at_mut(self.m.min(out_p.len()));
        let at = At {
            p: &at.p[..self.m],
            ..at
        };
        self.inner.flow_vjp(at, lambda, out_x, model_p, ad);
        probe_p.fill(0.0);
    }

    /// The probes enter no flow: the flow reads parameters exactly when the model's does.
    fn flow_depends_on_parameters(&self) -> bool {
        self.inner.flow_depends_on_parameters()
    }

    fn guard_depends_on_parameters(&self) -> bool {
        self.inner.guard_depends_on_parameters()
    }

    fn guard_gradient(
        &self,
        k: usize,
        at: At<'_>,
        g_x: &mut [f64],
        g_p: &mut [f64],
        ad: &mut Duals,
    ) -> (f64, f64) {
        // An empty `g_p` (not wanted) stays empty.
        let (model_p, probe_p) = g_p.split_at_mut(self.m.min(g_p.len()));
        let at = At {
            p: &at.p[..self.m],
            ..at
        };
        probe_p.fill(0.0);
        self.inner.guard_gradient(k, at, g_x, model_p, ad)
    }

    fn initial_state_vjp(&self, p: &[f64], lambda: &[f64], out: &mut [f64], ad: &mut Duals) {
        let (model_p, probe_p) = out.split_at_mut(self.m);
        self.inner
            .initial_state_vjp(&p[..self.m], lambda, model_p, ad);
        probe_p.fill(0.0);
    }

    fn jump_vjp(
        &self,
        k: usize,
        at: At<'_>,
        lambda: &[f64],
        out_x: &mut [f64],
        out_p: &mut [f64],
        ad: &mut Duals,
    ) {
        let (model_p, probe_p) = out_p.split_at_mut(self.m);
        let at = At {
            p: &at.p[..self.m],
            ..at
        };
        self.inner.jump_vjp(k, at, lambda, out_x, model_p, ad);
        probe_p.fill(0.0);
    }

    fn scheduled_jump_vjp(
        &self,
        i: usize,
        at: At<'_>,
        lambda: &[f64],
        out_x: &mut [f64],
        out_p: &mut [f64],
        ad: &mut Duals,
    ) {
        let (model_p, probe_p) = out_p.split_at_mut(self.m);
        probe_p.fill(0.0);
        match self.merged[i] {
            Scheduled::Inner(j) => {
                let at = At {
                    p: &at.p[..self.m],
                    ..at
                };
                self.inner
                    .scheduled_jump_vjp(j, at, lambda, out_x, model_p, ad);
            }
            Scheduled::Probe(k) => {
                out_x.copy_from_slice(lambda);
                model_p.fill(0.0);
                probe_p[k] = lambda[self.probes[k].1];
            }
        }
    }
}

/// The adjoint gradient of the model's parameters and the adjoint at the probes.
#[derive(Debug, Clone)]
pub struct AdjointTrace {
    /// `dL/dp` of the model's parameters, with the diagnostics of the simulation.
    pub gradient: Gradient,
    /// `λ_{c_k}(s_k)`, one per probe, in the order given (the convention of `docs/maths.md` §"3. The adjoint, derived").
    pub lambda: Vec<f64>,
}

/// [`adjoint_gradient`] of `model`, plus `λ_{c_k}(s_k)` for every probe `(s_k, c_k)` (times within
/// `[t0, t_end]`). At an event time the probe acts after that time's scheduled jumps of the model
/// that come before it in time order; `λ` of a component the event does not change is continuous
/// there. Costs one adjoint pass with one extra quadrature per probe.
pub fn adjoint_at<M: Derivatives, L: Loss>(
    model: &M,
    p: &[f64],
    t0: f64,
    t_end: f64,
    loss: &L,
    opts: &SolverOptions,
    probes: &[(f64, usize)],
) -> Result<AdjointTrace, Error> {
    if let Some(&(t, _)) = probes.iter().find(|(t, _)| !(t0..=t_end).contains(t)) {
        return Err(Error::InvalidTime {
            what: "adjoint probe",
            t,
            t0,
            t_end,
        });
    }
    let wrapped = AdjointProbes::new(model, probes)?;
    let mut pp = p.to_vec();
    pp.resize(p.len() + probes.len(), 0.0);
    let mut g = adjoint_gradient(&wrapped, &pp, t0, t_end, loss, opts)?;
    let lambda = g.gradient.split_off(p.len());
    Ok(AdjointTrace {
        gradient: g,
        lambda,
    })
}
