//! Mapping templates: API Gateway's dialect of Apache Velocity (VTL), docs/behaviour.md §4.4–§4.6.
//!
//! A [`Template`] is parsed once at config load and rendered per message into one `String`.
//! It sees `$input` (the message body, JSONPath lookups, parameters), `$context` (through
//! [`ContextVariables`]), `$stageVariables` and `$util`, plus the usual Velocity 1.7 language:
//! `#set`, `#if/#elseif/#else/#end`, `#foreach` (with `$foreach.*`, `$velocityCount`),
//! `#break`, `#stop`, comments, `#[[unparsed]]#`, and the Java methods templates commonly call
//! on strings, lists and maps.
//!
//! # Behaviour, and where it differs from API Gateway's
//!
//! Velocity 1.7 (what API Gateway runs) is followed, and `tests/vtl/compare.mjs` checks it: it
//! renders the corpus (`tests/vtl-corpus`) with Apache Velocity 1.7 on a JDK, `$input` on Jayway
//! JsonPath over json-smart, and requires the same bytes. Unless stated otherwise:
//!
//! - **Null references** render as their own source text (`$foo.bar`), or nothing when quiet
//!   (`$!foo`). One user report (toqoz/api-gateway-mapping-template#5) says API Gateway renders
//!   a missing property as empty instead; unconfirmed, so Velocity's rule stands.
//! - **Whitespace gobbling** as Velocity 1.7's lexer does it: the line break (after optional
//!   blanks) following the `)` of `#set`/`#if`/`#elseif`/`#foreach` and following `#else`/
//!   `#end` is dropped; a `## comment` takes its line break with it; blanks that begin a lexer
//!   token right before `#set(` are dropped (e.g. an indented `#set` line after a directive
//!   line).
//! - **Conditions** (`#if`, `#elseif`, operands of `!`, `&&`, `||`): a reference is false only
//!   when null or `false` (`""` and `0` are true); `true`, `false`, comparisons and logic are
//!   what they say; any other expression — a string, number, list or map literal, arithmetic —
//!   is false, whatever its value (Velocity 1.7 evaluates only those node kinds).
//! - **`#set` to null** leaves the variable unchanged (Velocity 1.7 default).
//! - **`$input.path(path)`** gives the payload's own maps and lists, not copies: a template
//!   that changes them (`#set($body.id = 1)`, `$body.list.add(2)`) changes what later
//!   `$input.path`/`$input.json` calls see, as in API Gateway. A wildcard or deep-scan path
//!   gives a new list of the selected values; a missing path is null.
//! - **`$input.json(path)`**: compact JSON of the selection, as json-smart writes it (see
//!   printing below); a wildcard/deep-scan path gives a JSON array. A definite path that
//!   matches nothing renders as the empty string.
//! - **Body not JSON**: `$input.json` and `$input.path` fail the render (the gateway answers
//!   `Internal server error`); `$input.body` always works. json-smart's lenient parser accepts
//!   more (single quotes, text after the document, an empty body); Switchboard does not.
//! - **`$input.params('x')`** searches path, then querystring, then header (exact name, then
//!   case-insensitive for headers) and gives `""` when absent.
//! - **Printing values**: maps print as Java does (`{a=1, b=x}`), lists built in the template
//!   as `[1, 2]`, lists that came from JSON (`$input.path`, `$util.parseJson`, `$context`) as
//!   json-smart's `JSONArray` does (`[{"c":5},"a\/b"]`, `/` escaped). In JSON text, doubles
//!   print as Java's `Double.toString` (`2.0`, `1.0E-5`) and strings escape control characters,
//!   U+007F–U+009F and U+2000–U+20FF as `\uXXXX`. Map keys are always strings; maps keep
//!   insertion order (so do Velocity's map literals and JSON objects); `$stageVariables` and
//!   `$input.params()` are in name order (API Gateway's order is not specified).
//! - **Strings**: `''` and `""` inside literals stand for one quote; in double quotes `\uXXXX`
//!   is that UTF-16 unit and any other backslash stays as written (a backslash does not escape
//!   `"`). An escape next to a reference in an interpolated string is read after the reference
//!   is parsed (Velocity unescapes first, so there `"$a\u0042"` reads `$aB`). Indexes
//!   (`length`, `substring`, `charAt`, `indexOf`, `lastIndexOf`) count UTF-16 units, as Java
//!   does; half of a surrogate pair renders as `?`.
//! - **Equality**: `==` compares numbers by value, two lists or two maps with Java's `equals`
//!   (`[1] == [1.0]` is false), other mixed kinds by their text (`1 == '1'` is true); the
//!   collection methods `contains`, `indexOf`, `lastIndexOf`, `remove` and `containsValue` use
//!   Java's `equals` (`[1].contains('1')` is false). Strings have `length()`, not `size()`.
//! - **Numbers**: literals `12`, `2.5`, `2.`, `.5`, `1e3`; integers beyond 64 bits (in a body
//!   or from overflow) become doubles where Java keeps a `BigInteger`.
//! - **Regular expressions** (`matches`, `replaceAll`, `replaceFirst`, `split`) use the
//!   `regex` crate: no look-around or back-references (such a pattern is a render error).
//! - **Errors Java would throw** (list index out of bounds, `substring` out of range, invalid
//!   regex, malformed `urlDecode`/`base64Decode` input, `parseJson` of invalid JSON) fail the
//!   render. A method that does not exist, or gets arguments of the wrong kinds, gives null.
//!   `$util` functions take any value as text (AWS's parameter types are not documented);
//!   `base64Decode` ignores blanks around its input.
//! - **Arithmetic**: integer overflow falls back to a double (Java would use `BigInteger`);
//!   division or modulo by zero gives null; `+` with a string operand concatenates, a null
//!   reference joining as its source text (`'id-' + $nope` is `id-$nope`);
//!   `<`/`>`-style comparisons of non-numbers are false.
//! - **JSONPath**: `$`, `.name`, `['name']`, `[n]`, `[-n]` (from the end, as newer Jayway
//!   versions count), `[*]`, `.*`, `..name`; filters, slices and unions are a render error.
//! - **Leniency**: a few malformed templates that Velocity 1.7 rejects render instead (an
//!   unclosed `${`, a `[` right after `#set(…)` that follows a reference).
//! - **Extensions** Velocity 1.7 lacks: a `null` literal, unary minus on any expression.
//! - **Not supported** (parse error): `#macro`, `#parse`, `#include`, `#evaluate`, `#define`.
//!
//! # Limits (untrusted templates and bodies)
//!
//! Templates larger than 300 KB are rejected; nesting deeper than [`MAX_NESTING`] is a parse
//! error; a render fails (never panics) past its [`RenderBudget`] (output bytes, evaluation
//! steps — text counting one step per [`BYTES_PER_STEP`] bytes — and wall time, read inside
//! the evaluator), [`MAX_LOOP_ITERATIONS`] items in one `#foreach`, [`MAX_RANGE_LEN`] items in
//! a range, and string/list size caps. [`RenderError::Exhausted`] tells a render stopped by
//! its step or time budget (which a larger budget might finish) from one that failed.

mod ast;
mod budget;
mod builtins;
mod eval;
mod expr;
mod jsonpath;
mod lexer;
mod methods;
mod parser;
mod util;
mod value;

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::Arc;

pub use budget::{
    RenderBudget, BYTES_PER_STEP, DEFAULT_MAX_OUTPUT_BYTES, DEFAULT_MAX_STEPS, DEFAULT_MAX_TIME,
};

/// Largest template accepted by [`Template::parse`] (API Gateway's 300 KB, docs/behaviour.md §4.6).
pub const MAX_TEMPLATE_BYTES: usize = 300 * 1024;
/// Deepest nesting of blocks, brackets and operators the parser accepts.
pub const MAX_NESTING: usize = 64;
/// Most items one `#foreach` may iterate.
pub const MAX_LOOP_ITERATIONS: usize = 10_000;
/// Most items a `[a..b]` range may hold.
pub const MAX_RANGE_LEN: usize = 10_000;
/// Largest single string value.
pub(crate) const MAX_STRING_BYTES: usize = 1024 * 1024;
/// Most bytes of strings one render may build in total.
pub(crate) const MAX_ALLOC_BYTES: usize = 64 * 1024 * 1024;
/// Most items in one list or map.
pub(crate) const MAX_LIST_LEN: usize = 100_000;

/// A parsed mapping template. Cheap to clone; `Send + Sync`, so it can be shared.
#[derive(Debug, Clone)]
pub struct Template {
    program: Arc<Program>,
}

#[derive(Debug)]
struct Program {
    source: Box<str>,
    nodes: Vec<ast::Node>,
}

/// A parse or render error with the 1-based position of the offending construct.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct TemplateError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// What is wrong.
    pub message: String,
    /// The render failed on the client's message rather than on the template: `$input.json`
    /// or `$input.path` read a non-empty body that is not JSON (or too large a document).
    /// The gateway counts and logs such a failure as the client's, not as a configuration
    /// problem.
    pub client_input: bool,
}

/// Why a render produced no text.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RenderError {
    /// The template cannot render this input: a Java exception, a size cap, a body that is
    /// not JSON. The same render with any budget fails the same way.
    #[error(transparent)]
    Failed(TemplateError),
    /// The render used up its step or time budget; with a larger one it might finish.
    #[error(transparent)]
    Exhausted(TemplateError),
}

impl RenderError {
    /// The error with its position, whatever the cause.
    pub fn into_template_error(self) -> TemplateError {
        match self {
            RenderError::Failed(e) | RenderError::Exhausted(e) => e,
        }
    }
}

/// Supplies `$context.*` values (docs/behaviour.md §4.6).
pub trait ContextVariables {
    /// The value at a dotted path below `$context`, e.g. `connectionId`,
    /// `authorizer.principalId` or `identity.sourceIp`. Strings render raw, numbers and
    /// booleans as JSON text, objects as navigable maps.
    fn get(&self, path: &str) -> Option<serde_json::Value>;
}

/// A JSON object serves as a context: `"a.b"` looks up `{"a": {"b": …}}`.
impl ContextVariables for serde_json::Value {
    fn get(&self, path: &str) -> Option<serde_json::Value> {
        path.split('.').try_fold(self, |v, key| v.get(key)).cloned()
    }
}

/// Request parameters for `$input.params()` (mostly headers and query string on `$connect`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputParams {
    /// Path parameters.
    pub path: BTreeMap<String, String>,
    /// Query-string parameters.
    pub querystring: BTreeMap<String, String>,
    /// Headers.
    pub header: BTreeMap<String, String>,
}

/// What a template can see when rendered.
pub struct TemplateContext<'a> {
    /// The raw message text (`$input.body`).
    pub body: &'a str,
    /// `$context.*`.
    pub context: &'a dyn ContextVariables,
    /// `$stageVariables.*`.
    pub stage_variables: &'a BTreeMap<String, String>,
    /// `$input.params()`; `None` behaves as no parameters at all.
    pub params: Option<&'a InputParams>,
}

impl<'a> TemplateContext<'a> {
    /// A context without request parameters.
    pub fn new(
        body: &'a str,
        context: &'a dyn ContextVariables,
        stage_variables: &'a BTreeMap<String, String>,
    ) -> Self {
        Self {
            body,
            context,
            stage_variables,
            params: None,
        }
    }

    /// Adds request parameters for `$input.params()`.
    pub fn with_params(mut self, params: &'a InputParams) -> Self {
        self.params = Some(params);
        self
    }
}

impl Template {
    /// Parses a template; errors carry the line and column of the offending token.
    pub fn parse(source: &str) -> Result<Self, TemplateError> {
        if source.len() > MAX_TEMPLATE_BYTES {
            return Err(TemplateError {
                line: 1,
                column: 1,
                message: format!(
                    "the template is {} bytes; the maximum mapping template size is 300 KB \
                     ({MAX_TEMPLATE_BYTES} bytes)",
                    source.len()
                ),
                client_input: false,
            });
        }
        let nodes = parser::Parser::new(source).parse_template()?;
        Ok(Self {
            program: Arc::new(Program {
                source: source.into(),
                nodes,
            }),
        })
    }

    /// Renders the template for one message within the default step and output limits, with
    /// no clock (so the outcome depends on the input alone). Never panics; fails with the
    /// position of the construct that could not be evaluated or that hit a limit.
    pub fn render(&self, ctx: &TemplateContext<'_>) -> Result<String, TemplateError> {
        let budget = RenderBudget {
            max_time: None,
            ..RenderBudget::default()
        };
        self.render_within(ctx, &budget)
            .map_err(RenderError::into_template_error)
    }

    /// Renders the template for one message within `budget`. Never panics.
    pub fn render_within(
        &self,
        ctx: &TemplateContext<'_>,
        budget: &RenderBudget,
    ) -> Result<String, RenderError> {
        let mut renderer = eval::Renderer::new(ctx, &self.program.source, budget);
        renderer
            .render_template(&self.program.nodes)
            .map_err(|e| match renderer.exhausted() {
                true => RenderError::Exhausted(e),
                false => RenderError::Failed(e),
            })
    }

    /// The template text as written.
    pub fn source(&self) -> &str {
        &self.program.source
    }
}
