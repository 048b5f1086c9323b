//! A tiny deterministic pseudo-random generator (xorshift64*), so a seed reproduces a run.
//!
//! Not for cryptography; it only decides simulated latencies, hangs and faults.

/// xorshift64* (Vigna 2016): 64 bits of state, full period 2^64 - 1, good enough low bits.
#[derive(Debug, Clone)]
pub struct XorShift {
    state: u64,
}

impl XorShift {
    /// A generator for `seed` (any value; 0 is remapped, as xorshift must not start at 0).
    pub const fn new(seed: u64) -> XorShift {
        // why: splitmix-style scrambling, so that nearby seeds give unrelated streams.
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        XorShift {
            state: if z == 0 { 0x2545_F491_4F6C_DD1D } else { z },
        }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..bound` (0 when `bound` is 0), by multiply-shift (no modulo bias worth
    /// speaking of for simulation).
    pub fn below(&mut self, bound: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(bound)) >> 64) as u64
    }

    /// `true` with probability `parts_per_million / 1_000_000`.
    pub fn chance_ppm(&mut self, parts_per_million: u32) -> bool {
        parts_per_million > 0 && self.below(1_000_000) < u64::from(parts_per_million)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_bounded() {
        let mut a = XorShift::new(7);
        let mut b = XorShift::new(7);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
        let mut c = XorShift::new(0);
        assert!((0..1000).all(|_| c.below(10) < 10));
        assert!(!c.chance_ppm(0));
        assert!(c.chance_ppm(1_000_000));
        assert_ne!(XorShift::new(1).next_u64(), XorShift::new(2).next_u64());
    }
}
