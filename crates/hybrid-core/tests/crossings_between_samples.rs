//! Crossings between the sampled path's samples (docs/grazing.md): a guard that dips through
//! zero and back between two samples, before the crossing the samples saw.

use hybrid_core::{simulate, Crossing, Derivatives, Dims, HybridSystem, Scalar, SolverOptions};

/// `ẏ = v`, `v̇ = a`, `ȧ = −c`: the cubic `y = y0 + v0 t + a0 t²/2 − c t³/6`. Guard `y − h`
/// falling; the jump `v⁺ = −v⁻`. Parameters `[y0, v0, a0, c, h]`.
struct Cubic;

impl HybridSystem for Cubic {
    fn dims(&self) -> Dims {
        Dims {
            states: 3,
            params: 5,
            guards: 1,
        }
    }
    fn initial_state<T: Scalar>(&self, p: &[T], x0: &mut [T]) {
        x0.copy_from_slice(&p[..3]);
    }
    fn flow<T: Scalar>(&self, _q: usize, _t: T, x: &[T], p: &[T], dx: &mut [T]) {
        dx[0] = x[1];
        dx[1] = x[2];
        dx[2] = -p[3];
    }
    fn guard<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], p: &[T]) -> T {
        x[0] - p[4]
    }
    fn direction(&self, _q: usize, _k: usize) -> Crossing {
        Crossing::Falling
    }
    fn jump<T: Scalar>(&self, _q: usize, _k: usize, _t: T, x: &[T], _p: &[T], xp: &mut [T]) {
        xp.copy_from_slice(x);
        xp[1] = -x[1];
    }
}

impl Derivatives for Cubic {}

const C: f64 = 0.4;
const H: f64 = 0.5;

/// `y(t)` in closed form, and its root between `a` and `b` by bisection (to the ulps).
fn y(t: f64) -> f64 {
    1.0 - t + 0.5 * t * t - C * t * t * t / 6.0
}

fn root(mut a: f64, mut b: f64) -> f64 {
    let up = y(a) < H;
    while b - a > 4.0 * f64::EPSILON * b {
        let m = 0.5 * (a + b);
        if (y(m) < H) == up {
            a = m;
        } else {
            b = m;
        }
    }
    0.5 * (a + b)
}

#[test]
fn a_guard_that_dips_through_zero_before_the_crossing_its_samples_saw_fires_at_the_dip() {
    // `y = 1 − t + t²/2 − 0.4 t³/6` turns at `t = (1 ∓ √0.2)/0.4`: down through `h = 0.5`, up
    // again, down again after its maximum. The steps (the guard does not steer them, and with
    // `h` far below it never fires) put all three crossings in one step, with the one interior
    // sample between the second and the third: the samples see only the third.
    let p = [1.0, -1.0, 1.0, C, H];
    let (t_min, t_max) = ((1.0 - 0.2f64.sqrt()) / C, (1.0 + 0.2f64.sqrt()) / C);
    let (t1, t2, t3) = (root(0.0, t_min), root(t_min, t_max), root(t_max, 10.0));
    let free = simulate(
        &Cubic,
        &[1.0, -1.0, 1.0, C, -100.0],
        0.0,
        12.0,
        &Default::default(),
    );
    let step = free
        .unwrap()
        .trajectory
        .steps()
        .find(|s| s.0 < t1 && s.1 > t1)
        .unwrap();
    let middle = 0.5 * (step.0 + step.1);
    assert!(
        middle > t2 && middle < t3 && step.1 > t3,
        "{step:?} {t1} {t2} {t3}"
    );
    for samples in [1, 4] {
        let opts = SolverOptions {
            guard_samples: samples,
            ..Default::default()
        };
        let sol = simulate(&Cubic, &p, 0.0, 12.0, &opts).unwrap();
        let first = sol.events[0].t;
        assert!(
            (first - t1).abs() <= 1e-12,
            "samples {samples}: first event at {first}, the dip's crossing at {t1} ({t3} next)"
        );
    }
}
