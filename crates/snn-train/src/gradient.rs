//! The gradient buffers of the training loop: each example of a minibatch writes its gradient
//! into a [`GradientBuffer`] that the trainer owns and reuses from one minibatch to the next, and
//! says which entries may be non-zero (its *support*); the trainer adds only those into the
//! batch sum, checks only those for finiteness and sets only those back to zero.
//!
//! Skipping the entries outside the support gives the bits of the dense sum: the sum of an
//! entry starts at `+0.0` and a sum `s + x` is `-0.0` only when both `s` and `x` are `-0.0`, so
//! the running sum is never `-0.0`, and `s + (±0.0)` is then `s` itself. A layered network's
//! first layer (pre-major) has a non-zero gradient only in the rows of the inputs that spiked
//! (on MNIST about 150 of 784), so most of its entries are skipped.

use crate::error::{with_capacity, Result, TrainError};

/// Which entries of one parameter array may be non-zero.
#[derive(Clone, Debug, Default)]
struct Support {
    /// `None`: every entry; `Some(n)`: only the entries `[row * n + c]` for `c` in `columns`
    /// (or, with `rows`, those of the rows in `columns`).
    row_len: Option<usize>,
    /// Sorted distinct columns below `row_len`, or rows below `len / row_len`.
    columns: Vec<usize>,
    /// Whether `columns` lists rows.
    rows: bool,
}

/// One example's gradient, one array per parameter array (the layout of
/// [`crate::model::Model::params_mut`]), with the set of entries that may be non-zero.
///
/// [`crate::model::Model::gradient_into`] receives it with every entry `0.0` and every entry
/// declared possibly non-zero; a model that knows that only some rows or columns of an array can
/// be non-zero narrows that with [`GradientBuffer::set_rows`] or [`GradientBuffer::set_columns`]. An entry outside the declared
/// set must be left at `+0.0` or `-0.0`: the trainer neither reads it nor resets it (debug
/// builds check it).
#[derive(Clone, Debug, Default)]
pub struct GradientBuffer {
    arrays: Vec<Vec<f64>>,
    support: Vec<Support>,
    /// Whether a declared entry may be non-zero (the arrays were handed out or replaced since
    /// they were last cleared).
    dirty: bool,
}

impl GradientBuffer {
    /// Zero arrays of the given lengths, every entry declared possibly non-zero.
    pub fn new(lengths: &[usize]) -> Result<Self> {
        let arrays = lengths
            .iter()
            .map(|&n| {
                let mut z = with_capacity("gradient buffer", n)?;
                z.resize(n, 0.0);
                Ok(z)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            support: vec![Support::default(); arrays.len()],
            arrays,
            dirty: false,
        })
    }

    /// The arrays.
    pub fn arrays(&self) -> &[Vec<f64>] {
        &self.arrays
    }

    /// The arrays, to be written (e.g. by `lif_network`'s `FeedForwardNet::accumulate_gradient`,
    /// which adds into them).
    pub fn arrays_mut(&mut self) -> &mut [Vec<f64>] {
        self.dirty = true;
        &mut self.arrays
    }

    /// Declares that array `array`, row-major with rows of `row_len` entries, is non-zero only in
    /// the given columns (in any order, repeats allowed). A declaration that does not fit the
    /// array (no such array, `row_len` 0 or not dividing its length, a column `>= row_len`)
    /// leaves every entry of the array declared, which is always safe.
    pub fn set_columns(
        &mut self,
        array: usize,
        row_len: usize,
        columns: impl IntoIterator<Item = usize>,
    ) {
        self.declare(array, row_len, columns, false);
    }

    /// Declares that array `array`, row-major with rows of `row_len` entries, is non-zero only in
    /// the given rows (in any order, repeats allowed). A declaration that does not fit the array
    /// (no such array, `row_len` 0 or not dividing its length, a row beyond the last) leaves
    /// every entry of the array declared, which is always safe.
    pub fn set_rows(
        &mut self,
        array: usize,
        row_len: usize,
        rows: impl IntoIterator<Item = usize>,
    ) {
        self.declare(array, row_len, rows, true);
    }

    /// [`set_rows`](Self::set_rows) (`rows`) or [`set_columns`](Self::set_columns).
    fn declare(
        &mut self,
        array: usize,
        row_len: usize,
        indices: impl IntoIterator<Item = usize>,
        rows: bool,
    ) {
        let (Some(values), Some(support)) = (self.arrays.get(array), self.support.get_mut(array))
        else {
            return;
        };
        support.row_len = None;
        if row_len == 0 || values.len() % row_len != 0 {
            return;
        }
        let bound = if rows {
            values.len() / row_len
        } else {
            row_len
        };
        support.columns.clear();
        support.columns.extend(indices);
        if support.columns.iter().any(|&k| k >= bound) {
            return;
        }
        support.columns.sort_unstable();
        support.columns.dedup();
        support.rows = rows;
        support.row_len = Some(row_len);
    }

    /// Replaces the arrays by an owned gradient (every entry declared possibly non-zero): how
    /// [`crate::model::Model::gradient_into`]'s default implementation hands over the result of
    /// [`crate::model::Model::loss_and_gradient`].
    pub fn replace(&mut self, arrays: Vec<Vec<f64>>) {
        self.support = vec![Support::default(); arrays.len()];
        self.arrays = arrays;
        self.dirty = true;
    }

    /// Sets every declared entry to zero (the whole gradient is then zero).
    pub fn clear(&mut self) {
        self.dirty = false;
        for (values, support) in self.arrays.iter_mut().zip(&self.support) {
            match support.row_len {
                None => values.fill(0.0),
                Some(n) if support.rows => {
                    for &r in &support.columns {
                        values[r * n..(r + 1) * n].fill(0.0);
                    }
                }
                Some(n) => {
                    for row in values.chunks_exact_mut(n) {
                        for &c in &support.columns {
                            row[c] = 0.0;
                        }
                    }
                }
            }
        }
    }

    /// Ready for the next example: zero arrays of `lengths`, every entry declared. Reuses the
    /// arrays when they have these lengths, clearing only what was declared (nothing when
    /// [`GradientBuffer::add_into_and_clear`] has cleared it).
    pub(crate) fn reset(&mut self, lengths: &[usize]) -> Result<()> {
        let fits = self.arrays.len() == lengths.len()
            && self.arrays.iter().zip(lengths).all(|(a, &n)| a.len() == n);
        if !fits {
            *self = Self::new(lengths)?;
            return Ok(());
        }
        if self.dirty {
            self.clear();
        }
        debug_assert!(
            self.arrays.iter().flatten().all(|&x| x == 0.0),
            "a gradient entry outside the declared rows or columns is not zero"
        );
        for s in &mut self.support {
            s.row_len = None;
        }
        Ok(())
    }

    /// Adds the declared entries into `sum` (same layout) and sets them back to zero, row by row
    /// (a row is summed and checked, then cleared while it is in cache); or returns the first
    /// entry (in array order, row-major) that is not finite, with `sum` holding a partial sum
    /// and the buffer left for [`GradientBuffer::reset`] to clear.
    pub(crate) fn add_into_and_clear(
        &mut self,
        sum: &mut [Vec<f64>],
    ) -> std::result::Result<(), f64> {
        let arrays = sum.iter_mut().zip(&mut self.arrays).zip(&self.support);
        for ((acc, values), support) in arrays {
            let bad = match support.row_len {
                None => add_all(acc, values),
                Some(n) if support.rows => add_rows(acc, values, n, &support.columns),
                Some(n) => add_columns(acc, values, n, &support.columns),
            };
            if let Some(x) = bad {
                return Err(x);
            }
        }
        self.dirty = false;
        Ok(())
    }

    /// Checks that the arrays have the lengths of `sum`.
    pub(crate) fn check_shapes(&self, lengths: &[usize]) -> Result<()> {
        if self.arrays.len() != lengths.len() {
            return Err(TrainError::ShapeMismatch {
                what: "gradient layers",
                expected: lengths.len(),
                found: self.arrays.len(),
            });
        }
        for (a, &n) in self.arrays.iter().zip(lengths) {
            if a.len() != n {
                return Err(TrainError::ShapeMismatch {
                    what: "gradient entries",
                    expected: n,
                    found: a.len(),
                });
            }
        }
        Ok(())
    }

    /// The first non-finite entry of any array, whatever the declaration (for a gradient of the
    /// wrong shape, which is reported after its values as the training loop always did).
    pub(crate) fn any_non_finite(&self) -> Option<f64> {
        self.arrays
            .iter()
            .flatten()
            .copied()
            .find(|x| !x.is_finite())
    }
}

/// The trainer's buffers, kept from one minibatch to the next: one [`GradientBuffer`] per example
/// of a minibatch and the batch sum.
#[derive(Default)]
pub(crate) struct BatchGradients {
    /// One buffer per example of the largest minibatch so far.
    pub(crate) examples: Vec<GradientBuffer>,
    /// The sum of the examples' gradients, in batch order.
    pub(crate) sum: Vec<Vec<f64>>,
    /// Whether every entry of `sum` is `+0.0` (the optimiser sets them back after reading them;
    /// a minibatch that failed half-way leaves them dirty).
    pub(crate) sum_is_zero: bool,
}

impl BatchGradients {
    /// At least `n` example buffers, and a zero sum of arrays of `lengths`.
    pub(crate) fn prepare(&mut self, lengths: &[usize], n: usize) -> Result<()> {
        if self.examples.len() < n {
            self.examples.resize_with(n, GradientBuffer::default);
        }
        let fits = self.sum.len() == lengths.len()
            && self.sum.iter().zip(lengths).all(|(a, &n)| a.len() == n);
        if !fits {
            self.sum = GradientBuffer::new(lengths)?.arrays;
        } else if !self.sum_is_zero {
            self.sum.iter_mut().for_each(|a| a.fill(0.0));
        }
        self.sum_is_zero = true;
        Ok(())
    }
}

/// Clones start with no buffers (they are scratch space).
impl Clone for BatchGradients {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for BatchGradients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchGradients")
            .field("examples", &self.examples.len())
            .field("sum_is_zero", &self.sum_is_zero)
            .finish_non_exhaustive()
    }
}

/// The exponent bits of an `f64`: all set for ±∞ and NaN only. The largest of `x & EXPONENT`
/// over some values is `EXPONENT` exactly when one of them is not finite (a maximum of integers,
/// which a loop can carry in a register or vectorise).
const EXPONENT: u64 = 0x7ff0_0000_0000_0000;

/// Entries per row of an array whose every entry is declared.
const ROW: usize = 512;

/// `acc += values` entry by entry, then `values = 0`, in rows of [`ROW`] entries; stops at a row
/// with a value that is not finite, and returns the first such value.
fn add_all(acc: &mut [f64], values: &mut [f64]) -> Option<f64> {
    for (acc, values) in acc.chunks_mut(ROW).zip(values.chunks_mut(ROW)) {
        let mut exponent = 0;
        for (a, &x) in acc.iter_mut().zip(values.iter()) {
            *a += x;
            exponent = exponent.max(x.to_bits() & EXPONENT);
        }
        if exponent == EXPONENT {
            return values.iter().copied().find(|x| !x.is_finite());
        }
        values.fill(0.0);
    }
    None
}

/// `acc += values`, then `values = 0`, on the given rows of `n` entries (sorted), row by row;
/// stops at a row with a value that is not finite, and returns the first such value.
fn add_rows(acc: &mut [f64], values: &mut [f64], n: usize, rows: &[usize]) -> Option<f64> {
    for &r in rows {
        let (a, v) = (
            &mut acc[r * n..(r + 1) * n],
            &mut values[r * n..(r + 1) * n],
        );
        let mut exponent = 0;
        for (a, &x) in a.iter_mut().zip(v.iter()) {
            *a += x;
            exponent = exponent.max(x.to_bits() & EXPONENT);
        }
        if exponent == EXPONENT {
            return v.iter().copied().find(|x| !x.is_finite());
        }
        v.fill(0.0);
    }
    None
}

/// `acc += values`, then `values = 0`, on the given columns of every row of `n` entries; stops
/// at a row with a value there that is not finite, and returns the first such value.
fn add_columns(acc: &mut [f64], values: &mut [f64], n: usize, columns: &[usize]) -> Option<f64> {
    for (a, v) in acc.chunks_exact_mut(n).zip(values.chunks_exact_mut(n)) {
        let mut exponent = 0;
        for &c in columns {
            let x = v[c];
            a[c] += x;
            exponent = exponent.max(x.to_bits() & EXPONENT);
        }
        if exponent == EXPONENT {
            return columns.iter().map(|&c| v[c]).find(|x| !x.is_finite());
        }
        for &c in columns {
            v[c] = 0.0;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    // The sums that skip undeclared zeros are the bits of the dense sums, with -0.0 entries
    // (inside and outside the declared columns) and values that cancel exactly.
    /// Oracle: the dense sum of `examples` in order. Sums them through one buffer whose only
    /// array is declared by `declare` for each example, checks the buffer is cleared each time,
    /// and compares the bits; returns the buffer for further checks.
    fn declared_sum_matches_dense(
        examples: &[&[f64]],
        declare: impl Fn(&mut GradientBuffer),
    ) -> GradientBuffer {
        let mut dense = vec![0.0; 6];
        for g in examples {
            for (s, &x) in dense.iter_mut().zip(*g) {
                *s += x;
            }
        }
        let mut sparse = vec![vec![0.0; 6]];
        let mut buf = GradientBuffer::new(&[6]).unwrap();
        for g in examples {
            buf.reset(&[6]).unwrap_or_else(|e| panic!("{e}"));
            buf.arrays_mut()[0].copy_from_slice(g);
            declare(&mut buf);
            buf.add_into_and_clear(&mut sparse).unwrap();
            assert!(buf.arrays()[0].iter().all(|&x| x == 0.0));
        }
        let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&sparse[0]), bits(&dense));
        buf
    }

    #[test]
    fn sum_over_declared_columns_has_the_bits_of_the_dense_sum() {
        // Rows of 3: columns 1 and 2 declared; column 0 holds only ±0.0.
        let examples: [&[f64]; 3] = [
            &[-0.0, 1.5, -0.0, 0.0, -0.0, -2.0],
            &[-0.0, -1.5, 0.0, -0.0, -0.0, 2.0],
            &[-0.0, -0.0, 0.25, 0.0, -0.0, -0.0],
        ];
        declared_sum_matches_dense(&examples, |b| b.set_columns(0, 3, [2, 1, 2]));
    }

    // The same with declared rows (a pre-major first layer): rows 0 and 2 of three rows of 2.
    #[test]
    fn sum_over_declared_rows_has_the_bits_of_the_dense_sum() {
        let examples: [&[f64]; 3] = [
            &[1.5, -0.0, -0.0, 0.0, -2.0, 0.5],
            &[-1.5, 0.0, 0.0, -0.0, 2.0, -0.5],
            &[-0.0, 0.25, -0.0, -0.0, -0.0, 0.0],
        ];
        let mut buf = declared_sum_matches_dense(&examples, |b| b.set_rows(0, 2, [2, 0, 2]));
        // A row beyond the last declares the whole array.
        buf.arrays_mut()[0][2] = 1.0;
        buf.set_rows(0, 2, [3]);
        let mut sum = vec![vec![0.0; 6]];
        buf.add_into_and_clear(&mut sum).unwrap();
        assert_eq!(sum[0][2], 1.0);
    }

    #[test]
    fn first_non_finite_entry_is_reported_in_array_order() {
        let mut buf = GradientBuffer::new(&[4, 6]).unwrap();
        buf.arrays_mut()[1][4] = f64::NEG_INFINITY;
        buf.arrays_mut()[1][5] = f64::NAN;
        buf.set_columns(1, 3, [1, 2]);
        let mut sum = vec![vec![0.0; 4], vec![0.0; 6]];
        assert_eq!(buf.add_into_and_clear(&mut sum), Err(f64::NEG_INFINITY));
    }

    #[test]
    fn declarations_that_do_not_fit_declare_the_whole_array() {
        let mut buf = GradientBuffer::new(&[6]).unwrap();
        buf.arrays_mut()[0][0] = 1.0;
        for (row_len, column) in [(0, 0), (4, 0), (3, 3)] {
            buf.set_columns(0, row_len, [column]);
            let mut sum = vec![vec![0.0; 6]];
            buf.arrays_mut()[0][0] = 1.0;
            buf.add_into_and_clear(&mut sum).unwrap();
            assert_eq!(sum[0][0], 1.0, "row_len {row_len}, column {column}");
        }
        buf.set_columns(7, 3, [0]);
        buf.reset(&[6, 2]).unwrap();
        assert_eq!(buf.arrays().len(), 2);
    }
}
