//! Dense-output storage shared by the steppers and the stored trajectory.

/// Which interpolation formula a segment's coefficients belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// Dormand-Prince 5(4), 4th-order continuous extension, 5 coefficient vectors.
    Dopri5,
    /// Dormand-Prince 8(5,3), 7th-order continuous extension, 8 coefficient vectors.
    Dop853,
}

impl Method {
    /// Number of coefficient vectors (each of length `n`) per step.
    pub const fn coefficient_vectors(self) -> usize {
        match self {
            Method::Dopri5 => 5,
            Method::Dop853 => 8,
        }
    }
}

/// The dense output of one step: valid for `t` between `t0` and `t0 + h`.
#[derive(Debug, Clone, Copy)]
pub struct DenseSegment<'a> {
    /// Formula of the coefficients.
    pub method: Method,
    /// Start of the step.
    pub t0: f64,
    /// Step size (negative when integrating backwards).
    pub h: f64,
    /// `method.coefficient_vectors() * n` numbers, vector after vector.
    pub coefficients: &'a [f64],
}

impl DenseSegment<'_> {
    /// Evaluate the interpolant at `t` into `out` (length `n`).
    pub fn eval(&self, t: f64, out: &mut [f64]) {
        interpolate(self.method, self.t0, self.h, self.coefficients, t, out)
    }
}

/// Evaluate stored dense-output coefficients of `method` at `t`.
#[inline]
pub fn interpolate(method: Method, t0: f64, h: f64, c: &[f64], t: f64, out: &mut [f64]) {
    match method {
        Method::Dopri5 => super::dopri5::interpolate(t0, h, c, t, out),
        Method::Dop853 => super::dop853::interpolate(t0, h, c, t, out),
    }
}
