//! The near-grazing sweep behind `SolverOptions::grazing_limit` (docs/grazing.md): an oscillator
//! of amplitude `d (1 + δ)` against a stop at `d`, for `δ` from `1e-1` down to `1e-14` and three
//! tolerances, with the gradient error of both methods against the closed form, the event's `ġ`
//! and grazing index `κ`, and whether the default limit refuses it.
//!
//! Run: `cargo run --release --example grazing_sweep`

#[path = "oscillator.rs"]
mod oscillator;

use hybrid_core::{adjoint_gradient, forward_gradient, simulate, Error, Gradient, SolverOptions};
use oscillator::{end_time, exact_gradient, params, rel_dev, Endpoint, StopOscillator};

fn main() {
    let limit = SolverOptions::default().grazing_limit;
    println!(
        "| tol | δ | events | ġ | κ | forward error | adjoint error | default options return |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut worst_ok = 0.0f64;
    for tol in [1e-8, 1e-10, 1e-12] {
        // Errors measured with no limit; the last column is what the default limit does.
        let measure = SolverOptions {
            rtol: tol,
            atol: tol,
            grazing_limit: f64::INFINITY,
            ..SolverOptions::default()
        };
        let default = SolverOptions {
            grazing_limit: limit,
            ..measure
        };
        for e in 1..=14 {
            let delta = 10f64.powi(-e);
            let p = params(delta);
            let t_end = end_time(p[3]);
            let loss = Endpoint([t_end]);
            let want = exact_gradient(&p, t_end);
            let sol = simulate(&StopOscillator, &p, 0.0, t_end, &measure).expect("simulates");
            let (gdot, kappa) = match sol.events.first() {
                Some(ev) => (format!("{:.3e}", ev.gdot), format!("{:.2e}", ev.grazing)),
                None => match sol.near_misses.first() {
                    Some(m) => (
                        format!("miss by {:.1e}", m.g),
                        format!("σ_g {:.1e}", m.noise),
                    ),
                    None => ("-".into(), "-".into()),
                },
            };
            let err = |r: Result<Gradient, Error>| match r {
                Ok(g) => format!("{:.2e}", rel_dev(&g.gradient, &want)),
                Err(_) => "refused".into(),
            };
            let ef = err(forward_gradient(
                &StopOscillator,
                &p,
                0.0,
                t_end,
                &loss,
                &measure,
            ));
            let ea = err(adjoint_gradient(
                &StopOscillator,
                &p,
                0.0,
                t_end,
                &loss,
                &measure,
            ));
            let outcome = [
                forward_gradient(&StopOscillator, &p, 0.0, t_end, &loss, &default),
                adjoint_gradient(&StopOscillator, &p, 0.0, t_end, &loss, &default),
            ]
            .into_iter()
            .map(|r| match r {
                Ok(g) => {
                    let dev = rel_dev(&g.gradient, &want);
                    worst_ok = worst_ok.max(dev);
                    format!("Ok ({dev:.1e})")
                }
                Err(Error::GrazingEvent { .. }) => "GrazingEvent".into(),
                Err(Error::NearMiss { .. }) => "NearMiss".into(),
                Err(other) => format!("{other}"),
            })
            .collect::<Vec<_>>()
            .join(" / ");
            println!(
                "| {tol:e} | {delta:e} | {} | {gdot} | {kappa} | {ef} | {ea} | {outcome} |",
                sol.events.len()
            );
        }
    }
    println!("\nworst error of a gradient returned at the default limit: {worst_ok:.2e}");
}
