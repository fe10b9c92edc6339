//! Master file lexer (RFC 1035 5.1): logical lines (parentheses join
//! physical lines), `;` comments, quoted strings, backslash escapes kept for
//! the field parsers, and the line:column of every token.

use alloc::borrow::Cow;
use alloc::string::String;
use alloc::vec::Vec;

/// One token with its position (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token<'a> {
    /// The token's text; for quoted tokens, without the quotes (escapes
    /// kept). Borrowed from the input unless a byte had to be escaped.
    pub text: Cow<'a, str>,
    pub quoted: bool,
    pub line: u32,
    pub col: u32,
}

/// A logical line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Line<'a> {
    /// The line began with white space: the owner is the previous one.
    pub blank_owner: bool,
    pub tokens: Vec<Token<'a>>,
}

/// A lexical error at line:col.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexError {
    pub line: u32,
    pub col: u32,
    pub what: &'static str,
}

/// A streaming lexer: one logical line at a time, so a large zone is never
/// held as tokens all at once.
pub struct Lexer<'a> {
    b: &'a [u8],
    i: usize,
    line: u32,
    col: u32,
    at_line_start: bool,
    failed: bool,
}

impl<'a> Lexer<'a> {
    pub fn new(text: &'a str) -> Self {
        Lexer {
            b: text.as_bytes(),
            i: 0,
            line: 1,
            col: 1,
            at_line_start: true,
            failed: false,
        }
    }

    /// The next logical line, an error, or None at the end.
    pub fn next_line(&mut self) -> Option<Result<Line<'a>, LexError>> {
        let mut line = Line::default();
        Some(self.next_into(&mut line)?.map(|()| line))
    }

    /// As [`Lexer::next_line`], into `line` (its token buffer is reused:
    /// no allocation per line).
    pub fn next_into(&mut self, line: &mut Line<'a>) -> Option<Result<(), LexError>> {
        if self.failed {
            return None;
        }
        line.blank_owner = false;
        line.tokens.clear();
        let r = self.scan(line);
        if matches!(r, Some(Err(_))) {
            self.failed = true;
        }
        r
    }

    fn scan(&mut self, cur: &mut Line<'a>) -> Option<Result<(), LexError>> {
        let b = self.b;
        let mut depth = 0u32;
        let mut paren_at = (0, 0);
        while self.i < b.len() {
            let c = b[self.i];
            if self.at_line_start && depth == 0 {
                cur.blank_owner = c == b' ' || c == b'\t';
                self.at_line_start = false;
            }
            match c {
                b'\n' => {
                    self.line += 1;
                    self.col = 1;
                    self.i += 1;
                    if depth == 0 {
                        self.at_line_start = true;
                        if !cur.tokens.is_empty() {
                            return Some(Ok(()));
                        }
                        cur.blank_owner = false;
                    }
                    continue;
                }
                b' ' | b'\t' | b'\r' => {}
                b';' => {
                    while self.i < b.len() && b[self.i] != b'\n' {
                        self.i += 1;
                    }
                    continue;
                }
                b'(' => {
                    if depth == 0 {
                        paren_at = (self.line, self.col);
                    }
                    depth += 1;
                }
                b')' => {
                    if depth == 0 {
                        return Some(Err(LexError {
                            line: self.line,
                            col: self.col,
                            what: "unbalanced ')'",
                        }));
                    }
                    depth -= 1;
                }
                b'"' => match self.quoted() {
                    Ok(t) => {
                        cur.tokens.push(t);
                        continue;
                    }
                    Err(e) => return Some(Err(e)),
                },
                _ => {
                    cur.tokens.push(self.word());
                    continue;
                }
            }
            self.i += 1;
            self.col += 1;
        }
        if depth > 0 {
            return Some(Err(LexError {
                line: paren_at.0,
                col: paren_at.1,
                what: "unbalanced '(' (no closing parenthesis)",
            }));
        }
        (!cur.tokens.is_empty()).then_some(Ok(()))
    }

    /// A quoted string starting at the opening quote.
    fn quoted(&mut self) -> Result<Token<'a>, LexError> {
        let b = self.b;
        let (start_line, start_col) = (self.line, self.col);
        let mut s = String::new();
        self.i += 1;
        self.col += 1;
        let start = self.i;
        // Borrowed while every byte is ASCII (kept as is).
        let mut ascii = true;
        loop {
            let Some(&c) = b.get(self.i) else {
                return Err(LexError {
                    line: start_line,
                    col: start_col,
                    what: "unterminated quoted string",
                });
            };
            if c == b'"' {
                break;
            }
            if c == b'\\' {
                if let Some(&n) = b.get(self.i + 1) {
                    ascii &= n.is_ascii();
                    s.push('\\');
                    push_byte(&mut s, n);
                    self.i += 2;
                    self.col += 2;
                    continue;
                }
            }
            if c == b'\n' {
                self.line += 1;
                self.col = 0;
            }
            ascii &= c.is_ascii();
            push_byte(&mut s, c);
            self.i += 1;
            self.col += 1;
        }
        let text = match core::str::from_utf8(&b[start..self.i]) {
            Ok(t) if ascii => Cow::Borrowed(t),
            _ => Cow::Owned(s),
        };
        self.i += 1;
        self.col += 1;
        Ok(Token {
            text,
            quoted: true,
            line: start_line,
            col: start_col,
        })
    }

    /// An unquoted word (backslash escapes kept).
    fn word(&mut self) -> Token<'a> {
        let b = self.b;
        let (start, start_col) = (self.i, self.col);
        while self.i < b.len()
            && !matches!(
                b[self.i],
                b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')' | b'"'
            )
        {
            if b[self.i] == b'\\' && self.i + 1 < b.len() && b[self.i + 1] != b'\n' {
                self.i += 1;
                self.col += 1;
            }
            self.i += 1;
            self.col += 1;
        }
        // The input is UTF-8 and a word ends at an ASCII byte: borrowed.
        let text = String::from_utf8_lossy(&b[start..self.i]);
        Token {
            text,
            quoted: false,
            line: self.line,
            col: start_col,
        }
    }
}

/// Split a master file into logical lines (all at once; small inputs).
pub fn lines(text: &str) -> Result<Vec<Line<'_>>, LexError> {
    let mut lx = Lexer::new(text);
    let mut out = Vec::new();
    while let Some(l) = lx.next_line() {
        out.push(l?);
    }
    Ok(out)
}

/// Keep arbitrary bytes in a String: non-ASCII bytes become `\DDD` escapes.
fn push_byte(s: &mut String, c: u8) {
    if c.is_ascii() {
        s.push(c as char);
    } else {
        s.push('\\');
        s.push((b'0' + c / 100) as char);
        s.push((b'0' + c / 10 % 10) as char);
        s.push((b'0' + c % 10) as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'a>(l: &'a Line) -> Vec<&'a str> {
        l.tokens.iter().map(|t| t.text.as_ref()).collect()
    }

    #[test]
    fn parentheses_comments_quotes() {
        let z = "$TTL 3600 ; default\n@ IN SOA ns hostmaster (\n 1 ; serial\n 2 3 4 5 )\n\twww A 192.0.2.1\n  TXT \"a b\\\"c\" x\n";
        let ls = lines(z).unwrap();
        assert_eq!(ls.len(), 4);
        assert_eq!(texts(&ls[0]), ["$TTL", "3600"]);
        assert_eq!(
            texts(&ls[1]),
            [
                "@",
                "IN",
                "SOA",
                "ns",
                "hostmaster",
                "1",
                "2",
                "3",
                "4",
                "5"
            ]
        );
        assert!(!ls[1].blank_owner);
        assert!(ls[2].blank_owner);
        assert_eq!(ls[3].tokens[1].text, "a b\\\"c");
        assert!(ls[3].tokens[1].quoted);
        assert_eq!((ls[3].tokens[1].line, ls[3].tokens[1].col), (6, 7));
        assert_eq!((ls[2].tokens[2].line, ls[2].tokens[2].col), (5, 8));
    }

    #[test]
    fn errors_have_positions() {
        assert_eq!(
            lines("a ( b\n c\n").unwrap_err(),
            LexError {
                line: 1,
                col: 3,
                what: "unbalanced '(' (no closing parenthesis)"
            }
        );
        assert_eq!(lines("a b )\n").unwrap_err().col, 5);
        assert_eq!(
            lines("a \"open\n").unwrap_err(),
            LexError {
                line: 1,
                col: 3,
                what: "unterminated quoted string"
            }
        );
    }

    #[test]
    fn escaped_space_stays_in_token() {
        let ls = lines("a\\ b c\n").unwrap();
        assert_eq!(texts(&ls[0]), ["a\\ b", "c"]);
    }
}
