//! A driver for counting the instructions of one ball gradient (docs/performance.md §7): the
//! problem of `benches/ball_gradient.rs` (`p = [1, 0.5, 0.8, 9.81]`, heights observed at
//! `s = [0.3, 1.0, 1.5, 2.0]`, horizon `T = 2`, 3 impacts, default options), `N` gradients from
//! one reused [`hybrid_core::Solver`], for the ball with the dual-number products (`dual`, the
//! default) or with its products written out (`exact`, `benches/support/exact_ball.rs`).
//!
//! ```sh
//! cargo build --release --example ball_gradient_profile
//! valgrind --tool=callgrind target/release/examples/ball_gradient_profile adjoint 1000
//! valgrind --tool=callgrind target/release/examples/ball_gradient_profile adjoint 2000
//! ```
//!
//! The difference of the two totals over 1000 is the marginal count of one gradient (the first
//! call's allocations and the process start-up cancel). Arguments: `adjoint` or `forward`, the
//! number of gradients, `dual` or `exact`.

#[path = "../benches/support/exact_ball.rs"]
mod exact_ball;

use bouncing_ball::{BouncingBall, HeightLoss};
use exact_ball::ExactBall;
use hybrid_core::{Derivatives, Problem};
use std::hint::black_box;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let method = args.next().unwrap_or_else(|| "adjoint".into());
    let calls: usize = args.next().map_or(Ok(1000), |s| s.parse())?;
    match args.next().as_deref() {
        None | Some("dual") => run(BouncingBall, &method, calls),
        Some("exact") => run(ExactBall, &method, calls),
        Some(other) => Err(format!("unknown products {other:?}: dual or exact").into()),
    }
}

fn run<M: Derivatives>(
    model: M,
    method: &str,
    calls: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let loss = HeightLoss::new(vec![0.3, 1.0, 1.5, 2.0], vec![0.5, 0.4, 0.3, 0.2])?;
    let problem = Problem::new(model, 0.0, 2.0)?.with_loss(loss)?;
    let mut solver = problem.solver();
    let p = [1.0, 0.5, 0.8, 9.81];
    let mut sum = 0.0;
    for _ in 0..calls {
        let g = match method {
            "adjoint" => solver.adjoint_gradient(black_box(&p))?,
            "forward" => solver.forward_gradient(black_box(&p))?,
            other => return Err(format!("unknown method {other:?}: adjoint or forward").into()),
        };
        sum += g.gradient[0];
    }
    let g = match method {
        "adjoint" => solver.adjoint_gradient(&p)?,
        _ => solver.forward_gradient(&p)?,
    };
    println!(
        "{method}: {calls} gradients, last {:?} (loss {:.15e}), {} steps, {} flow evaluations, checksum {sum:e}",
        g.gradient, g.loss, g.stats.accepted, g.stats.rhs_evals
    );
    Ok(())
}
