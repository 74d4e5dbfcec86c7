//! A tiny seeded PRNG (xoshiro256** seeded through SplitMix64).
//!
//! Written here rather than taken from `rand` so the corpus never changes under us: a `rand` upgrade
//! may change its algorithms and silently change every generated document, and the bundled model's
//! card promises that a seed reproduces its training text byte for byte.

/// One step of SplitMix64: a good 64-bit mixer, used to expand seeds and to derive streams.
pub(crate) fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A deterministic random number generator (xoshiro256**).
///
/// Not cryptographic; it only has to be fast, well distributed and stable across versions.
#[derive(Clone, Debug)]
pub struct Rng {
    s: [u64; 4],
}

impl Rng {
    /// A generator whose whole output is fixed by `seed`.
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        let mut s = [0u64; 4];
        for word in &mut s {
            *word = splitmix64(&mut sm);
        }
        // xoshiro must not start from all zeros (it would stay there); SplitMix64 cannot produce
        // four zeros in a row in practice, but the guard costs nothing.
        if s == [0; 4] {
            s[0] = 1;
        }
        Self { s }
    }

    /// An independent generator for item `stream` under `seed`, so each document can be made on its
    /// own (in any order, or in parallel) and still come out the same.
    pub fn stream(seed: u64, stream: u64) -> Self {
        let mut a = seed;
        let mut b = stream ^ 0xA076_1D64_78BD_642F;
        Self::new(splitmix64(&mut a) ^ splitmix64(&mut b).rotate_left(17))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = self.s[1] << 17;
        self.s[2] ^= self.s[0];
        self.s[3] ^= self.s[1];
        self.s[1] ^= self.s[2];
        self.s[0] ^= self.s[3];
        self.s[2] ^= t;
        self.s[3] = self.s[3].rotate_left(45);
        result
    }

    /// A number in `0..n` (0 when `n` is 0).
    ///
    /// Multiply-high rather than modulo; the leftover bias is below 2^-50 for the small `n` used here.
    pub fn below(&mut self, n: usize) -> usize {
        ((u128::from(self.next_u64()) * n as u128) >> 64) as usize
    }

    /// A number in `lo..=hi` (requires `lo <= hi`).
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        debug_assert!(lo <= hi, "empty range {lo}..={hi}");
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    /// A float uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        // The top 53 bits fill an f64 mantissa exactly.
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// A uniformly chosen item.
    ///
    /// # Panics
    /// If `items` is empty; every list passed here is a non-empty constant.
    pub fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    /// An index chosen with probability proportional to `weights[i]`.
    ///
    /// # Panics
    /// If the weights are empty or all zero (internal constants only).
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|&w| u64::from(w)).sum();
        assert!(total > 0, "weights must not be all zero");
        let mut roll = self.below(total as usize) as u64;
        for (i, &w) in weights.iter().enumerate() {
            if roll < u64::from(w) {
                return i;
            }
            roll -= u64::from(w);
        }
        weights.len() - 1
    }

    /// A string chosen from `(item, weight)` pairs.
    pub fn pick_weighted(&mut self, items: &[(&'static str, u32)]) -> &'static str {
        let mut total = 0u32;
        for &(_, w) in items {
            total += w;
        }
        assert!(total > 0, "weights must not be all zero");
        let mut roll = self.below(total as usize) as u32;
        for &(item, w) in items {
            if roll < w {
                return item;
            }
            roll -= w;
        }
        items[items.len() - 1].0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream() {
        let a: Vec<u64> = {
            let mut r = Rng::new(7);
            (0..8).map(|_| r.next_u64()).collect()
        };
        let mut r = Rng::new(7);
        let b: Vec<u64> = (0..8).map(|_| r.next_u64()).collect();
        assert_eq!(a, b);
        let mut other = Rng::new(8);
        assert_ne!(a[0], other.next_u64());
        assert_ne!(Rng::stream(7, 0).next_u64(), Rng::stream(7, 1).next_u64());
    }

    #[test]
    fn below_and_weights_stay_in_range() {
        let mut r = Rng::new(1);
        let mut seen = [0usize; 5];
        for _ in 0..10_000 {
            seen[r.below(5)] += 1;
            assert!(r.range(3, 4) >= 3);
            assert_eq!(r.weighted(&[0, 3, 0]), 1);
            let u = r.unit();
            assert!((0.0..1.0).contains(&u));
        }
        // Roughly uniform: every bucket near 2000.
        assert!(seen.iter().all(|&n| (1700..2300).contains(&n)), "{seen:?}");
    }
}
