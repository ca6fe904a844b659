//! A family of random hybrid systems and losses for property tests, drawn from a seed.

use hybrid_core::EventPoint;

use hybrid_core::Derivatives;

use hybrid_core::{Crossing, Dims, EventSelector, HybridSystem, Loss, Scalar};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Parameters: `p[0]` scales a constant forcing, `p[1]` a diagonal feedback, `p[2]` the guard
/// offsets, `p[3]` the jumps (restitution of the bouncing pair, offsets of the affine jumps).
pub const PARAMS: usize = 4;

/// `ẋ = A x + p1 diag(e) x + b + c ∘ sin(ω t) + p0 d + ν tanh(x shifted by one)`, guards
/// `g_k = w_k·x + β_k + γ_k t + p2 u_k`, jumps `x⁺ = J_k x⁻ + r_k + p3 s_k`. With `bouncing`,
/// states 0 and 1 are a falling pair (`ẋ0 = x1`, `ẋ1 = −9.81 + …`) and guard 0 is `x0` falling,
/// with `x1⁺ = −p3 x1⁻`: Zeno when the span is long enough.
#[derive(Debug, Clone)]
pub struct RandomSystem {
    n: usize,
    guards: usize,
    a: Vec<f64>,
    e: Vec<f64>,
    b: Vec<f64>,
    c: Vec<f64>,
    omega: Vec<f64>,
    d: Vec<f64>,
    nu: f64,
    x0: Vec<f64>,
    w: Vec<Vec<f64>>,
    beta: Vec<f64>,
    gamma: Vec<f64>,
    u: Vec<f64>,
    dirs: Vec<Crossing>,
    jmat: Vec<Vec<f64>>,
    r: Vec<Vec<f64>>,
    s: Vec<Vec<f64>>,
    bouncing: bool,
    event_time_term: bool,
}

impl RandomSystem {
    /// A system, its parameters and an end time, from `seed`.
    pub fn draw(seed: u64) -> (Self, Vec<f64>, f64) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let n = rng.gen_range(2..=4);
        let guards = rng.gen_range(1..=3);
        let mut u = |lo: f64, hi: f64| rng.gen_range(lo..hi);
        let mut a: Vec<f64> = (0..n * n).map(|_| u(-1.0, 1.0)).collect();
        for i in 0..n {
            a[i * n + i] -= 0.5;
        }
        let vec = |len: usize, lo: f64, hi: f64, u: &mut dyn FnMut(f64, f64) -> f64| {
            (0..len).map(|_| u(lo, hi)).collect::<Vec<f64>>()
        };
        let e = vec(n, -1.0, 1.0, &mut u);
        let b = vec(n, -1.0, 1.0, &mut u);
        let c = vec(n, -1.0, 1.0, &mut u);
        let omega = vec(n, 0.5, 3.0, &mut u);
        let d = vec(n, -1.0, 1.0, &mut u);
        let nu = if u(0.0, 1.0) < 0.5 { 0.0 } else { 0.3 };
        let x0 = vec(n, -1.0, 1.0, &mut u);
        let w: Vec<Vec<f64>> = (0..guards).map(|_| vec(n, -1.0, 1.0, &mut u)).collect();
        let beta = vec(guards, -0.5, 0.5, &mut u);
        let gamma = vec(guards, -0.3, 0.3, &mut u);
        let uu = vec(guards, -0.5, 0.5, &mut u);
        let dirs = (0..guards)
            .map(|_| match (u(0.0, 3.0)) as u32 {
                0 => Crossing::Rising,
                1 => Crossing::Falling,
                _ => Crossing::Either,
            })
            .collect();
        let jmat = (0..guards)
            .map(|_| {
                let mut m = vec(n * n, -0.3, 0.3, &mut u);
                for i in 0..n {
                    m[i * n + i] += 1.0;
                }
                m
            })
            .collect();
        let r = (0..guards).map(|_| vec(n, -0.5, 0.5, &mut u)).collect();
        let s = (0..guards).map(|_| vec(n, -0.5, 0.5, &mut u)).collect();
        let bouncing = u(0.0, 1.0) < 0.3;
        let event_time_term = u(0.0, 1.0) < 0.3;
        let p = vec![u(0.5, 1.5), u(-0.5, 0.5), u(0.5, 1.5), u(0.3, 0.95)];
        let t_end = u(1.0, 3.0);
        let mut sys = RandomSystem {
            n,
            guards,
            a,
            e,
            b,
            c,
            omega,
            d,
            nu,
            x0,
            w,
            beta,
            gamma,
            u: uu,
            dirs,
            jmat,
            r,
            s,
            bouncing,
            event_time_term,
        };
        if bouncing {
            sys.x0[0] = sys.x0[0].abs() + 0.2;
            sys.dirs[0] = Crossing::Falling;
        }
        (sys, p, t_end)
    }
}

impl HybridSystem for RandomSystem {
    fn dims(&self) -> Dims {
        Dims {
            states: self.n,
            params: PARAMS,
            guards: self.guards,
        }
    }
    fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) {
        for i in 0..self.n {
            x0[i] = T::cst(self.x0[i]) + T::cst(0.1 * self.d[i]) * p[0];
        }
        if self.bouncing {
            x0[0] = T::cst(self.x0[0]);
        }
    }
    fn flow<T: Scalar>(&self, _q: usize, t: T, x: &[T], p: &[T], dx: &mut [T]) {
        let n = self.n;
        for i in 0..n {
            let mut v = T::cst(self.b[i])
                + T::cst(self.c[i]) * (T::cst(self.omega[i]) * t).sin()
                + p[0] * T::cst(self.d[i])
                + p[1] * T::cst(self.e[i]) * x[i];
            for j in 0..n {
                v += T::cst(self.a[i * n + j]) * x[j];
            }
            if self.nu != 0.0 {
                v += T::cst(self.nu) * x[(i + 1) % n].tanh();
            }
            dx[i] = v;
        }
        if self.bouncing {
            dx[0] = x[1];
            dx[1] = T::cst(-9.81) + T::cst(0.1) * dx[1];
        }
    }
    fn guard<T: Scalar>(&self, _q: usize, k: usize, t: T, x: &[T], p: &[T]) -> T {
        if self.bouncing && k == 0 {
            return x[0];
        }
        let mut g = T::cst(self.beta[k]) + T::cst(self.gamma[k]) * t + p[2] * T::cst(self.u[k]);
        for i in 0..self.n {
            g += T::cst(self.w[k][i]) * x[i];
        }
        g
    }
    fn direction(&self, _q: usize, k: usize) -> Crossing {
        self.dirs[k]
    }
    fn jump<T: Scalar>(&self, _q: usize, k: usize, _t: T, x: &[T], p: &[T], xp: &mut [T]) {
        let n = self.n;
        if self.bouncing && k == 0 {
            xp.copy_from_slice(x);
            xp[1] = -p[3] * x[1];
            return;
        }
        for i in 0..n {
            let mut v = T::cst(self.r[k][i]) + p[3] * T::cst(self.s[k][i]);
            for j in 0..n {
                v += T::cst(self.jmat[k][i * n + j]) * x[j];
            }
            xp[i] = v;
        }
    }
}

impl Derivatives for RandomSystem {}

/// `Σ c_i x_i(T/2) + Σ c_i x_i(T)² / 2 + 0.1 ∫ |x|² dt`, plus the first event time of guard 0
/// when the system asks for an event-time term.
pub struct RandomLoss {
    times: [f64; 2],
    weights: Vec<f64>,
    selectors: Vec<EventSelector>,
}

impl RandomLoss {
    /// The loss of `sys` over `[0, t_end]`.
    pub fn new(sys: &RandomSystem, t_end: f64) -> Self {
        Self {
            times: [0.5 * t_end, t_end],
            weights: sys.d.iter().map(|v| 1.0 + v).collect(),
            selectors: if sys.event_time_term {
                vec![EventSelector::nth_of_guard(0, 0)]
            } else {
                Vec::new()
            },
        }
    }
}

impl Loss for RandomLoss {
    fn observation_times(&self) -> &[f64] {
        &self.times
    }
    fn observation<T: Scalar>(&self, i: usize, x: &[T], _p: &[T]) -> Option<T> {
        let mut v = T::zero();
        for (xi, &c) in x.iter().zip(&self.weights) {
            v += if i == 0 {
                T::cst(c) * *xi
            } else {
                T::cst(0.5 * c) * *xi * *xi
            };
        }
        Some(v)
    }
    fn running<T: Scalar>(&self, _t: T, x: &[T], _p: &[T]) -> Option<T> {
        let mut v = T::zero();
        for xi in x {
            v += T::cst(0.1) * *xi * *xi;
        }
        Some(v)
    }
    fn event_selectors(&self) -> &[EventSelector] {
        &self.selectors
    }
    fn event_term<T: Scalar>(&self, _j: usize, event: EventPoint<'_, T>, _p: &[T]) -> Option<T> {
        let tau = event.t;
        Some(T::cst(0.5) * tau)
    }
}
