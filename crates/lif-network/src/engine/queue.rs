//! The forward pass's priority queue: at most one pending event per neuron, in an indexed 4-ary
//! min-heap with decrease- and increase-key. A neuron whose pending event moves (an input makes
//! its crossing earlier, or invalidates an exact crossing) updates its one entry in place, so the
//! heap never holds stale entries and never grows beyond the number of neurons.
//!
//! Order: by time, then kind ([`Kind`]: ends of refractory periods before crossings before
//! checks), then neuron index, exactly the order in which equal-time events are handled.

/// What a queue entry stands for, in the order handled at equal times.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Kind {
    /// The end of a refractory period.
    Wake,
    /// An exact threshold crossing.
    Spike,
    /// A lower bound of the next crossing time: look again (exactly) when it is reached.
    Check,
}

/// Not in the heap.
const ABSENT: u32 = u32::MAX;

/// One heap entry, ordered as one integer: the bits of the event time (a non-negative `f64`,
/// whose bits order as the numbers do) above the tie-break `kind << 32 | neuron`, so that a
/// comparison is branch-free.
#[derive(Clone, Copy, Debug)]
struct Entry {
    key: u128,
}

impl Entry {
    #[inline(always)]
    fn new(time: f64, kind: Kind, j: usize) -> Self {
        debug_assert!(time >= 0.0);
        // `+ 0.0` turns `-0.0` into `0.0`.
        let bits = u128::from((time + 0.0).to_bits());
        Self {
            key: (bits << 64) | (u128::from(kind as u8) << 32) | j as u128,
        }
    }

    #[inline(always)]
    fn before(&self, other: &Entry) -> bool {
        self.key < other.key
    }

    #[inline(always)]
    fn time(&self) -> f64 {
        f64::from_bits((self.key >> 64) as u64)
    }
}

/// An indexed 4-ary min-heap of per-neuron events.
#[derive(Clone, Debug, Default)]
pub(crate) struct EventQueue {
    heap: Vec<Entry>,
    /// Per neuron: its position in `heap`, or `ABSENT`.
    pos: Vec<u32>,
}

impl EventQueue {
    /// Empties the queue for `n` neurons.
    pub fn reset(&mut self, n: usize) {
        self.heap.clear();
        self.pos.clear();
        self.pos.resize(n, ABSENT);
    }

    /// The earliest event `(time, neuron, kind)`, if any.
    #[inline]
    pub fn peek(&self) -> Option<(f64, usize, Kind)> {
        self.heap.first().map(|e| (e.time(), e.neuron(), e.kind()))
    }

    /// Removes the earliest event (the forward pass peeks and then moves or removes the entry).
    #[cfg(test)]
    pub fn pop(&mut self) -> Option<(f64, usize, Kind)> {
        let top = *self.heap.first()?;
        self.remove_at(0);
        Some((top.time(), top.neuron(), top.kind()))
    }

    /// Sets neuron `j`'s pending event to `kind` at `time` (inserting, or moving its entry).
    #[inline]
    pub fn set(&mut self, j: usize, time: f64, kind: Kind) {
        let e = Entry::new(time, kind, j);
        let p = self.pos[j];
        if p == ABSENT {
            self.heap.push(e);
            self.sift_up(self.heap.len() - 1, e);
        } else {
            let p = p as usize;
            if e.before(&self.heap[p]) {
                self.sift_up(p, e);
            } else {
                self.sift_down(p, e);
            }
        }
    }

    /// Removes neuron `j`'s pending event, if it has one.
    #[inline]
    pub fn remove(&mut self, j: usize) {
        let p = self.pos[j];
        if p != ABSENT {
            self.remove_at(p as usize);
        }
    }

    fn remove_at(&mut self, p: usize) {
        let gone = self.heap[p].neuron();
        self.pos[gone] = ABSENT;
        let last = self.heap.pop().expect("non-empty heap");
        if p < self.heap.len() {
            if last.before(&self.heap[p]) {
                self.sift_up(p, last);
            } else {
                self.sift_down(p, last);
            }
        }
    }

    /// Places `e` at `p` or above, moving later parents down.
    #[inline]
    fn sift_up(&mut self, mut p: usize, e: Entry) {
        while p > 0 {
            let parent = (p - 1) / 4;
            let q = self.heap[parent];
            if !e.before(&q) {
                break;
            }
            self.heap[p] = q;
            self.pos[q.neuron()] = p as u32;
            p = parent;
        }
        self.heap[p] = e;
        self.pos[e.neuron()] = p as u32;
    }

    /// Places `e` at `p` or below, moving earlier children up. A node with four children picks
    /// the earliest by a tournament of three branch-free comparisons (two independent, then
    /// one), the last node with fewer children by a loop.
    #[inline]
    fn sift_down(&mut self, mut p: usize, e: Entry) {
        let n = self.heap.len();
        loop {
            let first = 4 * p + 1;
            let (best, q) = if first + 4 <= n {
                let h = &self.heap[first..first + 4];
                let lo = usize::from(h[1].before(&h[0]));
                let hi = 2 + usize::from(h[3].before(&h[2]));
                let (a, b) = (h[lo], h[hi]);
                if b.before(&a) {
                    (first + hi, b)
                } else {
                    (first + lo, a)
                }
            } else if first < n {
                let mut best = first;
                let mut q = self.heap[first];
                for c in first + 1..n {
                    let x = self.heap[c];
                    if x.before(&q) {
                        (best, q) = (c, x);
                    }
                }
                (best, q)
            } else {
                break;
            };
            if !q.before(&e) {
                break;
            }
            self.heap[p] = q;
            self.pos[q.neuron()] = p as u32;
            p = best;
        }
        self.heap[p] = e;
        self.pos[e.neuron()] = p as u32;
    }
}

impl Entry {
    #[inline(always)]
    fn neuron(&self) -> usize {
        (self.key & 0xffff_ffff) as usize
    }

    #[inline(always)]
    fn kind(&self) -> Kind {
        match (self.key >> 32) as u32 {
            0 => Kind::Wake,
            1 => Kind::Spike,
            _ => Kind::Check,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Oracle: a sorted list of the latest `(time, kind, neuron)` per neuron.
    #[test]
    fn pops_in_the_order_of_a_sorted_list_under_random_updates() {
        let n = 37;
        let mut q = EventQueue::default();
        q.reset(n);
        let mut latest: Vec<Option<(f64, u8, usize)>> = vec![None; n];
        let mut x: u64 = 12345;
        let mut rnd = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for step in 0..5000 {
            let j = (rnd() % n as u64) as usize;
            match rnd() % 4 {
                0 | 1 => {
                    let t = (rnd() % 50) as f64; // many ties
                    let k = (rnd() % 3) as u8;
                    let kind = [Kind::Wake, Kind::Spike, Kind::Check][k as usize];
                    q.set(j, t, kind);
                    latest[j] = Some((t, k, j));
                }
                2 => {
                    q.remove(j);
                    latest[j] = None;
                }
                _ => {
                    let mut all: Vec<_> = latest.iter().flatten().copied().collect();
                    all.sort_by(|a, b| a.0.total_cmp(&b.0).then((a.1, a.2).cmp(&(b.1, b.2))));
                    let got = q.pop();
                    match all.first() {
                        None => assert!(got.is_none(), "step {step}"),
                        Some(&(t, k, jj)) => {
                            let (gt, gj, gk) = got.expect("an entry");
                            assert_eq!((gt, gj, gk as u8), (t, jj, k), "step {step}");
                            latest[jj] = None;
                        }
                    }
                }
            }
        }
    }
}
