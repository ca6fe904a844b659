//! The scalar type model methods are written in.

use nalgebra::RealField;

/// A real scalar the framework can evaluate a model in: `f64` for simulation, dual numbers
/// (`num_dual::Dual64`) for automatic partial derivatives.
///
/// Constants are made with [`Scalar::cst`]: `T::cst(9.81)`.
pub trait Scalar: RealField + Copy {
    /// The constant `v` in this scalar type (derivative parts zero).
    fn cst(v: f64) -> Self {
        nalgebra::convert(v)
    }
}

impl<T: RealField + Copy> Scalar for T {}
