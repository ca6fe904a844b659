//! A dual number with `K` derivative lanes, each lane exactly a `num_dual::Dual64` of its own.
//!
//! [`WideDual`] carries `K` seed directions through one evaluation of a model's generic method, so
//! that a product needing `K` directions (`λᵀ f_x, λᵀ f_p`: `n + m` of them; `f_x S + f_p`: `m`)
//! costs one evaluation instead of `K` (docs/maths.md §2-§3 for the products). Lane `j` of every
//! result holds the bits that a [`Dual64`] seeded with lane `j`'s derivative parts would hold:
//! the arithmetic operators repeat `Dual64`'s formulas lane by lane in the same order, a function
//! whose `Dual64` derivative is the chain rule `ε · f'(re)` multiplies each lane by the `f'`
//! computed once, and every other function evaluates `Dual64` lane by lane. Comparisons, like
//! `Dual64`'s, look at the value only. Unit tests compare every method with `Dual64` bit for bit.

use approx::{AbsDiffEq, RelativeEq, UlpsEq};
use nalgebra::{ComplexField, RealField, SimdValue};
use num_dual::Dual64;
use num_traits::{FromPrimitive, Num, One, Signed, Zero};
use simba::scalar::SubsetOf;
use std::fmt;
use std::ops::{
    Add, AddAssign, Div, DivAssign, Mul, MulAssign, Neg, Rem, RemAssign, Sub, SubAssign,
};

/// Value `re` and `K` derivative lanes `eps`.
#[derive(Debug, Clone, Copy)]
pub struct WideDual<const K: usize> {
    /// Value.
    pub re: f64,
    /// Derivative part of each lane.
    pub eps: [f64; K],
}

impl<const K: usize> WideDual<K> {
    /// A constant: value `re`, every lane zero.
    #[inline(always)]
    pub fn from_re(re: f64) -> Self {
        Self { re, eps: [0.0; K] }
    }

    /// Lane `j` as a `Dual64`.
    #[inline(always)]
    fn lane(&self, j: usize) -> Dual64 {
        Dual64::new(self.re, self.eps[j])
    }

    /// `f` by the chain rule, `ε_j · f'(re)` in every lane: for the functions whose `Dual64`
    /// derivative is exactly that product (`f'` from `f` at derivative part 1).
    #[inline(always)]
    fn chain(self, f: impl Fn(Dual64) -> Dual64) -> Self {
        let d = f(Dual64::new(self.re, 1.0));
        let mut eps = self.eps;
        for e in &mut eps {
            *e *= d.eps;
        }
        Self { re: d.re, eps }
    }

    /// `f` lane by lane on `Dual64` (the value from a lane with derivative part zero).
    #[inline(always)]
    fn lift(self, f: impl Fn(Dual64) -> Dual64) -> Self {
        let mut out = Self::from_re(f(Dual64::from_re(self.re)).re);
        for j in 0..K {
            out.eps[j] = f(self.lane(j)).eps;
        }
        out
    }

    /// A two-argument `f` lane by lane on `Dual64`.
    #[inline(always)]
    fn lift2(self, o: Self, f: impl Fn(Dual64, Dual64) -> Dual64) -> Self {
        let mut out = Self::from_re(f(Dual64::from_re(self.re), Dual64::from_re(o.re)).re);
        for j in 0..K {
            out.eps[j] = f(self.lane(j), o.lane(j)).eps;
        }
        out
    }
}

impl<const K: usize> fmt::Display for WideDual<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} + {:?}ε", self.re, self.eps)
    }
}

/// By the value only, as `Dual64`'s comparisons: the model takes the branches it takes in `f64`.
impl<const K: usize> PartialEq for WideDual<K> {
    #[inline(always)]
    fn eq(&self, other: &Self) -> bool {
        self.re == other.re
    }
}

impl<const K: usize> PartialOrd for WideDual<K> {
    #[inline(always)]
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        self.re.partial_cmp(&other.re)
    }
}

impl<const K: usize> AbsDiffEq for WideDual<K> {
    type Epsilon = Self;
    fn default_epsilon() -> Self {
        Self::from_re(f64::default_epsilon())
    }
    fn abs_diff_eq(&self, other: &Self, epsilon: Self) -> bool {
        self.re.abs_diff_eq(&other.re, epsilon.re)
    }
}

impl<const K: usize> RelativeEq for WideDual<K> {
    fn default_max_relative() -> Self {
        Self::from_re(f64::default_max_relative())
    }
    fn relative_eq(&self, other: &Self, epsilon: Self, max_relative: Self) -> bool {
        self.re.relative_eq(&other.re, epsilon.re, max_relative.re)
    }
}

impl<const K: usize> UlpsEq for WideDual<K> {
    fn default_max_ulps() -> u32 {
        f64::default_max_ulps()
    }
    fn ulps_eq(&self, other: &Self, epsilon: Self, max_ulps: u32) -> bool {
        self.re.ulps_eq(&other.re, epsilon.re, max_ulps)
    }
}

impl<const K: usize> Add for WideDual<K> {
    type Output = Self;
    #[inline(always)]
    fn add(mut self, o: Self) -> Self {
        self += o;
        self
    }
}

impl<const K: usize> Sub for WideDual<K> {
    type Output = Self;
    #[inline(always)]
    fn sub(mut self, o: Self) -> Self {
        self -= o;
        self
    }
}

impl<const K: usize> Mul for WideDual<K> {
    type Output = Self;
    /// `Dual64`'s product rule in every lane: `ε_a b + ε_b a`.
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        let mut eps = [0.0; K];
        for j in 0..K {
            eps[j] = self.eps[j] * o.re + o.eps[j] * self.re;
        }
        Self {
            re: self.re * o.re,
            eps,
        }
    }
}

impl<const K: usize> Div for WideDual<K> {
    type Output = Self;
    /// `Dual64`'s quotient rule in every lane: `(ε_a b − ε_b a) · (1/b) · (1/b)`.
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        let inv = o.re.recip();
        let mut eps = [0.0; K];
        for j in 0..K {
            eps[j] = (self.eps[j] * o.re - o.eps[j] * self.re) * inv * inv;
        }
        Self {
            re: self.re * inv,
            eps,
        }
    }
}

impl<const K: usize> Rem for WideDual<K> {
    type Output = Self;
    fn rem(self, _: Self) -> Self {
        unimplemented!("the remainder of a dual number (as num_dual::Dual64)")
    }
}

impl<const K: usize> Neg for WideDual<K> {
    type Output = Self;
    #[inline(always)]
    fn neg(self) -> Self {
        let mut eps = self.eps;
        for e in &mut eps {
            *e = -*e;
        }
        Self { re: -self.re, eps }
    }
}

impl<const K: usize> AddAssign for WideDual<K> {
    #[inline(always)]
    fn add_assign(&mut self, o: Self) {
        self.re += o.re;
        for j in 0..K {
            self.eps[j] += o.eps[j];
        }
    }
}

impl<const K: usize> SubAssign for WideDual<K> {
    #[inline(always)]
    fn sub_assign(&mut self, o: Self) {
        self.re -= o.re;
        for j in 0..K {
            self.eps[j] -= o.eps[j];
        }
    }
}

impl<const K: usize> MulAssign for WideDual<K> {
    #[inline(always)]
    fn mul_assign(&mut self, o: Self) {
        *self = *self * o;
    }
}

impl<const K: usize> DivAssign for WideDual<K> {
    #[inline(always)]
    fn div_assign(&mut self, o: Self) {
        *self = *self / o;
    }
}

impl<const K: usize> RemAssign for WideDual<K> {
    fn rem_assign(&mut self, _: Self) {
        unimplemented!("the remainder of a dual number (as num_dual::Dual64)")
    }
}

impl<const K: usize> Zero for WideDual<K> {
    fn zero() -> Self {
        Self::from_re(0.0)
    }
    fn is_zero(&self) -> bool {
        self.re.is_zero()
    }
}

impl<const K: usize> One for WideDual<K> {
    fn one() -> Self {
        Self::from_re(1.0)
    }
    fn is_one(&self) -> bool {
        self.re.is_one()
    }
}

impl<const K: usize> Num for WideDual<K> {
    type FromStrRadixErr = <f64 as Num>::FromStrRadixErr;
    fn from_str_radix(_: &str, _: u32) -> Result<Self, Self::FromStrRadixErr> {
        unimplemented!("parsing a dual number (as num_dual::Dual64)")
    }
}

impl<const K: usize> Signed for WideDual<K> {
    fn abs(&self) -> Self {
        self.lift(|d| Signed::abs(&d))
    }
    fn abs_sub(&self, other: &Self) -> Self {
        self.lift2(*other, |a, b| Signed::abs_sub(&a, &b))
    }
    fn signum(&self) -> Self {
        self.lift(|d| Signed::signum(&d))
    }
    fn is_positive(&self) -> bool {
        Signed::is_positive(&self.re)
    }
    fn is_negative(&self) -> bool {
        Signed::is_negative(&self.re)
    }
}

impl<const K: usize> FromPrimitive for WideDual<K> {
    fn from_i64(n: i64) -> Option<Self> {
        f64::from_i64(n).map(Self::from_re)
    }
    fn from_u64(n: u64) -> Option<Self> {
        f64::from_u64(n).map(Self::from_re)
    }
    fn from_f64(n: f64) -> Option<Self> {
        Some(Self::from_re(n))
    }
    fn from_f32(n: f32) -> Option<Self> {
        f64::from_f32(n).map(Self::from_re)
    }
}

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

#[cfg(test)]
mod tests {
    use super::*;

    const K: usize = 6;
    /// Derivative parts of both signs, signed zeros and a tiny one.
    const LANES: [f64; K] = [1.0, -0.0, 0.0, -2.5, 3.0e-300, 7.25];

    fn wide(re: f64) -> WideDual<K> {
        WideDual { re, eps: LANES }
    }

    /// `f` on the wide dual against `g` on `Dual64` lane by lane: the same bits (NaN as NaN).
    fn same_bits(
        what: &str,
        re: f64,
        f: impl Fn(WideDual<K>) -> WideDual<K>,
        g: impl Fn(Dual64) -> Dual64,
    ) {
        let w = f(wide(re));
        let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
        for j in 0..K {
            let d = g(Dual64::new(re, LANES[j]));
            assert!(
                same(w.re, d.re),
                "{what}({re}): value {} against {}",
                w.re,
                d.re
            );
            assert!(
                same(w.eps[j], d.eps),
                "{what}({re}) lane {j}: {} against {}",
                w.eps[j],
                d.eps
            );
        }
    }

    /// A second argument with other lanes, as `Dual64` pairs.
    fn other(re: f64) -> (WideDual<K>, impl Fn(usize) -> Dual64) {
        let eps = [0.5, 2.0, -0.0, 1.0, -4.0, 0.0];
        (WideDual { re, eps }, move |j| Dual64::new(re, eps[j]))
    }

    #[test]
    fn every_unary_function_gives_each_lane_the_bits_of_dual64() {
        macro_rules! unary {
            ($($name:ident),*) => {$(
                for re in [0.3, -0.7, 1.7, 0.0, -0.0, 2.5e3, f64::INFINITY] {
                    same_bits(stringify!($name), re, |w| ComplexField::$name(w), |d| ComplexField::$name(d));
                }
            )*};
        }
        unary!(
            recip,
            sin,
            cos,
            tan,
            asin,
            acos,
            atan,
            sinh,
            cosh,
            tanh,
            asinh,
            acosh,
            atanh,
            log2,
            log10,
            ln,
            ln_1p,
            sqrt,
            exp,
            exp2,
            exp_m1,
            cbrt,
            abs,
            signum,
            modulus,
            modulus_squared,
            norm1
        );
        for re in [0.3, -0.7, 1.7, 0.0, -2.0] {
            same_bits("neg", re, |w| -w, |d| -d);
            same_bits("sin_cos.0", re, |w| w.sin_cos().0, |d| d.sin_cos().0);
            same_bits("sin_cos.1", re, |w| w.sin_cos().1, |d| d.sin_cos().1);
            for n in [0, 1, 2, 3, -1, -4] {
                same_bits("powi", re, |w| w.powi(n), |d| ComplexField::powi(d, n));
            }
        }
    }

    #[test]
    fn every_binary_operation_gives_each_lane_the_bits_of_dual64() {
        for (a, b) in [
            (0.3, 1.7),
            (-0.7, 0.25),
            (2.0, -3.0),
            (0.0, 5.0),
            (1.5, 0.0),
        ] {
            let (bw, bd) = other(b);
            macro_rules! binary {
                ($name:literal, |$x:pat_param, $y:pat_param| $body:expr) => {{
                    let fw = |$x: WideDual<K>, $y: WideDual<K>| $body;
                    let fd = |$x: Dual64, $y: Dual64| $body;
                    let w = fw(wide(a), bw);
                    let same =
                        |x: f64, y: f64| x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan());
                    for j in 0..K {
                        let d = fd(Dual64::new(a, LANES[j]), bd(j));
                        assert!(same(w.re, d.re), "{}({a}, {b}): value", $name);
                        assert!(
                            same(w.eps[j], d.eps),
                            "{}({a}, {b}) lane {j}: {} against {}",
                            $name,
                            w.eps[j],
                            d.eps
                        );
                    }
                }};
            }
            binary!("add", |x, y| x + y);
            binary!("sub", |x, y| x - y);
            binary!("mul", |x, y| x * y);
            binary!("div", |x, y| x / y);
            binary!("add_assign", |mut x, y| {
                x += y;
                x
            });
            binary!("sub_assign", |mut x, y| {
                x -= y;
                x
            });
            binary!("mul_assign", |mut x, y| {
                x *= y;
                x
            });
            binary!("div_assign", |mut x, y| {
                x /= y;
                x
            });
            binary!("hypot", |x, y| ComplexField::hypot(x, y));
            binary!("log", |x, y| ComplexField::log(x, y));
            binary!("powf", |x, y| ComplexField::powf(x, y));
            binary!("powc", |x, y| ComplexField::powc(x, y));
            binary!("atan2", |x, y| RealField::atan2(x, y));
            binary!("copysign", |x, y| RealField::copysign(x, y));
            binary!("max", |x, y| RealField::max(x, y));
            binary!("min", |x, y| RealField::min(x, y));
            binary!("scale", |x, y| ComplexField::scale(x, y));
            binary!("unscale", |x, y| ComplexField::unscale(x, y));
            binary!("abs_sub", |x, y| Signed::abs_sub(&x, &y));
            binary!("mul_add", |x, y| ComplexField::mul_add(x, y, y));
        }
    }

    #[test]
    fn comparisons_and_constants_look_at_the_value_only_as_dual64() {
        let (a, b) = (
            WideDual::<2> {
                re: 1.0,
                eps: [1.0, 0.0],
            },
            WideDual::<2> {
                re: 1.0,
                eps: [0.0, 3.0],
            },
        );
        assert!(a == b && !(a < b) && !(a > b));
        assert_eq!(Dual64::new(1.0, 1.0) == Dual64::new(1.0, 0.0), a == b);
        let c: WideDual<2> = nalgebra::convert(9.81);
        assert_eq!((c.re, c.eps), (9.81, [0.0, 0.0]));
        assert_eq!(nalgebra::try_convert::<WideDual<2>, f64>(a), Some(1.0));
        assert_eq!(RealField::clamp(a, b, b).eps, a.eps);
        assert_eq!(<WideDual<2> as RealField>::pi().re, std::f64::consts::PI);
    }
}
