//! The `Dual64` scratch [`Duals`] lent to every derivative product, and its kernels: `F_x S + F_p`
//! one column per evaluation ([`jvp_columns`]) and `(λᵀ F_x, λᵀ F_p)` one direction per
//! evaluation ([`vjp_directions`]), at compile-time sizes for the small square maps.

use num_dual::Dual64;

/// Dual-number scratch for derivative products, owned by the solver and lent to every product.
#[derive(Debug, Clone, Default)]
pub struct Duals {
    pub(super) x: Vec<Dual64>,
    pub(super) p: Vec<Dual64>,
    pub(super) out: Vec<Dual64>,
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
pub(super) fn jvp_columns<const N: usize, const R: usize, E>(
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
pub(super) fn vjp_directions<const N: usize, const R: usize, E>(
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
    /// 4 states (flows and jumps of small models) run on kernels of fixed size. `#[inline]`: in
    /// a file of its own, its callers (`initial_state_jacobian`) no longer inlined it, +200
    /// instructions per ball forward gradient (docs/performance.md §7, session 16).
    #[inline]
    pub(super) fn jvp<E>(
        &mut self,
        x: &[f64],
        p: &[f64],
        s: &[f64],
        r: usize,
        out: &mut [f64],
        mut eval: E,
    ) where
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
    pub(super) fn vjp<E>(
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
    pub(super) fn seed(&mut self, x: &[f64], dir: Option<&[f64]>, p: &[f64], r: usize) {
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
