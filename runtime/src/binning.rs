//! Per-device binning: which queues a device cannot use, from its fuse masks.
//!
//! A generation's spec declares binning rules (the `binning` block): the units one fuse mask
//! covers (bit `i` is `units[i]`), how many of them may be faulty, and the spares that stand in
//! for faulty ones, in order. This is the rule the habanalabs driver applies in
//! `gaudi2_set_tpc_binning_masks` and `gaudi2_set_edma_binning_masks`: with `n` faulty units the
//! first `n` substitutes take their place, and the substitutes' own queues become binned
//! (`hw_queues_props[q].binned = 1`), so submissions to them are refused. More faulty units than
//! the rule allows is an error at device creation (the driver fails `hw_init`).
//!
//! [`binned_queues`] is a pure function of the rule table and the masks; it does not touch a
//! device.

use std::fmt;

pub use asicgen_tables::{BinningRule, Substitute};

/// Why a set of fuse masks describes no working device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinningError {
    /// More faulty units than the rule allows (the driver's "too many faulty TPCs").
    TooManyFaulty {
        /// The rule.
        rule: &'static str,
        /// Faulty units in the mask.
        faulty: u32,
        /// The most the rule allows.
        max: u32,
    },
    /// The mask sets a bit past the rule's last unit.
    UnknownUnit {
        /// The rule.
        rule: &'static str,
        /// The bit.
        bit: u32,
        /// Units the rule has.
        units: u32,
    },
    /// More masks than the table has rules.
    UnknownRule {
        /// Index of the extra mask.
        index: usize,
        /// Rules in the table.
        rules: usize,
    },
}

impl fmt::Display for BinningError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BinningError::TooManyFaulty { rule, faulty, max } => write!(
                f,
                "{faulty} faulty `{rule}` units; a working device has at most {max}"
            ),
            BinningError::UnknownUnit { rule, bit, units } => write!(
                f,
                "bit {bit} of the `{rule}` mask names no unit (the rule has {units})"
            ),
            BinningError::UnknownRule { index, rules } => write!(
                f,
                "mask {index} has no binning rule (the generation has {rules})"
            ),
        }
    }
}

impl std::error::Error for BinningError {}

/// The queues a device with these fuse masks must refuse, in increasing id order.
///
/// `masks[i]` is the fuse mask of `rules[i]` (missing masks are zero: nothing faulty). With `n`
/// bits set in a mask, the queues of the rule's first `n` substitutes are binned.
pub fn binned_queues(rules: &[BinningRule], masks: &[u64]) -> Result<Vec<u32>, BinningError> {
    if masks.len() > rules.len() {
        return Err(BinningError::UnknownRule {
            index: rules.len(),
            rules: rules.len(),
        });
    }
    let mut binned = Vec::new();
    for (rule, &mask) in rules.iter().zip(masks) {
        let units = rule.units.len() as u32;
        if units < 64 && mask >> units != 0 {
            return Err(BinningError::UnknownUnit {
                rule: rule.name,
                bit: 63 - mask.leading_zeros(),
                units,
            });
        }
        let faulty = mask.count_ones();
        if faulty > rule.max_faulty || faulty as usize > rule.substitutes.len() {
            return Err(BinningError::TooManyFaulty {
                rule: rule.name,
                faulty,
                max: rule.max_faulty.min(rule.substitutes.len() as u32),
            });
        }
        for sub in &rule.substitutes[..faulty as usize] {
            binned.extend_from_slice(sub.queues);
        }
    }
    binned.sort_unstable();
    binned.dedup();
    Ok(binned)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Gaudi2's TPC rule in miniature: four TPCs, two spares (TPC 3, then TPC 2), two faulty max.
    const TPC: BinningRule = BinningRule {
        name: "tpc",
        units: &[10, 11, 12, 13],
        max_faulty: 2,
        substitutes: &[
            Substitute {
                engine: 13,
                queues: &[40, 41],
            },
            Substitute {
                engine: 12,
                queues: &[30, 31],
            },
        ],
    };
    const EDMA: BinningRule = BinningRule {
        name: "edma",
        units: &[0, 1],
        max_faulty: 1,
        substitutes: &[Substitute {
            engine: 1,
            queues: &[5],
        }],
    };

    #[test]
    fn no_faulty_unit_bins_nothing() {
        assert_eq!(binned_queues(&[TPC, EDMA], &[]), Ok(vec![]));
        assert_eq!(binned_queues(&[TPC, EDMA], &[0, 0]), Ok(vec![]));
    }

    #[test]
    fn substitutes_are_used_in_order() {
        // One faulty TPC (any bit): the first spare stands in, its queues are binned.
        assert_eq!(binned_queues(&[TPC], &[0b0001]), Ok(vec![40, 41]));
        assert_eq!(binned_queues(&[TPC], &[0b0100]), Ok(vec![40, 41]));
        // Two: both spares.
        assert_eq!(binned_queues(&[TPC], &[0b0011]), Ok(vec![30, 31, 40, 41]));
        // Rules add up.
        assert_eq!(
            binned_queues(&[TPC, EDMA], &[0b1000, 0b01]),
            Ok(vec![5, 40, 41])
        );
    }

    #[test]
    fn too_many_faulty_units_is_an_error() {
        assert_eq!(
            binned_queues(&[TPC], &[0b0111]),
            Err(BinningError::TooManyFaulty {
                rule: "tpc",
                faulty: 3,
                max: 2
            })
        );
        assert_eq!(
            binned_queues(&[TPC, EDMA], &[0, 0b11]),
            Err(BinningError::TooManyFaulty {
                rule: "edma",
                faulty: 2,
                max: 1
            })
        );
    }

    #[test]
    fn bits_past_the_units_are_errors() {
        assert_eq!(
            binned_queues(&[TPC], &[1 << 4]),
            Err(BinningError::UnknownUnit {
                rule: "tpc",
                bit: 4,
                units: 4
            })
        );
        assert_eq!(
            binned_queues(&[TPC], &[1 << 63 | 1]),
            Err(BinningError::UnknownUnit {
                rule: "tpc",
                bit: 63,
                units: 4
            })
        );
        assert_eq!(
            binned_queues(&[TPC], &[0, 1]),
            Err(BinningError::UnknownRule { index: 1, rules: 1 })
        );
        assert!(
            BinningError::UnknownUnit {
                rule: "tpc",
                bit: 4,
                units: 4
            }
            .to_string()
            .contains("bit 4")
        );
    }
}
