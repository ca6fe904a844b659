//! The maps a derivative product differentiates: which jump ([`Jump`]), and the flow or a jump at
//! a fixed mode and time as a [`StateMap`] `F(x, p)`, evaluable in any scalar (what the wide
//! kernels evaluate once for all their directions).

use crate::{HybridSystem, Scalar};

/// Which jump map: guard `k`'s or scheduled event `i`'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jump {
    /// The jump of guard `k`.
    Guard(usize),
    /// The jump of scheduled event `i`.
    Scheduled(usize),
}

/// The jump map `jump` of mode `q` at `(t, x, p)`, into `out`.
pub(super) fn eval_jump<M: HybridSystem, T: Scalar>(
    model: &M,
    jump: Jump,
    q: usize,
    t: T,
    x: &[T],
    p: &[T],
    out: &mut [T],
) {
    match jump {
        Jump::Guard(k) => model.jump(q, k, t, x, p, out),
        Jump::Scheduled(i) => model.scheduled_jump(i, t, x, p, out),
    }
}

/// A square map `F(x, p)` of the state at a fixed mode and time (the flow, a jump), evaluable in
/// any scalar: what the wide kernels evaluate once for all their directions.
pub(super) trait StateMap {
    fn eval<T: Scalar>(&self, x: &[T], p: &[T], out: &mut [T]);
}

/// The flow of mode `.1` at time `.2`.
pub(super) struct Flow<'a, M>(pub(super) &'a M, pub(super) usize, pub(super) f64);

impl<M: HybridSystem> StateMap for Flow<'_, M> {
    #[inline(always)]
    fn eval<T: Scalar>(&self, x: &[T], p: &[T], out: &mut [T]) {
        self.0.flow(self.1, T::cst(self.2), x, p, out)
    }
}

/// Jump `.1` of mode `.2` at time `.3`.
pub(super) struct JumpMap<'a, M>(
    pub(super) &'a M,
    pub(super) Jump,
    pub(super) usize,
    pub(super) f64,
);

impl<M: HybridSystem> StateMap for JumpMap<'_, M> {
    #[inline(always)]
    fn eval<T: Scalar>(&self, x: &[T], p: &[T], out: &mut [T]) {
        eval_jump(self.0, self.1, self.2, T::cst(self.3), x, p, out)
    }
}
