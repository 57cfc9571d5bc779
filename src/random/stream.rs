//! The generator state of one random stream and the words a draw reads.
//!
//! A state is four `uint32` words, `[key0, key1, call_lo, call_hi]`: the
//! Philox key (fixed for the stream's life, derived from the seed and the
//! stream's creation index) and a 64-bit call counter. A draw at call `c`
//! reads counters whose high half is `c`, and returns the state with `c + 1`,
//! so every call of a random op reads fresh counters and never overlaps
//! another call. Within a call two layouts exist, each fixed per op:
//!
//! - **blocks** (uniform, normal, Bernoulli): element `i` of the output takes
//!   slot `i % k` of block `i / k`, the block being
//!   `philox((b_lo, b_hi, c_lo, c_hi), key)`; `k` values per block.
//! - **element streams** (everything that needs a variable number of words):
//!   element (or row) `e` reads blocks `philox((d, e, c_lo, c_hi), key)` for
//!   `d = 0, 1, ...`.
//!
//! Either way a value depends only on (key, call, element index), which is
//! what lets a GPU thread per element compute the same numbers.

use crate::random::philox::philox4x32_10;

/// Number of `uint32` words in a state vector.
pub const STATE_LEN: usize = 4;

/// Tags that keep the keys of different stream families apart.
pub const DOMAIN_RANDOM_STREAMS: u32 = 0x5253_3031; // "RS01"
pub const DOMAIN_MRG: u32 = 0x4d52_4731; // "MRG1"

const TWO_POW_M24: f64 = 1.0 / (1u64 << 24) as f64;
const TWO_POW_M32: f64 = 1.0 / (1u64 << 32) as f64;
const TWO_POW_M52: f64 = 1.0 / (1u64 << 52) as f64;
const TWO_POW_M53: f64 = 1.0 / (1u64 << 53) as f64;

/// The state of one stream: its key and the number of calls made so far.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PhiloxState {
    pub key: [u32; 2],
    pub call: u64,
}

impl PhiloxState {
    /// The first state of stream number `stream` of a family seeded with `seed`.
    pub fn seeded(seed: u64, stream: u64, domain: u32) -> PhiloxState {
        let words = philox4x32_10(
            [stream as u32, (stream >> 32) as u32, domain, 0x5eed],
            [seed as u32, (seed >> 32) as u32],
        );
        PhiloxState {
            key: [words[0], words[1]],
            call: 0,
        }
    }

    /// A state from its four words; `None` for any other length.
    pub fn from_words(words: &[u32]) -> Option<PhiloxState> {
        match words {
            [k0, k1, lo, hi] => Some(PhiloxState {
                key: [*k0, *k1],
                call: (*lo as u64) | ((*hi as u64) << 32),
            }),
            _ => None,
        }
    }

    pub fn words(&self) -> [u32; STATE_LEN] {
        [
            self.key[0],
            self.key[1],
            self.call as u32,
            (self.call >> 32) as u32,
        ]
    }

    /// The state after one more call.
    pub fn advanced(&self) -> PhiloxState {
        PhiloxState {
            key: self.key,
            call: self.call.wrapping_add(1),
        }
    }

    /// Block `b` of this call's block layout.
    #[inline]
    pub fn block(&self, b: u64) -> [u32; 4] {
        philox4x32_10(
            [
                b as u32,
                (b >> 32) as u32,
                self.call as u32,
                (self.call >> 32) as u32,
            ],
            self.key,
        )
    }

    /// The word stream of element `e` of this call.
    pub fn element_stream(&self, e: u32) -> ElementStream {
        ElementStream {
            key: self.key,
            ctr: [0, e, self.call as u32, (self.call >> 32) as u32],
            buf: [0; 4],
            used: 4,
        }
    }
}

/// The words one element (or row) of a draw reads, block after block.
pub struct ElementStream {
    key: [u32; 2],
    ctr: [u32; 4],
    buf: [u32; 4],
    used: usize,
}

impl ElementStream {
    #[inline]
    pub fn next_u32(&mut self) -> u32 {
        if self.used == 4 {
            self.buf = philox4x32_10(self.ctr, self.key);
            self.ctr[0] = self.ctr[0].wrapping_add(1);
            self.used = 0;
        }
        let w = self.buf[self.used];
        self.used += 1;
        w
    }

    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let hi = self.next_u32() as u64;
        let lo = self.next_u32() as u64;
        (hi << 32) | lo
    }

    /// A uniform double in [0, 1) with 53 random bits.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * TWO_POW_M53
    }

    /// A uniform double in (0, 1) (52 random bits, never 0: safe under `ln`).
    #[inline]
    pub fn uniform_open(&mut self) -> f64 {
        ((self.next_u64() >> 12) as f64 + 0.5) * TWO_POW_M52
    }

    /// A uniform integer in `[0, range)`, without bias (Lemire's
    /// multiply-and-reject); `range` must be at least 1.
    pub fn below(&mut self, range: u64) -> u64 {
        debug_assert!(range > 0);
        if range <= u32::MAX as u64 {
            let r = range as u32;
            let mut m = self.next_u32() as u64 * r as u64;
            if (m as u32) < r {
                let t = r.wrapping_neg() % r;
                while (m as u32) < t {
                    m = self.next_u32() as u64 * r as u64;
                }
            }
            m >> 32
        } else {
            let mut m = self.next_u64() as u128 * range as u128;
            if (m as u64) < range {
                let t = range.wrapping_neg() % range;
                while (m as u64) < t {
                    m = self.next_u64() as u128 * range as u128;
                }
            }
            (m >> 64) as u64
        }
    }
}

/// A uniform double in [0, 1) from two words (53 bits).
#[inline(always)]
pub fn u01_53(hi: u32, lo: u32) -> f64 {
    ((((hi as u64) << 32) | lo as u64) >> 11) as f64 * TWO_POW_M53
}

/// A uniform in [0, 1) from one word, with the 24 bits a float32 holds.
#[inline(always)]
pub fn u01_24(w: u32) -> f64 {
    (w >> 8) as f64 * TWO_POW_M24
}

/// A uniform in [0, 1) from one word (32 bits).
#[inline(always)]
pub fn u01_32(w: u32) -> f64 {
    w as f64 * TWO_POW_M32
}

/// A uniform in (0, 1) from one word (32 bits, never 0).
#[inline(always)]
pub fn u01_32_open(w: u32) -> f64 {
    (w as f64 + 0.5) * TWO_POW_M32
}

/// A uniform in (0, 1) from two words (52 bits, never 0 nor 1).
#[inline(always)]
pub fn u01_52_open(hi: u32, lo: u32) -> f64 {
    (((((hi as u64) << 32) | lo as u64) >> 12) as f64 + 0.5) * TWO_POW_M52
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_round_trips_through_its_words() {
        let s = PhiloxState {
            key: [7, 9],
            call: 0x1_0000_0003,
        };
        assert_eq!(s.words(), [7, 9, 3, 1]);
        assert_eq!(PhiloxState::from_words(&s.words()), Some(s));
        assert_eq!(PhiloxState::from_words(&[1, 2, 3]), None);
        assert_eq!(s.advanced().call, 0x1_0000_0004);
    }

    #[test]
    fn seeding_depends_on_seed_stream_and_domain() {
        let a = PhiloxState::seeded(1234, 0, DOMAIN_RANDOM_STREAMS);
        assert_eq!(a, PhiloxState::seeded(1234, 0, DOMAIN_RANDOM_STREAMS));
        assert_ne!(a, PhiloxState::seeded(1235, 0, DOMAIN_RANDOM_STREAMS));
        assert_ne!(a, PhiloxState::seeded(1234, 1, DOMAIN_RANDOM_STREAMS));
        assert_ne!(a, PhiloxState::seeded(1234, 0, DOMAIN_MRG));
        assert_eq!(a.call, 0);
    }

    #[test]
    fn uniform_conversions_stay_inside_the_unit_interval() {
        assert_eq!(u01_53(0, 0), 0.0);
        assert!(u01_53(u32::MAX, u32::MAX) < 1.0);
        assert!((u01_24(u32::MAX) as f32) < 1.0);
        assert!(u01_32(u32::MAX) < 1.0);
        assert!(u01_32_open(0) > 0.0 && u01_32_open(u32::MAX) < 1.0);
        assert!(u01_52_open(0, 0) > 0.0 && u01_52_open(u32::MAX, u32::MAX) < 1.0);
    }

    #[test]
    fn below_is_uniform_over_small_and_large_ranges() {
        let s = PhiloxState::seeded(5, 0, DOMAIN_RANDOM_STREAMS);
        let mut st = s.element_stream(0);
        let mut counts = [0usize; 6];
        for _ in 0..60_000 {
            counts[st.below(6) as usize] += 1;
        }
        for c in counts {
            // Expected 10 000 each; 5 standard deviations is about 456.
            assert!((c as i64 - 10_000).abs() < 460, "{counts:?}");
        }
        let big = 3 * (1u64 << 40) + 1;
        for _ in 0..1000 {
            assert!(st.below(big) < big);
        }
        assert_eq!(st.below(1), 0);
    }

    #[test]
    fn element_streams_of_one_call_differ_and_calls_differ() {
        let s = PhiloxState::seeded(5, 0, DOMAIN_RANDOM_STREAMS);
        let a: Vec<u32> = (0..8)
            .map(|_| 0)
            .scan(s.element_stream(0), |st, _: u32| Some(st.next_u32()))
            .collect();
        let b: Vec<u32> = (0..8)
            .map(|_| 0)
            .scan(s.element_stream(1), |st, _: u32| Some(st.next_u32()))
            .collect();
        let c: Vec<u32> = (0..8)
            .map(|_| 0)
            .scan(s.advanced().element_stream(0), |st, _: u32| {
                Some(st.next_u32())
            })
            .collect();
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(s.block(3), s.block(3));
        assert_ne!(s.block(3), s.advanced().block(3));
    }
}
