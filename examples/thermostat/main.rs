//! A thermostat with hysteresis, a hybrid system with two modes and two guards: prints its
//! switching times and the gradient of a loss (period, energy, comfort) by forward sensitivities
//! and by the adjoint; then tunes the thresholds by gradient descent with one reusable solver.
//!
//! Run with `cargo run --example thermostat`. The model is in `model.rs` beside this file; the
//! walk-through is `docs/writing-a-model.md`.

mod model;

use hybrid_core::{adjoint_gradient, forward_gradient, simulate, Problem, SolverOptions};
use model::{Thermostat, ThermostatLoss, SWITCH_ON};

fn main() -> Result<(), hybrid_core::Error> {
    // T0 = 15 °C, P = 8 kW, k = 0.25 /h, T_a = 5 °C, T_low = 19 °C, T_high = 21 °C.
    let p = [15.0, 8.0, 0.25, 5.0, 19.0, 21.0];
    let (t0, t_end) = (0.0, 6.0);
    let opts = SolverOptions::default();

    let sol = simulate(&Thermostat, &p, t0, t_end, &opts)?;
    println!("switching times over {t_end} h:");
    for e in &sol.events {
        let k = e.guard().expect("the thermostat has no scheduled events");
        let what = if k == SWITCH_ON { "on " } else { "off" };
        println!(
            "  t = {:.9} h  heater {what} (guard {k}, mode {} -> {})  T = {:.6} °C  ġ = {:+.4} °C/h",
            e.t, e.mode_before, e.mode_after, e.x_minus[0], e.gdot
        );
    }
    println!(
        "T(t_end) = {:.6} °C, energy used E(t_end) = {:.6} kWh, smallest |ġ| = {:.4} °C/h",
        sol.x_end[0],
        sol.x_end[1],
        sol.min_abs_gdot()
    );

    // One period, the energy bill at 0.1 per kWh, and the discomfort ∫ (T − 20)² dt.
    let loss = ThermostatLoss::new(t_end, [1.0, 0.1, 1.0], 20.0);
    let fwd = forward_gradient(&Thermostat, &p, t0, t_end, &loss, &opts)?;
    let adj = adjoint_gradient(&Thermostat, &p, t0, t_end, &loss, &opts)?;
    println!("\nL = {:.9} (forward), {:.9} (adjoint)", fwd.loss, adj.loss);
    println!("{:>8} {:>18} {:>18}", "p", "dL/dp forward", "dL/dp adjoint");
    let names = ["T0", "P", "k", "T_a", "T_low", "T_high"];
    for (j, name) in names.iter().enumerate() {
        println!(
            "{name:>8} {:>18.10} {:>18.10}",
            fwd.gradient[j], adj.gradient[j]
        );
    }

    // Many gradients of one problem: build it once; the solver reuses its buffers, so every
    // call after the first allocates nothing.
    let problem = Problem::new(Thermostat, t0, t_end)?
        .with_loss(loss)?
        .with_options(opts)?;
    let mut solver = problem.solver();
    let mut q = p;
    for _ in 0..20 {
        let g = solver.adjoint_gradient(&q)?;
        // Move only the thresholds T_low, T_high (indices 4 and 5).
        q[4] -= 0.01 * g.gradient[4];
        q[5] -= 0.01 * g.gradient[5];
    }
    let tuned = solver.adjoint_gradient(&q)?;
    println!(
        "\nafter 20 steps on the thresholds: T_low = {:.4} °C, T_high = {:.4} °C, L = {:.6} (from {:.6})",
        q[4], q[5], tuned.loss, adj.loss
    );
    Ok(())
}
