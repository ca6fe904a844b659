//! The wide-dual kernels: a product of a small map (`n ≤ 4` states, up to 8 directions) by one
//! evaluation on [`WideDual`]s with a lane per direction, each lane bit for bit the `Dual64`
//! evaluation of its direction ([`vjp_directions`], [`jvp_columns`]); [`with_lanes!`] picks the
//! compile-time sizes.

#[cfg(doc)]
use super::duals::{jvp_columns, vjp_directions};
use super::maps::StateMap;
use wide_dual::WideDual;

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
pub(super) use with_lanes;

/// `(λᵀ F_x, λᵀ F_p)` by one evaluation of `F` on [`WideDual`]s with a lane per direction,
/// `n + m` of them (or `n` when `out_p` is empty and the parameters are constants): lane `j < n`
/// is seeded with `e_j` on `x`, lane `n + k` with `e_k` on `p`, the directions of
/// [`vjp_directions`], whose `Dual64` evaluations each lane repeats bit for bit (`wide_dual`'s
/// tests), and `λᵀ` is applied in the same order. Returns `false`, doing nothing, for more than
/// 4 states or 8 directions.
#[inline(always)]
pub(super) fn wide_vjp<F: StateMap>(
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
pub(super) fn wide_jvp<F: StateMap>(
    f: &F,
    x: &[f64],
    p: &[f64],
    s: &[f64],
    out: &mut [f64],
) -> bool {
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

/// The wide-dual kernels against the one-direction-per-evaluation `Dual64` path they replace.
#[cfg(test)]
mod tests {
    use crate::derivatives::{
        ad_flow_jvp, ad_flow_vjp, ad_jump_jvp, ad_jump_vjp, guard_partials, jump_rate, At, Duals,
        Jump,
    };
    use crate::{Dims, HybridSystem, Scalar};
    use num_dual::Dual64;

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
