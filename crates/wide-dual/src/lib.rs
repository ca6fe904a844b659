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
use num_dual::Dual64;
use num_traits::{FromPrimitive, Num, One, Signed, Zero};
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

mod nalgebra_field;

#[cfg(test)]
mod tests;
