//! Partial derivatives of a model by forward-mode dual numbers (`num_dual::Dual64`).
//!
//! Every partial the formulas of `docs/maths.md` need (`f_x`, `f_p`, `g_t`, `g_x`, `g_p`, `h_t`,
//! `h_x`, `h_p`, `∂x0/∂p`) is obtained by evaluating the model's own generic methods on dual
//! numbers, one seed direction per column. Matrices are dense and column-major: entry `(i, j)` of
//! an `r × c` matrix is at `i + r * j`.

use crate::HybridSystem;
use num_dual::Dual64;
use std::cell::RefCell;

/// Partials of a guard at a point.
#[derive(Debug, Clone, PartialEq)]
pub struct GuardPartials {
    /// Value `g`.
    pub g: f64,
    /// `∂g/∂t`.
    pub g_t: f64,
    /// `∂g/∂x` (length `n`).
    pub g_x: Vec<f64>,
    /// `∂g/∂p` (length `m`).
    pub g_p: Vec<f64>,
}

/// Partials of a jump map at a point.
#[derive(Debug, Clone, PartialEq)]
pub struct JumpPartials {
    /// Value `x⁺ = h(t, x⁻, p)`.
    pub h: Vec<f64>,
    /// `∂h/∂t` (length `n`).
    pub h_t: Vec<f64>,
    /// `∂h/∂x` (`n × n`, column-major).
    pub h_x: Vec<f64>,
    /// `∂h/∂p` (`n × m`, column-major).
    pub h_p: Vec<f64>,
}

/// Jacobian of a function of the packed inputs `z = [t, x, p]` with `r` outputs.
///
/// `eval(z, out)` evaluates the function on duals. Returns `(value, jacobian)` with the
/// Jacobian `r × len(z)` column-major.
pub(crate) fn jacobian_tz<F>(z: &[f64], r: usize, mut eval: F) -> (Vec<f64>, Vec<f64>)
where
    F: FnMut(&[Dual64], &mut [Dual64]),
{
    let nz = z.len();
    let mut zd: Vec<Dual64> = z.iter().map(|&v| Dual64::new(v, 0.0)).collect();
    let mut out = vec![Dual64::new(0.0, 0.0); r];
    let mut jac = vec![0.0; r * nz];
    let mut value = vec![0.0; r];
    for j in 0..nz {
        zd[j].eps = 1.0;
        eval(&zd, &mut out);
        zd[j].eps = 0.0;
        for i in 0..r {
            jac[i + r * j] = out[i].eps;
            value[i] = out[i].re;
        }
    }
    if nz == 0 {
        eval(&zd, &mut out);
        value.iter_mut().zip(&out).for_each(|(v, o)| *v = o.re);
    }
    (value, jac)
}

fn pack(t: f64, x: &[f64], p: &[f64]) -> Vec<f64> {
    let mut z = Vec::with_capacity(1 + x.len() + p.len());
    z.push(t);
    z.extend_from_slice(x);
    z.extend_from_slice(p);
    z
}

/// Partials of guard `k` in mode `q` at `(t, x, p)`.
pub fn guard_partials<M: HybridSystem + ?Sized>(
    model: &M,
    q: usize,
    k: usize,
    t: f64,
    x: &[f64],
    p: &[f64],
) -> GuardPartials {
    let n = x.len();
    let (v, jac) = jacobian_tz(&pack(t, x, p), 1, |z, out| {
        out[0] = model.guard_in_mode(q, k, z[0], &z[1..1 + n], &z[1 + n..]);
    });
    GuardPartials {
        g: v[0],
        g_t: jac[0],
        g_x: jac[1..1 + n].to_vec(),
        g_p: jac[1 + n..].to_vec(),
    }
}

fn split_jump(n: usize, v: Vec<f64>, jac: Vec<f64>) -> JumpPartials {
    JumpPartials {
        h: v,
        h_t: jac[..n].to_vec(),
        h_x: jac[n..n + n * n].to_vec(),
        h_p: jac[n + n * n..].to_vec(),
    }
}

/// Partials of jump `k` in mode `q` at `(t, x⁻, p)`.
pub fn jump_partials<M: HybridSystem + ?Sized>(
    model: &M,
    q: usize,
    k: usize,
    t: f64,
    x: &[f64],
    p: &[f64],
) -> JumpPartials {
    let n = x.len();
    let (v, jac) = jacobian_tz(&pack(t, x, p), n, |z, out| {
        model.jump_in_mode(q, k, z[0], &z[1..1 + n], &z[1 + n..], out);
    });
    split_jump(n, v, jac)
}

/// Partials of scheduled jump `i` at `(t, x⁻, p)`.
pub fn scheduled_jump_partials<M: HybridSystem + ?Sized>(
    model: &M,
    i: usize,
    t: f64,
    x: &[f64],
    p: &[f64],
) -> JumpPartials {
    let n = x.len();
    let (v, jac) = jacobian_tz(&pack(t, x, p), n, |z, out| {
        model.scheduled_jump(i, z[0], &z[1..1 + n], &z[1 + n..], out);
    });
    split_jump(n, v, jac)
}

/// `λᵀ h_x` and `λᵀ h_p` from dense jump partials.
fn transpose_products(jp: &JumpPartials, lambda: &[f64], out_x: &mut [f64], out_p: &mut [f64]) {
    let n = lambda.len();
    for (i, o) in out_x.iter_mut().enumerate() {
        *o = (0..n).map(|l| jp.h_x[l + n * i] * lambda[l]).sum();
    }
    for (j, o) in out_p.iter_mut().enumerate() {
        *o = (0..n).map(|l| jp.h_p[l + n * j] * lambda[l]).sum();
    }
}

/// `λᵀ h_x`, `λᵀ h_p` of jump `k` by the dense dual-number Jacobian (the default of
/// [`HybridSystem::jump_vjp`]).
pub fn ad_jump_vjp<M: HybridSystem + ?Sized>(
    model: &M,
    q: usize,
    k: usize,
    t: f64,
    x: &[f64],
    p: &[f64],
    lambda: &[f64],
    out_x: &mut [f64],
    out_p: &mut [f64],
) {
    transpose_products(&jump_partials(model, q, k, t, x, p), lambda, out_x, out_p)
}

/// `λᵀ h_x`, `λᵀ h_p` of scheduled jump `i` by the dense dual-number Jacobian (the default of
/// [`HybridSystem::scheduled_jump_vjp`]).
pub fn ad_scheduled_jump_vjp<M: HybridSystem + ?Sized>(
    model: &M,
    i: usize,
    t: f64,
    x: &[f64],
    p: &[f64],
    lambda: &[f64],
    out_x: &mut [f64],
    out_p: &mut [f64],
) {
    transpose_products(
        &scheduled_jump_partials(model, i, t, x, p),
        lambda,
        out_x,
        out_p,
    )
}

/// `h_t + h_x f` of jump `k` in mode `q` at `(t, x)`, by one dual evaluation along `(1, f, 0)`:
/// how the post-jump state moves when the event time moves along the flow `f`.
pub fn jump_rate<M: HybridSystem + ?Sized>(
    model: &M,
    q: usize,
    k: usize,
    t: f64,
    x: &[f64],
    f: &[f64],
    p: &[f64],
) -> Vec<f64> {
    let xd: Vec<Dual64> = x.iter().zip(f).map(|(&v, &d)| Dual64::new(v, d)).collect();
    let pd: Vec<Dual64> = p.iter().map(|&v| Dual64::new(v, 0.0)).collect();
    let mut out = vec![Dual64::new(0.0, 0.0); x.len()];
    model.jump_in_mode(q, k, Dual64::new(t, 1.0), &xd, &pd, &mut out);
    out.iter().map(|o| o.eps).collect()
}

/// `∂x0/∂p` (`n × m`, column-major).
pub fn initial_state_jacobian<M: HybridSystem + ?Sized>(model: &M, p: &[f64]) -> Vec<f64> {
    let n = model.dims().states;
    jacobian_tz(p, n, |z, out| model.initial_state(z, out)).1
}

/// Flow Jacobians `(f_x, f_p)` in mode `q` (`n × n` and `n × m`, column-major).
pub fn flow_jacobians<M: HybridSystem + ?Sized>(
    model: &M,
    q: usize,
    t: f64,
    x: &[f64],
    p: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let n = x.len();
    let (_, jac) = jacobian_tz(&pack(t, x, p), n, |z, out| {
        model.flow_in_mode(q, z[0], &z[1..1 + n], &z[1 + n..], out);
    });
    (jac[n..n + n * n].to_vec(), jac[n + n * n..].to_vec())
}

thread_local! {
    static SCRATCH: RefCell<(Vec<Dual64>, Vec<Dual64>, Vec<Dual64>)> =
        const { RefCell::new((Vec::new(), Vec::new(), Vec::new())) };
}

/// Run `f(xd, pd, fd)` with `x` and `p` as duals of zero derivative and an output buffer of
/// length `n`, all in thread-local scratch (no allocation once warm).
fn with_duals<F: FnOnce(&mut [Dual64], &mut [Dual64], &mut [Dual64])>(x: &[f64], p: &[f64], f: F) {
    SCRATCH.with(|cell| {
        let (xd, pd, fd) = &mut *cell.borrow_mut();
        xd.clear();
        pd.clear();
        xd.extend(x.iter().map(|&v| Dual64::new(v, 0.0)));
        pd.extend(p.iter().map(|&v| Dual64::new(v, 0.0)));
        fd.resize(x.len(), Dual64::new(0.0, 0.0));
        f(xd, pd, fd)
    })
}

/// Forward sensitivity right-hand side `Ṡ = f_x S + f_p` (docs/maths.md §2) by dual numbers:
/// one flow evaluation per parameter, seeded with the column `S_j` and `e_j`.
///
/// `s` and `out` are `n × m` column-major. Reuses thread-local scratch: no allocation once warm.
pub fn ad_flow_sensitivity<M: HybridSystem + ?Sized>(
    model: &M,
    q: usize,
    t: f64,
    x: &[f64],
    p: &[f64],
    s: &[f64],
    out: &mut [f64],
) {
    let (n, m) = (x.len(), p.len());
    with_duals(x, p, |xd, pd, fd| {
        let td = Dual64::new(t, 0.0);
        for j in 0..m {
            for i in 0..n {
                xd[i].eps = s[i + n * j];
            }
            pd[j].eps = 1.0;
            model.flow_in_mode(q, td, xd, pd, fd);
            pd[j].eps = 0.0;
            for i in 0..n {
                out[i + n * j] = fd[i].eps;
            }
        }
    });
}

/// Vector-Jacobian products `(λᵀ f_x, λᵀ f_p)` by dual numbers: one flow evaluation per state
/// and per parameter. Reuses thread-local scratch: no allocation once warm.
pub fn ad_flow_vjp<M: HybridSystem + ?Sized>(
    model: &M,
    q: usize,
    t: f64,
    x: &[f64],
    p: &[f64],
    lambda: &[f64],
    out_x: &mut [f64],
    out_p: &mut [f64],
) {
    let (n, m) = (x.len(), p.len());
    with_duals(x, p, |xd, pd, fd| {
        let td = Dual64::new(t, 0.0);
        let dot = |fd: &[Dual64]| fd.iter().zip(lambda).map(|(f, l)| f.eps * l).sum::<f64>();
        for j in 0..n {
            xd[j].eps = 1.0;
            model.flow_in_mode(q, td, xd, pd, fd);
            xd[j].eps = 0.0;
            out_x[j] = dot(fd);
        }
        for j in 0..m {
            pd[j].eps = 1.0;
            model.flow_in_mode(q, td, xd, pd, fd);
            pd[j].eps = 0.0;
            out_p[j] = dot(fd);
        }
    });
}
