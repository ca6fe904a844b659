//! Recovering hidden parameters of the bouncing ball from what it did: heights observed at 25
//! fixed times (from the closed form of the true ball, y0 = 1, e = 0.8, g = 9.81, dropped from
//! rest) are fitted by BFGS on the adjoint gradient, starting from a guess off by 20-40%.
//!
//! Run with `cargo run --release --example bouncing_ball_fit`.

use bouncing_ball::closed_form::state_at;
use bouncing_ball::{fit_heights, FitOptions, HeightLoss};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let truth = [1.0, 0.0, 0.8, 9.81]; // y0, v0, e, g
    let times: Vec<f64> = (1..=25).map(|i| 0.1 * i as f64).collect();
    let heights = times
        .iter()
        .map(|&t| state_at(&truth, t).unwrap()[0])
        .collect();
    let loss = HeightLoss::new(times, heights)?;

    let guess = [1.4, 0.6, 7.0]; // y0, e, g
    let report = fit_heights(&loss, truth[1], guess, &FitOptions::default())?;

    println!("iter        y0           e            g            loss       max |p ∂L/∂p|");
    for (i, it) in report.iterates.iter().enumerate() {
        let [y0, e, g] = it.params;
        println!(
            "{i:>4}  {y0:>11.8}  {e:>11.8}  {g:>11.8}  {:>11.3e}  {:>11.3e}",
            it.loss, it.gradient_norm
        );
    }
    println!(
        "{} iterations, {} loss/gradient evaluations",
        report.iterates.len() - 1,
        report.evaluations
    );

    let expected = [truth[0], truth[2], truth[3]];
    let mut worst = 0.0f64;
    for ((name, got), want) in ["y0", "e", "g"].iter().zip(report.params).zip(expected) {
        let err = (got - want).abs() / want;
        worst = worst.max(err);
        println!("{name:>2}: recovered {got:.12}, true {want}, relative error {err:.1e}");
    }
    if worst > 1e-6 {
        return Err(format!("relative error {worst:e} above 1e-6").into());
    }
    Ok(())
}
