//! Derivative products of a model: the [`Derivatives`] trait, its dual-number defaults, and the
//! partials the jump conditions need (docs/maths.md §2-§3).
//!
//! Every product is obtained by evaluating the model's own generic methods on forward-mode dual
//! numbers: the flow's and the jumps' products of small models (up to 4 states and 8 seed
//! directions) by one evaluation on [`WideDual`]s carrying every direction at once, each lane
//! bit for bit the `num_dual::Dual64` evaluation of its direction; the others by `Dual64`, one
//! seed direction per evaluation, in scratch lent by the caller ([`Duals`]). Nothing here
//! allocates once the scratch has grown to the model's size. Matrices
//! are dense and column-major: entry `(i, j)` of an `r × c` matrix is at `i + r * j`.

use crate::{HybridSystem, Scalar};
use num_dual::Dual64;
use wide_dual::WideDual;

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

/// Seed the scratch `xd` with `x` and `pd` with `p` (derivative parts zero), `N` states as in
/// [`jvp_columns`]. Inlined into the kernels, so that the small sizes seed at a constant length.
#[inline(always)]
fn seed_values<const N: usize>(xd: &mut [Dual64], x: &[f64], pd: &mut [Dual64], p: &[f64]) {
    let n = if N == 0 { xd.len() } else { N };
    let (xd, x) = (&mut xd[..n], &x[..n]);
    for i in 0..n {
        xd[i] = Dual64::from_re(x[i]);
    }
    let p = &p[..pd.len()];
    for (d, &v) in pd.iter_mut().zip(p) {
        *d = Dual64::from_re(v);
    }
}

/// `F_x S + F_p` column after column (see [`Duals::jvp`]) on scratch it seeds with `x` and `p`:
/// `N` states and `R` outputs, compile-time constants for the small sizes (the loops unroll, the
/// bounds checks fold), `0` for the run-time lengths of the slices. The same operations in the
/// same order either way.
#[inline(always)]
fn jvp_columns<const N: usize, const R: usize, E>(
    xd: &mut [Dual64],
    pd: &mut [Dual64],
    o: &mut [Dual64],
    (x, p): (&[f64], &[f64]),
    s: &[f64],
    out: &mut [f64],
    eval: &mut E,
) where
    E: FnMut(&[Dual64], &[Dual64], &mut [Dual64]),
{
    seed_values::<N>(xd, x, pd, p);
    let n = if N == 0 { xd.len() } else { N };
    let r = if R == 0 { o.len() } else { R };
    let (xd, o, m) = (&mut xd[..n], &mut o[..r], pd.len());
    for j in 0..m {
        let col = &s[n * j..n * (j + 1)];
        for i in 0..n {
            xd[i].eps = col[i];
        }
        pd[j].eps = 1.0;
        eval(xd, pd, o);
        pd[j].eps = 0.0;
        let dst = &mut out[r * j..r * (j + 1)];
        for i in 0..r {
            dst[i] = o[i].eps;
        }
    }
}

/// `(λᵀ F_x, λᵀ F_p)` direction after direction (see [`Duals::vjp`]) on scratch it seeds with
/// `x` and `p`, with `N` and `R` as in [`jvp_columns`].
#[inline(always)]
fn vjp_directions<const N: usize, const R: usize, E>(
    xd: &mut [Dual64],
    pd: &mut [Dual64],
    o: &mut [Dual64],
    (x, p): (&[f64], &[f64]),
    lambda: &[f64],
    out_x: &mut [f64],
    out_p: &mut [f64],
    eval: &mut E,
) where
    E: FnMut(&[Dual64], &[Dual64], &mut [Dual64]),
{
    seed_values::<N>(xd, x, pd, p);
    let n = if N == 0 { xd.len() } else { N };
    let r = if R == 0 { o.len() } else { R };
    let (xd, o, lambda, out_x) = (&mut xd[..n], &mut o[..r], &lambda[..r], &mut out_x[..n]);
    let dot = |o: &[Dual64]| {
        let mut s = 0.0;
        for i in 0..r {
            s += o[i].eps * lambda[i];
        }
        s
    };
    for j in 0..n {
        xd[j].eps = 1.0;
        eval(xd, pd, o);
        xd[j].eps = 0.0;
        out_x[j] = dot(o);
    }
    // An empty `out_p` asks for no parameter directions.
    debug_assert!(out_p.is_empty() || out_p.len() == pd.len());
    for j in 0..out_p.len() {
        pd[j].eps = 1.0;
        eval(xd, pd, o);
        pd[j].eps = 0.0;
        out_p[j] = dot(o);
    }
}

impl Duals {
    /// `F_x S + F_p` (`r × m`, column-major, into `out`) of `F(x, p)` (`r` outputs) for the
    /// `n × m` matrix `s`, one column per evaluation of `eval(x, p, out)`. Square maps of up to
    /// 4 states (flows and jumps of small models) run on kernels of fixed size.
    fn jvp<E>(&mut self, x: &[f64], p: &[f64], s: &[f64], r: usize, out: &mut [f64], mut eval: E)
    where
        E: FnMut(&[Dual64], &[Dual64], &mut [Dual64]),
    {
        let (n, m) = (x.len(), p.len());
        self.fit(n, m, r);
        let (xd, pd, o) = (&mut self.x[..n], &mut self.p[..m], &mut self.out[..r]);
        let (e, xp) = (&mut eval, (x, p));
        match (n, r) {
            (1, 1) => jvp_columns::<1, 1, E>(xd, pd, o, xp, s, out, e),
            (2, 2) => jvp_columns::<2, 2, E>(xd, pd, o, xp, s, out, e),
            (3, 3) => jvp_columns::<3, 3, E>(xd, pd, o, xp, s, out, e),
            (4, 4) => jvp_columns::<4, 4, E>(xd, pd, o, xp, s, out, e),
            _ => jvp_columns::<0, 0, E>(xd, pd, o, xp, s, out, e),
        }
    }

    /// `(λᵀ F_x, λᵀ F_p)` of `F(x, p)` (as many outputs as `lambda`), one direction per
    /// evaluation of `eval(x, p, out)`; fixed-size kernels as in [`Self::jvp`].
    fn vjp<E>(
        &mut self,
        x: &[f64],
        p: &[f64],
        lambda: &[f64],
        out_x: &mut [f64],
        out_p: &mut [f64],
        mut eval: E,
    ) where
        E: FnMut(&[Dual64], &[Dual64], &mut [Dual64]),
    {
        let (n, m, r) = (x.len(), p.len(), lambda.len());
        self.fit(n, m, r);
        let (xd, pd, o) = (&mut self.x[..n], &mut self.p[..m], &mut self.out[..r]);
        let (e, xp) = (&mut eval, (x, p));
        match (n, r) {
            (1, 1) => vjp_directions::<1, 1, E>(xd, pd, o, xp, lambda, out_x, out_p, e),
            (2, 2) => vjp_directions::<2, 2, E>(xd, pd, o, xp, lambda, out_x, out_p, e),
            (3, 3) => vjp_directions::<3, 3, E>(xd, pd, o, xp, lambda, out_x, out_p, e),
            (4, 4) => vjp_directions::<4, 4, E>(xd, pd, o, xp, lambda, out_x, out_p, e),
            _ => vjp_directions::<0, 0, E>(xd, pd, o, xp, lambda, out_x, out_p, e),
        }
    }

    /// Scratch for a model of `n` states and `m` parameters.
    pub fn new(n: usize, m: usize) -> Self {
        let mut d = Self::default();
        d.seed(&vec![0.0; n], None, &vec![0.0; m], n.max(1));
        d
    }

    /// Size the scratch for `n` states, `m` parameters and `r` outputs (no allocation once the
    /// sizes are reached; the resize is out of line, off the path of every product).
    #[inline(always)]
    fn fit(&mut self, n: usize, m: usize, r: usize) {
        if self.x.len() != n || self.p.len() != m || self.out.len() < r.max(1) {
            self.resize(n, m, r);
        }
    }

    #[cold]
    #[inline(never)]
    fn resize(&mut self, n: usize, m: usize, r: usize) {
        let zero = Dual64::new(0.0, 0.0);
        self.x.resize(n, zero);
        self.p.resize(m, zero);
        self.out.resize(r.max(1), zero);
    }

    /// Seed `x` (derivative part `dir`, or zero) and `p` (derivative part zero); size the output
    /// for `r` values. Writes in place: no allocation once the sizes are reached.
    fn seed(&mut self, x: &[f64], dir: Option<&[f64]>, p: &[f64], r: usize) {
        self.fit(x.len(), p.len(), r);
        match dir {
            Some(dir) => {
                for ((d, &v), &e) in self.x.iter_mut().zip(x).zip(dir) {
                    *d = Dual64::new(v, e);
                }
            }
            None => {
                for (d, &v) in self.x.iter_mut().zip(x) {
                    *d = Dual64::from_re(v);
                }
            }
        }
        for (d, &v) in self.p.iter_mut().zip(p) {
            *d = Dual64::from_re(v);
        }
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

    /// Whether the flow's Jacobians `f_x` and `f_p` depend on the state at all. Default: `true`.
    /// A model whose flow is affine in the state in every mode, with a state coefficient free of
    /// the parameters (`f = A(q, t) x + b(q, t, p)`: the LIF neuron between spikes, the bouncing
    /// ball's `[v, −g]`), returns `false`, and the adjoint's backward pass (docs/maths.md §3,
    /// `λ̇ = −f_xᵀλ`, `μ̇ = −λᵀf_p`) evaluates [`Self::flow_vjp`] at one state of each interval
    /// instead of reading the stored trajectory at every stage (unless a running loss needs the
    /// state). `f_p` counts only when the flow depends on the parameters: `f = −p x` is affine
    /// in `x` but its `f_p = −x` is not state-free. The test kit checks the claim: `λᵀ f_x` and
    /// `λᵀ f_p`, by the model's `flow_vjp` and by the dual default, the same bits at two
    /// different states.
    fn flow_jacobian_depends_on_state(&self) -> bool {
        true
    }

    /// Whether the flow's Jacobians `f_x` and `f_p` depend on time. Default: `true`. A model
    /// whose `f_x` and `f_p` are the same at every time of a mode returns `false`: the bouncing
    /// ball's `[v, −g]`, or any `f = A(q, p) x + b(q, p) + c(q, t)` (a forcing `c` free of the
    /// state and the parameters may depend on time; `f = −g t` may not, its `f_g = −t` does).
    /// Together with
    /// [`Self::flow_jacobian_depends_on_state`]` = false` (and no running loss) the Jacobians are
    /// one fixed matrix per mode and parameter vector: the adjoint's backward pass forms
    /// `[f_x, f_p]` once per mode by `n` calls of [`Self::flow_vjp`] (unit `λ`), and since
    /// `[λ, μ]` then obeys a linear system with constant coefficients, moves it across each
    /// interval between breakpoints by the exact propagator (a Taylor series of the matrix
    /// exponential's action, to rounding) instead of Runge-Kutta steps (docs/maths.md §3); the
    /// result differs from the stepped one by rounding and by the steps' own error (below the
    /// tolerances). Alone (with a state-dependent Jacobian) the claim is not used. The test kit
    /// checks it: `λᵀ f_x` and `λᵀ f_p`, by the model's `flow_vjp` and by the dual default, the
    /// same bits at a second time (and a second state when the Jacobians are declared
    /// state-free).
    fn flow_jacobian_depends_on_time(&self) -> bool {
        true
    }

    /// `f_x S + f_p` (`n × m`, column-major, into `out`) for the `n × m` sensitivity `s`.
    /// Default: [`ad_flow_jvp`], one wide-dual flow evaluation (`n ≤ 4`, `m ≤ 8`) or `m`.
    fn flow_jvp(&self, at: At<'_>, s: &[f64], out: &mut [f64], ad: &mut Duals) {
        ad_flow_jvp(self, at, s, out, ad)
    }

    /// `λᵀ f_x` (into `out_x`, length `n`) and `λᵀ f_p` (into `out_p`, length `m`, or empty).
    /// `out_p` is empty when the caller does not need `λᵀ f_p`: the backward pass of a model
    /// whose [`Self::flow_depends_on_parameters`] is `false`. An implementation writes
    /// `out_p.len()` entries. Default: [`ad_flow_vjp`], one wide-dual flow evaluation
    /// (`n ≤ 4`, `n + out_p.len() ≤ 8`) or `n + out_p.len()`.
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

    /// Whether the guards depend on the parameters at all (`g_p ≢ 0`). Default: `true`. A model
    /// whose guards are thresholds on the state returns `false`, and the passes ask
    /// [`Self::guard_gradient`] for no `g_p` (they take it as zero). The test kit checks the claim
    /// (`g_p = 0` for every guard).
    fn guard_depends_on_parameters(&self) -> bool {
        true
    }

    /// Value and time partial `(g, g_t)` of guard `k` at `at` (returned), with `∂g/∂x` (into
    /// `g_x`, length `n`) and `∂g/∂p` (into `g_p`, length `m`, or empty when the caller does not
    /// need it: a model whose [`Self::guard_depends_on_parameters`] is `false`): what every guard
    /// event needs. An implementation writes `g_p.len()` entries. Default: [`guard_partials`],
    /// `2 + n + g_p.len()` guard evaluations. A guard that reads one state component (a
    /// threshold) overrides it with the unit vector.
    fn guard_gradient(
        &self,
        k: usize,
        at: At<'_>,
        g_x: &mut [f64],
        g_p: &mut [f64],
        ad: &mut Duals,
    ) -> (f64, f64) {
        guard_partials(self, k, at, g_x, g_p, ad)
    }

    /// `h_x S + h_p` of guard jump `k` at `x⁻` (`n × m` into `out`). Default: [`ad_jump_jvp`],
    /// one wide-dual jump evaluation (`n ≤ 4`, `m ≤ 8`) or `m`.
    fn jump_jvp(&self, k: usize, at: At<'_>, s: &[f64], out: &mut [f64], ad: &mut Duals) {
        ad_jump_jvp(self, Jump::Guard(k), at, s, out, ad)
    }

    /// `λᵀ h_x` (into `out_x`) and `λᵀ h_p` (into `out_p`) of guard jump `k` at `x⁻`. Default:
    /// [`ad_jump_vjp`], one wide-dual jump evaluation (`n ≤ 4`, `n + m ≤ 8`) or `n + m`.
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

    /// [`Self::jump_vjp`] with `λᵀ h_p` added to `acc_p` (length `m`) instead of written out:
    /// `λᵀ h_x` into `out_x`, `acc_p += λᵀ h_p`, the adjoint's event update of the gradient when
    /// the guards do not depend on the parameters (docs/maths.md §3). `scratch_p` (length `m`)
    /// is room for the default: [`Self::jump_vjp`] into `scratch_p`, then the sum, `O(m)` per
    /// event. A jump that touches few parameters (a spike: the synapses of one neuron)
    /// overrides it to add those alone. The test kit checks an override against the default.
    fn jump_vjp_add(
        &self,
        k: usize,
        at: At<'_>,
        lambda: &[f64],
        out_x: &mut [f64],
        acc_p: &mut [f64],
        scratch_p: &mut [f64],
        ad: &mut Duals,
    ) {
        self.jump_vjp(k, at, lambda, out_x, scratch_p, ad);
        add_into(acc_p, scratch_p);
    }

    /// `λᵀ ∂x0/∂p` (into `out`, length `m`): the adjoint's last term. Default:
    /// [`ad_initial_state_vjp`], `m` evaluations of the initial state.
    fn initial_state_vjp(&self, p: &[f64], lambda: &[f64], out: &mut [f64], ad: &mut Duals) {
        ad_initial_state_vjp(self, p, lambda, out, ad)
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

    /// [`Self::jump_vjp_add`] of scheduled jump `i`.
    fn scheduled_jump_vjp_add(
        &self,
        i: usize,
        at: At<'_>,
        lambda: &[f64],
        out_x: &mut [f64],
        acc_p: &mut [f64],
        scratch_p: &mut [f64],
        ad: &mut Duals,
    ) {
        self.scheduled_jump_vjp(i, at, lambda, out_x, scratch_p, ad);
        add_into(acc_p, scratch_p);
    }
}

/// `acc += d`, entry by entry.
fn add_into(acc: &mut [f64], d: &[f64]) {
    acc.iter_mut().zip(d).for_each(|(a, d)| *a += d);
}

impl<M: Derivatives> Derivatives for &M {
    fn flow_depends_on_parameters(&self) -> bool {
        (**self).flow_depends_on_parameters()
    }
    fn flow_jacobian_depends_on_state(&self) -> bool {
        (**self).flow_jacobian_depends_on_state()
    }
    fn flow_jacobian_depends_on_time(&self) -> bool {
        (**self).flow_jacobian_depends_on_time()
    }
    fn flow_jvp(&self, at: At<'_>, s: &[f64], out: &mut [f64], ad: &mut Duals) {
        (**self).flow_jvp(at, s, out, ad)
    }
    fn flow_vjp(&self, at: At<'_>, l: &[f64], ox: &mut [f64], op: &mut [f64], ad: &mut Duals) {
        (**self).flow_vjp(at, l, ox, op, ad)
    }
    fn guard_depends_on_parameters(&self) -> bool {
        (**self).guard_depends_on_parameters()
    }
    fn guard_gradient(
        &self,
        k: usize,
        at: At<'_>,
        g_x: &mut [f64],
        g_p: &mut [f64],
        ad: &mut Duals,
    ) -> (f64, f64) {
        (**self).guard_gradient(k, at, g_x, g_p, ad)
    }
    fn initial_state_vjp(&self, p: &[f64], lambda: &[f64], out: &mut [f64], ad: &mut Duals) {
        (**self).initial_state_vjp(p, lambda, out, ad)
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
    fn jump_vjp_add(
        &self,
        k: usize,
        at: At<'_>,
        l: &[f64],
        ox: &mut [f64],
        acc: &mut [f64],
        scratch: &mut [f64],
        ad: &mut Duals,
    ) {
        (**self).jump_vjp_add(k, at, l, ox, acc, scratch, ad)
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
    fn scheduled_jump_vjp_add(
        &self,
        i: usize,
        at: At<'_>,
        l: &[f64],
        ox: &mut [f64],
        acc: &mut [f64],
        scratch: &mut [f64],
        ad: &mut Duals,
    ) {
        (**self).scheduled_jump_vjp_add(i, at, l, ox, acc, scratch, ad)
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

/// The jump map `jump` of mode `q` at `(t, x, p)`, into `out`.
fn eval_jump<M: HybridSystem, T: Scalar>(
    model: &M,
    jump: Jump,
    q: usize,
    t: T,
    x: &[T],
    p: &[T],
    out: &mut [T],
) {
    match jump {
        Jump::Guard(k) => model.jump(q, k, t, x, p, out),
        Jump::Scheduled(i) => model.scheduled_jump(i, t, x, p, out),
    }
}

/// A square map `F(x, p)` of the state at a fixed mode and time (the flow, a jump), evaluable in
/// any scalar: what the wide kernels evaluate once for all their directions.
trait StateMap {
    fn eval<T: Scalar>(&self, x: &[T], p: &[T], out: &mut [T]);
}

/// The flow of mode `.1` at time `.2`.
struct Flow<'a, M>(&'a M, usize, f64);

impl<M: HybridSystem> StateMap for Flow<'_, M> {
    #[inline(always)]
    fn eval<T: Scalar>(&self, x: &[T], p: &[T], out: &mut [T]) {
        self.0.flow(self.1, T::cst(self.2), x, p, out)
    }
}

/// Jump `.1` of mode `.2` at time `.3`.
struct JumpMap<'a, M>(&'a M, Jump, usize, f64);

impl<M: HybridSystem> StateMap for JumpMap<'_, M> {
    #[inline(always)]
    fn eval<T: Scalar>(&self, x: &[T], p: &[T], out: &mut [T]) {
        eval_jump(self.0, self.1, self.2, T::cst(self.3), x, p, out)
    }
}

/// Calls `$kernel::<N, K, _>(args)` for `n = N ≤ 4` states and the `K ∈ {2, 4, 8}` lanes that
/// hold the `k ≤ 8` directions asked for (compile-time sizes: the loops unroll and the bounds
/// checks fold; three lane counts keep the model's methods to three wide instantiations, the
/// lanes past `k` are seeded with zeros and never read); `false` for other sizes.
macro_rules! with_lanes {
    ($n:expr, $k:expr, $kernel:ident $args:tt) => {
        match ($n, $k) {
            (1, k) => with_lanes!(@k k, $kernel, 1, $args),
            (2, k) => with_lanes!(@k k, $kernel, 2, $args),
            (3, k) => with_lanes!(@k k, $kernel, 3, $args),
            (4, k) => with_lanes!(@k k, $kernel, 4, $args),
            _ => false,
        }
    };
    (@k $k:expr, $kernel:ident, $n:literal, $args:tt) => {
        match $k {
            0..=2 => {
                $kernel::<$n, 2, _> $args;
                true
            }
            3..=4 => {
                $kernel::<$n, 4, _> $args;
                true
            }
            5..=8 => {
                $kernel::<$n, 8, _> $args;
                true
            }
            _ => false,
        }
    };
}

/// `(λᵀ F_x, λᵀ F_p)` by one evaluation of `F` on [`WideDual`]s with a lane per direction,
/// `n + m` of them (or `n` when `out_p` is empty and the parameters are constants): lane `j < n`
/// is seeded with `e_j` on `x`, lane `n + k` with `e_k` on `p`, the directions of
/// [`vjp_directions`], whose `Dual64` evaluations each lane repeats bit for bit (`wide_dual`'s
/// tests), and `λᵀ` is applied in the same order. Returns `false`, doing nothing, for more than
/// 4 states or 8 directions.
#[inline(always)]
fn wide_vjp<F: StateMap>(
    f: &F,
    x: &[f64],
    p: &[f64],
    lambda: &[f64],
    out_x: &mut [f64],
    out_p: &mut [f64],
) -> bool {
    let (n, m) = (x.len(), p.len());
    let k = n + if out_p.is_empty() { 0 } else { m };
    // The parameters, with lanes or without, sit in an array of `K ≥ k` entries.
    if k.max(n + m) > 8 || lambda.len() != n || !(out_p.is_empty() || out_p.len() == m) {
        return false;
    }
    with_lanes!(n, k.max(n + m), vjp_lanes(f, x, p, lambda, out_x, out_p))
}

#[inline(always)]
fn vjp_lanes<const N: usize, const K: usize, F: StateMap>(
    f: &F,
    x: &[f64],
    p: &[f64],
    lambda: &[f64],
    out_x: &mut [f64],
    out_p: &mut [f64],
) {
    let (x, lambda, out_x) = (&x[..N], &lambda[..N], &mut out_x[..N]);
    let xd: [WideDual<K>; N] = std::array::from_fn(|i| {
        let mut d = WideDual::from_re(x[i]);
        d.eps[i] = 1.0;
        d
    });
    // An empty `out_p` asks for no parameter directions: the parameters are constants.
    let p_lanes = !out_p.is_empty();
    let mut pd = [WideDual::<K>::from_re(0.0); K];
    for (k, (d, &v)) in pd.iter_mut().zip(p).enumerate() {
        d.re = v;
        if p_lanes {
            d.eps[N + k] = 1.0;
        }
    }
    let mut o = [WideDual::<K>::from_re(0.0); N];
    f.eval(&xd, &pd[..p.len()], &mut o);
    let dot = |j: usize| {
        let mut s = 0.0;
        for i in 0..N {
            s += o[i].eps[j] * lambda[i];
        }
        s
    };
    for j in 0..N {
        out_x[j] = dot(j);
    }
    for (k, out) in out_p.iter_mut().enumerate() {
        *out = dot(N + k);
    }
}

/// `F_x S + F_p` by one evaluation of `F` on [`WideDual`]s with a lane per parameter: lane `j`
/// is seeded with column `j` of `S` on `x` and `e_j` on `p`, the directions of [`jvp_columns`],
/// whose `Dual64` evaluations each lane repeats bit for bit. Returns `false`, doing nothing, for
/// more than 4 states or 8 parameters.
#[inline(always)]
fn wide_jvp<F: StateMap>(f: &F, x: &[f64], p: &[f64], s: &[f64], out: &mut [f64]) -> bool {
    !p.is_empty() && with_lanes!(x.len(), p.len(), jvp_lanes(f, x, p, s, out))
}

#[inline(always)]
fn jvp_lanes<const N: usize, const K: usize, F: StateMap>(
    f: &F,
    x: &[f64],
    p: &[f64],
    s: &[f64],
    out: &mut [f64],
) {
    let m = p.len();
    let (x, s, out) = (&x[..N], &s[..N * m], &mut out[..N * m]);
    let xd: [WideDual<K>; N] = std::array::from_fn(|i| {
        let mut d = WideDual::from_re(x[i]);
        for j in 0..m {
            d.eps[j] = s[i + N * j];
        }
        d
    });
    let mut pd = [WideDual::<K>::from_re(0.0); K];
    for (k, (d, &v)) in pd.iter_mut().zip(p).enumerate() {
        d.re = v;
        d.eps[k] = 1.0;
    }
    let mut o = [WideDual::<K>::from_re(0.0); N];
    f.eval(&xd, &pd[..m], &mut o);
    for j in 0..m {
        for i in 0..N {
            out[i + N * j] = o[i].eps[j];
        }
    }
}

/// `f_x S + f_p` by dual numbers: one flow evaluation on `m` lanes, lane `j` seeded with
/// `(S_j, e_j)` (`n ≤ 4`, `m ≤ 8`), else one `Dual64` evaluation per parameter.
#[inline]
pub fn ad_flow_jvp<M: HybridSystem>(
    model: &M,
    at: At<'_>,
    s: &[f64],
    out: &mut [f64],
    ad: &mut Duals,
) {
    let (q, n) = (at.q, at.x.len());
    let map = Flow(model, q, at.t);
    if wide_jvp(&map, at.x, at.p, s, out) {
        return;
    }
    let t = Dual64::from_re(at.t);
    ad.jvp(at.x, at.p, s, n, out, |x, p, o| model.flow(q, t, x, p, o))
}

/// `(λᵀ f_x, λᵀ f_p)` by dual numbers: one flow evaluation on a lane per state and per
/// parameter (`n ≤ 4`, `n + out_p.len() ≤ 8`), else one `Dual64` evaluation per state and per
/// parameter.
#[inline]
pub fn ad_flow_vjp<M: HybridSystem>(
    model: &M,
    at: At<'_>,
    lambda: &[f64],
    out_x: &mut [f64],
    out_p: &mut [f64],
    ad: &mut Duals,
) {
    let q = at.q;
    if wide_vjp(&Flow(model, q, at.t), at.x, at.p, lambda, out_x, out_p) {
        return;
    }
    let t = Dual64::from_re(at.t);
    ad.vjp(at.x, at.p, lambda, out_x, out_p, |x, p, o| {
        model.flow(q, t, x, p, o)
    })
}

/// `h_x S + h_p` of a jump at `x⁻` by dual numbers, as [`ad_flow_jvp`].
pub fn ad_jump_jvp<M: HybridSystem>(
    model: &M,
    jump: Jump,
    at: At<'_>,
    s: &[f64],
    out: &mut [f64],
    ad: &mut Duals,
) {
    let (q, n) = (at.q, at.x.len());
    if wide_jvp(&JumpMap(model, jump, q, at.t), at.x, at.p, s, out) {
        return;
    }
    let t = Dual64::from_re(at.t);
    ad.jvp(at.x, at.p, s, n, out, |x, p, o| {
        eval_jump(model, jump, q, t, x, p, o)
    })
}

/// `(λᵀ h_x, λᵀ h_p)` of a jump at `x⁻` by dual numbers, as [`ad_flow_vjp`].
pub fn ad_jump_vjp<M: HybridSystem>(
    model: &M,
    jump: Jump,
    at: At<'_>,
    lambda: &[f64],
    out_x: &mut [f64],
    out_p: &mut [f64],
    ad: &mut Duals,
) {
    let q = at.q;
    if wide_vjp(
        &JumpMap(model, jump, q, at.t),
        at.x,
        at.p,
        lambda,
        out_x,
        out_p,
    ) {
        return;
    }
    let t = Dual64::from_re(at.t);
    ad.vjp(at.x, at.p, lambda, out_x, out_p, |x, p, o| {
        eval_jump(model, jump, q, t, x, p, o)
    })
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
    let n = at.x.len();
    if with_lanes!(n, at.p.len(), rate_lanes((model, jump), at, f, out)) {
        return;
    }
    ad.seed(at.x, Some(f), at.p, at.x.len());
    rate_on_seeded(model, jump, at, (&ad.x, &ad.p), &mut ad.out[..n], out);
}

/// The dual evaluation of [`jump_rate`] on scratch whose `x` holds `(x⁻, f)` and `pd` the
/// parameters as constants: `t` seeded with 1, `out` gets the derivative parts.
#[inline(always)]
fn rate_on_seeded<M: HybridSystem>(
    model: &M,
    jump: Jump,
    at: At<'_>,
    xd_pd: (&[Dual64], &[Dual64]),
    o: &mut [Dual64],
    out: &mut [f64],
) {
    let t = Dual64::new(at.t, 1.0);
    eval_jump(model, jump, at.q, t, xd_pd.0, xd_pd.1, o);
    out.iter_mut().zip(&*o).for_each(|(o, d)| *o = d.eps);
}

/// Scratch for [`jump_rate`] at every event of a pass at fixed parameters: the `m` parameters
/// are seeded as dual constants once per pass ([`RateDuals::set_parameters`]), not at every
/// event (at `m = 1120` that was `18 KB` written per event, more than the rest of the event's
/// work). Same values as [`jump_rate`], bit for bit: the same evaluation on the same duals.
#[derive(Debug, Clone, Default)]
pub(crate) struct RateDuals {
    x: Vec<Dual64>,
    p: Vec<Dual64>,
    out: Vec<Dual64>,
    /// The parameters `p` was seeded with (compared in debug builds).
    #[cfg(debug_assertions)]
    seeded: Vec<f64>,
}

impl RateDuals {
    /// Seed the parameters of the coming pass.
    pub fn set_parameters(&mut self, p: &[f64]) {
        self.p.clear();
        self.p.extend(p.iter().map(|&v| Dual64::from_re(v)));
        #[cfg(debug_assertions)]
        {
            self.seeded.clear();
            self.seeded.extend_from_slice(p);
        }
    }

    /// [`jump_rate`] at the parameters of [`Self::set_parameters`] (`at.p` must be them).
    pub fn jump_rate<M: HybridSystem>(
        &mut self,
        model: &M,
        jump: Jump,
        at: At<'_>,
        f: &[f64],
        out: &mut [f64],
    ) {
        let n = at.x.len();
        if with_lanes!(n, at.p.len(), rate_lanes((model, jump), at, f, out)) {
            return;
        }
        assert_eq!(self.p.len(), at.p.len(), "RateDuals: parameters not set");
        #[cfg(debug_assertions)]
        debug_assert!(
            self.seeded
                .iter()
                .zip(at.p)
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "RateDuals: other parameters than those set"
        );
        self.x.clear();
        self.x
            .extend(at.x.iter().zip(f).map(|(&v, &e)| Dual64::new(v, e)));
        self.out.resize(n.max(1), Dual64::from_re(0.0));
        rate_on_seeded(model, jump, at, (&self.x, &self.p), &mut self.out[..n], out);
    }
}

/// [`jump_rate`] on [`WideDual`]s at `N` states whose every lane is the one direction: `t`
/// seeded with 1, `x` with `f`, `p` constant (`K ≥ m` only to hold the parameters on the stack;
/// lane 0 is read).
#[inline(always)]
fn rate_lanes<const N: usize, const K: usize, M: HybridSystem>(
    (model, jump): (&M, Jump),
    at: At<'_>,
    f: &[f64],
    out: &mut [f64],
) {
    let (x, f, out) = (&at.x[..N], &f[..N], &mut out[..N]);
    let xd: [WideDual<K>; N] = std::array::from_fn(|i| WideDual {
        re: x[i],
        eps: [f[i]; K],
    });
    let mut pd = [WideDual::<K>::from_re(0.0); K];
    for (d, &v) in pd.iter_mut().zip(at.p) {
        d.re = v;
    }
    let t = WideDual {
        re: at.t,
        eps: [1.0; K],
    };
    let mut o = [WideDual::<K>::from_re(0.0); N];
    eval_jump(model, jump, at.q, t, &xd, &pd[..at.p.len()], &mut o);
    for i in 0..N {
        out[i] = o[i].eps[0];
    }
}

/// Value, `∂g/∂t`, `∂g/∂x` (into `g_x`) and `∂g/∂p` (into `g_p`, or none when it is empty) of
/// guard `k` at `at`: one evaluation on `1 + n + g_p.len()` lanes (`n ≤ 4`, up to 8 lanes),
/// else one `Dual64` evaluation for `(g, g_t)` and the `n + g_p.len()` partials as in
/// [`ad_flow_vjp`]. Returns `(g, g_t)`.
pub fn guard_partials<M: HybridSystem>(
    model: &M,
    k: usize,
    at: At<'_>,
    g_x: &mut [f64],
    g_p: &mut [f64],
    ad: &mut Duals,
) -> (f64, f64) {
    let q = at.q;
    let (n, m) = (at.x.len(), at.p.len());
    let mut g_gt = (0.0, 0.0);
    if (g_p.is_empty() || g_p.len() == m)
        && 1 + n + m <= 8
        && with_lanes!(
            n,
            1 + n + m,
            guard_lanes((model, q, k), at, g_x, g_p, &mut g_gt)
        )
    {
        return g_gt;
    }
    ad.seed(at.x, None, at.p, 1);
    let g = model.guard(q, k, Dual64::new(at.t, 1.0), &ad.x, &ad.p);
    let t = Dual64::from_re(at.t);
    ad.vjp(at.x, at.p, &[1.0], g_x, g_p, |x, p, o| {
        o[0] = model.guard(q, k, t, x, p)
    });
    (g.re, g.eps)
}

/// [`guard_partials`] by one evaluation of guard `k` of mode `q` on [`WideDual`]s with
/// `K = 1 + N + g_p.len()` lanes: lane 0 seeded on `t` (the `Dual64` evaluation giving
/// `(g, g_t)`), lane `1 + j` with `e_j` on `x` and lane `1 + N + i` with `e_i` on `p` (the
/// directions of [`vjp_directions`] with `λ = 1`, summed as it sums: `0 + ε` (`ε · 1 = ε`)).
#[inline(always)]
fn guard_lanes<const N: usize, const K: usize, M: HybridSystem>(
    (model, q, k): (&M, usize, usize),
    at: At<'_>,
    g_x: &mut [f64],
    g_p: &mut [f64],
    g_gt: &mut (f64, f64),
) {
    let (x, g_x) = (&at.x[..N], &mut g_x[..N]);
    let xd: [WideDual<K>; N] = std::array::from_fn(|i| {
        let mut d = WideDual::from_re(x[i]);
        d.eps[1 + i] = 1.0;
        d
    });
    let p_lanes = !g_p.is_empty();
    let mut pd = [WideDual::<K>::from_re(0.0); K];
    for (i, (d, &v)) in pd.iter_mut().zip(at.p).enumerate() {
        d.re = v;
        if p_lanes {
            d.eps[1 + N + i] = 1.0;
        }
    }
    let mut t = WideDual::<K>::from_re(at.t);
    t.eps[0] = 1.0;
    let g = model.guard(q, k, t, &xd, &pd[..at.p.len()]);
    for j in 0..N {
        g_x[j] = 0.0 + g.eps[1 + j];
    }
    for (i, out) in g_p.iter_mut().enumerate() {
        *out = 0.0 + g.eps[1 + N + i];
    }
    *g_gt = (g.re, g.eps[0]);
}

/// `∂x0/∂p` (`n × m`, column-major, into `out`), as [`ad_flow_jvp`] with no state directions.
pub fn initial_state_jacobian<M: HybridSystem>(
    model: &M,
    p: &[f64],
    out: &mut [f64],
    ad: &mut Duals,
) {
    let n = model.dims().states;
    ad.jvp(&[], p, &[], n, out, |_, p, o| model.initial_state(p, o))
}

/// `λᵀ ∂x0/∂p` (into `out`, length `m`), as [`ad_flow_vjp`] with no state directions.
pub fn ad_initial_state_vjp<M: HybridSystem>(
    model: &M,
    p: &[f64],
    lambda: &[f64],
    out: &mut [f64],
    ad: &mut Duals,
) {
    ad.vjp(&[], p, lambda, &mut [], out, |_, p, o| {
        model.initial_state(p, o)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Dims;

    /// `ẋ = [p0 x1, -p1 x0 + x0 x1]`: both parameters enter the flow.
    struct Rotor;
    impl HybridSystem for Rotor {
        fn dims(&self) -> Dims {
            Dims {
                states: 2,
                params: 2,
                guards: 0,
            }
        }
        fn initial_state<T: Scalar>(&self, _p: &[T], x0: &mut [T]) {
            x0.fill(T::zero());
        }
        fn flow<T: Scalar>(&self, _q: usize, _t: T, x: &[T], p: &[T], dx: &mut [T]) {
            dx[0] = p[0] * x[1];
            dx[1] = -p[1] * x[0] + x[0] * x[1];
        }
    }

    #[test]
    fn an_empty_parameter_output_asks_for_the_state_part_only() {
        let (x, p, lambda) = ([2.0, 3.0], [0.5, 4.0], [1.5, -1.0]);
        let at = At {
            q: 0,
            t: 0.0,
            x: &x,
            p: &p,
        };
        let mut ad = Duals::new(2, 2);
        let (mut full_x, mut full_p) = ([0.0; 2], [0.0; 2]);
        ad_flow_vjp(&Rotor, at, &lambda, &mut full_x, &mut full_p, &mut ad);
        // λᵀ f_x = [λ1 (-p1 + x1), λ0 p0 + λ1 x0], λᵀ f_p = [λ0 x1, -λ1 x0].
        assert_eq!(full_x, [-(-4.0 + 3.0), 1.5 * 0.5 - 2.0]);
        assert_eq!(full_p, [1.5 * 3.0, 2.0]);
        let mut state_x = [0.0; 2];
        ad_flow_vjp(&Rotor, at, &lambda, &mut state_x, &mut [], &mut ad);
        assert_eq!(state_x, full_x);
    }
}

/// The wide-dual kernels against the one-direction-per-evaluation `Dual64` path they replace.
#[cfg(test)]
mod wide_tests {
    use super::*;
    use crate::Dims;

    /// `n` states and `m` parameters through products, quotients and transcendental functions,
    /// with `t` in the flow, the guard and the jump.
    struct Mixed {
        n: usize,
        m: usize,
    }
    impl HybridSystem for Mixed {
        fn dims(&self) -> Dims {
            Dims {
                states: self.n,
                params: self.m,
                guards: 1,
            }
        }
        fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) {
            x0.iter_mut()
                .enumerate()
                .for_each(|(i, x)| *x = p[i % p.len()]);
        }
        fn flow<T: Scalar>(&self, _q: usize, t: T, x: &[T], p: &[T], dx: &mut [T]) {
            let n = x.len();
            for i in 0..n {
                let (a, b) = (x[(i + 1) % n], p[i % p.len()]);
                dx[i] = (a * b).sin() + x[i].exp() / (T::cst(1.5) + a * a).sqrt() - t * b.powi(3);
            }
        }
        fn guard<T: Scalar>(&self, _q: usize, _k: usize, t: T, x: &[T], p: &[T]) -> T {
            x[0] * p[p.len() - 1] - t.cos() + x[x.len() - 1].atan()
        }
        fn jump<T: Scalar>(&self, _q: usize, _k: usize, t: T, x: &[T], p: &[T], xp: &mut [T]) {
            for i in 0..x.len() {
                xp[i] = -p[0] * x[i] + (t * x[0]).tanh();
            }
        }
    }

    fn bits(v: &[f64]) -> Vec<u64> {
        v.iter().map(|x| x.to_bits()).collect()
    }

    #[test]
    fn every_wide_product_has_the_bits_of_one_dual64_evaluation_per_direction() {
        // Sizes on the wide kernels (n ≤ 4, up to 8 lanes) and past them.
        for (n, m) in [(1, 1), (2, 4), (3, 2), (4, 4), (2, 6), (4, 6), (5, 2)] {
            let model = Mixed { n, m };
            let x: Vec<f64> = (0..n).map(|i| 0.3 + 0.17 * i as f64).collect();
            let p: Vec<f64> = (0..m).map(|i| -0.8 + 0.41 * i as f64).collect();
            let lambda: Vec<f64> = (0..n).map(|i| 1.25 - 0.6 * i as f64).collect();
            let s: Vec<f64> = (0..n * m).map(|i| (i as f64 * 0.37).sin()).collect();
            let f: Vec<f64> = (0..n).map(|i| 0.9 - 0.2 * i as f64).collect();
            let t = 0.7;
            let at = At {
                q: 0,
                t,
                x: &x,
                p: &p,
            };
            let mut ad = Duals::new(n, m);
            let dt = Dual64::from_re(t);
            // λᵀf_x, λᵀf_p, with and without the parameter directions.
            for with_p in [true, false] {
                let mp = if with_p { m } else { 0 };
                let (mut wx, mut wp) = (vec![0.0; n], vec![0.0; mp]);
                ad_flow_vjp(&model, at, &lambda, &mut wx, &mut wp, &mut ad);
                let (mut dx, mut dp) = (vec![0.0; n], vec![0.0; mp]);
                ad.vjp(&x, &p, &lambda, &mut dx, &mut dp, |x, p, o| {
                    model.flow(0, dt, x, p, o)
                });
                assert_eq!(bits(&wx), bits(&dx), "flow λᵀf_x, n {n} m {m}");
                assert_eq!(bits(&wp), bits(&dp), "flow λᵀf_p, n {n} m {m}");
            }
            // f_x S + f_p and the jump's products.
            let (mut w, mut d) = (vec![0.0; n * m], vec![0.0; n * m]);
            ad_flow_jvp(&model, at, &s, &mut w, &mut ad);
            ad.jvp(&x, &p, &s, n, &mut d, |x, p, o| model.flow(0, dt, x, p, o));
            assert_eq!(bits(&w), bits(&d), "flow jvp, n {n} m {m}");
            let jump = |x: &[Dual64], p: &[Dual64], o: &mut [Dual64]| model.jump(0, 0, dt, x, p, o);
            ad_jump_jvp(&model, Jump::Guard(0), at, &s, &mut w, &mut ad);
            ad.jvp(&x, &p, &s, n, &mut d, jump);
            assert_eq!(bits(&w), bits(&d), "jump jvp, n {n} m {m}");
            let (mut wx, mut wp, mut dx, mut dp) =
                (vec![0.0; n], vec![0.0; m], vec![0.0; n], vec![0.0; m]);
            ad_jump_vjp(
                &model,
                Jump::Guard(0),
                at,
                &lambda,
                &mut wx,
                &mut wp,
                &mut ad,
            );
            ad.vjp(&x, &p, &lambda, &mut dx, &mut dp, jump);
            assert_eq!(
                (bits(&wx), bits(&wp)),
                (bits(&dx), bits(&dp)),
                "jump vjp, n {n} m {m}"
            );
            // The guard's value and partials, and the jump's rate along `(1, f, 0)`.
            for with_p in [true, false] {
                let mp = if with_p { m } else { 0 };
                let (mut wx, mut wp) = (vec![0.0; n], vec![0.0; mp]);
                let (g, g_t) = guard_partials(&model, 0, at, &mut wx, &mut wp, &mut ad);
                let (mut dx, mut dp) = (vec![0.0; n], vec![0.0; mp]);
                ad.seed(&x, None, &p, 1);
                let want = model.guard(0, 0, Dual64::new(t, 1.0), &ad.x, &ad.p);
                ad.vjp(&x, &p, &[1.0], &mut dx, &mut dp, |x, p, o| {
                    o[0] = model.guard(0, 0, dt, x, p)
                });
                assert_eq!(
                    (g.to_bits(), g_t.to_bits()),
                    (want.re.to_bits(), want.eps.to_bits()),
                    "guard (g, g_t), n {n} m {m}"
                );
                assert_eq!(
                    (bits(&wx), bits(&wp)),
                    (bits(&dx), bits(&dp)),
                    "guard partials"
                );
            }
            let mut w = vec![0.0; n];
            jump_rate(&model, Jump::Guard(0), at, &f, &mut w, &mut ad);
            ad.seed(&x, Some(&f), &p, n);
            model.jump(0, 0, Dual64::new(t, 1.0), &ad.x, &ad.p, &mut ad.out[..n]);
            let d: Vec<f64> = ad.out[..n].iter().map(|o| o.eps).collect();
            assert_eq!(bits(&w), bits(&d), "jump rate, n {n} m {m}");
        }
    }
}
