//! The nalgebra and simba traits (`ComplexField`, `RealField`, `SimdValue`, `SubsetOf`) that let
//! a model's generic code run on [`WideDual`]: each function by the chain rule or lane by lane on
//! `Dual64`, as the arithmetic in `lib.rs`.

use crate::WideDual;
use nalgebra::{ComplexField, RealField, SimdValue};
use num_dual::Dual64;
use num_traits::{Signed, Zero};
use simba::scalar::SubsetOf;

impl<const K: usize> SimdValue for WideDual<K> {
    type Element = Self;
    type SimdBool = bool;
    const LANES: usize = 1;
    fn splat(val: Self) -> Self {
        val
    }
    fn extract(&self, _: usize) -> Self {
        *self
    }
    // Required by the trait as `unsafe fn`; no unsafe operation inside (see Cargo.toml).
    #[allow(unsafe_code)]
    unsafe fn extract_unchecked(&self, _: usize) -> Self {
        *self
    }
    fn replace(&mut self, _: usize, val: Self) {
        *self = val;
    }
    #[allow(unsafe_code)]
    unsafe fn replace_unchecked(&mut self, _: usize, val: Self) {
        *self = val;
    }
    fn select(self, cond: bool, other: Self) -> Self {
        if cond {
            self
        } else {
            other
        }
    }
}

impl<const K: usize> SubsetOf<WideDual<K>> for WideDual<K> {
    fn to_superset(&self) -> Self {
        *self
    }
    fn from_superset_unchecked(element: &Self) -> Self {
        *element
    }
    fn is_in_subset(_: &Self) -> bool {
        true
    }
}

impl<const K: usize> SubsetOf<WideDual<K>> for f64 {
    fn to_superset(&self) -> WideDual<K> {
        WideDual::from_re(*self)
    }
    fn from_superset_unchecked(element: &WideDual<K>) -> f64 {
        element.re
    }
    fn is_in_subset(_: &WideDual<K>) -> bool {
        true
    }
}

impl<const K: usize> SubsetOf<WideDual<K>> for f32 {
    fn to_superset(&self) -> WideDual<K> {
        WideDual::from_re(f64::from(*self))
    }
    fn from_superset_unchecked(element: &WideDual<K>) -> f32 {
        element.re as f32
    }
    fn is_in_subset(_: &WideDual<K>) -> bool {
        true
    }
}

impl<const K: usize> nalgebra::Field for WideDual<K> {}

impl<const K: usize> ComplexField for WideDual<K> {
    type RealField = Self;
    fn from_real(re: Self) -> Self {
        re
    }
    fn real(self) -> Self {
        self
    }
    fn imaginary(self) -> Self {
        Self::zero()
    }
    fn modulus(self) -> Self {
        Signed::abs(&self)
    }
    fn modulus_squared(self) -> Self {
        self * self
    }
    fn argument(self) -> Self {
        Self::zero()
    }
    fn norm1(self) -> Self {
        Signed::abs(&self)
    }
    fn scale(self, factor: Self) -> Self {
        self * factor
    }
    fn unscale(self, factor: Self) -> Self {
        self / factor
    }
    fn floor(self) -> Self {
        self.lift(ComplexField::floor)
    }
    fn ceil(self) -> Self {
        self.lift(ComplexField::ceil)
    }
    fn round(self) -> Self {
        self.lift(ComplexField::round)
    }
    fn trunc(self) -> Self {
        self.lift(ComplexField::trunc)
    }
    fn fract(self) -> Self {
        self.lift(ComplexField::fract)
    }
    fn mul_add(self, a: Self, b: Self) -> Self {
        let mut out =
            Self::from_re(ComplexField::mul_add(Dual64::from_re(self.re), a.lane0(), b.lane0()).re);
        for j in 0..K {
            out.eps[j] = ComplexField::mul_add(self.lane(j), a.lane(j), b.lane(j)).eps;
        }
        out
    }
    fn abs(self) -> Self {
        Signed::abs(&self)
    }
    fn hypot(self, other: Self) -> Self {
        self.lift2(other, ComplexField::hypot)
    }
    fn recip(self) -> Self {
        self.chain(ComplexField::recip)
    }
    fn conjugate(self) -> Self {
        self
    }
    fn sin(self) -> Self {
        self.chain(ComplexField::sin)
    }
    fn cos(self) -> Self {
        self.chain(ComplexField::cos)
    }
    fn sin_cos(self) -> (Self, Self) {
        (self.sin(), self.cos())
    }
    fn tan(self) -> Self {
        self.lift(ComplexField::tan)
    }
    fn asin(self) -> Self {
        self.chain(ComplexField::asin)
    }
    fn acos(self) -> Self {
        self.chain(ComplexField::acos)
    }
    fn atan(self) -> Self {
        self.chain(ComplexField::atan)
    }
    fn sinh(self) -> Self {
        self.chain(ComplexField::sinh)
    }
    fn cosh(self) -> Self {
        self.chain(ComplexField::cosh)
    }
    fn tanh(self) -> Self {
        self.lift(ComplexField::tanh)
    }
    fn asinh(self) -> Self {
        self.chain(ComplexField::asinh)
    }
    fn acosh(self) -> Self {
        self.chain(ComplexField::acosh)
    }
    fn atanh(self) -> Self {
        self.chain(ComplexField::atanh)
    }
    fn log(self, base: Self) -> Self {
        self.lift2(base, ComplexField::log)
    }
    fn log2(self) -> Self {
        self.chain(ComplexField::log2)
    }
    fn log10(self) -> Self {
        self.chain(ComplexField::log10)
    }
    fn ln(self) -> Self {
        self.chain(ComplexField::ln)
    }
    fn ln_1p(self) -> Self {
        self.chain(ComplexField::ln_1p)
    }
    fn sqrt(self) -> Self {
        self.chain(ComplexField::sqrt)
    }
    fn exp(self) -> Self {
        self.chain(ComplexField::exp)
    }
    fn exp2(self) -> Self {
        self.chain(ComplexField::exp2)
    }
    fn exp_m1(self) -> Self {
        self.chain(ComplexField::exp_m1)
    }
    fn powi(self, n: i32) -> Self {
        self.lift(|d| ComplexField::powi(d, n))
    }
    fn powf(self, n: Self) -> Self {
        self.lift2(n, ComplexField::powf)
    }
    fn powc(self, n: Self) -> Self {
        self.lift2(n, ComplexField::powc)
    }
    fn cbrt(self) -> Self {
        self.chain(ComplexField::cbrt)
    }
    fn is_finite(&self) -> bool {
        self.re.is_finite()
    }
    fn try_sqrt(self) -> Option<Self> {
        if self > Self::zero() {
            Some(self.sqrt())
        } else {
            None
        }
    }
    fn signum(self) -> Self {
        Signed::signum(&self)
    }
}

impl<const K: usize> WideDual<K> {
    /// The value as a `Dual64` constant.
    #[inline(always)]
    fn lane0(&self) -> Dual64 {
        Dual64::from_re(self.re)
    }
}

impl<const K: usize> RealField for WideDual<K> {
    fn is_sign_positive(&self) -> bool {
        self.re.is_sign_positive()
    }
    fn is_sign_negative(&self) -> bool {
        self.re.is_sign_negative()
    }
    fn copysign(self, sign: Self) -> Self {
        self.lift2(sign, RealField::copysign)
    }
    fn max(self, other: Self) -> Self {
        if other > self {
            other
        } else {
            self
        }
    }
    fn min(self, other: Self) -> Self {
        if other < self {
            other
        } else {
            self
        }
    }
    fn clamp(self, min: Self, max: Self) -> Self {
        if self < min {
            min
        } else if self > max {
            max
        } else {
            self
        }
    }
    fn atan2(self, other: Self) -> Self {
        self.lift2(other, RealField::atan2)
    }
    fn min_value() -> Option<Self> {
        Some(Self::from_re(f64::MIN))
    }
    fn max_value() -> Option<Self> {
        Some(Self::from_re(f64::MAX))
    }
    fn pi() -> Self {
        Self::from_re(std::f64::consts::PI)
    }
    fn two_pi() -> Self {
        Self::from_re(std::f64::consts::TAU)
    }
    fn frac_pi_2() -> Self {
        Self::from_re(std::f64::consts::FRAC_PI_2)
    }
    fn frac_pi_3() -> Self {
        Self::from_re(std::f64::consts::FRAC_PI_3)
    }
    fn frac_pi_4() -> Self {
        Self::from_re(std::f64::consts::FRAC_PI_4)
    }
    fn frac_pi_6() -> Self {
        Self::from_re(std::f64::consts::FRAC_PI_6)
    }
    fn frac_pi_8() -> Self {
        Self::from_re(std::f64::consts::FRAC_PI_8)
    }
    fn frac_1_pi() -> Self {
        Self::from_re(std::f64::consts::FRAC_1_PI)
    }
    fn frac_2_pi() -> Self {
        Self::from_re(std::f64::consts::FRAC_2_PI)
    }
    fn frac_2_sqrt_pi() -> Self {
        Self::from_re(std::f64::consts::FRAC_2_SQRT_PI)
    }
    fn e() -> Self {
        Self::from_re(std::f64::consts::E)
    }
    fn log2_e() -> Self {
        Self::from_re(std::f64::consts::LOG2_E)
    }
    fn log10_e() -> Self {
        Self::from_re(std::f64::consts::LOG10_E)
    }
    fn ln_2() -> Self {
        Self::from_re(std::f64::consts::LN_2)
    }
    fn ln_10() -> Self {
        Self::from_re(std::f64::consts::LN_10)
    }
}
