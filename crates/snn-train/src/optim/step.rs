//! One Adam update's arithmetic, entry by entry, in loops over zipped slices (which vectorise:
//! no bounds checks, no fused multiply-add in Rust, so the bits are those of the scalar loop).

/// The constants of one Adam update.
#[derive(Clone, Copy)]
pub(super) struct StepConstants {
    pub(super) beta1: f64,
    pub(super) beta2: f64,
    pub(super) one_minus_beta1: f64,
    pub(super) one_minus_beta2: f64,
    pub(super) correction1: f64,
    pub(super) correction2: f64,
    pub(super) lr: f64,
    pub(super) epsilon: f64,
}

impl StepConstants {
    /// One entry's update, operation by operation the expression of [`super::Adam::update`]'s doc
    /// (Rust does not contract `a * b + c` into a fused multiply-add, so the bits do not depend
    /// on whether the loop is vectorised). `D1`/`D2`: whether to divide by the bias corrections;
    /// a division by a correction that is exactly 1 (`1 - β₁ᵗ` from about the 350th step with
    /// β₁ = 0.9, `1 - β₂ᵗ` from about the 37 000th with β₂ = 0.999) is skipped, which changes
    /// no bit (`x / 1 = x`).
    #[inline(always)]
    fn apply<const D1: bool, const D2: bool>(
        &self,
        theta: &mut f64,
        m: &mut f64,
        v: &mut f64,
        g: f64,
    ) {
        *m = self.beta1 * *m + self.one_minus_beta1 * g;
        *v = self.beta2 * *v + self.one_minus_beta2 * g * g;
        let m_hat = if D1 { *m / self.correction1 } else { *m };
        let v_hat = if D2 { *v / self.correction2 } else { *v };
        *theta -= self.lr * m_hat / (v_hat.sqrt() + self.epsilon);
    }
}

/// Calls `$f::<D1, D2>(&$k, args..)` with `D1`, `D2` saying whether the step's bias corrections
/// differ from 1.
macro_rules! by_corrections {
    ($k:expr, $f:ident ( $($arg:expr),* )) => {
        match ($k.correction1 != 1.0, $k.correction2 != 1.0) {
            (true, true) => $f::<true, true>(&$k, $($arg),*),
            (true, false) => $f::<true, false>(&$k, $($arg),*),
            (false, true) => $f::<false, true>(&$k, $($arg),*),
            (false, false) => $f::<false, false>(&$k, $($arg),*),
        }
    };
}
pub(super) use by_corrections;
/// One layer of [`super::Adam::update`] (zipped iterators, which vectorise).
pub(super) fn update_layer<const D1: bool, const D2: bool>(
    k: &StepConstants,
    theta: &mut [f64],
    m: &mut [f64],
    v: &mut [f64],
    grad: &[f64],
) {
    let entries = theta.iter_mut().zip(m.iter_mut()).zip(v.iter_mut());
    for (((theta, m), v), &g) in entries.zip(grad) {
        k.apply::<D1, D2>(theta, m, v, g);
    }
}

/// One layer of [`super::Adam::update_and_clear`].
pub(super) fn update_layer_and_clear<const D1: bool, const D2: bool>(
    k: &StepConstants,
    theta: &mut [f64],
    m: &mut [f64],
    v: &mut [f64],
    sum: &mut [f64],
    scale: Option<f64>,
) {
    let entries = theta.iter_mut().zip(m.iter_mut()).zip(v.iter_mut());
    // Two loops rather than a test per entry, so that each vectorises.
    match scale {
        Some(scale) => {
            for (((theta, m), v), s) in entries.zip(sum.iter_mut()) {
                k.apply::<D1, D2>(theta, m, v, *s * scale);
                *s = 0.0;
            }
        }
        None => {
            for (((theta, m), v), s) in entries.zip(sum.iter_mut()) {
                k.apply::<D1, D2>(theta, m, v, *s);
                *s = 0.0;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::optim::{Adam, AdamOptions};

    // The loops over zipped iterators (vectorised) give the bits of the indexed loop the
    // optimiser had before (kept here), for both corrections, and the fused update of the batch
    // sum the bits of scaling first, leaving the sum zero.
    #[test]
    fn zipped_and_fused_updates_have_the_bits_of_the_indexed_loop() {
        fn indexed(
            o: &AdamOptions,
            step: i32,
            lr: f64,
            th: &mut [f64],
            m: &mut [f64],
            v: &mut [f64],
            grad: &[f64],
        ) {
            let (beta1, beta2, epsilon) = (o.beta1, o.beta2, o.epsilon);
            let (correction1, correction2) = if o.fixed_bias_correction {
                (1.0 - beta1, 1.0 - beta2)
            } else {
                (1.0 - beta1.powi(step), 1.0 - beta2.powi(step))
            };
            for i in 0..grad.len() {
                let g = grad[i];
                m[i] = beta1 * m[i] + (1.0 - beta1) * g;
                v[i] = beta2 * v[i] + (1.0 - beta2) * g * g;
                let m_hat = m[i] / correction1;
                let v_hat = v[i] / correction2;
                th[i] -= lr * m_hat / (v_hat.sqrt() + epsilon);
            }
        }
        let n = 37;
        // Gradients over many magnitudes, with zeros of both signs.
        let grad = |step: usize| -> Vec<f64> {
            (0..n)
                .map(|i| match (i + step) % 7 {
                    0 => 0.0,
                    1 => -0.0,
                    k => (k as f64 - 3.5) * 10f64.powi((i % 9) as i32 - 4) / (step as f64 + 0.7),
                })
                .collect()
        };
        // The third set reaches corrections of exactly 1 (`1 - 0.1ᵗ` from t = 17, `1 - 0.05ᵗ`
        // from t = 13), whose divisions are skipped.
        let sets = [(false, 0.9, 0.999), (true, 0.9, 0.999), (false, 0.1, 0.05)];
        for (fixed_bias_correction, beta1, beta2) in sets {
            let options = AdamOptions {
                lr: 0.01,
                fixed_bias_correction,
                beta1,
                beta2,
                ..AdamOptions::default()
            };
            if beta1 == 0.1 {
                assert_eq!(1.0 - beta1.powi(17), 1.0);
                assert_ne!(1.0 - beta1.powi(12), 1.0);
                assert_ne!(1.0 - beta2.powi(11), 1.0);
            }
            let mut zipped = Adam::new(options, &[n]).unwrap();
            let mut fused = Adam::new(options, &[n]).unwrap();
            let start: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
            let (mut th_z, mut th_f, mut th_i) = (vec![start.clone()], vec![start.clone()], start);
            let (mut m, mut v) = (vec![0.0; n], vec![0.0; n]);
            for step in 1..=30 {
                let g = grad(step);
                let scale = 1.0 / 3.0;
                let scaled: Vec<f64> = g.iter().map(|x| x * scale).collect();
                indexed(
                    &options,
                    step as i32,
                    0.01,
                    &mut th_i,
                    &mut m,
                    &mut v,
                    &scaled,
                );
                zipped.update(&mut th_z, &[scaled]).unwrap();
                let mut sums = vec![g];
                fused
                    .update_and_clear(&mut th_f, &mut sums, Some(scale))
                    .unwrap();
                assert!(sums[0].iter().all(|x| x.to_bits() == 0));
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&th_z[0]), bits(&th_i), "step {step}");
                assert_eq!(bits(&th_f[0]), bits(&th_i), "step {step}");
                assert_eq!(bits(&zipped.m[0]), bits(&m));
                assert_eq!(bits(&fused.v[0]), bits(&v));
            }
        }
    }
}
