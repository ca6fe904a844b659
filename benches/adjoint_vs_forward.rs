//! How the two gradient methods of the generic framework scale with the number of parameters:
//! a recurrent LIF network (Table 1, Table 3 time constants) run as a `HybridSystem` through
//! `hybrid_core`, with `N = 2, 4, 8, 16, 32` neurons, 4 inputs and all-to-all recurrent synapses
//! (`P = 4N + N(N-1)` weights, 10 to 1120).
//!
//! Timed per `N`: one plain [`simulate`], the full gradient by the adjoint ([`adjoint_gradient`])
//! and by forward sensitivities ([`forward_gradient`]). Forward sensitivities carry a `2N × P`
//! matrix through every step, so they should grow like `N · P ≈ N³`; the adjoint carries one
//! `2N` vector backwards and should stay within a small constant of the simulation.
//!
//! Each input fires 3 times in `[0, 30] ms` (random, seeded); input weights `N(3, 1.5)`,
//! recurrent weights `N(0, 2/√N)`; `t_end = 50 ms`. Loss: `0.01 Σ_k t_k` over every spike of the
//! nominal run plus `Σ_n V_n(45 ms)` (spike-time and voltage terms, as in the paper's `l_p`, `l_V`).
//! Tolerances: the defaults of [`SolverOptions`] (Dopri5, `rtol = atol = 1e-10`).
//!
//! After the measurements, the program reads criterion's `estimates.json` of these benches (its
//! own run or an earlier one) and prints the table of medians, ratios and log-log slopes and draws
//! `docs/adjoint_vs_forward.svg`. `AVF_PLOT_ONLY=1` skips the measurements and only does that.
//!
//! `AVF_ONCE=<what>:<N>` (`what` one of `none`, `simulate`, `adjoint`, `forward`) builds the case
//! of size `N` and makes that one call, nothing else: for instruction counts that do not depend
//! on the machine's load, e.g. `valgrind --tool=callgrind <bench binary>` once per `what`, and the
//! `none` run subtracted (docs/performance.md §2). With `AVF_BITS` also set, `adjoint` and
//! `forward` print the loss and an FNV-1a digest of the gradient's bits: a change that must keep
//! the gradient's bits compares the two lines before and after.
//!
//! `AVF_RATIO=<N>:<rounds>` times `simulate` and `adjoint_gradient` at size `N` in alternation,
//! one call each per round, and prints the minimum and median time per call of each and their
//! ratios: on a loaded machine the two see the same load, which a criterion run of one group
//! after the other does not.

#![allow(missing_docs)]

use criterion::{BenchmarkId, Criterion, SamplingMode};
use hybrid_core::{adjoint_gradient, forward_gradient, simulate, SolverOptions};
use lif_network::generic::{spike_counts, LifNetwork, SpikeVoltageLoss};
use lif_network::{InputSpike, LifParams};
use plotters::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SIZES: [usize; 5] = [2, 4, 8, 16, 32];
const N_INPUTS: usize = 4;
const T_END: f64 = 50.0;
const T_PROBE: f64 = 45.0;
const GROUPS: [(&str, &str); 3] = [
    ("lif_generic_simulate", "simulate"),
    ("lif_generic_adjoint", "adjoint gradient"),
    ("lif_generic_forward", "forward-sensitivity gradient"),
];

struct Case {
    model: LifNetwork,
    p: Vec<f64>,
    loss: SpikeVoltageLoss,
    spikes: usize,
}

/// Standard normal by Box-Muller (keeps the root's dependency list as it is).
fn normal(r: &mut ChaCha8Rng) -> f64 {
    let (u, v): (f64, f64) = (r.gen_range(f64::EPSILON..1.0), r.gen());
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

fn case(n: usize, opts: &SolverOptions) -> Case {
    let mut r = ChaCha8Rng::seed_from_u64(7 + n as u64);
    let input: Vec<InputSpike> = (0..N_INPUTS as u32)
        .flat_map(|source| (0..3).map(move |_| source))
        .map(|source| InputSpike {
            time: r.gen_range(0.0..30.0),
            source,
        })
        .collect();
    let model = LifNetwork::all_to_all(LifParams::default(), n, N_INPUTS, &input).expect("model");
    let rec_std = 2.0 / (n as f64).sqrt();
    // Input synapses come first in the parameter order (see `LifNetwork`).
    let p: Vec<f64> = (0..model.synapses().len())
        .map(|j| {
            if j < n * N_INPUTS {
                3.0 + 1.5 * normal(&mut r)
            } else {
                rec_std * normal(&mut r)
            }
        })
        .collect();
    let sol = simulate(&model, &p, 0.0, T_END, opts).expect("nominal simulation");
    let counts = spike_counts(&sol.events, n);
    let mut loss = SpikeVoltageLoss::new(&model);
    for (neuron, &count) in counts.iter().enumerate() {
        for k in 0..count {
            loss = loss
                .spike_time(neuron, k, 0.01)
                .expect("a neuron of the model");
        }
        loss = loss
            .voltage(neuron, T_PROBE, 1.0)
            .expect("a neuron of the model");
    }
    Case {
        model,
        p,
        loss,
        spikes: counts.iter().sum(),
    }
}

fn run_benches(c: &mut Criterion, opts: &SolverOptions) {
    let cases: Vec<(usize, Case)> = SIZES.iter().map(|&n| (n, case(n, opts))).collect();
    for (n, cs) in &cases {
        let sim = simulate(&cs.model, &cs.p, 0.0, T_END, opts).expect("simulate");
        let adj = adjoint_gradient(&cs.model, &cs.p, 0.0, T_END, &cs.loss, opts).expect("adjoint");
        let fwd = forward_gradient(&cs.model, &cs.p, 0.0, T_END, &cs.loss, opts).expect("forward");
        let dev = adj
            .gradient
            .iter()
            .zip(&fwd.gradient)
            .map(|(a, f)| (a - f).abs())
            .fold(0.0, f64::max);
        let scale = adj.gradient.iter().map(|g| g.abs()).fold(0.0, f64::max);
        println!(
            "N = {n:2}: P = {:4}, {} spikes, {} events, {} accepted steps; \
             max |adjoint - forward| = {dev:.1e} (max |grad| = {scale:.2e})",
            cs.p.len(),
            cs.spikes,
            sim.events.len(),
            sim.stats.accepted,
        );
    }
    for (gi, (group, _)) in GROUPS.iter().enumerate() {
        let mut g = c.benchmark_group(*group);
        if gi == 2 {
            // N = 32 takes a large fraction of a second per gradient: 10 equal samples.
            g.sample_size(10).sampling_mode(SamplingMode::Flat);
        }
        g.warm_up_time(Duration::from_secs(1));
        for (n, cs) in &cases {
            g.bench_with_input(BenchmarkId::from_parameter(n), cs, |b, cs| match gi {
                0 => b.iter(|| simulate(&cs.model, &cs.p, 0.0, T_END, opts).expect("simulate")),
                1 => b.iter(|| {
                    adjoint_gradient(&cs.model, &cs.p, 0.0, T_END, &cs.loss, opts).expect("adj")
                }),
                _ => b.iter(|| {
                    forward_gradient(&cs.model, &cs.p, 0.0, T_END, &cs.loss, opts).expect("fwd")
                }),
            });
        }
        g.finish();
    }
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

/// Median and its 95 % confidence interval (seconds) of one benchmark's last run.
fn median(dir: &Path, group: &str, n: usize) -> Option<[f64; 3]> {
    let path = dir
        .join(group)
        .join(n.to_string())
        .join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    let m = &v["median"];
    let get = |x: &serde_json::Value| x.as_f64().map(|ns| ns * 1e-9);
    Some([
        get(&m["point_estimate"])?,
        get(&m["confidence_interval"]["lower_bound"])?,
        get(&m["confidence_interval"]["upper_bound"])?,
    ])
}

/// Least-squares slope of `ln y` against `ln x`.
fn log_slope(x: &[f64], y: &[f64]) -> f64 {
    let lx: Vec<f64> = x.iter().map(|v| v.ln()).collect();
    let ly: Vec<f64> = y.iter().map(|v| v.ln()).collect();
    let k = lx.len() as f64;
    let (mx, my) = (lx.iter().sum::<f64>() / k, ly.iter().sum::<f64>() / k);
    let sxy: f64 = lx.iter().zip(&ly).map(|(a, b)| (a - mx) * (b - my)).sum();
    let sxx: f64 = lx.iter().map(|a| (a - mx) * (a - mx)).sum();
    sxy / sxx
}

fn report() -> Result<(), Box<dyn std::error::Error>> {
    let dir = criterion_dir();
    let mut t = [[[0.0; 3]; SIZES.len()]; 3];
    for (gi, (group, _)) in GROUPS.iter().enumerate() {
        for (i, &n) in SIZES.iter().enumerate() {
            t[gi][i] = median(&dir, group, n)
                .ok_or_else(|| format!("no estimates for {group}/{n} under {}", dir.display()))?;
        }
    }
    let ns: Vec<f64> = SIZES.iter().map(|&n| n as f64).collect();
    let ps: Vec<f64> = SIZES
        .iter()
        .map(|&n| (N_INPUTS * n + n * (n - 1)) as f64)
        .collect();
    println!("\n| N | P | simulate (ms) | adjoint (ms) | forward (ms) | adjoint/sim | forward/sim | forward/adjoint |");
    println!("|---|---|---|---|---|---|---|---|");
    for i in 0..SIZES.len() {
        let ms = |gi: usize| {
            let [m, lo, hi] = t[gi][i];
            format!("{:.3} [{:.3}, {:.3}]", m * 1e3, lo * 1e3, hi * 1e3)
        };
        println!(
            "| {} | {} | {} | {} | {} | {:.2} | {:.1} | {:.1} |",
            SIZES[i],
            ps[i],
            ms(0),
            ms(1),
            ms(2),
            t[1][i][0] / t[0][i][0],
            t[2][i][0] / t[0][i][0],
            t[2][i][0] / t[1][i][0]
        );
    }
    for (gi, (_, label)) in GROUPS.iter().enumerate() {
        let y: Vec<f64> = t[gi].iter().map(|m| m[0]).collect();
        // Slopes over all sizes, and over N >= 8 (where the per-event constant matters less).
        println!(
            "{label}: time ~ N^{:.2} (N^{:.2} for N >= 8), ~ P^{:.2} (P^{:.2} for N >= 8)",
            log_slope(&ns, &y),
            log_slope(&ns[2..], &y[2..]),
            log_slope(&ps, &y),
            log_slope(&ps[2..], &y[2..])
        );
    }
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/adjoint_vs_forward.svg");
    draw(&out, &ns, &t)?;
    println!("wrote {}", out.display());
    Ok(())
}

fn draw(
    out: &Path,
    ns: &[f64],
    t: &[[[f64; 3]; SIZES.len()]; 3],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(out, (1000, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(500);
    let colors = [BLACK, BLUE, RED];
    let ms = |v: f64| v * 1e3;
    let (y_lo, y_hi) = t.iter().flatten().fold((f64::MAX, 0.0f64), |(lo, hi), m| {
        (lo.min(ms(m[1])), hi.max(ms(m[2])))
    });
    let mut chart = ChartBuilder::on(&left)
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .caption("Generic LIF network: time per call", ("sans-serif", 16))
        .build_cartesian_2d(
            (1.5f64..45.0).log_scale().base(2.0),
            (y_lo * 0.7..y_hi * 1.5).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc("neurons N (P = N² + 3N weights)")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_desc("median time (ms)")
        .y_label_formatter(&|y| format!("{y}"))
        .draw()?;
    for (gi, (_, label)) in GROUPS.iter().enumerate() {
        let c = colors[gi];
        let pts: Vec<(f64, f64)> = ns.iter().zip(&t[gi]).map(|(&n, m)| (n, ms(m[0]))).collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))?
            .label(*label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))?;
        // 95 % confidence interval of the median, as a vertical bar.
        chart.draw_series(ns.iter().zip(&t[gi]).map(|(&n, m)| {
            PathElement::new(vec![(n, ms(m[1])), (n, ms(m[2]))], c.stroke_width(1))
        }))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;

    let ratios: Vec<[f64; 2]> = (0..ns.len())
        .map(|i| [t[1][i][0] / t[0][i][0], t[2][i][0] / t[0][i][0]])
        .collect();
    let r_hi = ratios.iter().flatten().fold(1.0f64, |a, &b| a.max(b));
    let mut chart = ChartBuilder::on(&right)
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(55)
        .caption("Gradient cost / simulation cost", ("sans-serif", 16))
        .build_cartesian_2d(
            (1.5f64..45.0).log_scale().base(2.0),
            (0.5f64..r_hi * 1.5).log_scale(),
        )?;
    chart
        .configure_mesh()
        .x_desc("neurons N")
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_desc("time ratio")
        .y_label_formatter(&|y| format!("{y}"))
        .draw()?;
    for (k, label) in ["adjoint / simulate", "forward / simulate"]
        .iter()
        .enumerate()
    {
        let c = colors[k + 1];
        let pts: Vec<(f64, f64)> = ns.iter().zip(&ratios).map(|(&n, r)| (n, r[k])).collect();
        chart
            .draw_series(LineSeries::new(pts.clone(), c.stroke_width(2)))?
            .label(*label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c.stroke_width(2)));
        chart.draw_series(pts.iter().map(|&p| Circle::new(p, 3, c.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}

/// One call of `what` at size `n` (see the module docs); `Err` names a bad `AVF_ONCE`.
fn once(spec: &str, opts: &SolverOptions) -> Result<(), String> {
    let bad = || format!("AVF_ONCE={spec}: expected <none|simulate|adjoint|forward>:<N>");
    let (what, n) = spec.split_once(':').ok_or_else(bad)?;
    let n: usize = n.parse().map_err(|_| bad())?;
    let cs = case(n, opts);
    match what {
        "none" => {}
        "simulate" => {
            drop(simulate(&cs.model, &cs.p, 0.0, T_END, opts).map_err(|e| e.to_string())?)
        }
        "adjoint" => print_bits(
            "adjoint",
            adjoint_gradient(&cs.model, &cs.p, 0.0, T_END, &cs.loss, opts)
                .map_err(|e| e.to_string())?,
        ),
        "forward" => print_bits(
            "forward",
            forward_gradient(&cs.model, &cs.p, 0.0, T_END, &cs.loss, opts)
                .map_err(|e| e.to_string())?,
        ),
        _ => return Err(bad()),
    }
    Ok(())
}

/// With `AVF_BITS` set: the loss and an FNV-1a digest of the gradient's bits (see the module docs).
fn print_bits(what: &str, g: hybrid_core::Gradient) {
    if std::env::var_os("AVF_BITS").is_none() {
        return;
    }
    let digest = g.gradient.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, d| {
        d.to_bits()
            .to_le_bytes()
            .iter()
            .fold(h, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
    });
    println!(
        "{what}: loss {:e} ({:016x}), {} gradient entries, digest {digest:016x}",
        g.loss,
        g.loss.to_bits(),
        g.gradient.len()
    );
}

/// `AVF_RATIO=<N>:<rounds>`: simulate and adjoint in alternation (see the module docs).
fn ratio(spec: &str, opts: &SolverOptions) -> Result<(), String> {
    let bad = || format!("AVF_RATIO={spec}: expected <N>:<rounds>");
    let (n, rounds) = spec.split_once(':').ok_or_else(bad)?;
    let n: usize = n.parse().map_err(|_| bad())?;
    let rounds: usize = rounds.parse().map_err(|_| bad())?;
    let cs = case(n, opts);
    let (mut sim, mut adj) = (Vec::new(), Vec::new());
    for _ in 0..rounds.max(1) {
        let t = std::time::Instant::now();
        std::hint::black_box(
            simulate(&cs.model, &cs.p, 0.0, T_END, opts).map_err(|e| e.to_string())?,
        );
        sim.push(t.elapsed().as_secs_f64());
        let t = std::time::Instant::now();
        std::hint::black_box(
            adjoint_gradient(&cs.model, &cs.p, 0.0, T_END, &cs.loss, opts)
                .map_err(|e| e.to_string())?,
        );
        adj.push(t.elapsed().as_secs_f64());
    }
    let stats = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        (v[0], v[v.len() / 2])
    };
    let ((s_min, s_med), (a_min, a_med)) = (stats(&mut sim), stats(&mut adj));
    println!(
        "N = {n}, {} rounds: simulate min {:.1} µs, median {:.1} µs; adjoint min {:.1} µs, \
         median {:.1} µs; adjoint / simulate {:.3} (min), {:.3} (median)",
        sim.len(),
        s_min * 1e6,
        s_med * 1e6,
        a_min * 1e6,
        a_med * 1e6,
        a_min / s_min,
        a_med / s_med,
    );
    Ok(())
}

fn main() {
    let opts = SolverOptions::default();
    if let Some(spec) = std::env::var_os("AVF_RATIO") {
        if let Err(e) = ratio(&spec.to_string_lossy(), &opts) {
            eprintln!("{e}");
            std::process::exit(2);
        }
        return;
    }
    if let Some(spec) = std::env::var_os("AVF_ONCE") {
        if let Err(e) = once(&spec.to_string_lossy(), &opts) {
            eprintln!("{e}");
            std::process::exit(2);
        }
        return;
    }
    let plot_only = std::env::var_os("AVF_PLOT_ONLY").is_some();
    if !plot_only {
        let mut c = Criterion::default().configure_from_args();
        run_benches(&mut c, &opts);
        c.final_summary();
    }
    // `cargo bench` passes `--bench`; without it (`cargo test --benches`) criterion only checks
    // that each benchmark runs, and the plot is left alone.
    if plot_only || std::env::args().any(|a| a == "--bench") {
        // A filtered run may leave no complete set of estimates: say so, do not fail.
        if let Err(e) = report() {
            println!("adjoint_vs_forward: no plot ({e})");
        }
    }
}
