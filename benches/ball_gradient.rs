//! The cost of one bouncing-ball gradient (issue #10, "Speed"): 3 impacts, default
//! [`SolverOptions`] (Dopri5, `rtol = atol = 1e-10`), against the closed form.
//!
//! Problem (`benches/support/ball_floor.rs`): `p = [y0, v0, e, g] = [1, 0.5, 0.8, 9.81]`, loss
//! `½ Σ_i (y(s_i) − ŷ_i)²` on heights observed at `s = [0.3, 1.0, 1.5, 2.0]`, horizon `T = 2`.
//! Timed, each the full gradient `∂L/∂p` of the same loss:
//!
//! - `ball_gradient/adjoint`: [`bouncing_ball::adjoint_gradient`] (one call: builds a problem and
//!   a solver, checks the parameters against the ball's Zeno time);
//! - `ball_gradient/forward`: [`bouncing_ball::forward_gradient`] (forward sensitivities, same);
//! - `ball_gradient/adjoint_solver`, `forward_solver`: the same gradients from one reused
//!   [`hybrid_core::Solver`] (what a fit or a training loop does: no allocation per call);
//! - `ball_gradient/adjoint_exact`, `forward_exact`: the same from a reused solver, for the ball
//!   with its derivative products written out by hand (`benches/support/exact_ball.rs`) instead
//!   of the dual-number defaults every other row uses;
//! - `ball_gradient/closed_form_dual`: `closed_form::state_at` in dual numbers (one pass carrying
//!   the 4 partial derivatives);
//! - `ball_gradient/closed_form_by_hand`: the chain of parabolas and its derivatives written out
//!   by hand in `f64`, the floor.
//!
//! Before timing, it checks every gradient against the hand-written one (the framework's to 1e-10,
//! the dual one to 1e-13, relative to the gradient's largest component) and panics otherwise; the
//! same checks are the test `tests/ball_gradient_floor.rs`. After a `cargo bench` run it reads
//! criterion's `estimates.json` and prints each median and its ratio to the floor's.
//! `benches/peers/diffrax_ball.py` times diffrax on the same problem and runs this bench.

#![allow(missing_docs)]

#[path = "support/ball_floor.rs"]
mod ball_floor;
#[path = "support/exact_ball.rs"]
mod exact_ball;

use ball_floor::{
    dual_gradient, floor_gradient, height_loss, relative_error, HEIGHTS, P, TIMES, T_END,
};
use bouncing_ball::{adjoint_gradient, forward_gradient, BouncingBall};
use criterion::{black_box, Criterion};
use exact_ball::ExactBall;
use hybrid_core::{Problem, SolverOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

const GROUP: &str = "ball_gradient";
const IDS: [&str; 8] = [
    "adjoint",
    "forward",
    "adjoint_solver",
    "forward_solver",
    "adjoint_exact",
    "forward_exact",
    "closed_form_dual",
    "closed_form_by_hand",
];
const FLOOR: &str = "closed_form_by_hand";

fn check(opts: &SolverOptions) {
    let loss = height_loss();
    let (l_floor, floor) = floor_gradient(&P, &TIMES, &HEIGHTS);
    let (_, dual) = dual_gradient(&P, &TIMES, &HEIGHTS);
    let adj = adjoint_gradient(&P, T_END, &loss, opts).expect("adjoint gradient");
    let fwd = forward_gradient(&P, T_END, &loss, opts).expect("forward gradient");
    println!("loss {l_floor:.15e}, gradient (by hand) {floor:?}");
    let times: Vec<f64> = adj.events.iter().map(|ev| ev.t).collect();
    println!(
        "forward pass: impacts at {times:?}, {} accepted and {} rejected steps, {} flow evaluations",
        adj.stats.accepted, adj.stats.rejected, adj.stats.rhs_evals
    );
    let problem = Problem::new(BouncingBall, 0.0, T_END)
        .and_then(|pb| pb.with_loss(&loss))
        .and_then(|pb| pb.with_options(*opts))
        .expect("problem");
    let mut solver = problem.solver();
    let adj_solver = solver
        .adjoint_gradient(&P)
        .expect("adjoint")
        .gradient
        .clone();
    let fwd_solver = solver
        .forward_gradient(&P)
        .expect("forward")
        .gradient
        .clone();
    let exact = Problem::new(ExactBall, 0.0, T_END)
        .and_then(|pb| pb.with_loss(&loss))
        .and_then(|pb| pb.with_options(*opts))
        .expect("problem");
    let mut exact_solver = exact.solver();
    let adj_exact = exact_solver
        .adjoint_gradient(&P)
        .expect("adjoint")
        .gradient
        .clone();
    let fwd_exact = exact_solver
        .forward_gradient(&P)
        .expect("forward")
        .gradient
        .clone();
    for (name, got, tol) in [
        ("closed form by dual numbers", &dual[..], 1e-13),
        ("adjoint", &adj.gradient[..], 1e-10),
        ("forward", &fwd.gradient[..], 1e-10),
        ("adjoint (reused solver)", &adj_solver[..], 1e-10),
        ("forward (reused solver)", &fwd_solver[..], 1e-10),
        ("adjoint (exact products)", &adj_exact[..], 1e-10),
        ("forward (exact products)", &fwd_exact[..], 1e-10),
    ] {
        let err = relative_error(got, &floor);
        println!("{name}: error {err:.2e} relative to max |∂L/∂p| (bound {tol:.0e})");
        assert!(err <= tol, "{name}: gradient {got:?} vs {floor:?}");
    }
}

fn run_benches(c: &mut Criterion, opts: &SolverOptions) {
    let loss = height_loss();
    let mut g = c.benchmark_group(GROUP);
    g.warm_up_time(Duration::from_secs(1));
    g.bench_function(IDS[0], |b| {
        b.iter(|| adjoint_gradient(black_box(&P), T_END, &loss, opts).expect("adjoint"))
    });
    g.bench_function(IDS[1], |b| {
        b.iter(|| forward_gradient(black_box(&P), T_END, &loss, opts).expect("forward"))
    });
    let problem = Problem::new(BouncingBall, 0.0, T_END)
        .and_then(|pb| pb.with_loss(&loss))
        .and_then(|pb| pb.with_options(*opts))
        .expect("problem");
    let mut solver = problem.solver();
    g.bench_function(IDS[2], |b| {
        b.iter(|| {
            solver
                .adjoint_gradient(black_box(&P))
                .expect("adjoint")
                .gradient[0]
        })
    });
    g.bench_function(IDS[3], |b| {
        b.iter(|| {
            solver
                .forward_gradient(black_box(&P))
                .expect("forward")
                .gradient[0]
        })
    });
    let exact = Problem::new(ExactBall, 0.0, T_END)
        .and_then(|pb| pb.with_loss(&loss))
        .and_then(|pb| pb.with_options(*opts))
        .expect("problem");
    let mut exact_solver = exact.solver();
    g.bench_function(IDS[4], |b| {
        b.iter(|| {
            exact_solver
                .adjoint_gradient(black_box(&P))
                .expect("adjoint")
                .gradient[0]
        })
    });
    g.bench_function(IDS[5], |b| {
        b.iter(|| {
            exact_solver
                .forward_gradient(black_box(&P))
                .expect("forward")
                .gradient[0]
        })
    });
    g.bench_function(IDS[6], |b| {
        b.iter(|| dual_gradient(black_box(&P), &TIMES, &HEIGHTS))
    });
    g.bench_function(IDS[7], |b| {
        b.iter(|| floor_gradient(black_box(&P), black_box(&TIMES), black_box(&HEIGHTS)))
    });
    g.finish();
}

/// Criterion's output directory, resolved as criterion 0.5 does.
fn criterion_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("criterion")
}

/// Median of one benchmark of the group in nanoseconds, from its last run.
fn median_ns(dir: &Path, id: &str) -> Option<f64> {
    let path = dir.join(GROUP).join(id).join("new/estimates.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    v["median"]["point_estimate"].as_f64()
}

fn report() {
    let dir = criterion_dir();
    let Some(floor) = median_ns(&dir, FLOOR) else {
        println!(
            "ball_gradient: no estimates of the floor under {}",
            dir.display()
        );
        return;
    };
    println!("\n| {GROUP} | median | / closed form by hand |");
    println!("|---|---|---|");
    for id in IDS {
        if let Some(m) = median_ns(&dir, id) {
            println!("| {id} | {:.4} µs | {:.1} |", m * 1e-3, m / floor);
        }
    }
}

fn main() {
    let opts = SolverOptions::default();
    check(&opts);
    let mut c = Criterion::default().configure_from_args();
    run_benches(&mut c, &opts);
    c.final_summary();
    // `cargo bench` passes `--bench`; `cargo test --benches` only checks that each runs.
    if std::env::args().any(|a| a == "--bench") {
        report();
    }
}
