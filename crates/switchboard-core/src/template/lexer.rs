//! A byte cursor over the template source with the small scanners the parser needs.
//!
//! Every syntax character is ASCII, and the cursor only ever stops on an ASCII byte or at the
//! end, so every slice it hands out falls on a UTF-8 character boundary.

/// Position-tracking reader over (a window of) the template source.
#[derive(Debug, Clone)]
pub(crate) struct Cursor<'s> {
    src: &'s str,
    /// Current byte offset.
    pub pos: usize,
    /// Exclusive end of the window being read (the whole source, or a string literal's body).
    pub end: usize,
}

impl<'s> Cursor<'s> {
    /// A cursor over the whole source.
    pub fn new(src: &'s str) -> Self {
        Self {
            src,
            pos: 0,
            end: src.len(),
        }
    }

    /// The full source (not only the window).
    pub fn source(&self) -> &'s str {
        self.src
    }

    /// True at the end of the window.
    pub fn at_end(&self) -> bool {
        self.pos >= self.end
    }

    /// The byte at the cursor.
    pub fn peek(&self) -> Option<u8> {
        self.peek_at(0)
    }

    /// The byte `n` past the cursor.
    pub fn peek_at(&self, n: usize) -> Option<u8> {
        let i = self.pos.checked_add(n)?;
        if i < self.end {
            self.src.as_bytes().get(i).copied()
        } else {
            None
        }
    }

    /// Moves one byte on.
    pub fn bump(&mut self) {
        if self.pos < self.end {
            self.pos += 1;
        }
    }

    /// True when the window continues with `s`.
    pub fn starts_with(&self, s: &str) -> bool {
        self.rest().starts_with(s)
    }

    /// Consumes `s` if it comes next.
    pub fn eat(&mut self, s: &str) -> bool {
        if self.starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    /// Consumes byte `b` if it comes next.
    pub fn eat_byte(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// The unread part of the window.
    pub fn rest(&self) -> &'s str {
        self.slice(self.pos, self.end)
    }

    /// `src[from..to]`, or "" if that is not a valid slice (never panics).
    pub fn slice(&self, from: usize, to: usize) -> &'s str {
        self.src.get(from..to).unwrap_or("")
    }

    /// Skips spaces, tabs and line breaks.
    pub fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    /// Velocity's directive gobbling: `[ \t]*` followed by one line break is consumed; if no
    /// line break follows, nothing is.
    pub fn eat_line_end(&mut self) {
        let mut i = 0;
        while matches!(self.peek_at(i), Some(b' ' | b'\t')) {
            i += 1;
        }
        match (self.peek_at(i), self.peek_at(i + 1)) {
            (Some(b'\r'), Some(b'\n')) => self.pos += i + 2,
            (Some(b'\n' | b'\r'), _) => self.pos += i + 1,
            _ => {}
        }
    }

    /// A reference identifier: `[a-zA-Z_][a-zA-Z0-9_-]*` (hyphens allowed, as in Velocity 1.7).
    pub fn ident(&mut self) -> Option<&'s str> {
        let start = self.pos;
        match self.peek() {
            Some(b) if b.is_ascii_alphabetic() || b == b'_' => self.pos += 1,
            _ => return None,
        }
        while matches!(self.peek(), Some(b) if b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            self.pos += 1;
        }
        Some(self.slice(start, self.pos))
    }

    /// A directive word: `[a-zA-Z_@][a-zA-Z0-9_@]*`.
    pub fn word(&mut self) -> Option<&'s str> {
        let start = self.pos;
        match self.peek() {
            Some(b) if b.is_ascii_alphabetic() || b == b'_' || b == b'@' => self.pos += 1,
            _ => return None,
        }
        while matches!(self.peek(), Some(b) if b.is_ascii_alphanumeric() || b == b'_' || b == b'@')
        {
            self.pos += 1;
        }
        Some(self.slice(start, self.pos))
    }

    /// True when the window continues with the keyword `w` not followed by an identifier byte.
    pub fn at_keyword(&self, w: &str) -> bool {
        self.starts_with(w)
            && !matches!(self.peek_at(w.len()), Some(b) if b.is_ascii_alphanumeric() || b == b'_')
    }

    /// Finds `pat` at or after the cursor; returns its byte offset.
    pub fn find(&self, pat: &str) -> Option<usize> {
        self.rest().find(pat).map(|i| self.pos + i)
    }

    /// The character at the cursor, for error messages.
    pub fn current_char(&self) -> Option<char> {
        self.rest().chars().next()
    }
}

/// 1-based line and column (in characters) of byte `offset` in `src`.
pub(crate) fn line_column(src: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(src.len());
    while offset > 0 && !src.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = src.get(..offset).unwrap_or("");
    let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    (line, column)
}
