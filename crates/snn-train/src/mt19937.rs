//! The 32-bit Mersenne Twister MT19937 (Matsumoto & Nishimura 1998) with the draws of numpy's
//! legacy `RandomState`, so that the published Yin-Yang split can be regenerated bit for bit
//! (`docs/datasets.md` §"Reproducing the published split").

/// Degree of recurrence: number of 32-bit words in the state.
const N: usize = 624;
/// Middle word offset of the twist.
const M: usize = 397;
/// Coefficients of the rational normal form twist matrix.
const MATRIX_A: u32 = 0x9908_b0df;
/// Most significant bit of a word.
const UPPER_MASK: u32 = 0x8000_0000;
/// Least significant 31 bits of a word.
const LOWER_MASK: u32 = 0x7fff_ffff;

/// MT19937 generator state.
///
/// Seeded only by Knuth's `init_genrand` initialiser (multiplier 1812433253), which is what
/// `numpy.random.RandomState(seed)` uses for an integer seed.
#[derive(Clone)]
pub struct Mt19937 {
    state: [u32; N],
    index: usize,
}

impl std::fmt::Debug for Mt19937 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mt19937")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl Mt19937 {
    /// Seeds the state with `init_genrand(seed)`:
    /// `mt[0] = seed`, `mt[i] = 1812433253 · (mt[i-1] ⊕ (mt[i-1] >> 30)) + i` modulo 2³².
    pub fn new(seed: u32) -> Self {
        let mut state = [0u32; N];
        state[0] = seed;
        for i in 1..N {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        // index = N forces a twist before the first output, as the reference code does.
        Self { state, index: N }
    }

    /// Regenerates the 624 words of the state (the "twist").
    fn twist(&mut self) {
        for i in 0..N {
            let y = (self.state[i] & UPPER_MASK) | (self.state[(i + 1) % N] & LOWER_MASK);
            let mag = if y & 1 == 1 { MATRIX_A } else { 0 };
            self.state[i] = self.state[(i + M) % N] ^ (y >> 1) ^ mag;
        }
        self.index = 0;
    }

    /// Next tempered 32-bit output (`genrand_int32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^= y >> 18;
        y
    }

    /// Uniform double in `[0, 1)` with 53 random bits, as numpy's `rand()`:
    /// `((a >> 5) · 2²⁶ + (b >> 6)) / 2⁵³` for two consecutive outputs `a`, `b`.
    pub fn rand(&mut self) -> f64 {
        let a = f64::from(self.next_u32() >> 5);
        let b = f64::from(self.next_u32() >> 6);
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// Uniform integer in `0..n` as numpy's legacy `randint(n)`: draw `u32 & mask`, where `mask`
    /// is the smallest all-ones bit pattern covering `n - 1`, until the value is `<= n - 1`
    /// (masked rejection). Returns 0 for `n <= 1` without consuming output, as numpy does.
    pub fn randint(&mut self, n: u32) -> u32 {
        if n <= 1 {
            return 0;
        }
        let max = n - 1;
        let mask = u32::MAX >> max.leading_zeros();
        loop {
            let v = self.next_u32() & mask;
            if v <= max {
                return v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Independent reference: the C++ standard's std::mt19937 is MT19937 seeded with
    // init_genrand(5489); [rand.predef] requires its 10000th output to be 4123659995, and its first
    // outputs 3499211612, 581869302, 3890346734 are those of every conforming standard library.
    #[test]
    fn default_seed_matches_reference_implementation() {
        let mut mt = Mt19937::new(5489);
        assert_eq!(mt.next_u32(), 3_499_211_612);
        assert_eq!(mt.next_u32(), 581_869_302);
        assert_eq!(mt.next_u32(), 3_890_346_734);
        let mut mt = Mt19937::new(5489);
        let mut last = 0;
        for _ in 0..10_000 {
            last = mt.next_u32();
        }
        assert_eq!(last, 4_123_659_995);
    }

    // Test vectors of `docs/datasets.md` for seed 42 (numpy RandomState(42)).
    #[test]
    fn seed_42_first_outputs_match_numpy() {
        let mut mt = Mt19937::new(42);
        assert_eq!(mt.next_u32(), 1_608_637_542);
        assert_eq!(mt.next_u32(), 3_421_126_067);
        assert_eq!(mt.next_u32(), 4_083_286_876);
    }

    #[test]
    fn seed_42_first_rand_matches_numpy() {
        let mut mt = Mt19937::new(42);
        assert_eq!(mt.rand(), 0.3745401188473625);
    }

    // Masked rejection by hand: for seed 42 the first outputs are 1608637542 (& 3 = 2, accepted),
    // so randint(3) must be 2 and consume exactly one output.
    #[test]
    fn randint_uses_masked_rejection() {
        let mut mt = Mt19937::new(42);
        assert_eq!(1_608_637_542u32 & 3, 2);
        assert_eq!(mt.randint(3), 2);
        assert_eq!(mt.next_u32(), 3_421_126_067);
        // 3421126067 & 3 = 3 is rejected, 4083286876 & 3 = 0 accepted.
        let mut mt = Mt19937::new(42);
        mt.next_u32();
        assert_eq!(3_421_126_067u32 & 3, 3);
        assert_eq!(4_083_286_876u32 & 3, 0);
        assert_eq!(mt.randint(3), 0);
    }
}
