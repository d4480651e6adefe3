//! Template-level parsing: text, references, comments and directives (expressions are in
//! `expr.rs`). Follows the Velocity 1.7 grammar, including its whitespace gobbling.

use super::ast::{Accessor, Foreach, Node, Offset, Reference};
use super::lexer::{line_column, Cursor};
use super::{TemplateError, MAX_NESTING};

/// How a block of nodes ended.
pub(crate) enum Terminator {
    /// End of the template (or of a string literal's body).
    Eof,
    /// `#end`.
    End,
    /// `#else`.
    Else,
    /// `#elseif(cond)`.
    ElseIf(super::ast::Expr),
}

/// Directive names that `\#name` escapes (Velocity's built-ins).
const KNOWN_DIRECTIVES: &[&str] = &[
    "if", "elseif", "else", "end", "set", "foreach", "break", "stop", "macro", "include", "parse",
    "evaluate", "define",
];

/// Recursive-descent parser over one source.
pub(crate) struct Parser<'s> {
    /// The reader.
    pub cur: Cursor<'s>,
    /// Current nesting depth (blocks, brackets, operators), capped by [`MAX_NESTING`].
    pub depth: usize,
    /// True while parsing the body of a double-quoted string: `""` in text means `"`.
    pub in_string: bool,
}

/// Text waiting to become a [`Node::Text`], with the point after which it is whitespace that a
/// following `#set` may gobble (Velocity's `SET_DIRECTIVE` token eats the spaces that start it).
#[derive(Default)]
struct PendingText {
    text: String,
    token_start: usize,
}

impl PendingText {
    fn push(&mut self, s: &str) {
        self.text.push_str(s);
    }

    /// Marks a token boundary: text after this point starts a new lexer token.
    fn boundary(&mut self) {
        self.token_start = self.text.len();
    }

    /// Drops the blanks that begin the current token, as `#set` does.
    fn gobble_before_set(&mut self) {
        let tail = self.text.get(self.token_start..).unwrap_or("");
        if tail.bytes().all(|b| b == b' ' || b == b'\t') {
            self.text.truncate(self.token_start);
        }
    }

    fn flush(&mut self, nodes: &mut Vec<Node>, in_string: bool) {
        if !self.text.is_empty() {
            let text = std::mem::take(&mut self.text);
            let text = if in_string {
                super::expr::unescape_string(&text).unwrap_or(text)
            } else {
                text
            };
            nodes.push(Node::Text(text.into_boxed_str()));
        }
        self.token_start = 0;
    }
}

impl<'s> Parser<'s> {
    /// A parser over the whole of `src`.
    pub fn new(src: &'s str) -> Self {
        Self {
            cur: Cursor::new(src),
            depth: 0,
            in_string: false,
        }
    }

    /// An error at byte `at`.
    pub fn error(&self, at: usize, message: impl Into<String>) -> TemplateError {
        let (line, column) = line_column(self.cur.source(), at);
        TemplateError {
            line,
            column,
            message: message.into(),
            client_input: false,
        }
    }

    /// An error at the cursor, naming what was found there.
    pub fn unexpected(&self, expected: &str) -> TemplateError {
        let found = match self.cur.current_char() {
            Some(c) if !self.cur.at_end() => format!("'{c}'"),
            _ => "end of input".to_owned(),
        };
        self.error(self.cur.pos, format!("expected {expected}, found {found}"))
    }

    /// Goes one level deeper, failing past [`MAX_NESTING`].
    pub fn enter(&mut self, at: usize) -> Result<(), TemplateError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(self.error(
                at,
                format!("nesting deeper than {MAX_NESTING} levels is not supported"),
            ));
        }
        Ok(())
    }

    /// Comes back up one level.
    pub fn leave(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// Offset as stored in the AST.
    pub fn offset(at: usize) -> Offset {
        Offset::try_from(at).unwrap_or(Offset::MAX)
    }

    /// Parses the whole template.
    pub fn parse_template(&mut self) -> Result<Vec<Node>, TemplateError> {
        let (nodes, term, at) = self.parse_nodes()?;
        match term {
            Terminator::Eof => Ok(nodes),
            Terminator::End => Err(self.error(at, "#end without a matching #if or #foreach")),
            Terminator::Else => Err(self.error(at, "#else without a matching #if")),
            Terminator::ElseIf(_) => Err(self.error(at, "#elseif without a matching #if")),
        }
    }

    /// Parses nodes up to the end of the window or a block terminator; returns the terminator
    /// and where it starts.
    pub fn parse_nodes(&mut self) -> Result<(Vec<Node>, Terminator, usize), TemplateError> {
        let mut nodes = Vec::new();
        let mut pending = PendingText::default();
        loop {
            let Some(b) = self.cur.peek() else {
                pending.flush(&mut nodes, self.in_string);
                return Ok((nodes, Terminator::Eof, self.cur.pos));
            };
            match b {
                b'$' => match self.try_reference()? {
                    Some(r) => {
                        pending.flush(&mut nodes, self.in_string);
                        nodes.push(Node::Ref(Box::new(r)));
                    }
                    None => {
                        self.cur.bump();
                        pending.push("$");
                        pending.boundary();
                    }
                },
                b'\\' => self.backslashes(&mut nodes, &mut pending)?,
                b'#' => {
                    if let Some((term, at)) = self.hash(&mut nodes, &mut pending)? {
                        pending.flush(&mut nodes, self.in_string);
                        return Ok((nodes, term, at));
                    }
                }
                _ => {
                    let start = self.cur.pos;
                    while matches!(self.cur.peek(), Some(b) if b != b'$' && b != b'#' && b != b'\\')
                    {
                        self.cur.bump();
                    }
                    pending.push(self.cur.slice(start, self.cur.pos));
                }
            }
        }
    }

    /// A run of backslashes: escapes a following reference or directive, else is literal.
    fn backslashes(
        &mut self,
        nodes: &mut Vec<Node>,
        pending: &mut PendingText,
    ) -> Result<(), TemplateError> {
        let start = self.cur.pos;
        while self.cur.peek() == Some(b'\\') {
            self.cur.bump();
        }
        let count = self.cur.pos - start;
        match self.cur.peek() {
            Some(b'$') => {
                if let Some(reference) = self.try_reference()? {
                    pending.flush(nodes, self.in_string);
                    nodes.push(Node::EscapedRef {
                        backslashes: u32::try_from(count).unwrap_or(u32::MAX),
                        reference: Box::new(reference),
                    });
                } else {
                    pending.push(self.cur.slice(start, self.cur.pos));
                    pending.boundary();
                }
            }
            Some(b'#') => {
                let hash = self.cur.pos;
                let mut probe = self.cur.clone();
                probe.bump();
                let braced = probe.eat_byte(b'{');
                let word = probe.word();
                let closed = !braced || probe.eat_byte(b'}');
                let known = closed && word.is_some_and(|w| KNOWN_DIRECTIVES.contains(&w));
                if known {
                    pending.push(&"\\".repeat(count / 2));
                    if count % 2 == 1 {
                        pending.push(self.cur.slice(hash, probe.pos));
                        self.cur.pos = probe.pos;
                    }
                    // Even count: the directive itself is parsed next.
                    pending.boundary();
                } else {
                    pending.push(self.cur.slice(start, hash));
                    pending.boundary();
                }
            }
            _ => {
                pending.push(self.cur.slice(start, self.cur.pos));
                pending.boundary();
            }
        }
        Ok(())
    }

    /// Something starting with `#`: a comment, an unparsed block, a directive or plain text.
    /// Returns a terminator when the directive ends the current block.
    fn hash(
        &mut self,
        nodes: &mut Vec<Node>,
        pending: &mut PendingText,
    ) -> Result<Option<(Terminator, usize)>, TemplateError> {
        let start = self.cur.pos;
        if self.cur.eat("##") {
            // A line comment eats its line break.
            while let Some(b) = self.cur.peek() {
                self.cur.bump();
                if b == b'\n' {
                    break;
                }
                if b == b'\r' {
                    self.cur.eat_byte(b'\n');
                    break;
                }
            }
            pending.boundary();
            return Ok(None);
        }
        if self.cur.eat("#*") {
            match self.cur.find("*#") {
                Some(end) => self.cur.pos = end + 2,
                None => return Err(self.error(start, "unterminated #* comment *#")),
            }
            pending.boundary();
            return Ok(None);
        }
        if self.cur.eat("#[[") {
            match self.cur.find("]]#") {
                Some(end) => {
                    pending.push(self.cur.slice(self.cur.pos, end));
                    self.cur.pos = end + 3;
                }
                None => return Err(self.error(start, "unterminated #[[ unparsed block ]]#")),
            }
            pending.boundary();
            return Ok(None);
        }
        self.cur.bump();
        let braced = self.cur.eat_byte(b'{');
        let word = self.cur.word();
        let closed = !braced || self.cur.eat_byte(b'}');
        let (Some(word), true) = (word, closed) else {
            self.cur.pos = start + 1;
            pending.push("#");
            pending.boundary();
            return Ok(None);
        };
        match word {
            "set" => {
                let mut probe = self.cur.clone();
                while probe.eat_byte(b' ') {}
                if !probe.eat_byte(b'(') {
                    pending.push(self.cur.slice(start, self.cur.pos));
                    pending.boundary();
                    return Ok(None);
                }
                self.cur.pos = probe.pos;
                pending.gobble_before_set();
                pending.flush(nodes, self.in_string);
                nodes.push(self.set_directive(start)?);
                Ok(None)
            }
            "if" => {
                pending.flush(nodes, self.in_string);
                nodes.push(self.if_directive(start)?);
                Ok(None)
            }
            "elseif" => {
                let cond = self.paren_condition("#elseif")?;
                Ok(Some((Terminator::ElseIf(cond), start)))
            }
            "else" => {
                self.cur.eat_line_end();
                Ok(Some((Terminator::Else, start)))
            }
            "end" => {
                self.cur.eat_line_end();
                Ok(Some((Terminator::End, start)))
            }
            "foreach" => {
                pending.flush(nodes, self.in_string);
                nodes.push(self.foreach_directive(start)?);
                Ok(None)
            }
            "break" => {
                pending.flush(nodes, self.in_string);
                let mut probe = self.cur.clone();
                probe.skip_ws();
                if probe.eat_byte(b'(') {
                    // `#break($foreach)`: the scope argument is accepted and ignored.
                    self.cur.pos = probe.pos;
                    self.cur.skip_ws();
                    if !self.cur.eat_byte(b')') {
                        self.expr()?;
                        self.cur.skip_ws();
                        if !self.cur.eat_byte(b')') {
                            return Err(self.unexpected("')' to close #break"));
                        }
                    }
                    self.cur.eat_line_end();
                }
                nodes.push(Node::Break);
                Ok(None)
            }
            "stop" => {
                pending.flush(nodes, self.in_string);
                nodes.push(Node::Stop);
                Ok(None)
            }
            "macro" | "include" | "parse" | "evaluate" | "define" => Err(self.error(
                start,
                format!("#{word} is not supported in mapping templates"),
            )),
            _ => {
                // Not a directive (an undefined macro in Velocity): plain text.
                pending.push(self.cur.slice(start, self.cur.pos));
                pending.boundary();
                Ok(None)
            }
        }
    }

    /// `(condition)` after `#if`/`#elseif`, with the trailing line break gobbled.
    fn paren_condition(&mut self, what: &str) -> Result<super::ast::Expr, TemplateError> {
        self.cur.skip_ws();
        if !self.cur.eat_byte(b'(') {
            return Err(self.unexpected(&format!("'(' after {what}")));
        }
        let cond = self.expr()?;
        self.cur.skip_ws();
        if !self.cur.eat_byte(b')') {
            return Err(self.unexpected(&format!("')' to close {what}")));
        }
        self.cur.eat_line_end();
        Ok(cond)
    }

    /// Parses a block body, failing at the end of input.
    fn block(
        &mut self,
        start: usize,
        what: &str,
    ) -> Result<(Vec<Node>, Terminator, usize), TemplateError> {
        self.enter(start)?;
        let (body, term, at) = self.parse_nodes()?;
        self.leave();
        if let Terminator::Eof = term {
            return Err(self.error(start, format!("{what} is missing its #end")));
        }
        Ok((body, term, at))
    }

    fn if_directive(&mut self, start: usize) -> Result<Node, TemplateError> {
        let mut cond = self.paren_condition("#if")?;
        let mut branches = Vec::new();
        loop {
            let (body, term, at) = self.block(start, "#if")?;
            branches.push((cond, body));
            match term {
                Terminator::ElseIf(next) => cond = next,
                Terminator::Else => {
                    let (body, term, at) = self.block(start, "#if")?;
                    return match term {
                        Terminator::End => Ok(Node::If {
                            branches,
                            otherwise: Some(body),
                        }),
                        _ => Err(self.error(at, "#else or #elseif after #else")),
                    };
                }
                Terminator::End => {
                    return Ok(Node::If {
                        branches,
                        otherwise: None,
                    })
                }
                Terminator::Eof => return Err(self.error(at, "#if is missing its #end")),
            }
        }
    }

    fn foreach_directive(&mut self, start: usize) -> Result<Node, TemplateError> {
        self.cur.skip_ws();
        if !self.cur.eat_byte(b'(') {
            return Err(self.unexpected("'(' after #foreach"));
        }
        self.cur.skip_ws();
        let var_at = self.cur.pos;
        let var = match self.try_reference()? {
            Some(r) if r.accessors.is_empty() => r.root,
            _ => return Err(self.error(var_at, "expected a loop variable like $item")),
        };
        self.cur.skip_ws();
        if !self.cur.at_keyword("in") {
            return Err(self.unexpected("'in'"));
        }
        self.cur.pos += 2;
        let iterable = self.expr()?;
        self.cur.skip_ws();
        if !self.cur.eat_byte(b')') {
            return Err(self.unexpected("')' to close #foreach"));
        }
        self.cur.eat_line_end();
        let (body, term, at) = self.block(start, "#foreach")?;
        match term {
            Terminator::End => Ok(Node::Foreach(Box::new(Foreach {
                var,
                iterable,
                body,
                at: Self::offset(start),
            }))),
            _ => Err(self.error(at, "#else or #elseif inside #foreach")),
        }
    }

    /// `#set(` has been read.
    fn set_directive(&mut self, start: usize) -> Result<Node, TemplateError> {
        self.cur.skip_ws();
        let target_at = self.cur.pos;
        let target = match self.try_reference()? {
            Some(r) => r,
            None => return Err(self.unexpected("a reference to assign, like $name")),
        };
        if let Some(Accessor::Method { .. }) = target.accessors.last() {
            return Err(self.error(target_at, "cannot assign to a method call"));
        }
        self.cur.skip_ws();
        if !self.cur.eat_byte(b'=') {
            return Err(self.unexpected("'=' in #set"));
        }
        let value = self.expr()?;
        self.cur.skip_ws();
        if !self.cur.eat_byte(b')') {
            return Err(self.unexpected("')' to close #set"));
        }
        self.cur.eat_line_end();
        let _ = start;
        Ok(Node::Set {
            target: Box::new(target),
            value,
        })
    }

    /// A reference at `$`, or `None` (cursor unmoved) when the `$` is plain text.
    pub fn try_reference(&mut self) -> Result<Option<Reference>, TemplateError> {
        let start = self.cur.pos;
        if !self.cur.eat_byte(b'$') {
            return Ok(None);
        }
        let quiet = self.cur.eat_byte(b'!');
        let formal = self.cur.eat_byte(b'{');
        let Some(root) = self.cur.ident() else {
            self.cur.pos = start;
            return Ok(None);
        };
        let root: Box<str> = root.into();
        let mut accessors = Vec::new();
        loop {
            match self.cur.peek() {
                Some(b'[') => {
                    let save = (self.cur.pos, self.depth);
                    match self.index_accessor() {
                        Ok(Some(acc)) => accessors.push(acc),
                        Ok(None) | Err(_) => {
                            (self.cur.pos, self.depth) = save;
                            break;
                        }
                    }
                }
                Some(b'.') if self.cur.peek_at(1).is_some_and(|b| b.is_ascii_alphabetic()) => {
                    self.cur.bump();
                    let at = self.cur.pos;
                    let Some(name) = self.cur.ident() else { break };
                    let name: Box<str> = name.into();
                    if self.cur.peek() == Some(b'(') {
                        self.enter(at)?;
                        self.cur.bump();
                        let args = self.call_args()?;
                        self.leave();
                        accessors.push(Accessor::Method {
                            name,
                            args,
                            at: Self::offset(at),
                        });
                    } else {
                        accessors.push(Accessor::Property(name));
                    }
                }
                _ => break,
            }
        }
        if formal && !self.cur.eat_byte(b'}') {
            self.cur.pos = start;
            return Ok(None);
        }
        Ok(Some(Reference {
            quiet,
            root,
            accessors,
            source: self.cur.slice(start, self.cur.pos).into(),
            at: Self::offset(start),
        }))
    }

    /// `[expr]` after a reference; `None` when it is not one (then it is text).
    fn index_accessor(&mut self) -> Result<Option<Accessor>, TemplateError> {
        let at = self.cur.pos;
        self.cur.bump();
        self.enter(at)?;
        self.cur.skip_ws();
        let index = self.expr()?;
        self.cur.skip_ws();
        self.leave();
        if !self.cur.eat_byte(b']') {
            return Ok(None);
        }
        Ok(Some(Accessor::Index {
            index,
            at: Self::offset(at),
        }))
    }

    /// Method arguments after `(` up to and including `)`.
    fn call_args(&mut self) -> Result<Vec<super::ast::Expr>, TemplateError> {
        let mut args = Vec::new();
        self.cur.skip_ws();
        if self.cur.eat_byte(b')') {
            return Ok(args);
        }
        loop {
            args.push(self.expr()?);
            self.cur.skip_ws();
            if self.cur.eat_byte(b',') {
                continue;
            }
            if self.cur.eat_byte(b')') {
                return Ok(args);
            }
            return Err(self.unexpected("',' or ')' in method arguments"));
        }
    }
}
