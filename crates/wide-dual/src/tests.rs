//! Every method of `WideDual` against `Dual64`, lane by lane, bit for bit.

use super::*;
use nalgebra::{ComplexField, RealField};

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
