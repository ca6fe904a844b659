"""The bouncing ball from Python: impacts where the closed form puts them, gradients by the
adjoint and forward sensitivities that agree, and the check kit passing."""

import math

import numpy as np

import hybrid_adjoint as ha

P = [1.0, 0.0, 0.8, 9.81]


def test_impacts_are_at_the_closed_form_times():
    sol = ha.ball.simulate(P, 2.0)
    y0, _, e, g = P
    t1 = math.sqrt(2 * y0 / g)
    u = g * t1  # impact speed
    expected = [t1, t1 + 2 * e * u / g, t1 + 2 * e * u / g + 2 * e * e * u / g]
    expected = [t for t in expected if t < 2.0]
    np.testing.assert_allclose(sol["impact_times"][: len(expected)], expected, rtol=1e-9)
    np.testing.assert_allclose(sol["x_plus"][:, 1], -e * sol["x_minus"][:, 1], rtol=1e-12)
    assert sol["x"].shape == (200, 2) and sol["t"][0] == 0.0 and sol["t"][-1] == 2.0


def test_adjoint_and_forward_gradients_agree():
    times, heights = [0.3, 0.9, 1.4], [0.5, 0.2, 0.25]
    la, ga = ha.ball.gradient(P, times, heights, method="adjoint")
    lf, gf = ha.ball.gradient(P, times, heights, method="forward")
    assert la == lf
    np.testing.assert_allclose(ga, gf, rtol=1e-8)
    assert np.count_nonzero(ga) == 4


def test_check_gradients_passes_on_the_paper_ball():
    r = ha.ball.check_gradients(P, [0.3, 0.9, 1.4], [0.5, 0.2, 0.25])
    assert r["adjoint_vs_forward"] <= 1e-8 and r["forward_vs_central"] <= 1e-5
    np.testing.assert_allclose(r["adjoint"], r["central"], rtol=1e-5)
