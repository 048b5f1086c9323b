//! Name ranges (`TPC_0..TPC_7`) and id placement (declaration order, `@ N`, `reserved`).

use std::collections::BTreeMap;

use crate::ast::{NameRange, Number};
use crate::diagnostic::Diagnostic;
use crate::source::Span;

/// Most names one range or one table may expand to. Real chips have a few hundred queues; the
/// cap keeps a typo like `Q_0..Q_99999999` from eating memory.
pub const MAX_EXPANSION: u64 = 65_536;

/// Expands `A` to `[A]` and `P_0..P_3` to `[P_0, P_1, P_2, P_3]`. When the two ends differ in
/// several numbers, every combination is named, the first number varying slowest:
/// `NIC0_0..NIC1_1` is `[NIC0_0, NIC0_1, NIC1_0, NIC1_1]`.
pub fn expand(range: &NameRange) -> Result<Vec<String>, Diagnostic> {
    let Some(last) = &range.last else {
        return Ok(vec![range.first.text.clone()]);
    };
    let not_a_range = || {
        Diagnostic::error(
            range.span,
            format!("`{}..{}` is not a name range", range.first.text, last.text),
        )
        .label("the two ends must be spelled alike except for their numbers")
        .help("write a range as `TPC_0..TPC_7` (or `NIC0_0..NIC11_1` for every combination)")
    };
    let a = runs(&range.first.text);
    let b = runs(&last.text);
    if a.len() != b.len() || a.is_empty() {
        return Err(not_a_range());
    }
    // Per number position: (first, last, zero-padding width); text runs must match exactly.
    let mut axes: Vec<(u64, u64, usize)> = Vec::new();
    let mut texts: Vec<&str> = Vec::new();
    for (ra, rb) in a.iter().zip(&b) {
        match (ra, rb) {
            (Run::Text(x), Run::Text(y)) if x == y => texts.push(x),
            (Run::Digits(x), Run::Digits(y)) => {
                let (Ok(n), Ok(m)) = (x.parse::<u64>(), y.parse::<u64>()) else {
                    return Err(not_a_range());
                };
                if n > m {
                    return Err(Diagnostic::error(range.span, "name range runs backwards")
                        .label(format!("{n} is greater than {m}"))
                        .help(format!("write `{}..{}`", last.text, range.first.text)));
                }
                // `Q_00..Q_15` keeps its zero padding; `Q_0..Q_15` does not pad.
                let width = if x.len() > 1 && x.starts_with('0') {
                    x.len()
                } else {
                    0
                };
                axes.push((n, m, width));
                texts.push("");
            }
            _ => return Err(not_a_range()),
        }
    }
    if axes.is_empty() {
        return Err(not_a_range());
    }
    let mut count: u64 = 1;
    for (n, m, _) in &axes {
        count = count.saturating_mul((m - n).saturating_add(1));
    }
    if count > MAX_EXPANSION {
        return Err(Diagnostic::error(range.span, "name range is too large")
            .label(format!("{count} names"))
            .help(format!("a range may name at most {MAX_EXPANSION} things")));
    }
    let mut names = vec![String::new()];
    let mut axis = axes.iter();
    for (run, text) in a.iter().zip(&texts) {
        names = match run {
            Run::Text(_) => names.into_iter().map(|n| n + text).collect(),
            Run::Digits(_) => {
                let Some(&(first, last, width)) = axis.next() else {
                    return Err(not_a_range());
                };
                names
                    .iter()
                    .flat_map(|n| (first..=last).map(move |i| format!("{n}{i:0width$}")))
                    .collect()
            }
        };
    }
    Ok(names)
}

/// A name cut into text and digit runs: `NIC11_1` is `NIC`, `11`, `_`, `1`.
#[derive(Debug, PartialEq)]
enum Run<'a> {
    Text(&'a str),
    Digits(&'a str),
}

fn runs(name: &str) -> Vec<Run<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    let bytes = name.as_bytes();
    for i in 1..=bytes.len() {
        let boundary =
            i == bytes.len() || bytes[i].is_ascii_digit() != bytes[i - 1].is_ascii_digit();
        if boundary {
            let part = &name[start..i];
            if part.len() > 18 && part.as_bytes()[0].is_ascii_digit() {
                // More digits than a u64 holds: keep it as text, so only an identical run matches.
                out.push(Run::Text(part));
            } else if part.as_bytes()[0].is_ascii_digit() {
                out.push(Run::Digits(part));
            } else {
                out.push(Run::Text(part));
            }
            start = i;
        }
    }
    out
}

/// Hands out ids in declaration order, honouring `@ N` and `reserved`, and reports overlaps
/// and unintended gaps.
pub struct IdAllocator {
    what: &'static str,
    next: u64,
    /// First id of each placed run -> (last id, where it was declared).
    runs: BTreeMap<u64, (u64, Span)>,
}

impl IdAllocator {
    /// An allocator for `what` ids ("queue", "engine").
    pub fn new(what: &'static str) -> IdAllocator {
        IdAllocator {
            what,
            next: 0,
            runs: BTreeMap::new(),
        }
    }

    /// Places `count` consecutive ids for a declaration at `span`, starting at `explicit` if
    /// given. Returns the first id, or `None` after reporting why not.
    pub fn place(
        &mut self,
        count: u64,
        explicit: Option<&Number>,
        span: Span,
        reserved: bool,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Option<u32> {
        let what = self.what;
        let start = match explicit {
            None => self.next,
            Some(Number { value: None, .. }) => return None,
            Some(Number {
                value: Some(start),
                span: at,
            }) => {
                let start = *start;
                if start < self.next {
                    let end = start.saturating_add(count.saturating_sub(1));
                    let mut d = Diagnostic::error(
                        *at,
                        format!("{what} ids {} overlap ids already given", show(start, end)),
                    )
                    .label(format!("the next free {what} id here is {}", self.next));
                    if let Some((_, (_, other))) = self
                        .runs
                        .range(..=end)
                        .rev()
                        .find(|(first, (last, _))| **first <= end && *last >= start)
                    {
                        d = d.note(*other, "these ids were given here");
                    }
                    diagnostics.push(d.help(if reserved {
                        format!("reserved ids start where the previous declaration ends: here at {}", self.next)
                    } else {
                        format!("remove `@ {start}` to number in declaration order, or renumber so ids do not overlap")
                    }));
                    return None;
                } else if start > self.next {
                    let gap = show(self.next, start - 1);
                    let help = if reserved {
                        format!("start the reserved range at {}", self.next)
                    } else {
                        format!(
                            "if the gap is intended, declare `reserved {gap}` before this line; \
                             otherwise remove `@ {start}`"
                        )
                    };
                    diagnostics.push(
                        Diagnostic::error(*at, format!("{what} ids {gap} would be left unused"))
                            .label(format!("the next {what} id here is {}", self.next))
                            .help(help),
                    );
                    return None;
                }
                start
            }
        };
        let end = start.saturating_add(count);
        if end > MAX_EXPANSION || end > u64::from(u32::MAX) {
            diagnostics.push(
                Diagnostic::error(span, format!("too many {what} ids"))
                    .label(format!("ids reach {end}"))
                    .help(format!(
                        "a table may use {what} ids up to {}",
                        MAX_EXPANSION - 1
                    )),
            );
            return None;
        }
        if count > 0 {
            self.runs.insert(start, (end - 1, span));
        }
        self.next = end;
        u32::try_from(start).ok()
    }
}

fn show(first: u64, last: u64) -> String {
    if first == last {
        first.to_string()
    } else {
        format!("{first}..{last}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Ident;

    fn range(a: &str, b: Option<&str>) -> NameRange {
        let ident = |t: &str| Ident {
            text: t.into(),
            span: Span::default(),
        };
        NameRange {
            first: ident(a),
            last: b.map(ident),
            span: Span::default(),
        }
    }

    /// `(first, last, expanded names or error message)`.
    type Case = (
        &'static str,
        Option<&'static str>,
        Result<&'static [&'static str], &'static str>,
    );

    #[test]
    fn expands_ranges() {
        let cases: &[Case] = &[
            ("DMA_0", None, Ok(&["DMA_0"])),
            ("TPC0", Some("TPC2"), Ok(&["TPC0", "TPC1", "TPC2"])),
            ("Q_08", Some("Q_10"), Ok(&["Q_08", "Q_09", "Q_10"])),
            ("A_1", Some("B_2"), Err("`A_1..B_2` is not a name range")),
            ("A", Some("A_2"), Err("`A..A_2` is not a name range")),
            ("A_3", Some("A_1"), Err("name range runs backwards")),
            ("A_0", Some("A_99999999"), Err("name range is too large")),
            (
                "NIC0_0",
                Some("NIC1_1"),
                Ok(&["NIC0_0", "NIC0_1", "NIC1_0", "NIC1_1"]),
            ),
            (
                "A0_B0",
                Some("A1_C1"),
                Err("`A0_B0..A1_C1` is not a name range"),
            ),
            ("A2_0", Some("A1_1"), Err("name range runs backwards")),
            ("X", Some("X"), Err("`X..X` is not a name range")),
        ];
        for (a, b, want) in cases {
            let got = expand(&range(a, *b));
            match (got, want) {
                (Ok(names), Ok(want)) => assert_eq!(names, *want, "{a}..{b:?}"),
                (Err(d), Err(want)) => assert_eq!(d.message, *want, "{a}..{b:?}"),
                (got, want) => panic!("{a}..{b:?}: got {got:?}, want {want:?}"),
            }
        }
    }

    #[test]
    fn places_ids_in_order_and_reports_overlaps_and_gaps() {
        let num = |v| Number {
            value: Some(v),
            span: Span::default(),
        };
        let mut ids = IdAllocator::new("queue");
        let mut d = Vec::new();
        assert_eq!(ids.place(4, None, Span::default(), false, &mut d), Some(0));
        assert_eq!(
            ids.place(1, Some(&num(4)), Span::default(), false, &mut d),
            Some(4)
        );
        assert!(d.is_empty());
        assert_eq!(
            ids.place(2, Some(&num(3)), Span::default(), false, &mut d),
            None
        );
        assert_eq!(d[0].message, "queue ids 3..4 overlap ids already given");
        assert_eq!(
            ids.place(1, Some(&num(7)), Span::default(), false, &mut d),
            None
        );
        assert_eq!(d[1].message, "queue ids 5..6 would be left unused");
        assert_eq!(
            ids.place(2, Some(&num(5)), Span::default(), true, &mut d),
            Some(5)
        );
        assert_eq!(
            ids.place(1, Some(&num(7)), Span::default(), false, &mut d),
            Some(7)
        );
        assert_eq!(d.len(), 2);
    }
}
