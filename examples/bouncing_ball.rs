//! The EventProp paper's Fig. 1A: a ball dropped from y0 = 1 with restitution e = 0.8 and
//! g = 9.81, over three impacts. Prints the jumps of ∂y/∂y0 and ∂v/∂y0 at each impact (methods
//! eq. 14), checks forward sensitivities and the adjoint gradient against the closed form, and
//! writes `out/bouncing_ball.csv` and `out/bouncing_ball_fig1a.svg` (y(t) above, ∂y/∂y0(t) below).
//!
//! Run with `cargo run --release --example bouncing_ball`.

use bouncing_ball::closed_form::state_at;
use bouncing_ball::{adjoint_gradient, forward_sensitivities, HeightLoss, Y0};
use hybrid_core::{Integrator, SolverOptions};
use num_dual::Dual64;
use plotters::prelude::*;
use std::io::Write;

const P: [f64; 4] = [1.0, 0.0, 0.8, 9.81]; // y0, v0, e, g
const T_END: f64 = 2.0; // impacts at 0.452, 1.174, 1.752; the fourth at 2.214

/// Times at which the adjoint's loss `L = ½ Σ (y(s_i) − 0.5)²` looks at the height.
const OBS: [f64; 4] = [0.3, 0.9, 1.5, 2.0];

/// `∂f/∂p` of a closed form by one dual evaluation per parameter.
fn dual_grad<const N: usize>(f: impl Fn(&[Dual64]) -> [Dual64; N]) -> Vec<[f64; N]> {
    (0..4)
        .map(|j| {
            let pd: Vec<Dual64> = (0..4)
                .map(|i| Dual64::new(P[i], if i == j { 1.0 } else { 0.0 }))
                .collect();
            f(&pd).map(|d| d.eps)
        })
        .collect()
}

/// `max |a − b| / max |b|`: relative error of a vector, judged on its own scale.
fn rel_err(a: &[f64], b: &[f64]) -> f64 {
    let err = a.iter().zip(b).map(|(x, y)| (x - y).abs());
    err.fold(0.0, f64::max) / b.iter().fold(0.0f64, |m, v| m.max(v.abs()))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let tight = SolverOptions {
        rtol: 1e-12,
        atol: 1e-12,
        ..Default::default()
    };
    let opts = SolverOptions {
        integrator: Integrator::Dop853,
        ..tight
    };
    let grid: Vec<f64> = (0..=400).map(|i| T_END * i as f64 / 400.0).collect();
    let sens = forward_sensitivities(&P, T_END, &grid, &opts)?;

    println!("impact  t [s]     ∂y/∂y0 before  after     ∂v/∂y0 before  after");
    for (k, (ev, (sm, sp))) in sens
        .events
        .iter()
        .zip(&sens.event_sensitivities)
        .enumerate()
    {
        let ([y_m, v_m], [y_p, v_p]) = ([sm[2 * Y0], sm[2 * Y0 + 1]], [sp[2 * Y0], sp[2 * Y0 + 1]]);
        let t = ev.t;
        println!(
            "{:>6}  {t:.6}  {y_m:>13.6}  {y_p:>9.6}  {v_m:>13.6}  {v_p:>9.6}",
            k + 1
        );
    }

    // S(t) on the grid against ∂[y, v]/∂p of the closed form; the adjoint against dL/dp.
    let mut forward_err = 0.0f64;
    for sample in &sens.samples {
        let exact: Vec<f64> = dual_grad(|p| state_at(p, Dual64::from(sample.t)).unwrap()).concat();
        forward_err = forward_err.max(rel_err(&sample.s, &exact));
    }
    let loss = HeightLoss::new(OBS.to_vec(), vec![0.5; 4])?;
    let adjoint = adjoint_gradient(&P, T_END, &loss, &opts)?;
    let half = Dual64::from(0.5);
    let closed_loss = |p: &[Dual64]| {
        let r = OBS.map(|t| state_at(p, t.into()).unwrap()[0] - half);
        [r.iter().map(|r| *r * *r * half).sum()]
    };
    let exact: Vec<f64> = dual_grad(closed_loss).concat();
    println!("forward vs closed form: max relative error {forward_err:.2e}");
    println!(
        "adjoint vs closed form: max relative error {:.2e}",
        rel_err(&adjoint.gradient, &exact)
    );

    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("out");
    std::fs::create_dir_all(&out)?;
    let mut csv = std::io::BufWriter::new(std::fs::File::create(out.join("bouncing_ball.csv"))?);
    writeln!(
        csv,
        "t,y,v,dy_dy0,dv_dy0,dy_dv0,dv_dv0,dy_de,dv_de,dy_dg,dv_dg"
    )?;
    for s in &sens.samples {
        let cols: Vec<String> = [s.t, s.x[0], s.x[1]]
            .iter()
            .chain(&s.s)
            .map(|v| format!("{v:e}"))
            .collect();
        writeln!(csv, "{}", cols.join(","))?;
    }
    csv.flush()?;

    // Split the curves at the impacts so the jumps of ∂y/∂y0 show, closing each piece with S⁻
    // and opening the next with S⁺.
    let mut pieces: Vec<Vec<[f64; 3]>> = vec![vec![]]; // (t, y, ∂y/∂y0)
    let mut events = sens.events.iter().zip(&sens.event_sensitivities).peekable();
    for s in &sens.samples {
        while let Some((ev, (sm, sp))) = events.next_if(|(ev, _)| ev.t <= s.t) {
            pieces.last_mut().unwrap().push([ev.t, 0.0, sm[2 * Y0]]);
            pieces.push(vec![[ev.t, 0.0, sp[2 * Y0]]]);
        }
        pieces.last_mut().unwrap().push([s.t, s.x[0], s.s[2 * Y0]]);
    }
    let svg = out.join("bouncing_ball_fig1a.svg");
    let root = SVGBackend::new(&svg, (800, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let panels = root.split_evenly((2, 1));
    for (area, (label, c)) in panels.iter().zip([("y [m]", 1), ("∂y/∂y0", 2)]) {
        let values = pieces.iter().flatten().map(|p| p[c]);
        let (lo, hi) = values.fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
        let (lo, hi) = (lo - 0.05 * (hi - lo), hi + 0.05 * (hi - lo));
        let mut chart = ChartBuilder::on(area)
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(50)
            .build_cartesian_2d(0.0..T_END, lo..hi)?;
        chart
            .configure_mesh()
            .x_desc("t [s]")
            .y_desc(label)
            .draw()?;
        for piece in &pieces {
            chart.draw_series(LineSeries::new(
                piece.iter().map(|p| (p[0], p[c])),
                BLUE.stroke_width(2),
            ))?;
        }
    }
    root.present()?;
    println!(
        "wrote bouncing_ball.csv and bouncing_ball_fig1a.svg in {}",
        out.display()
    );
    Ok(())
}
