//! A loss's declarations of what its terms depend on, against the terms themselves.

use crate::{compare, CheckError};
use hybrid_core::{simulate, Derivatives, EventPoint, EventSelector, Loss, SolverOptions};

/// Central difference of `f` in component `i` of `z` (step `1e-6 · max(1, |z_i|)`). Exactly zero
/// when `f` does not read `z_i`.
fn central_in<F: FnMut(&[f64]) -> f64>(z: &mut [f64], i: usize, mut f: F) -> f64 {
    let (zi, h) = (z[i], 1e-6 * z[i].abs().max(1.0));
    z[i] = zi + h;
    let up = f(z);
    z[i] = zi - h;
    let down = f(z);
    z[i] = zi;
    (up - down) / (2.0 * h)
}

/// Check the input declarations of `loss` ([`Loss::event_term_inputs`],
/// [`Loss::observation_depends_on_parameters`]) at the events and observation times of one
/// simulation of `model`: every partial a term declares absent must be exactly zero. They are
/// taken by central differences of the term's own `f64` method, which are exactly zero for an
/// input the term does not read (and, rarely, at a stationary point of one it does: the check
/// cannot see those, so a term should be checked where it has slope). Returns the number of
/// partials checked.
pub fn check_loss_inputs<M: Derivatives, L: Loss>(
    model: &M,
    p: &[f64],
    t0: f64,
    t_end: f64,
    loss: &L,
    opts: &SolverOptions,
) -> Result<usize, CheckError> {
    let sol = simulate(model, p, t0, t_end, opts)?;
    let (n, m) = (model.dims().states, p.len());
    let mut checked = 0;
    let mut picks = Vec::new();
    EventSelector::resolve(loss.event_selectors(), &sol.events, &mut picks)?;
    for &(j, e, occurrence) in &picks {
        let rec = &sol.events[e];
        let inputs = loss.event_term_inputs(j);
        // z = [τ, x⁻, x⁺, p].
        let mut z: Vec<f64> = std::iter::once(rec.t)
            .chain(rec.x_minus.iter().copied())
            .chain(rec.x_plus.iter().copied())
            .chain(p.iter().copied())
            .collect();
        let blocks = [
            (inputs.t, "t", 0..1),
            (inputs.x_minus, "x_minus", 1..1 + n),
            (inputs.x_plus, "x_plus", 1 + n..1 + 2 * n),
            (inputs.p, "p", 1 + 2 * n..1 + 2 * n + m),
        ];
        for (declared, name, range) in blocks {
            if declared {
                continue;
            }
            for i in range {
                let d = central_in(&mut z, i, |z| {
                    let point = EventPoint {
                        t: z[0],
                        x_minus: &z[1..1 + n],
                        x_plus: &z[1 + n..1 + 2 * n],
                        occurrence,
                    };
                    loss.event_term(j, point, &z[1 + 2 * n..])
                        .unwrap_or(f64::NAN)
                });
                let what = format!("event term {j} at event {e}: d/d{name} (declared zero), entry");
                compare(&what, &[d], &[0.0], 0.0, 1e-300)?;
                checked += 1;
            }
        }
    }
    let mut x = vec![0.0; n];
    for (i, &s) in loss.observation_times().iter().enumerate() {
        if loss.observation_depends_on_parameters(i) {
            continue;
        }
        sol.trajectory.eval(s, &mut x);
        let mut z: Vec<f64> = x.iter().chain(p).copied().collect();
        for k in n..n + m {
            let d = central_in(&mut z, k, |z| {
                loss.observation(i, &z[..n], &z[n..]).unwrap_or(f64::NAN)
            });
            let what = format!("observation {i}: d/dp (declared zero), entry");
            compare(&what, &[d], &[0.0], 0.0, 1e-300)?;
            checked += 1;
        }
    }
    Ok(checked)
}
