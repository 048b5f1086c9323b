//! Engines: busy/idle and the busy-engines bit mask (§7).
//!
//! The mask has one bit per engine id (`set_bit(<ASIC>_ENGINE_ID_x, mask_arr)`), in as many
//! 64-bit words as `A::ENGINE_ID_SIZE` needs: Gaudi2's 79 engines already need two, and
//! `HL_INFO_HW_IDLE` passes four (`HL_BUSY_ENGINES_MASK_EXT_SIZE`).

use std::fmt;

/// The busy-engines mask: bit `id` set when engine `id` has work.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct EngineMask {
    words: Vec<u64>,
}

impl EngineMask {
    /// An all-idle mask for engine ids below `engine_id_size`.
    pub fn new(engine_id_size: u32) -> EngineMask {
        EngineMask {
            words: vec![0; engine_id_size.div_ceil(64).max(1) as usize],
        }
    }

    /// Mark engine `id` busy. Ids beyond the mask's size are ignored.
    pub fn set(&mut self, id: u32) {
        if let Some(word) = self.words.get_mut((id / 64) as usize) {
            *word |= 1 << (id % 64);
        }
    }

    /// Whether engine `id` is busy.
    pub fn is_set(&self, id: u32) -> bool {
        self.words
            .get((id / 64) as usize)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    /// Whether every engine is idle (`is_device_idle`).
    pub fn is_idle(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    /// The words, lowest ids first (`busy_engines_mask_ext`).
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    /// The low 32 bits: the old `busy_engines_mask` field.
    pub fn low_u32(&self) -> u32 {
        self.words.first().map_or(0, |&w| w as u32)
    }

    /// The busy engine ids, ascending.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &w)| {
            (0..64u32)
                .filter(move |b| w & (1 << b) != 0)
                .map(move |b| i as u32 * 64 + b)
        })
    }
}

impl fmt::Debug for EngineMask {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mask_beyond_64_bits() {
        let mut m = EngineMask::new(79);
        assert_eq!(m.words().len(), 2);
        assert!(m.is_idle());
        m.set(3);
        m.set(78);
        m.set(500);
        assert!(m.is_set(78) && m.is_set(3) && !m.is_set(4));
        assert_eq!(m.iter().collect::<Vec<_>>(), vec![3, 78]);
        assert_eq!(m.low_u32(), 8);
        assert_eq!(format!("{m:?}"), "{3, 78}");
    }
}
