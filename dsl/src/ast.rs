//! The syntax tree: what a file says, shaped by the grammar, with a span on everything a
//! diagnostic may point at. Nothing here is validated beyond the grammar's shapes.

use crate::source::Span;

/// A name as written, with where it was written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ident {
    /// The text.
    pub text: String,
    /// Where it stands.
    pub span: Span,
}

/// A number literal. `value` is `None` when the literal does not fit in a `u64`; the parser has
/// already reported that.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Number {
    /// The value, if representable.
    pub value: Option<u64>,
    /// Where it stands.
    pub span: Span,
}

/// `A` or `A..B`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameRange {
    /// The first (or only) name.
    pub first: Ident,
    /// The last name of a range.
    pub last: Option<Ident>,
    /// The whole range.
    pub span: Span,
}

/// `N` or `N..M`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdRange {
    /// The first (or only) id.
    pub first: Number,
    /// The last id of a range.
    pub last: Option<Number>,
    /// The whole range.
    pub span: Span,
}

/// The value of a `key = value` setting.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `4096`, `0x1da3`.
    Number(Number),
    /// `30s`, `100ms`; milliseconds, `None` on overflow.
    Duration {
        /// Milliseconds, if representable.
        millis: Option<u64>,
        /// Where it stands.
        span: Span,
    },
    /// `"text"`.
    Str {
        /// The text between the quotes.
        text: String,
        /// Where it stands, quotes included.
        span: Span,
    },
    /// `true`, `per_job`.
    Ident(Ident),
    /// `[a, b]`.
    List {
        /// The elements.
        items: Vec<Value>,
        /// Where it stands, brackets included.
        span: Span,
    },
}

impl Value {
    /// Where the value stands.
    pub fn span(&self) -> Span {
        match self {
            Value::Number(n) => n.span,
            Value::Ident(i) => i.span,
            Value::Duration { span, .. } | Value::Str { span, .. } | Value::List { span, .. } => {
                *span
            }
        }
    }

    /// What kind of value this is, for "expected X, found Y" messages.
    pub fn describe(&self) -> &'static str {
        match self {
            Value::Number(_) => "a number",
            Value::Duration { .. } => "a duration",
            Value::Str { .. } => "a string",
            Value::Ident(_) => "a name",
            Value::List { .. } => "a list",
        }
    }
}

/// `key = value` inside `asic`, `limits` or `features`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    /// Doc comment lines.
    pub doc: Vec<String>,
    /// The key.
    pub key: Ident,
    /// The value.
    pub value: Value,
}

/// Which settings block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockKind {
    /// `asic Name { ... }`
    Asic,
    /// `limits { ... }`
    Limits,
    /// `features { ... }`
    Features,
    /// `completion_queues { ... }`
    CompletionQueues,
}

/// A block of settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingsBlock {
    /// Which block.
    pub kind: BlockKind,
    /// Doc comment lines above it.
    pub doc: Vec<String>,
    /// The keyword, for "duplicate block" diagnostics.
    pub keyword: Span,
    /// The name after `asic`.
    pub name: Option<Ident>,
    /// The settings in source order.
    pub settings: Vec<Setting>,
}

/// `dma DMA_0..DMA_7 @ 0`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineDecl {
    /// Doc comment lines.
    pub doc: Vec<String>,
    /// The engine kind as written.
    pub kind: Ident,
    /// The names.
    pub names: NameRange,
    /// `only A, B`: inside a group, the group names this line is declared for.
    pub only: Option<Vec<Ident>>,
    /// `@ N`: the first id.
    pub explicit_id: Option<Number>,
}

/// `external DMA_0..DMA_1 streams 4 @ 0 { ... }`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueDecl {
    /// Doc comment lines.
    pub doc: Vec<String>,
    /// The queue type as written.
    pub queue_type: Ident,
    /// The family names.
    pub names: NameRange,
    /// `streams N`: each family name expands to `NAME_0 .. NAME_{N-1}`.
    pub streams: Option<Number>,
    /// `only A, B`: inside a group, the group names this line is declared for.
    pub only: Option<Vec<Ident>>,
    /// `@ N`: the first id.
    pub explicit_id: Option<Number>,
    /// The properties in source order.
    pub properties: Vec<Property>,
}

/// `key = value` or a bare flag inside a queue's braces.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Property {
    /// The key.
    pub key: Ident,
    /// The value, absent for a flag.
    pub value: Option<PropertyValue>,
}

/// A queue property's value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PropertyValue {
    /// `pq_len = 64`
    Number(Number),
    /// `engine = TPC_0..TPC_7`, `cb_alloc = user`
    Names(NameRange),
    /// `[TPC_0..TPC_5 in DCORE0..DCORE3, DCORE0_TPC_6]`
    List {
        /// The selectors in order.
        items: Vec<Selector>,
        /// Where it stands, brackets included.
        span: Span,
    },
}

impl PropertyValue {
    /// Where the value stands.
    pub fn span(&self) -> Span {
        match self {
            PropertyValue::Number(n) => n.span,
            PropertyValue::Names(r) => r.span,
            PropertyValue::List { span, .. } => *span,
        }
    }
}

/// `NAMES` or `NAMES in GROUPS`: names, or the names inside each group of a range.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Selector {
    /// The names (or the names inside each group).
    pub names: NameRange,
    /// The groups after `in`.
    pub groups: Option<NameRange>,
    /// The whole selector.
    pub span: Span,
}

/// `group DCORE0..DCORE3 c_name "..." { ... }`: the body declared once per group name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group<D> {
    /// Doc comment lines.
    pub doc: Vec<String>,
    /// The `group` keyword.
    pub keyword: Span,
    /// The group names; every name inside is prefixed with one of them and `_`.
    pub names: NameRange,
    /// The C enumerator template, and where it stands.
    pub c_name: Option<(String, Span)>,
    /// The body in source order.
    pub items: Vec<TableItem<D>>,
}

/// An item of an `engines` or `queues` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TableItem<D> {
    /// A declaration.
    Decl(D),
    /// A group repeating its body.
    Group(Group<D>),
    /// `reserved N..M`: ids deliberately left unused.
    Reserved {
        /// Doc comment lines.
        doc: Vec<String>,
        /// The ids.
        ids: IdRange,
    },
}

/// `engines { ... }` or `queues { ... }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableBlock<D> {
    /// Doc comment lines above it.
    pub doc: Vec<String>,
    /// The keyword.
    pub keyword: Span,
    /// The items in source order.
    pub items: Vec<TableItem<D>>,
}

/// One `.asic` file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SpecFile {
    /// `asic`, `limits` and `features` blocks in source order.
    pub settings_blocks: Vec<SettingsBlock>,
    /// `engines` blocks in source order (the checker wants exactly one).
    pub engines: Vec<TableBlock<EngineDecl>>,
    /// `queues` blocks in source order (the checker wants exactly one).
    pub queues: Vec<TableBlock<QueueDecl>>,
    /// `completion_queues` blocks (at most one).
    pub completion_queues: Vec<SettingsBlock>,
    /// `sync_manager` blocks (at most one).
    pub sync_managers: Vec<SyncManagerBlock>,
    /// `binning` blocks (at most one).
    pub binning: Vec<BinningBlock>,
}

/// `sync_manager { sobs = N, monitors = N, reserve name { ... } ... }`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncManagerBlock {
    /// Doc comment lines above it.
    pub doc: Vec<String>,
    /// The keyword.
    pub keyword: Span,
    /// `key = value` settings (totals, `uapi_name`).
    pub settings: Vec<Setting>,
    /// The reserved ranges in order.
    pub reserves: Vec<SyncReserve>,
}

/// `reserve name { sobs = 2 per sync_stream_queue, monitors = 64 }`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncReserve {
    /// Doc comment lines.
    pub doc: Vec<String>,
    /// The range's name.
    pub name: Ident,
    /// `sobs = ...`, `monitors = ...`.
    pub counts: Vec<SyncCount>,
}

/// `sobs = 1 per pending_cs + 2`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncCount {
    /// `sobs` or `monitors`.
    pub key: Ident,
    /// The terms summed.
    pub terms: Vec<SyncTerm>,
}

/// `N` or `N per unit`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncTerm {
    /// The factor.
    pub count: Number,
    /// What it is counted per.
    pub per: Option<Ident>,
}

/// `binning { rule { ... } ... }`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinningBlock {
    /// Doc comment lines above it.
    pub doc: Vec<String>,
    /// The keyword.
    pub keyword: Span,
    /// The rules in order.
    pub rules: Vec<BinningRuleDecl>,
}

/// `tpc { units = [...], max_faulty = 2, substitutes = [...] }`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BinningRuleDecl {
    /// Doc comment lines.
    pub doc: Vec<String>,
    /// The rule's name.
    pub name: Ident,
    /// The properties in source order.
    pub properties: Vec<Property>,
}

/// `initial`, `terminal` or neither.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StateKind {
    /// A plain state.
    Normal,
    /// `initial state`.
    Initial,
    /// `terminal state`.
    Terminal,
}

/// An item of a state's body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateItem {
    /// `event -> Target`
    Transition {
        /// The event.
        event: Ident,
        /// The target state.
        target: Ident,
    },
    /// `ignore a, b`
    Ignore(Vec<Ident>),
}

/// `[initial|terminal] state Name [signals outcome] [{ ... }]`
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateDecl {
    /// Doc comment lines.
    pub doc: Vec<String>,
    /// Which kind.
    pub kind: StateKind,
    /// Where the `initial`/`terminal` keyword stands, if any.
    pub kind_span: Option<Span>,
    /// The name.
    pub name: Ident,
    /// The outcome after `signals`.
    pub signals: Option<Ident>,
    /// The body, if braces were written.
    pub body: Option<Vec<StateItem>>,
}

/// One `.lifecycle` file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LifecycleFile {
    /// Doc comment lines of the header.
    pub doc: Vec<String>,
    /// The name after `lifecycle`.
    pub name: Ident,
    /// The path after `extends`, with its span.
    pub extends: Option<(String, Span)>,
    /// The states in source order.
    pub states: Vec<StateDecl>,
}
