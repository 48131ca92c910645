//! The checksum of djmig's cache files (the parse cache, the commit and
//! result stores), given whole or piece by piece.

/// A fast checksum (not cryptographic): four multiply-rotate lanes over
/// 8-byte words; any single changed word, and any change of length, changes
/// it.
pub(crate) fn checksum(data: &[u8]) -> u64 {
    let mut c = Checksum::new();
    c.update(data);
    c.finish()
}

const K: u64 = 0x9E37_79B9_7F4A_7C15;

/// [`checksum`] of bytes given piece by piece, so a file can be checksummed
/// as it is written, without holding it whole.
pub(crate) struct Checksum {
    lanes: [u64; 4],
    pending: [u8; 32],
    filled: usize,
    len: u64,
}

impl Checksum {
    pub(crate) fn new() -> Self {
        Checksum {
            lanes: [K, K ^ 0x1234_5678, K.rotate_left(17), K.rotate_left(41)],
            pending: [0; 32],
            filled: 0,
            len: 0,
        }
    }

    fn word(b: &[u8]) -> u64 {
        let mut w = [0u8; 8];
        w[..b.len()].copy_from_slice(b);
        u64::from_le_bytes(w)
    }

    fn block(lanes: &mut [u64; 4], c: &[u8]) {
        for (i, lane) in lanes.iter_mut().enumerate() {
            *lane = (*lane ^ Self::word(&c[i * 8..i * 8 + 8]))
                .wrapping_mul(K)
                .rotate_left(29);
        }
    }

    pub(crate) fn update(&mut self, mut data: &[u8]) {
        self.len += data.len() as u64;
        if self.filled > 0 {
            let n = (32 - self.filled).min(data.len());
            self.pending[self.filled..self.filled + n].copy_from_slice(&data[..n]);
            self.filled += n;
            data = &data[n..];
            if self.filled < 32 {
                return;
            }
            let p = self.pending;
            Self::block(&mut self.lanes, &p);
            self.filled = 0;
        }
        let mut chunks = data.chunks_exact(32);
        for c in &mut chunks {
            Self::block(&mut self.lanes, c);
        }
        let rest = chunks.remainder();
        self.pending[..rest.len()].copy_from_slice(rest);
        self.filled = rest.len();
    }

    pub(crate) fn finish(mut self) -> u64 {
        for (i, w) in self.pending[..self.filled].chunks(8).enumerate() {
            self.lanes[i] = (self.lanes[i] ^ Self::word(w))
                .wrapping_mul(K)
                .rotate_left(29);
        }
        let mut h = self.len;
        for l in self.lanes {
            h = (h ^ l).wrapping_mul(K).rotate_left(31);
        }
        h ^= h >> 33;
        h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        h ^ (h >> 33)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checksum as files written before it could be given in pieces
    /// have it.
    fn whole(data: &[u8]) -> u64 {
        let mut lanes: [u64; 4] = [K, K ^ 0x1234_5678, K.rotate_left(17), K.rotate_left(41)];
        let word = |b: &[u8]| {
            let mut w = [0u8; 8];
            w[..b.len()].copy_from_slice(b);
            u64::from_le_bytes(w)
        };
        let mut chunks = data.chunks_exact(32);
        for c in &mut chunks {
            for (i, lane) in lanes.iter_mut().enumerate() {
                *lane = (*lane ^ word(&c[i * 8..i * 8 + 8]))
                    .wrapping_mul(K)
                    .rotate_left(29);
            }
        }
        for (i, w) in chunks.remainder().chunks(8).enumerate() {
            lanes[i] = (lanes[i] ^ word(w)).wrapping_mul(K).rotate_left(29);
        }
        let mut h = data.len() as u64;
        for l in lanes {
            h = (h ^ l).wrapping_mul(K).rotate_left(31);
        }
        h ^= h >> 33;
        h = h.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
        h ^ (h >> 33)
    }

    #[test]
    fn a_checksum_in_pieces_is_the_checksum_of_the_whole() {
        let data: Vec<u8> = (0..1000u32).map(|i| (i * 7 + i / 3) as u8).collect();
        for len in [0, 1, 7, 8, 31, 32, 33, 64, 100, 1000] {
            let d = &data[..len];
            assert_eq!(checksum(d), whole(d), "{len}");
            for step in [1, 3, 8, 13, 32, 45] {
                let mut c = Checksum::new();
                for piece in d.chunks(step) {
                    c.update(piece);
                }
                assert_eq!(c.finish(), whole(d), "{len} by {step}");
            }
        }
    }
}
