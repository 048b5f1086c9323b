//! Stable error codes: one table, keyed by the kind of diagnostic, matched on its headline.
//!
//! Codes never change meaning and are never reused; a kind that goes away leaves a gap. The
//! table is the one place a new diagnostic needs an entry (a test runs every test case and the
//! mutation corpus and fails on a headline no entry matches), so call sites stay as they are:
//! `Diagnostic::error(span, "...")`. `ERRORS.md` at the workspace root is rendered from this
//! table ([`markdown`]) and a test keeps it current.
//!
//! Ranges: `E00xx` files and syntax, `E01xx` the header, limits and settings, `E02xx` engines,
//! queues and ids, `E03xx` lifecycles, `E04xx` the sync manager, binning and the kernel block.
//! `E0000` is an internal error (a bug in asicgen).

/// One kind of diagnostic.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code {
    /// The stable code, `E` and four digits.
    pub code: &'static str,
    /// The headline(s) it covers; `*` stands for any text. The first matching entry wins.
    pub headlines: &'static [&'static str],
    /// One sentence on what is wrong and how to fix it.
    pub explanation: &'static str,
}

/// Every code, in the order headlines are matched (more specific first where they overlap).
pub const CODES: &[Code] = &[
    Code {
        code: "E0001",
        headlines: &["expected *, found *", "unexpected *"],
        explanation: "The text does not have the shape of a spec or lifecycle file at this point; the message lists what could come here.",
    },
    Code {
        code: "E0002",
        headlines: &["unclosed *"],
        explanation: "A `{`, `[` or `\"` opened here is never closed; the error points at the opening delimiter.",
    },
    Code {
        code: "E0003",
        headlines: &["expected a `lifecycle` header"],
        explanation: "A file named as a lifecycle does not start with `lifecycle Name`: probably a spec was named instead.",
    },
    Code {
        code: "E0004",
        headlines: &["cannot read `*`: *"],
        explanation: "A spec or lifecycle file could not be read; lifecycle paths are relative to the file that names them.",
    },
    Code {
        code: "E0005",
        headlines: &["file is not valid UTF-8"],
        explanation: "Spec and lifecycle files are UTF-8 text.",
    },
    Code {
        code: "E0006",
        headlines: &["number too large", "duration too large"],
        explanation: "A number or duration does not fit the 64-bit value a spec can hold.",
    },
    Code {
        code: "E0101",
        headlines: &["the spec has no `*` block"],
        explanation: "A spec needs one each of `asic`, `limits`, `engines` and `queues`.",
    },
    Code {
        code: "E0102",
        headlines: &["a second `*` block"],
        explanation: "A block appears twice; merge the two.",
    },
    Code {
        code: "E0103",
        headlines: &["unknown setting `*` in `*`"],
        explanation: "The block has no setting of this name; the help names the closest one.",
    },
    Code {
        code: "E0104",
        headlines: &["`*` is set twice"],
        explanation: "A setting or queue property is given twice; keep one.",
    },
    Code {
        code: "E0105",
        headlines: &["`*` is missing `*`"],
        explanation: "A required setting is missing from its block.",
    },
    Code {
        code: "E0106",
        headlines: &[
            "`*` takes *, found *",
            "`*` takes numbers, found *",
            "`*` takes a number",
            "`*` takes a name",
        ],
        explanation: "A setting or property has a value of the wrong kind.",
    },
    Code {
        code: "E0107",
        headlines: &["`*` needs a unit"],
        explanation: "A duration needs `s` or `ms`.",
    },
    Code {
        code: "E0108",
        headlines: &["unknown `*` value `*`"],
        explanation: "The value is not one of those the setting or property takes; the help lists them.",
    },
    Code {
        code: "E0109",
        headlines: &["`*` is empty"],
        explanation: "A list that needs at least one entry is empty.",
    },
    Code {
        code: "E0110",
        headlines: &["`uapi_prefix` must be an upper-case C identifier"],
        explanation: "The uapi prefix becomes the start of every C enumerator (`GAUDI_QUEUE_ID_...`).",
    },
    Code {
        code: "E0111",
        headlines: &["PCI ids are 16 bits"],
        explanation: "PCI vendor and device ids are 16-bit values.",
    },
    Code {
        code: "E0112",
        headlines: &[
            "`*` must be a power of two from * to *",
            "`max_jobs_per_cs` must be at least 1",
            "`max_jobs_per_cs` (*) is larger than `queue_length` (*)",
        ],
        explanation: "A limit is outside the range the driver's rings and queues allow.",
    },
    Code {
        code: "E0113",
        headlines: &["`*` cannot be the name of *"],
        explanation: "The name is one the generated Rust or C already uses (or cannot use); choose another.",
    },
    Code {
        code: "E0114",
        headlines: &["* and * have the same * `*`"],
        explanation: "Specs checked together need distinct ASIC names and uapi prefixes (ignoring case): their generated modules, include guards and enum tags would collide.",
    },
    Code {
        code: "E0201",
        headlines: &["unknown event `*`"],
        explanation: "Lifecycles handle the runtime's fixed events: `submit`, `schedule_failure`, `jobs_done`, `timeout_detected`, `reset`.",
    },
    Code {
        code: "E0202",
        headlines: &["unknown * `*`"],
        explanation: "A name refers to nothing declared (an engine, a queue property, a state, an outcome); the help names the closest one.",
    },
    Code {
        code: "E0203",
        headlines: &["state `*` is declared twice"],
        explanation: "Two states of a lifecycle have one name (use `extends` to override a state).",
    },
    Code {
        code: "E0204",
        headlines: &["* `*` is declared twice"],
        explanation: "Two engines or two queues have one name.",
    },
    Code {
        code: "E0205",
        headlines: &[
            "`*..*` is not a name range",
            "name range runs backwards",
            "name range is too large",
            "reserved id range runs backwards",
        ],
        explanation: "A name range must run upwards between two names that differ only in a trailing number.",
    },
    Code {
        code: "E0206",
        headlines: &["* ids * overlap ids already given"],
        explanation: "An `@ N` or `reserved` range gives out ids that are already taken.",
    },
    Code {
        code: "E0207",
        headlines: &["* ids * would be left unused"],
        explanation: "Ids are dense as in the kernel's enums; a gap must be declared `reserved N..M`.",
    },
    Code {
        code: "E0208",
        headlines: &[
            "too many * ids",
            "too many queues in one declaration",
            "`streams` must be from 1 to 64",
        ],
        explanation: "More ids or streams than a table or declaration may hold.",
    },
    Code {
        code: "E0209",
        headlines: &["completion queue * is bound twice"],
        explanation: "Each completion queue serves one external queue.",
    },
    Code {
        code: "E0210",
        headlines: &["`*` is a flag and takes no value"],
        explanation: "Flags (`driver_only`, `binned`, `sync_stream`, `stream_master`) are written alone.",
    },
    Code {
        code: "E0211",
        headlines: &["* engines for * queue families"],
        explanation: "An `engine = A..B` range must name one engine per queue family of the declaration.",
    },
    Code {
        code: "E0212",
        headlines: &["external queue without a completion queue"],
        explanation: "External queues complete through a completion queue: give `cq = N`.",
    },
    Code {
        code: "E0213",
        headlines: &["* queue has no completion queue"],
        explanation: "Only external queues have completion queues: drop `cq`.",
    },
    Code {
        code: "E0214",
        headlines: &["queue bound to no engine"],
        explanation: "Every queue but a `cpu` queue feeds an engine: give `engine = NAME`.",
    },
    Code {
        code: "E0215",
        headlines: &["queue without `cb_alloc`"],
        explanation: "Every queue says who allocates its command buffers: `cb_alloc = kernel`, `user` or `both`.",
    },
    Code {
        code: "E0216",
        headlines: &["`*` needs a value"],
        explanation: "A queue property that takes a value is written alone.",
    },
    Code {
        code: "E0301",
        headlines: &["lifecycle `*` has no terminal state"],
        explanation: "A lifecycle needs a `terminal state` that signals the fence.",
    },
    Code {
        code: "E0302",
        headlines: &[
            "lifecycle `*` has no initial state",
            "a second initial state",
        ],
        explanation: "A lifecycle has exactly one `initial state`.",
    },
    Code {
        code: "E0303",
        headlines: &["terminal state `*` has no fence outcome"],
        explanation: "A terminal state says what it signals: `signals ok`, `timed_out`, `aborted` or `not_submitted`.",
    },
    Code {
        code: "E0304",
        headlines: &["state `*` signals but is not terminal"],
        explanation: "Only terminal states signal the fence; mark the state `terminal` or drop `signals`.",
    },
    Code {
        code: "E0305",
        headlines: &["transition out of terminal state `*`"],
        explanation: "A terminal state's fence is already signalled; it has no transitions.",
    },
    Code {
        code: "E0306",
        headlines: &["state `*` does not handle *"],
        explanation: "Every non-terminal state handles or explicitly `ignore`s every event.",
    },
    Code {
        code: "E0307",
        headlines: &["state `*` handles `*` twice"],
        explanation: "A state handles an event once, by a transition or `ignore`.",
    },
    Code {
        code: "E0308",
        headlines: &["state `*` is unreachable"],
        explanation: "No transition leads to the state from the initial state.",
    },
    Code {
        code: "E0309",
        headlines: &["no terminal state is reachable from `*`"],
        explanation: "A CS in this state could never be released: its fence would never be signalled.",
    },
    Code {
        code: "E0310",
        headlines: &[
            "lifecycle extends itself",
            "lifecycle `extends` chain is too deep",
        ],
        explanation: "An `extends` chain must end in a lifecycle that extends nothing.",
    },
    Code {
        code: "E0007",
        headlines: &["count too large", "`*` is too large"],
        explanation: "A count in the sync manager does not fit the 32-bit value the driver keeps.",
    },
    Code {
        code: "E0115",
        headlines: &["`max_jobs_per_cs` (*) is more than 65535"],
        explanation: "The runtime counts a queue's jobs in 16 bits, as the driver's per-queue counters do; more jobs per CS than that cannot be tracked.",
    },
    Code {
        code: "E0217",
        headlines: &["empty group"],
        explanation: "A `group` declares nothing; put declarations inside its braces or remove it.",
    },
    Code {
        code: "E0218",
        headlines: &["groups repeat too many *s"],
        explanation: "Nested group ranges multiply; this many engines or queues is certainly a mistake.",
    },
    Code {
        code: "E0219",
        headlines: &["`only` outside a group"],
        explanation: "`only A, B` keeps a line to some names of the group around it; outside a group there is nothing to choose from.",
    },
    Code {
        code: "E0220",
        headlines: &["`@ N` inside a group of *"],
        explanation: "An explicit id would be the same for every instance of a repeated group; pin the group's first line outside it or drop `@ N`.",
    },
    Code {
        code: "E0221",
        headlines: &["malformed `c_name` template"],
        explanation: "A `c_name` template is text with `{prefix}`, `{group}` and `{name}` placeholders and nothing else in braces.",
    },
    Code {
        code: "E0222",
        headlines: &["`c_name` template without `{name}`"],
        explanation: "Every member of the group would get the same C name; the template must say where the member's name goes.",
    },
    Code {
        code: "E0223",
        headlines: &["`*` is not a C identifier"],
        explanation: "The C spelling a `c_name` template gives is not a valid C identifier.",
    },
    Code {
        code: "E0224",
        headlines: &["two *s are both spelled `*` in C"],
        explanation: "Two engines or queues end up with the same C enumerator; change a name or the `c_name` template.",
    },
    Code {
        code: "E0225",
        headlines: &["reserved id range is too large"],
        explanation: "A `reserved N..M` range would overflow the 32-bit id space.",
    },
    Code {
        code: "E0226",
        headlines: &["a cpu queue with streams"],
        explanation: "The driver has one CPU queue; it has no streams.",
    },
    Code {
        code: "E0227",
        headlines: &["a cpu queue that is not `driver_only`"],
        explanation: "Only the driver submits to the device CPU; user CSs naming the CPU queue are refused, so it must be `driver_only`.",
    },
    Code {
        code: "E0228",
        headlines: &["a `sync_stream` queue while the feature is off"],
        explanation: "A queue flagged `sync_stream` in a generation whose `features` turn sync streams off.",
    },
    Code {
        code: "E0229",
        headlines: &["`*` takes a name or a name range"],
        explanation: "This property takes an engine or completion-queue name, or a range of names.",
    },
    Code {
        code: "E0230",
        headlines: &["completion queue index too large"],
        explanation: "A completion-queue index does not fit the driver's 32-bit CQ numbering.",
    },
    Code {
        code: "E0231",
        headlines: &["completion queue * is reserved twice"],
        explanation: "Two `completion_queues` entries reserve the same index.",
    },
    Code {
        code: "E0232",
        headlines: &["completion queue * is reserved as `*`"],
        explanation: "An external queue names, by number, a completion queue the driver reserves for itself.",
    },
    Code {
        code: "E0233",
        headlines: &["an external queue owns its completion queues"],
        explanation: "External queues take their own completion queues (`cq = N`); only hw queues complete through a reserved one by name.",
    },
    Code {
        code: "E0234",
        headlines: &["an external queue with `completion = per_cs`"],
        explanation: "With per-CS completion the hardware reports one completion per CS through a reserved CQ; external queues report per job, so the two cannot be combined.",
    },
    Code {
        code: "E0235",
        headlines: &["completion queue * is not reserved"],
        explanation: "A hw queue completes through a reserved completion queue; declare it in `completion_queues`.",
    },
    Code {
        code: "E0236",
        headlines: &["* queue does not complete through a completion queue"],
        explanation: "Only external and hw queues complete through a completion queue; remove `cq`.",
    },
    Code {
        code: "E0401",
        headlines: &["`uapi_name` must be upper-case letters, digits and `_`"],
        explanation: "The sync manager's `uapi_name` becomes part of C macro names.",
    },
    Code {
        code: "E0402",
        headlines: &["range `*` is reserved twice"],
        explanation: "Two `reserve` ranges of the sync manager have the same name.",
    },
    Code {
        code: "E0403",
        headlines: &["range `*` reserves nothing"],
        explanation: "A `reserve` range reserves no SOB and no monitor; remove it.",
    },
    Code {
        code: "E0404",
        headlines: &["reserved * run past the sync manager"],
        explanation: "The reserved ranges need more SOBs or monitors than the sync manager has.",
    },
    Code {
        code: "E0411",
        headlines: &["`max_faulty` must be from 1 to 64"],
        explanation: "A binning rule's fuse mask is at most 64 bits, and a rule that allows no faulty unit bins nothing.",
    },
    Code {
        code: "E0412",
        headlines: &["binning rule `*` has no `*`"],
        explanation: "A binning rule needs `units`, `max_faulty` and `substitutes`.",
    },
    Code {
        code: "E0413",
        headlines: &["* units in one rule"],
        explanation: "One fuse mask covers at most 64 units.",
    },
    Code {
        code: "E0414",
        headlines: &["`max_faulty` is *, but the rule has * units"],
        explanation: "A rule cannot allow more faulty units than it has.",
    },
    Code {
        code: "E0415",
        headlines: &["* substitutes for up to * faulty units"],
        explanation: "Every faulty unit needs a spare: a rule needs at least `max_faulty` substitutes.",
    },
    Code {
        code: "E0416",
        headlines: &["substitute `*` serves no queue"],
        explanation: "A substitute's queues become binned when it stands in; one with no queue would bin nothing.",
    },
    Code {
        code: "E0417",
        headlines: &["engine `*` is named twice"],
        explanation: "An engine appears twice in one binning rule's list.",
    },
    Code {
        code: "E0418",
        headlines: &["too many names"],
        explanation: "A binning list names more engines than a fuse mask can cover.",
    },
    Code {
        code: "E0419",
        headlines: &["`*` takes *"],
        explanation: "A binning property has a value of the wrong shape; the message says what it takes.",
    },
    Code {
        code: "E0421",
        headlines: &["engine `*` is assigned to two DMA channels"],
        explanation: "Each DMA engine stands behind at most one of the driver's DMA channels.",
    },
    Code {
        code: "E0422",
        headlines: &["`omit` would leave a hole in the queue → engine table"],
        explanation: "The kernel's queue → engine table may only leave out queues at its end.",
    },
    Code {
        code: "E0423",
        headlines: &["* engines for * DMA channels"],
        explanation: "A `dma_channel` line pairs channels and engines one to one; the two ranges must have the same length.",
    },
    Code {
        code: "E0424",
        headlines: &["`*` is * engine, not a DMA engine"],
        explanation: "A DMA channel is served by a `dma` engine.",
    },
];

/// The code for internal errors and for a headline no entry matches (a missing table entry).
pub const INTERNAL: &str = "E0000";

/// The code of a diagnostic with this headline.
pub fn code_of(message: &str) -> &'static str {
    CODES
        .iter()
        .find(|c| c.headlines.iter().any(|h| matches(h, message)))
        .map_or(INTERNAL, |c| c.code)
}

/// Whether `text` matches `pattern`, where `*` matches any text (including none).
fn matches(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

/// `ERRORS.md`: every code with its headlines and explanation.
pub fn markdown() -> String {
    let mut out = String::from(
        "<!-- @generated from dsl/src/codes.rs by `INSTA_UPDATE=always cargo test -p asicgen-dsl \
         --test codes`; do not edit by hand. -->\n\n# asicgen error codes\n\n\
         `asicgen check` prints each problem with a code (`` error[E0202]: unknown engine `DMA_9` ``), \
         and `asicgen check --message-format json` gives it in the `code` field. Codes are stable: \
         they never change meaning and are never reused. In a headline, `*` stands for a name or \
         a value.\n\n| code | headline | what it means |\n|---|---|---|\n",
    );
    for c in CODES {
        let headlines: Vec<String> = c
            .headlines
            .iter()
            .map(|h| format!("`` {} ``", h.replace('|', "\\|")))
            .collect();
        out.push_str(&format!(
            "| {} | {} | {} |\n",
            c.code,
            headlines.join("<br>"),
            c.explanation.replace('|', "\\|")
        ));
    }
    out.push_str(&format!(
        "| {INTERNAL} | anything else | An internal error: a bug in asicgen. Please report it with the spec that caused it. |\n"
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_whole_headlines() {
        assert!(matches("unknown * `*`", "unknown engine `DMA_9`"));
        assert!(!matches("unknown * `*`", "unknown engine"));
        assert!(matches("a*", "a"));
        assert!(!matches("`*` is empty", "`x` is empty!"));
        assert!(!matches("ab*ba", "aba"));
    }

    #[test]
    fn specific_headlines_win_over_general_ones() {
        assert_eq!(code_of("unknown event `foo`"), "E0201");
        assert_eq!(code_of("unknown engine `DMA_9`"), "E0202");
        assert_eq!(code_of("unknown setting `x` in `limits`"), "E0103");
        assert_eq!(code_of("unknown `completion` value `x`"), "E0108");
        assert_eq!(code_of("state `A` is declared twice"), "E0203");
        assert_eq!(code_of("queue `A` is declared twice"), "E0204");
        assert_eq!(code_of("something new"), INTERNAL);
    }

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = std::collections::BTreeSet::new();
        for c in CODES {
            assert!(seen.insert(c.code), "{} twice", c.code);
            assert!(c.code.len() == 5 && c.code.starts_with('E'), "{}", c.code);
            assert_ne!(c.code, INTERNAL);
        }
    }
}
