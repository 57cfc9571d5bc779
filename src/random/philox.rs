//! Philox4x32-10, the counter-based generator of Salmon, Moraes, Dror and
//! Shaw, "Parallel Random Numbers: As Easy as 1, 2, 3" (SC11), written from
//! the published description: a 128-bit counter is encrypted under a 64-bit
//! key by ten rounds of two 32x32→64-bit multiplications, with a Weyl
//! sequence bumping the key between rounds. The output block depends only on
//! (counter, key), so any block can be computed without the ones before it:
//! a GPU thread computes exactly the numbers the CPU computes.

/// The round multipliers.
pub const PHILOX_M4X32_0: u32 = 0xD251_1F53;
pub const PHILOX_M4X32_1: u32 = 0xCD9E_8D57;
/// The key increments (golden ratio and sqrt(3) - 1, in 32-bit fixed point).
pub const PHILOX_W32_0: u32 = 0x9E37_79B9;
pub const PHILOX_W32_1: u32 = 0xBB67_AE85;

/// The high and low halves of the 64-bit product `a * b`.
#[inline(always)]
fn mulhilo(a: u32, b: u32) -> (u32, u32) {
    let p = (a as u64) * (b as u64);
    ((p >> 32) as u32, p as u32)
}

/// One Philox S-box round on the counter under the round key.
#[inline(always)]
fn round(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (hi0, lo0) = mulhilo(PHILOX_M4X32_0, ctr[0]);
    let (hi1, lo1) = mulhilo(PHILOX_M4X32_1, ctr[2]);
    [hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0]
}

/// Philox4x32 with `rounds` rounds (10 is the standard; the KAT file also
/// lists 7).
#[inline(always)]
pub fn philox4x32_rounds(rounds: u32, mut ctr: [u32; 4], mut key: [u32; 2]) -> [u32; 4] {
    for r in 0..rounds {
        if r > 0 {
            key[0] = key[0].wrapping_add(PHILOX_W32_0);
            key[1] = key[1].wrapping_add(PHILOX_W32_1);
        }
        ctr = round(ctr, key);
    }
    ctr
}

/// Philox4x32-10: four 32-bit random words for one (counter, key) pair.
#[inline]
pub fn philox4x32_10(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    philox4x32_rounds(10, ctr, key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known answers from Random123's `tests/kat_vectors` (columns: counter
    /// words, key words, expected output words).
    const KAT_10: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
        (
            [0, 0, 0, 0],
            [0, 0],
            [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8],
        ),
        (
            [0xffff_ffff; 4],
            [0xffff_ffff; 2],
            [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd],
        ),
        (
            [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
            [0xa409_3822, 0x299f_31d0],
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1],
        ),
    ];

    #[test]
    fn philox4x32_10_matches_the_random123_known_answers() {
        for (ctr, key, want) in KAT_10 {
            assert_eq!(
                philox4x32_10(ctr, key),
                want,
                "ctr={ctr:08x?} key={key:08x?}"
            );
        }
    }

    #[test]
    fn philox4x32_7_matches_the_random123_known_answers() {
        // The 7-round lines of the same file check the key schedule's order.
        let kat7: [([u32; 4], [u32; 2], [u32; 4]); 3] = [
            (
                [0, 0, 0, 0],
                [0, 0],
                [0x5f6f_b709, 0x0d89_3f64, 0x4f12_1f81, 0x4f73_0a48],
            ),
            (
                [0xffff_ffff; 4],
                [0xffff_ffff; 2],
                [0x5207_ddc2, 0x4516_5e59, 0x4d8e_e751, 0x8c52_f662],
            ),
            (
                [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
                [0xa409_3822, 0x299f_31d0],
                [0x4dfc_caba, 0x190a_87f0, 0xc473_62ba, 0xb6b5_242a],
            ),
        ];
        for (ctr, key, want) in kat7 {
            assert_eq!(philox4x32_rounds(7, ctr, key), want);
        }
    }

    #[test]
    fn neighbouring_counters_give_unrelated_blocks() {
        let key = [1, 2];
        let a = philox4x32_10([0, 0, 0, 0], key);
        let b = philox4x32_10([1, 0, 0, 0], key);
        let differing: u32 = a.iter().zip(&b).map(|(x, y)| (x ^ y).count_ones()).sum();
        // About half of the 128 bits flip (avalanche); far from 0 or 128.
        assert!((40..=88).contains(&differing), "{differing} bits differ");
    }
}
