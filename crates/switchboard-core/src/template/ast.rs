//! The parsed form of a template: parse once at config load, walk per message.

/// Byte offset into the template source; turned into line/column only when an error is reported.
pub(crate) type Offset = u32;

/// One piece of a template body.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    /// Literal text, copied to the output as is.
    Text(Box<str>),
    /// `$x`, `${x.y}`, `$!x.m(1)`: rendered value, or its own source text when null.
    Ref(Box<Reference>),
    /// `\$x` (odd count: the reference's source text) or `\\$x` (even count: its value).
    EscapedRef {
        /// How many backslashes preceded the `$`.
        backslashes: u32,
        /// The reference itself.
        reference: Box<Reference>,
    },
    /// `#set($target = value)`.
    Set {
        /// Variable, `$map.key` or `$list[i]`.
        target: Box<Reference>,
        /// Assigned unless it evaluates to null (Velocity 1.7).
        value: Expr,
    },
    /// `#if … #elseif … #else … #end`.
    If {
        /// Conditions and bodies, in order.
        branches: Vec<(Expr, Vec<Node>)>,
        /// The `#else` body.
        otherwise: Option<Vec<Node>>,
    },
    /// `#foreach($var in iterable) … #end`.
    Foreach(Box<Foreach>),
    /// `#break`: leaves the innermost `#foreach`.
    Break,
    /// `#stop`: ends rendering, keeping what was written.
    Stop,
}

/// `#foreach($var in iterable) body #end`.
#[derive(Debug, Clone)]
pub(crate) struct Foreach {
    /// Loop variable name, without `$`.
    pub var: Box<str>,
    /// What is iterated.
    pub iterable: Expr,
    /// Loop body.
    pub body: Vec<Node>,
    /// Where the directive starts (for loop-limit errors).
    pub at: Offset,
}

/// A Velocity reference: a root variable and a chain of accessors.
#[derive(Debug, Clone)]
pub(crate) struct Reference {
    /// `$!`: renders nothing when null.
    pub quiet: bool,
    /// The variable name, without `$`.
    pub root: Box<str>,
    /// `.prop`, `.method(args)`, `[index]`, in order.
    pub accessors: Vec<Accessor>,
    /// The exact source text, rendered when the value is null.
    pub source: Box<str>,
    /// Where the `$` is.
    pub at: Offset,
}

/// One step of a reference chain.
#[derive(Debug, Clone)]
pub(crate) enum Accessor {
    /// `.name`.
    Property(Box<str>),
    /// `.name(args)`.
    Method {
        /// Method name.
        name: Box<str>,
        /// Arguments.
        args: Vec<Expr>,
        /// Where the method name is.
        at: Offset,
    },
    /// `[expr]`.
    Index {
        /// The index or key.
        index: Expr,
        /// Where the `[` is.
        at: Offset,
    },
}

/// An expression inside a directive or method call.
#[derive(Debug, Clone)]
pub(crate) enum Expr {
    /// `null` (an extension; Velocity 1.7 has no null literal).
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// Integer literal.
    Int(i64),
    /// Floating-point literal.
    Float(f64),
    /// Single-quoted (or reference-free double-quoted) string.
    Str(Box<str>),
    /// Double-quoted string holding references or directives.
    Interpolated(Vec<Node>),
    /// A reference.
    Ref(Box<Reference>),
    /// `[a, b]`.
    List(Vec<Expr>),
    /// `[a..b]`.
    Range(Box<Expr>, Box<Expr>, Offset),
    /// `{k: v}`.
    Map(Vec<(Expr, Expr)>),
    /// `!x` / `not x`.
    Not(Box<Expr>),
    /// `-x` (an extension beyond negative literals).
    Neg(Box<Expr>),
    /// `a op b`.
    Binary(BinOp, Box<Expr>, Box<Expr>, Offset),
}

/// Binary operators, Velocity 1.7 precedence from loosest: or, and, equality, relational,
/// additive, multiplicative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}
