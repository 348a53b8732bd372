//! The codebase's shape rules, checked on the source so they stay true: every file in `src/` is
//! at most 500 lines, every function in `src/` at most 80 (outside `#[cfg(test)]` items and
//! `tests.rs` files), and `unsafe` appears only under `src/ffi/` (the C ABI) and `src/sys/`
//! (platform calls).
//!
//! A function's length runs from the line with `fn` to the line with its closing brace, as an
//! editor counts it. The source is read through a small Rust lexer that blanks comments, string
//! literals and character literals first, so braces or words inside them count for nothing.

use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const MAX_FILE_LINES: usize = 500;
const MAX_FN_LINES: usize = 80;

/// Every `.rs` file under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// The source with every comment, string literal and character literal replaced by spaces
/// (newlines kept, so line numbers and byte offsets stay those of the source).
fn code_only(src: &str) -> Vec<u8> {
    let s = src.as_bytes();
    let mut out = s.to_vec();
    let blank = |out: &mut Vec<u8>, from: usize, to: usize| {
        for b in &mut out[from..to.min(s.len())] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    };
    let mut i = 0;
    while i < s.len() {
        let prev_ident = i > 0 && is_ident(s[i - 1]);
        match s[i] {
            b'/' if s.get(i + 1) == Some(&b'/') => {
                let end = s[i..]
                    .iter()
                    .position(|&b| b == b'\n')
                    .map_or(s.len(), |n| i + n);
                blank(&mut out, i, end);
                i = end;
            }
            b'/' if s.get(i + 1) == Some(&b'*') => {
                let (mut depth, mut j) = (1, i + 2);
                while j < s.len() && depth > 0 {
                    if s[j..].starts_with(b"/*") {
                        depth += 1;
                        j += 2;
                    } else if s[j..].starts_with(b"*/") {
                        depth -= 1;
                        j += 2;
                    } else {
                        j += 1;
                    }
                }
                blank(&mut out, i, j);
                i = j;
            }
            // Raw strings: r"…", r#"…"#, br#"…"# (the `b` is an identifier byte before `r`).
            b'r' if (!prev_ident || (s[i - 1] == b'b' && (i < 2 || !is_ident(s[i - 2]))))
                && matches!(s.get(i + 1), Some(b'"' | b'#')) =>
            {
                let hashes = s[i + 1..].iter().take_while(|&&b| b == b'#').count();
                if s.get(i + 1 + hashes) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                let start = i + 2 + hashes;
                let end = s[start..]
                    .windows(close.len())
                    .position(|w| w == close.as_slice())
                    .map_or(s.len(), |n| start + n + close.len());
                blank(&mut out, start, end.saturating_sub(close.len()));
                i = end;
            }
            b'"' => {
                let mut j = i + 1;
                while j < s.len() && s[j] != b'"' {
                    j += if s[j] == b'\\' { 2 } else { 1 };
                }
                blank(&mut out, i + 1, j);
                i = j + 1;
            }
            // A character literal ('x', '\n', '\u{7f}', '"'), not a lifetime or a label ('a).
            b'\'' => {
                let end = if s.get(i + 1) == Some(&b'\\') {
                    s[i + 2..]
                        .iter()
                        .position(|&b| b == b'\'')
                        .map(|n| i + 2 + n)
                } else {
                    let len = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                    (s.get(i + 1 + len) == Some(&b'\'')).then_some(i + 1 + len)
                };
                match end {
                    Some(e) => {
                        blank(&mut out, i + 1, e);
                        i = e + 1;
                    }
                    None => i += 1,
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// The offset of the brace closing the one at `open`, in blanked code.
fn matching_brace(code: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, &b) in code.iter().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    code.len()
}

/// Where an item starting at `from` opens its body: the first `{` outside parentheses and
/// brackets, or `None` when a `;` ends it first (a declaration, `mod x;`, `[u8; 4]` aside).
fn body_open(code: &[u8], from: usize) -> Option<usize> {
    let mut nesting = 0i32;
    for (i, &b) in code.iter().enumerate().skip(from) {
        match b {
            b'(' | b'[' => nesting += 1,
            b')' | b']' => nesting -= 1,
            b'{' if nesting == 0 => return Some(i),
            b';' if nesting == 0 => return None,
            _ => {}
        }
    }
    None
}

/// The byte ranges of items marked `#[cfg(test)]`.
fn test_items(code: &[u8]) -> Vec<(usize, usize)> {
    let text = String::from_utf8_lossy(code);
    text.match_indices("#[cfg(test)]")
        .filter_map(|(at, m)| {
            let open = body_open(code, at + m.len())?;
            Some((at, matching_brace(code, open)))
        })
        .collect()
}

/// Offsets of the keyword `word` in blanked code (whole words only).
fn keyword(code: &[u8], word: &str) -> Vec<usize> {
    let w = word.as_bytes();
    (0..code.len().saturating_sub(w.len() - 1))
        .filter(|&i| {
            code[i..].starts_with(w)
                && (i == 0 || !is_ident(code[i - 1]))
                && code.get(i + w.len()).is_none_or(|&b| !is_ident(b))
        })
        .collect()
}

fn line_of(code: &[u8], at: usize) -> usize {
    code[..at].iter().filter(|&&b| b == b'\n').count() + 1
}

/// Every function with a body: (name, first line, length in lines).
fn functions(code: &[u8]) -> Vec<(String, usize, usize)> {
    let skip = test_items(code);
    keyword(code, "fn")
        .into_iter()
        .filter(|at| !skip.iter().any(|(a, b)| (a..=b).contains(&at)))
        .filter_map(|at| {
            let rest = &code[at + 2..];
            let gap = rest.iter().take_while(|b| b.is_ascii_whitespace()).count();
            let name: String = rest[gap..]
                .iter()
                .take_while(|&&b| is_ident(b))
                .map(|&b| b as char)
                .collect();
            // `fn(u8) -> bool` is a type, not a function.
            if gap == 0 || name.is_empty() {
                return None;
            }
            let open = body_open(code, at)?;
            let first = line_of(code, at);
            let last = line_of(code, matching_brace(code, open));
            Some((name, first, last - first + 1))
        })
        .collect()
}

fn relative(path: &Path) -> String {
    path.strip_prefix(ROOT).unwrap().display().to_string()
}

#[test]
fn the_lexer_blanks_comments_strings_and_characters_and_keeps_lifetimes() {
    let src = "fn a<'x>(s: &'x str) -> char { // {\n  let _ = \"}\\\"{\"; /* { /* } */ */\n  let _ = r#\"}\"#; let _ = br\"{\"; '}' }\nfn b() {}\n";
    let code = code_only(src);
    assert_eq!(code.len(), src.len());
    let text = String::from_utf8(code.clone()).unwrap();
    assert_eq!(text.matches('{').count(), 2, "{text}");
    assert_eq!(text.matches('}').count(), 2, "{text}");
    assert!(text.contains("<'x>") && text.contains("&'x str"), "{text}");
    assert_eq!(
        functions(&code),
        [("a".to_string(), 1, 3), ("b".to_string(), 4, 1)]
    );
    let with_tests = "fn kept() {\n}\n#[cfg(test)]\nmod tests {\n    fn skipped() {}\n}\ntype F = fn(u8) -> [u8; 2];\n";
    assert_eq!(
        functions(&code_only(with_tests)),
        [("kept".to_string(), 1, 2)]
    );
    assert_eq!(keyword(b"unsafe { } unsafe_code", "unsafe"), [0]);
}

#[test]
fn files_and_functions_in_src_stay_short_and_unsafe_stays_in_ffi_and_sys() {
    let src = Path::new(ROOT).join("src");
    let mut problems = Vec::new();
    for path in rust_files(&src) {
        let name = relative(&path);
        let text = std::fs::read_to_string(&path).unwrap();
        let lines = text.lines().count();
        if lines > MAX_FILE_LINES {
            problems.push(format!("{name}: {lines} lines (at most {MAX_FILE_LINES})"));
        }
        let code = code_only(&text);
        let platform = path.starts_with(src.join("ffi")) || path.starts_with(src.join("sys"));
        if !platform {
            for at in keyword(&code, "unsafe") {
                let line = line_of(&code, at);
                problems.push(format!(
                    "{name}:{line}: `unsafe` outside src/ffi/ and src/sys/"
                ));
            }
        }
        if path.file_name().is_some_and(|f| f == "tests.rs") {
            continue;
        }
        for (function, line, length) in functions(&code) {
            if length > MAX_FN_LINES {
                problems.push(format!(
                    "{name}:{line}: fn {function} is {length} lines (at most {MAX_FN_LINES})"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}
