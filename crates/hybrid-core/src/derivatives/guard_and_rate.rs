//! What an event needs beyond the products: a guard's value and partials `(g, g_t, g_x, g_p)`
//! ([`guard_partials`]) and a jump's rate `h_t + h_x f` ([`jump_rate`], and [`RateDuals`] for a
//! pass at fixed parameters), on the wide kernels' lanes where they fit, else on `Dual64`.

use super::maps::{eval_jump, Jump};
use super::wide::with_lanes;
#[cfg(doc)]
use super::{ad_flow_vjp, duals::vjp_directions};
use super::{At, Duals};
use crate::HybridSystem;
use num_dual::Dual64;
use wide_dual::WideDual;

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
