//! The checklist: one line per check (`[ok]`, `[FAIL]` with its cause and fix, `[skip]`,
//! `[info]`), every line scrubbed of the password and of the tokens the doctor obtained
//! before it is written. The counts decide the exit status.

use std::io::Write;

/// Where the checklist goes, and what must never appear in it.
pub struct Report<'a> {
    out: &'a mut dyn Write,
    secrets: Vec<String>,
    pub failed: usize,
    pub passed: usize,
}

impl<'a> Report<'a> {
    pub fn new(out: &'a mut dyn Write, password: &str) -> Report<'a> {
        let mut r = Report {
            out,
            secrets: Vec::new(),
            failed: 0,
            passed: 0,
        };
        r.add_secret(password);
        r
    }

    /// Something that must never be printed (the password, a token), in each form it may take.
    pub fn add_secret(&mut self, secret: &str) {
        if secret.len() < 3 {
            // Too short to scrub without mangling the text; a real password is longer, and
            // such a short one is never echoed by the doctor itself.
            return;
        }
        self.secrets.push(secret.to_string());
        let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        if form != secret {
            self.secrets.push(form);
        }
        self.secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }

    /// `text` with every secret replaced.
    pub fn scrub(&self, text: &str) -> String {
        let mut t = text.to_string();
        for s in &self.secrets {
            if t.contains(s.as_str()) {
                t = t.replace(s.as_str(), "[redacted]");
            }
        }
        t
    }

    pub fn line(&mut self, text: &str) {
        let t = self.scrub(text);
        let _ = writeln!(self.out, "{t}");
    }

    pub fn ok(&mut self, step: &str, text: &str) {
        self.passed += 1;
        self.line(&format!("[ok]   {step}: {text}"));
    }

    pub fn info(&mut self, step: &str, text: &str) {
        self.line(&format!("[info] {step}: {text}"));
    }

    pub fn skip(&mut self, step: &str, why: &str) {
        self.line(&format!("[skip] {step}: {why}"));
    }

    /// A failed check: what happened, its likely cause and the fix.
    pub fn fail(&mut self, step: &str, what: &str, advice: &Advice) {
        self.failed += 1;
        self.line(&format!("[FAIL] {step}: {what}"));
        self.line(&format!("       cause: {}", advice.cause));
        self.line(&format!("       fix:   {}", advice.fix));
    }
}

/// A failure's likely cause and its fix, in an administrator's words.
#[derive(Debug, Clone)]
pub struct Advice {
    pub cause: String,
    pub fix: String,
}

impl Advice {
    pub fn new(cause: impl Into<String>, fix: impl Into<String>) -> Advice {
        Advice {
            cause: cause.into(),
            fix: fix.into(),
        }
    }
}
