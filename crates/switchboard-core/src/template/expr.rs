//! Expression parsing inside directives, method arguments and indexes.

use super::ast::{BinOp, Expr};
use super::parser::{Parser, Terminator};
use super::TemplateError;

impl Parser<'_> {
    /// A full expression (lowest precedence: `||`).
    pub fn expr(&mut self) -> Result<Expr, TemplateError> {
        self.binary_level(0)
    }

    /// Operators of precedence `level` (0 = loosest), left-associative. Each operator applied
    /// counts one nesting level, so long chains cannot build an unboundedly deep tree.
    fn binary_level(&mut self, level: usize) -> Result<Expr, TemplateError> {
        if level > 5 {
            return self.unary();
        }
        let base = self.depth;
        let mut lhs = self.binary_level(level + 1)?;
        loop {
            self.cur.skip_ws();
            let at = self.cur.pos;
            let Some(op) = self.operator(level) else {
                break;
            };
            self.enter(at)?;
            let rhs = self.binary_level(level + 1)?;
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs), Self::offset(at));
        }
        self.depth = base;
        Ok(lhs)
    }

    /// Consumes an operator of precedence `level`, if one comes next.
    fn operator(&mut self, level: usize) -> Option<BinOp> {
        let symbols: &[(&str, BinOp)] = match level {
            0 => &[("||", BinOp::Or)],
            1 => &[("&&", BinOp::And)],
            2 => &[("==", BinOp::Eq), ("!=", BinOp::Ne)],
            3 => &[
                ("<=", BinOp::Le),
                (">=", BinOp::Ge),
                ("<", BinOp::Lt),
                (">", BinOp::Gt),
            ],
            4 => &[("+", BinOp::Add), ("-", BinOp::Sub)],
            _ => &[("*", BinOp::Mul), ("/", BinOp::Div), ("%", BinOp::Mod)],
        };
        for (sym, op) in symbols {
            if self.cur.eat(sym) {
                return Some(*op);
            }
        }
        let words: &[(&str, BinOp)] = match level {
            0 => &[("or", BinOp::Or)],
            1 => &[("and", BinOp::And)],
            2 => &[("eq", BinOp::Eq), ("ne", BinOp::Ne)],
            3 => &[
                ("le", BinOp::Le),
                ("ge", BinOp::Ge),
                ("lt", BinOp::Lt),
                ("gt", BinOp::Gt),
            ],
            _ => &[],
        };
        for (word, op) in words {
            if self.cur.at_keyword(word) {
                self.cur.pos += word.len();
                return Some(*op);
            }
        }
        None
    }

    fn unary(&mut self) -> Result<Expr, TemplateError> {
        self.cur.skip_ws();
        let at = self.cur.pos;
        let not = if self.cur.peek() == Some(b'!') && self.cur.peek_at(1) != Some(b'=') {
            self.cur.bump();
            true
        } else if self.cur.at_keyword("not") {
            self.cur.pos += 3;
            true
        } else {
            false
        };
        if not {
            self.enter(at)?;
            let inner = self.unary()?;
            self.leave();
            return Ok(Expr::Not(Box::new(inner)));
        }
        if self.cur.peek() == Some(b'-') && !self.number_follows(1) {
            self.cur.bump();
            self.enter(at)?;
            let inner = self.unary()?;
            self.leave();
            return Ok(Expr::Neg(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, TemplateError> {
        self.cur.skip_ws();
        let at = self.cur.pos;
        match self.cur.peek() {
            Some(b'$') => match self.try_reference()? {
                Some(r) => Ok(Expr::Ref(Box::new(r))),
                None => Err(self.unexpected("a reference like $name")),
            },
            Some(b'\'') => self.single_quoted(),
            Some(b'"') => self.double_quoted(),
            Some(b) if b.is_ascii_digit() || b == b'-' || (b == b'.' && self.number_follows(0)) => {
                self.number()
            }
            Some(b'[') => {
                self.cur.bump();
                self.enter(at)?;
                let e = self.list_or_range(at)?;
                self.leave();
                Ok(e)
            }
            Some(b'{') => {
                self.cur.bump();
                self.enter(at)?;
                let e = self.map_literal()?;
                self.leave();
                Ok(e)
            }
            Some(b'(') => {
                self.cur.bump();
                self.enter(at)?;
                let e = self.expr()?;
                self.cur.skip_ws();
                if !self.cur.eat_byte(b')') {
                    return Err(self.unexpected("')'"));
                }
                self.leave();
                Ok(e)
            }
            _ if self.cur.at_keyword("true") => {
                self.cur.pos += 4;
                Ok(Expr::Bool(true))
            }
            _ if self.cur.at_keyword("false") => {
                self.cur.pos += 5;
                Ok(Expr::Bool(false))
            }
            _ if self.cur.at_keyword("null") => {
                self.cur.pos += 4;
                Ok(Expr::Null)
            }
            _ => Err(self.unexpected("a value")),
        }
    }

    /// True when a number literal starts `n` bytes past the cursor: a digit, or `.` and a digit.
    fn number_follows(&self, n: usize) -> bool {
        match self.cur.peek_at(n) {
            Some(b) if b.is_ascii_digit() => true,
            Some(b'.') => self.cur.peek_at(n + 1).is_some_and(|b| b.is_ascii_digit()),
            _ => false,
        }
    }

    /// A number literal as Velocity 1.7 writes them: `12`, `-3`, `2.5`, `2.`, `.5`, `1e3`,
    /// `2.5E-1` (a `.` followed by another `.` belongs to a range, `[1..3]`).
    fn number(&mut self) -> Result<Expr, TemplateError> {
        let start = self.cur.pos;
        self.cur.eat_byte(b'-');
        while self.cur.peek().is_some_and(|b| b.is_ascii_digit()) {
            self.cur.bump();
        }
        let mut float = false;
        if self.cur.peek() == Some(b'.') && self.cur.peek_at(1) != Some(b'.') {
            float = true;
            self.cur.bump();
            while self.cur.peek().is_some_and(|b| b.is_ascii_digit()) {
                self.cur.bump();
            }
        }
        if matches!(self.cur.peek(), Some(b'e' | b'E')) {
            let sign = usize::from(matches!(self.cur.peek_at(1), Some(b'+' | b'-')));
            if self
                .cur
                .peek_at(1 + sign)
                .is_some_and(|b| b.is_ascii_digit())
            {
                float = true;
                self.cur.pos += 1 + sign;
                while self.cur.peek().is_some_and(|b| b.is_ascii_digit()) {
                    self.cur.bump();
                }
            }
        }
        let text = self.cur.slice(start, self.cur.pos);
        if text == "-" {
            return Err(self.error(start, "expected a number after '-'"));
        }
        if !float {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Expr::Int(i));
            }
        }
        text.parse::<f64>()
            .map(Expr::Float)
            .map_err(|_| self.error(start, format!("invalid number '{text}'")))
    }

    /// `'…'`: no interpolation; `''` stands for one quote (Velocity 1.7).
    fn single_quoted(&mut self) -> Result<Expr, TemplateError> {
        let start = self.cur.pos;
        self.cur.bump();
        let mut out = String::new();
        loop {
            let Some(end) = self.cur.find("'") else {
                return Err(self.error(start, "unterminated string literal"));
            };
            out.push_str(self.cur.slice(self.cur.pos, end));
            self.cur.pos = end + 1;
            if self.cur.peek() == Some(b'\'') {
                out.push('\'');
                self.cur.bump();
            } else {
                return Ok(Expr::Str(out.into_boxed_str()));
            }
        }
    }

    /// `"…"`: `""` stands for one quote and `\uXXXX` for that UTF-16 unit; any other
    /// backslash is kept as written, and a backslash does not escape `"` (Velocity 1.7);
    /// references and directives inside are rendered when evaluated.
    fn double_quoted(&mut self) -> Result<Expr, TemplateError> {
        let start = self.cur.pos;
        self.cur.bump();
        let body_start = self.cur.pos;
        let body_end = loop {
            match self.cur.peek() {
                None => return Err(self.error(start, "unterminated string literal")),
                Some(b'"') => {
                    if self.cur.peek_at(1) == Some(b'"') {
                        self.cur.pos += 2;
                    } else {
                        let end = self.cur.pos;
                        self.cur.bump();
                        break end;
                    }
                }
                Some(_) => self.cur.bump(),
            }
        };
        let body = self.cur.slice(body_start, body_end);
        let unescaped = unescape_string(body).map_err(|m| self.error(start, m))?;
        if !body.contains('$') && !body.contains('#') {
            return Ok(Expr::Str(unescaped.into_boxed_str()));
        }
        // Parse the body as a template in place: same source, narrower window.
        let after = self.cur.pos;
        let outer_end = self.cur.end;
        let outer_in_string = self.in_string;
        self.cur.pos = body_start;
        self.cur.end = body_end;
        self.in_string = true;
        self.enter(start)?;
        let parsed = self.parse_nodes();
        self.leave();
        self.cur.end = outer_end;
        self.in_string = outer_in_string;
        let (nodes, term, at) = parsed?;
        self.cur.pos = after;
        match term {
            Terminator::Eof => Ok(Expr::Interpolated(nodes)),
            _ => Err(self.error(at, "unbalanced #end, #else or #elseif inside a string")),
        }
    }

    fn list_or_range(&mut self, at: usize) -> Result<Expr, TemplateError> {
        self.cur.skip_ws();
        if self.cur.eat_byte(b']') {
            return Ok(Expr::List(Vec::new()));
        }
        let first = self.expr()?;
        self.cur.skip_ws();
        if self.cur.eat("..") {
            let last = self.expr()?;
            self.cur.skip_ws();
            if !self.cur.eat_byte(b']') {
                return Err(self.unexpected("']' to close the range"));
            }
            return Ok(Expr::Range(
                Box::new(first),
                Box::new(last),
                Self::offset(at),
            ));
        }
        let mut items = vec![first];
        loop {
            self.cur.skip_ws();
            if self.cur.eat_byte(b']') {
                return Ok(Expr::List(items));
            }
            if !self.cur.eat_byte(b',') {
                return Err(self.unexpected("',' or ']' in the list"));
            }
            items.push(self.expr()?);
        }
    }

    fn map_literal(&mut self) -> Result<Expr, TemplateError> {
        let mut entries = Vec::new();
        self.cur.skip_ws();
        if self.cur.eat_byte(b'}') {
            return Ok(Expr::Map(entries));
        }
        loop {
            let key = self.expr()?;
            self.cur.skip_ws();
            if !self.cur.eat_byte(b':') {
                return Err(self.unexpected("':' in the map"));
            }
            let value = self.expr()?;
            entries.push((key, value));
            self.cur.skip_ws();
            if self.cur.eat_byte(b'}') {
                return Ok(Expr::Map(entries));
            }
            if !self.cur.eat_byte(b',') {
                return Err(self.unexpected("',' or '}' in the map"));
            }
        }
    }
}

/// The text of a double-quoted string literal's body as Velocity 1.7 reads it: every `\\uXXXX`
/// (even one after another backslash) is that UTF-16 unit, consecutive units pairing into one
/// character and a lone surrogate becoming `?` (as Java writes it); then `""` is one `"`. Any
/// other backslash stays. `\\u` without four hex digits is an error, as it is in Velocity.
///
/// In a string with references, the escapes are read in its text pieces only, so an escape that
/// would spell `$`, `#` or part of a name does not make (or extend) a reference as it does in
/// Velocity, which unescapes before it interpolates.
pub(crate) fn unescape_string(body: &str) -> Result<String, String> {
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(i) = rest.find("\\u") {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let mut units = Vec::new();
        while let Some(tail) = rest.strip_prefix("\\u") {
            let hex = tail
                .get(..4)
                .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
                .ok_or_else(|| {
                    "invalid \\u escape in a string literal (four hex digits expected)".to_owned()
                })?;
            units.push(u16::from_str_radix(hex, 16).map_err(|e| e.to_string())?);
            rest = &tail[4..];
        }
        out.extend(char::decode_utf16(units).map(|c| c.unwrap_or('?')));
    }
    out.push_str(rest);
    Ok(if out.contains("\"\"") {
        out.replace("\"\"", "\"")
    } else {
        out
    })
}
