//! "Did you mean": the closest known name to a misspelt one.

/// The candidate closest to `name` by edit distance, if it is close enough to be a plausible
/// typo (at most a third of the name's length, at least 1). Case differences are free, so
/// `dma_0` finds `DMA_0`. Ties go to the earlier candidate.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1) * 2;
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (distance_x2(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// The help line for an unknown name: "did you mean `X`?", or the list of what is known.
pub fn help<'a>(
    name: &str,
    what: &str,
    candidates: impl IntoIterator<Item = &'a str> + Clone,
) -> Option<String> {
    let all: Vec<&str> = candidates.clone().into_iter().collect();
    let listed = match all.len() {
        0 => None,
        1..=12 => Some(format!(
            "the known {what} are {}",
            all.iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        n => Some(format!(
            "none of the {n} known {what} is close to this name"
        )),
    };
    // why: a near miss is often a different thing, not a typo (`cpu_timeout` is not
    // `cs_timeout`), so a short list stays next to the guess.
    match (closest(name, candidates), listed) {
        (Some(best), Some(list)) if all.len() <= 12 => {
            Some(format!("did you mean `{best}`? ({list})"))
        }
        (Some(best), _) => Some(format!("did you mean `{best}`?")),
        (None, listed) => listed,
    }
}

/// "unknown {what} `{name}`" pointing at `span`, with `label` after the caret and a
/// did-you-mean (or the list of `plural` that exist) as help.
pub fn unknown<'a>(
    span: crate::source::Span,
    what: &str,
    name: &str,
    label: &str,
    plural: &str,
    candidates: impl IntoIterator<Item = &'a str> + Clone,
) -> crate::Diagnostic {
    crate::Diagnostic::error(span, format!("unknown {what} `{name}`"))
        .label(label)
        .maybe_help(help(name, plural, candidates))
}

/// Edit distance, doubled (so the limit can be a fraction of the length). A change of letter
/// case is free, since `dma_0` for `DMA_0` is the commonest slip in upper-case names.
fn distance_x2(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Names longer than this are not typos of each other in any useful sense, and bounding the
    // work keeps a pathological spec from making the checker quadratic in a huge name.
    if a.len() > 64 || b.len() > 64 {
        return usize::MAX;
    }
    // Optimal string alignment: Levenshtein plus adjacent transposition (`TCP` for `TPC`).
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).map(|j| j * 2).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = (i + 1) * 2;
        for (j, cb) in b.iter().enumerate() {
            let subst = if ca.eq_ignore_ascii_case(cb) { 0 } else { 2 };
            let mut best = (prev[j] + subst).min(prev[j + 1] + 2).min(cur[j] + 2);
            if i > 0 && j > 0 && a[i] == b[j - 1] && a[i - 1] == b[j] {
                best = best.min(before[j - 1] + 2);
            }
            cur[j + 1] = best;
        }
        std::mem::swap(&mut before, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_typos_and_case_slips_but_not_strangers() {
        let names = ["DMA_0", "DMA_1", "TPC_0", "MME_0"];
        assert_eq!(closest("DMA_9", names), Some("DMA_0"));
        assert_eq!(closest("dma_1", names), Some("DMA_1"));
        assert_eq!(closest("TCP_0", names), Some("TPC_0"));
        assert_eq!(closest("NIC_7", names), None);
        assert_eq!(
            closest("jobs_dne", ["jobs_done", "reset"]),
            Some("jobs_done")
        );
    }

    #[test]
    fn help_lists_short_vocabularies() {
        assert_eq!(
            help("zzz", "outcomes", ["ok", "aborted"]).as_deref(),
            Some("the known outcomes are `ok`, `aborted`")
        );
    }
}
