//! Master file lexer (RFC 1035 5.1): logical lines (parentheses join
//! physical lines), `;` comments, quoted strings, backslash escapes kept for
//! the field parsers, and the line:column of every token.

use alloc::string::String;
use alloc::vec::Vec;

/// One token with its position (1-based).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    /// The token's text; for quoted tokens, without the quotes (escapes kept).
    pub text: String,
    pub quoted: bool,
    pub line: u32,
    pub col: u32,
}

/// A logical line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// The line began with white space: the owner is the previous one.
    pub blank_owner: bool,
    pub tokens: Vec<Token>,
}

/// A lexical error at line:col.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LexError {
    pub line: u32,
    pub col: u32,
    pub what: &'static str,
}

/// Split a master file into logical lines.
pub fn lines(text: &str) -> Result<Vec<Line>, LexError> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut cur = Line { blank_owner: false, tokens: Vec::new() };
    let (mut line, mut col) = (1u32, 1u32);
    let mut depth = 0u32;
    let mut paren_at = (0, 0);
    let mut at_line_start = true;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if at_line_start && depth == 0 {
            cur.blank_owner = c == b' ' || c == b'\t';
            at_line_start = false;
        }
        match c {
            b'\n' => {
                if depth == 0 {
                    if !cur.tokens.is_empty() {
                        out.push(core::mem::replace(&mut cur, Line { blank_owner: false, tokens: Vec::new() }));
                    }
                    at_line_start = true;
                }
                line += 1;
                col = 1;
                i += 1;
                continue;
            }
            b' ' | b'\t' | b'\r' => {}
            b';' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'(' => {
                if depth == 0 {
                    paren_at = (line, col);
                }
                depth += 1;
            }
            b')' => {
                if depth == 0 {
                    return Err(LexError { line, col, what: "unbalanced ')'" });
                }
                depth -= 1;
            }
            b'"' => {
                let (start_line, start_col) = (line, col);
                let mut s = String::new();
                i += 1;
                col += 1;
                loop {
                    let Some(&c) = b.get(i) else {
                        return Err(LexError { line: start_line, col: start_col, what: "unterminated quoted string" });
                    };
                    if c == b'"' {
                        break;
                    }
                    if c == b'\\' {
                        if let Some(&n) = b.get(i + 1) {
                            s.push('\\');
                            push_byte(&mut s, n);
                            i += 2;
                            col += 2;
                            continue;
                        }
                    }
                    if c == b'\n' {
                        line += 1;
                        col = 0;
                    }
                    push_byte(&mut s, c);
                    i += 1;
                    col += 1;
                }
                cur.tokens.push(Token { text: s, quoted: true, line: start_line, col: start_col });
                i += 1;
                col += 1;
                continue;
            }
            _ => {
                let (start, start_col) = (i, col);
                while i < b.len() && !matches!(b[i], b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')' | b'"') {
                    if b[i] == b'\\' && i + 1 < b.len() && b[i + 1] != b'\n' {
                        i += 1;
                        col += 1;
                    }
                    i += 1;
                    col += 1;
                }
                let text = String::from_utf8_lossy(&b[start..i]).into_owned();
                cur.tokens.push(Token { text, quoted: false, line, col: start_col });
                continue;
            }
        }
        i += 1;
        col += 1;
    }
    if depth > 0 {
        return Err(LexError { line: paren_at.0, col: paren_at.1, what: "unbalanced '(' (no closing parenthesis)" });
    }
    if !cur.tokens.is_empty() {
        out.push(cur);
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

    fn texts(l: &Line) -> Vec<&str> {
        l.tokens.iter().map(|t| t.text.as_str()).collect()
    }

    #[test]
    fn parentheses_comments_quotes() {
        let z = "$TTL 3600 ; default\n@ IN SOA ns hostmaster (\n 1 ; serial\n 2 3 4 5 )\n\twww A 192.0.2.1\n  TXT \"a b\\\"c\" x\n";
        let ls = lines(z).unwrap();
        assert_eq!(ls.len(), 4);
        assert_eq!(texts(&ls[0]), ["$TTL", "3600"]);
        assert_eq!(texts(&ls[1]), ["@", "IN", "SOA", "ns", "hostmaster", "1", "2", "3", "4", "5"]);
        assert!(!ls[1].blank_owner);
        assert!(ls[2].blank_owner);
        assert_eq!(ls[3].tokens[1].text, "a b\\\"c");
        assert!(ls[3].tokens[1].quoted);
        assert_eq!((ls[3].tokens[1].line, ls[3].tokens[1].col), (6, 7));
        assert_eq!((ls[2].tokens[2].line, ls[2].tokens[2].col), (5, 8));
    }

    #[test]
    fn errors_have_positions() {
        assert_eq!(lines("a ( b\n c\n").unwrap_err(), LexError { line: 1, col: 3, what: "unbalanced '(' (no closing parenthesis)" });
        assert_eq!(lines("a b )\n").unwrap_err().col, 5);
        assert_eq!(lines("a \"open\n").unwrap_err(), LexError { line: 1, col: 3, what: "unterminated quoted string" });
    }

    #[test]
    fn escaped_space_stays_in_token() {
        let ls = lines("a\\ b c\n").unwrap();
        assert_eq!(texts(&ls[0]), ["a\\ b", "c"]);
    }
}
