//! Derivative products of a model: the [`Derivatives`] trait, its dual-number defaults, and the
//! partials the jump conditions need (docs/maths.md §2-§3).
//!
//! Every product is obtained by evaluating the model's own generic methods on forward-mode dual
//! numbers (`num_dual::Dual64`), one seed direction per evaluation, in scratch lent by the caller
//! ([`Duals`]): nothing here allocates once the scratch has grown to the model's size. Matrices
//! are dense and column-major: entry `(i, j)` of an `r × c` matrix is at `i + r * j`.

use crate::HybridSystem;
use num_dual::Dual64;

/// Where a derivative product is evaluated: mode `q`, time `t`, state `x`, parameters `p`.
#[derive(Debug, Clone, Copy)]
pub struct At<'a> {
    /// Discrete mode.
    pub q: usize,
    /// Time.
    pub t: f64,
    /// State (length `n`).
    pub x: &'a [f64],
    /// Parameters (length `m`).
    pub p: &'a [f64],
}

/// Dual-number scratch for derivative products, owned by the solver and lent to every product.
#[derive(Debug, Clone, Default)]
pub struct Duals {
    x: Vec<Dual64>,
    p: Vec<Dual64>,
    out: Vec<Dual64>,
}

impl Duals {
    /// Scratch for a model of `n` states and `m` parameters.
    pub fn new(n: usize, m: usize) -> Self {
        Self {
            x: vec![Dual64::new(0.0, 0.0); n],
            p: vec![Dual64::new(0.0, 0.0); m],
            out: vec![Dual64::new(0.0, 0.0); n.max(1)],
        }
    }

    /// Seed `x` and `p` with derivative parts zero; size the output for `r` values.
    fn seed(&mut self, x: &[f64], p: &[f64], r: usize) {
        self.x.clear();
        self.x.extend(x.iter().map(|&v| Dual64::new(v, 0.0)));
        self.p.clear();
        self.p.extend(p.iter().map(|&v| Dual64::new(v, 0.0)));
        self.out.clear();
        self.out.resize(r.max(1), Dual64::new(0.0, 0.0));
    }
}

/// Jacobian-vector and vector-Jacobian products of the flow and the jumps, as the forward
/// sensitivities (`*_jvp`, docs/maths.md §2) and the adjoint (`*_vjp`, §3) use them.
///
/// Every method has a dual-number default ([`ad_flow_jvp`], …): `impl Derivatives for MyModel {}`
/// is all a model needs. A large model overrides the products its structure makes cheap (a jump
/// that touches two components of a thousand); the test kit (`hybrid_testkit::check_derivatives`)
/// checks every override against the default. Wrappers forward to the wrapped model's
/// implementation, so overrides are kept.
pub trait Derivatives: HybridSystem + Sized {
    /// Whether the flow depends on the parameters at all (`f_p ≢ 0`). Default: `true`. A model
    /// whose parameters enter only its jumps and initial state (spiking networks: the weights)
    /// returns `false`, and the adjoint skips the quadrature `μ = ∫ λᵀ f_p dt` (docs/maths.md
    /// §3), integrating `n` components backwards instead of `n + m`. The test kit checks the
    /// claim (`f_p = 0`).
    fn flow_depends_on_parameters(&self) -> bool {
        true
    }

    /// `f_x S + f_p` (`n × m`, column-major, into `out`) for the `n × m` sensitivity `s`.
    /// Default: [`ad_flow_jvp`], `m` flow evaluations.
    fn flow_jvp(&self, at: At<'_>, s: &[f64], out: &mut [f64], ad: &mut Duals) {
        ad_flow_jvp(self, at, s, out, ad)
    }

    /// `λᵀ f_x` (into `out_x`, length `n`) and `λᵀ f_p` (into `out_p`, length `m`).
    /// Default: [`ad_flow_vjp`], `n + m` flow evaluations.
    fn flow_vjp(
        &self,
        at: At<'_>,
        lambda: &[f64],
        out_x: &mut [f64],
        out_p: &mut [f64],
        ad: &mut Duals,
    ) {
        ad_flow_vjp(self, at, lambda, out_x, out_p, ad)
    }

    /// `h_x S + h_p` of guard jump `k` at `x⁻` (`n × m` into `out`). Default: [`ad_jump_jvp`],
    /// `m` jump evaluations.
    fn jump_jvp(&self, k: usize, at: At<'_>, s: &[f64], out: &mut [f64], ad: &mut Duals) {
        ad_jump_jvp(self, Jump::Guard(k), at, s, out, ad)
    }

    /// `λᵀ h_x` (into `out_x`) and `λᵀ h_p` (into `out_p`) of guard jump `k` at `x⁻`. Default:
    /// [`ad_jump_vjp`], `n + m` jump evaluations.
    fn jump_vjp(
        &self,
        k: usize,
        at: At<'_>,
        lambda: &[f64],
        out_x: &mut [f64],
        out_p: &mut [f64],
        ad: &mut Duals,
    ) {
        ad_jump_vjp(self, Jump::Guard(k), at, lambda, out_x, out_p, ad)
    }

    /// [`Self::jump_jvp`] of scheduled jump `i`.
    fn scheduled_jump_jvp(&self, i: usize, at: At<'_>, s: &[f64], out: &mut [f64], ad: &mut Duals) {
        ad_jump_jvp(self, Jump::Scheduled(i), at, s, out, ad)
    }

    /// [`Self::jump_vjp`] of scheduled jump `i`.
    fn scheduled_jump_vjp(
        &self,
        i: usize,
        at: At<'_>,
        lambda: &[f64],
        out_x: &mut [f64],
        out_p: &mut [f64],
        ad: &mut Duals,
    ) {
        ad_jump_vjp(self, Jump::Scheduled(i), at, lambda, out_x, out_p, ad)
    }
}

impl<M: Derivatives> Derivatives for &M {
    fn flow_depends_on_parameters(&self) -> bool {
        (**self).flow_depends_on_parameters()
    }
    fn flow_jvp(&self, at: At<'_>, s: &[f64], out: &mut [f64], ad: &mut Duals) {
        (**self).flow_jvp(at, s, out, ad)
    }
    fn flow_vjp(&self, at: At<'_>, l: &[f64], ox: &mut [f64], op: &mut [f64], ad: &mut Duals) {
        (**self).flow_vjp(at, l, ox, op, ad)
    }
    fn jump_jvp(&self, k: usize, at: At<'_>, s: &[f64], out: &mut [f64], ad: &mut Duals) {
        (**self).jump_jvp(k, at, s, out, ad)
    }
    fn jump_vjp(
        &self,
        k: usize,
        at: At<'_>,
        l: &[f64],
        ox: &mut [f64],
        op: &mut [f64],
        ad: &mut Duals,
    ) {
        (**self).jump_vjp(k, at, l, ox, op, ad)
    }
    fn scheduled_jump_jvp(&self, i: usize, at: At<'_>, s: &[f64], out: &mut [f64], ad: &mut Duals) {
        (**self).scheduled_jump_jvp(i, at, s, out, ad)
    }
    fn scheduled_jump_vjp(
        &self,
        i: usize,
        at: At<'_>,
        l: &[f64],
        ox: &mut [f64],
        op: &mut [f64],
        ad: &mut Duals,
    ) {
        (**self).scheduled_jump_vjp(i, at, l, ox, op, ad)
    }
}

/// Which jump map: guard `k`'s or scheduled event `i`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jump {
    /// The jump of guard `k`.
    Guard(usize),
    /// The jump of scheduled event `i`.
    Scheduled(usize),
}

fn eval_jump<M: HybridSystem>(model: &M, jump: Jump, q: usize, t: Dual64, ad: &mut Duals) {
    match jump {
        Jump::Guard(k) => model.jump(q, k, t, &ad.x, &ad.p, &mut ad.out),
        Jump::Scheduled(i) => model.scheduled_jump(i, t, &ad.x, &ad.p, &mut ad.out),
    }
}

/// `f_x S + f_p` by dual numbers: one flow evaluation per parameter, seeded with `(S_j, e_j)`.
pub fn ad_flow_jvp<M: HybridSystem>(
    model: &M,
    at: At<'_>,
    s: &[f64],
    out: &mut [f64],
    ad: &mut Duals,
) {
    let (n, m) = (at.x.len(), at.p.len());
    ad.seed(at.x, at.p, n);
    let t = Dual64::new(at.t, 0.0);
    for j in 0..m {
        for i in 0..n {
            ad.x[i].eps = s[i + n * j];
        }
        ad.p[j].eps = 1.0;
        model.flow(at.q, t, &ad.x, &ad.p, &mut ad.out);
        ad.p[j].eps = 0.0;
        for i in 0..n {
            out[i + n * j] = ad.out[i].eps;
        }
    }
}

/// `(λᵀ f_x, λᵀ f_p)` by dual numbers: one flow evaluation per state and per parameter.
pub fn ad_flow_vjp<M: HybridSystem>(
    model: &M,
    at: At<'_>,
    lambda: &[f64],
    out_x: &mut [f64],
    out_p: &mut [f64],
    ad: &mut Duals,
) {
    let (n, m) = (at.x.len(), at.p.len());
    ad.seed(at.x, at.p, n);
    let t = Dual64::new(at.t, 0.0);
    let dot = |o: &[Dual64]| o.iter().zip(lambda).map(|(f, l)| f.eps * l).sum::<f64>();
    for j in 0..n {
        ad.x[j].eps = 1.0;
        model.flow(at.q, t, &ad.x, &ad.p, &mut ad.out);
        ad.x[j].eps = 0.0;
        out_x[j] = dot(&ad.out);
    }
    for j in 0..m {
        ad.p[j].eps = 1.0;
        model.flow(at.q, t, &ad.x, &ad.p, &mut ad.out);
        ad.p[j].eps = 0.0;
        out_p[j] = dot(&ad.out);
    }
}

/// `h_x S + h_p` of a jump at `x⁻` by dual numbers: one jump evaluation per parameter.
pub fn ad_jump_jvp<M: HybridSystem>(
    model: &M,
    jump: Jump,
    at: At<'_>,
    s: &[f64],
    out: &mut [f64],
    ad: &mut Duals,
) {
    let (n, m) = (at.x.len(), at.p.len());
    ad.seed(at.x, at.p, n);
    let t = Dual64::new(at.t, 0.0);
    for j in 0..m {
        for i in 0..n {
            ad.x[i].eps = s[i + n * j];
        }
        ad.p[j].eps = 1.0;
        eval_jump(model, jump, at.q, t, ad);
        ad.p[j].eps = 0.0;
        for i in 0..n {
            out[i + n * j] = ad.out[i].eps;
        }
    }
}

/// `(λᵀ h_x, λᵀ h_p)` of a jump at `x⁻` by dual numbers: one jump evaluation per state and per
/// parameter.
pub fn ad_jump_vjp<M: HybridSystem>(
    model: &M,
    jump: Jump,
    at: At<'_>,
    lambda: &[f64],
    out_x: &mut [f64],
    out_p: &mut [f64],
    ad: &mut Duals,
) {
    let (n, m) = (at.x.len(), at.p.len());
    ad.seed(at.x, at.p, n);
    let t = Dual64::new(at.t, 0.0);
    let dot = |o: &[Dual64]| o.iter().zip(lambda).map(|(f, l)| f.eps * l).sum::<f64>();
    for j in 0..n {
        ad.x[j].eps = 1.0;
        eval_jump(model, jump, at.q, t, ad);
        ad.x[j].eps = 0.0;
        out_x[j] = dot(&ad.out);
    }
    for j in 0..m {
        ad.p[j].eps = 1.0;
        eval_jump(model, jump, at.q, t, ad);
        ad.p[j].eps = 0.0;
        out_p[j] = dot(&ad.out);
    }
}

/// `h_t + h_x f` of a jump at `(t, x⁻)`, by one dual evaluation along `(1, f, 0)`: how the
/// post-jump state moves when the event time moves along the flow `f`. Into `out` (length `n`).
pub fn jump_rate<M: HybridSystem>(
    model: &M,
    jump: Jump,
    at: At<'_>,
    f: &[f64],
    out: &mut [f64],
    ad: &mut Duals,
) {
    ad.seed(at.x, at.p, at.x.len());
    ad.x.iter_mut().zip(f).for_each(|(d, &v)| d.eps = v);
    eval_jump(model, jump, at.q, Dual64::new(at.t, 1.0), ad);
    out.iter_mut().zip(&ad.out).for_each(|(o, d)| *o = d.eps);
}

/// Value, `∂g/∂t`, `∂g/∂x` (into `g_x`) and `∂g/∂p` (into `g_p`) of guard `k` at `at`:
/// `1 + n + m` dual evaluations. Returns `(g, g_t)`.
pub fn guard_partials<M: HybridSystem>(
    model: &M,
    k: usize,
    at: At<'_>,
    g_x: &mut [f64],
    g_p: &mut [f64],
    ad: &mut Duals,
) -> (f64, f64) {
    ad.seed(at.x, at.p, 1);
    let q = at.q;
    let g = model.guard(q, k, Dual64::new(at.t, 1.0), &ad.x, &ad.p);
    for j in 0..at.x.len() {
        ad.x[j].eps = 1.0;
        g_x[j] = model.guard(q, k, Dual64::new(at.t, 0.0), &ad.x, &ad.p).eps;
        ad.x[j].eps = 0.0;
    }
    for j in 0..at.p.len() {
        ad.p[j].eps = 1.0;
        g_p[j] = model.guard(q, k, Dual64::new(at.t, 0.0), &ad.x, &ad.p).eps;
        ad.p[j].eps = 0.0;
    }
    (g.re, g.eps)
}

/// `∂x0/∂p` (`n × m`, column-major, into `out`): one evaluation per parameter.
pub fn initial_state_jacobian<M: HybridSystem>(
    model: &M,
    p: &[f64],
    out: &mut [f64],
    ad: &mut Duals,
) {
    let n = model.dims().states;
    ad.seed(&[], p, n);
    for j in 0..p.len() {
        ad.p[j].eps = 1.0;
        model.initial_state(&ad.p, &mut ad.out[..n]);
        ad.p[j].eps = 0.0;
        for i in 0..n {
            out[i + n * j] = ad.out[i].eps;
        }
    }
}

/// `λᵀ ∂x0/∂p` (into `out`, length `m`): one evaluation per parameter.
pub fn initial_state_vjp<M: HybridSystem>(
    model: &M,
    p: &[f64],
    lambda: &[f64],
    out: &mut [f64],
    ad: &mut Duals,
) {
    let n = model.dims().states;
    ad.seed(&[], p, n);
    for j in 0..p.len() {
        ad.p[j].eps = 1.0;
        model.initial_state(&ad.p, &mut ad.out[..n]);
        ad.p[j].eps = 0.0;
        out[j] = ad.out[..n].iter().zip(lambda).map(|(d, l)| d.eps * l).sum();
    }
}
