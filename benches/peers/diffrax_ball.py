#!/usr/bin/env python3
"""The bouncing-ball gradient of benches/ball_gradient.rs in diffrax, timed side by side with ours.

Problem (as in benches/support/ball_floor.rs): p = [y0, v0, e, g] = [1, 0.5, 0.8, 9.81], flow
y' = v, v' = -g, impact when y falls through 0, jump v+ = -e v- (y+ = y-), loss
L = 1/2 sum_i (y(s_i) - yhat_i)^2 with s = [0.3, 1.0, 1.5, 2.0], yhat = [0.5, 0.4, 0.3, 0.2],
horizon T = 2 (3 impacts). Gradient dL/dp, all four components.

diffrax (float64 through jax's x64 mode): Dopri5, PIDController with rtol = atol = 1e-10 (the
defaults of our SolverOptions), initial step chosen by diffrax, an `Event` on y with direction
"falling" and an optimistix Newton root finder (rtol = atol = 1e-13 on the event time). The
trajectory is four solves, one per parabola, each from the previous impact (or 0) to the next
impact (or T); the jump is applied between them. Each solve saves the state at its observation
time (SaveAt(ts=[s_k], t1=True)). Reverse mode: jax.grad with diffrax's default adjoint
(RecursiveCheckpointAdjoint); forward mode: jax.jacfwd with diffrax.ForwardMode(). Both are
jit-compiled and timed after warm-up: per call, the median (and minimum) over --batches batches
of --calls calls each.

Both diffrax gradients are checked against the closed form (the chain of parabolas, written in
jax and differentiated by jax.grad, no ODE solver), relative to the largest component.

Then it runs our criterion bench (`cargo bench --bench ball_gradient`, unless --no-ours), reads
its medians from criterion's estimates.json, and prints both side by side with the ratios.
Not part of CI; setup in docs/performance.md (a venv with jax, diffrax, optimistix).

Usage: python benches/peers/diffrax_ball.py [--batches N] [--calls N] [--no-ours]
                                            [--measurement-time SECONDS]
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_platform_name", "cpu")

import diffrax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optimistix as optx  # noqa: E402

P = [1.0, 0.5, 0.8, 9.81]
TIMES = [0.3, 1.0, 1.5, 2.0]
HEIGHTS = [0.5, 0.4, 0.3, 0.2]
T_END = 2.0
RTOL = ATOL = 1e-10
ROOT_TOL = 1e-13
ROOT = Path(__file__).resolve().parents[2]


def flow(t, x, args):
    _, g = args
    return jnp.stack([x[1], -g])


def impact(t, y, args, **kwargs):
    # diffrax calls the condition with keyword arguments t, y, args, ...
    return y[0]


def make_loss(adjoint, max_steps=4096):
    """L(p) by four event-terminated diffrax solves, one per parabola; with `stats=True` also
    the impact times and the accepted and rejected steps of all solves."""
    term = diffrax.ODETerm(flow)
    solver = diffrax.Dopri5()
    controller = diffrax.PIDController(rtol=RTOL, atol=ATOL)
    event = diffrax.Event(impact, optx.Newton(rtol=ROOT_TOL, atol=ROOT_TOL), direction=False)

    def loss(p, stats=False):
        y0, v0, e, g = p[0], p[1], p[2], p[3]
        args = (e, g)
        t, x = jnp.asarray(0.0), jnp.stack([y0, v0])
        total, impacts, accepted, rejected = 0.0, [], 0, 0
        for k, (s, yhat) in enumerate(zip(TIMES, HEIGHTS)):
            sol = diffrax.diffeqsolve(
                term, solver, t, T_END, None, x, args=args, stepsize_controller=controller,
                saveat=diffrax.SaveAt(ts=jnp.array([s]), t1=True), event=event, adjoint=adjoint,
                max_steps=max_steps,
            )
            total = total + 0.5 * (sol.ys[0, 0] - yhat) ** 2
            accepted = accepted + sol.stats["num_accepted_steps"]
            rejected = rejected + sol.stats["num_rejected_steps"]
            if k < len(TIMES) - 1:
                # The solve stopped at the impact: jump y+ = y-, v+ = -e v-.
                t, xm = sol.ts[1], sol.ys[1]
                x = jnp.stack([xm[0], -e * xm[1]])
                impacts.append(t)
        if stats:
            return total, jnp.stack(impacts), accepted, rejected
        return total

    return loss


def closed_form_loss(p, pieces):
    """L(p) from the chain of parabolas: piece k starts at t_k with height h, velocity w;
    observation i lies on piece pieces[i] (fixed near p, see `pieces_at`)."""
    y0, v0, e, g = p[0], p[1], p[2], p[3]
    u = jnp.sqrt(v0 * v0 + 2.0 * g * y0)
    start, h, w = 0.0, y0, v0
    nxt, c, k = (v0 + u) / g, u, 0
    total = 0.0
    for s, yhat, piece in zip(TIMES, HEIGHTS, pieces):
        while k < piece:
            start, h, w = nxt, 0.0, e * c
            nxt, c, k = start + 2.0 * w / g, w, k + 1
        d = s - start
        total = total + 0.5 * (h + w * d - 0.5 * g * d * d - yhat) ** 2
    return total


def pieces_at(p):
    """The number of impacts before each observation time, in plain floats."""
    y0, v0, e, g = p
    u = (v0 * v0 + 2.0 * g * y0) ** 0.5
    impacts, t, c = [], (v0 + u) / g, u
    while t <= max(TIMES):
        impacts.append(t)
        c *= e
        t += 2.0 * c / g
    return [sum(ti <= s for ti in impacts) for s in TIMES]


def rel_error(got, exact):
    return float(jnp.max(jnp.abs(got - exact)) / jnp.max(jnp.abs(exact)))


def time_per_call(f, p, batches, calls):
    jax.block_until_ready(f(p))  # compile
    for _ in range(3):
        jax.block_until_ready(f(p))
    per_call = []
    for _ in range(batches):
        t0 = time.perf_counter()
        for _ in range(calls):
            jax.block_until_ready(f(p))
        per_call.append((time.perf_counter() - t0) / calls)
    return statistics.median(per_call), min(per_call)


def criterion_times(bench_id):
    """(median, fastest sample) per call in seconds of our bench `bench_id`, from criterion's
    last run: the median from estimates.json, the fastest sample's time per iteration from
    sample.json (the least disturbed by other processes on a shared machine)."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    new = target / "criterion" / "ball_gradient" / bench_id / "new"
    try:
        median = json.loads((new / "estimates.json").read_text())["median"]["point_estimate"]
        sample = json.loads((new / "sample.json").read_text())
        fastest = min(t / i for t, i in zip(sample["times"], sample["iters"]))
        return median * 1e-9, fastest * 1e-9
    except (OSError, KeyError, ValueError):
        return None, None


def fmt_us(seconds):
    return f"{seconds * 1e6:.4g} µs" if seconds is not None else "—"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--batches", type=int, default=7)
    ap.add_argument("--calls", type=int, default=200)
    ap.add_argument("--no-ours", action="store_true", help="only read the last criterion run")
    ap.add_argument("--measurement-time", default="5", help="criterion's, in seconds")
    ap.add_argument("--max-steps", type=int, default=4096,
                    help="diffeqsolve's max_steps (diffrax's default 4096; the reverse mode's "
                         "checkpointing is sized by it)")
    a = ap.parse_args()

    print(f"jax {jax.__version__}, diffrax {diffrax.__version__}, optimistix {optx.__version__}, "
          f"python {platform.python_version()}, device {jax.devices()[0]}")
    p = jnp.array(P)
    pieces = pieces_at(P)
    assert pieces == [0, 1, 2, 3], pieces
    exact = jax.grad(closed_form_loss)(p, pieces)
    value = closed_form_loss(p, pieces)
    reverse = jax.jit(jax.grad(make_loss(diffrax.RecursiveCheckpointAdjoint(), a.max_steps)))
    forward = jax.jit(jax.jacfwd(make_loss(diffrax.ForwardMode(), a.max_steps)))
    primal = make_loss(diffrax.RecursiveCheckpointAdjoint(), a.max_steps)
    value_diffrax, impacts, accepted, rejected = jax.jit(lambda q: primal(q, stats=True))(p)
    print(f"diffrax: max_steps {a.max_steps}, impacts at {[float(v) for v in impacts]}, "
          f"{int(accepted)} accepted and {int(rejected)} rejected steps in all")
    print(f"closed form: loss {float(value):.15e}, gradient {[float(v) for v in exact]}")
    print(f"diffrax loss {float(value_diffrax):.15e} (relative error "
          f"{abs(float(value_diffrax - value)) / float(value):.1e})")
    errors = {}
    for name, f in (("reverse", reverse), ("forward", forward)):
        grad = f(p)
        errors[name] = rel_error(grad, exact)
        print(f"diffrax {name}: gradient {[float(v) for v in grad]}, error {errors[name]:.2e} "
              "relative to max |dL/dp|" + ("" if errors[name] <= 1e-10 else "  ** above 1e-10 **"))

    print(f"timing diffrax: {a.batches} batches of {a.calls} calls after warm-up ...", flush=True)
    t_rev = time_per_call(reverse, p, a.batches, a.calls)
    t_fwd = time_per_call(forward, p, a.batches, a.calls)
    print(f"diffrax reverse (jax.grad):   median {fmt_us(t_rev[0])}, min {fmt_us(t_rev[1])}")
    print(f"diffrax forward (jax.jacfwd): median {fmt_us(t_fwd[0])}, min {fmt_us(t_fwd[1])}")

    if not a.no_ours:
        cmd = ["cargo", "bench", "--bench", "ball_gradient", "--", "--warm-up-time", "1",
               "--measurement-time", a.measurement_time]
        print("running ours:", " ".join(cmd), flush=True)
        subprocess.run(cmd, cwd=ROOT, check=True)
    ours = {k: criterion_times(k) for k in
            ("adjoint", "forward", "adjoint_solver", "forward_solver", "closed_form_dual",
             "closed_form_by_hand")}
    floor = ours["closed_form_by_hand"]

    def ratio(x, y):
        return f"{x / y:.1f}" if x is not None and y is not None else "—"

    print("\nPer gradient; median: criterion's median (ours), median over the batches (diffrax); "
          "fastest: fastest criterion sample (ours), fastest batch (diffrax).")
    print("\n| gradient of the ball loss (3 impacts) | ours, median | diffrax, median "
          "| diffrax / ours | ours, fastest | diffrax, fastest | diffrax / ours "
          "| ours / floor (medians) |")
    print("|---|---|---|---|---|---|---|---|")
    for label, key, peer in (
            ("reverse (adjoint / jax.grad)", "adjoint", t_rev),
            ("reverse, ours from a reused Solver", "adjoint_solver", t_rev),
            ("forward (sensitivities / jax.jacfwd)", "forward", t_fwd),
            ("forward, ours from a reused Solver", "forward_solver", t_fwd)):
        (om, of), (dm, df) = ours[key], peer
        print(f"| {label} | {fmt_us(om)} | {fmt_us(dm)} | {ratio(dm, om)} | {fmt_us(of)} "
              f"| {fmt_us(df)} | {ratio(df, of)} | {ratio(om, floor[0])} |")
    for label, key in (("closed form, dual numbers", "closed_form_dual"),
                       ("closed form, by hand (floor)", "closed_form_by_hand")):
        (om, of) = ours[key]
        print(f"| {label} | {fmt_us(om)} | | | {fmt_us(of)} | | | {ratio(om, floor[0])} |")
    print(f"diffrax / hand-written floor (medians): reverse {ratio(t_rev[0], floor[0])}, "
          f"forward {ratio(t_fwd[0], floor[0])}")
    if max(errors.values()) > 1e-10:
        print("note: a diffrax gradient is more than 1e-10 from the closed form (see above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
