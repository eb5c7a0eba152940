//! Code patterns of the guideline data: `I10` (that code), `N18.3-` (that code and every
//! code below it). Written as printed (with the dot); compared dot-less.

use crate::codeset::{normalize_code, CodeId, CodeSet};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodePattern {
    /// Dot-less, upper-case.
    code: String,
    prefix: bool,
}

impl CodePattern {
    pub fn parse(text: &str) -> CodePattern {
        let text = text.trim();
        let prefix = text.ends_with('-');
        CodePattern {
            code: normalize_code(text.trim_end_matches('-')),
            prefix,
        }
    }

    /// Does the pattern cover the code?
    pub fn matches(&self, codes: &CodeSet, id: CodeId) -> bool {
        let code = &codes.get(id).code;
        if self.prefix {
            code.starts_with(&self.code)
        } else {
            *code == self.code
        }
    }

    /// Does the code (or, for a prefix, the code at its root) exist in the code set?
    pub fn exists_in(&self, codes: &CodeSet) -> bool {
        codes.find(&self.code).is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::CodePattern;

    #[test]
    fn parses_dotted_and_prefix_forms() {
        let p = CodePattern::parse("N18.3-");
        assert_eq!(p.code, "N183");
        assert!(p.prefix);
        let p = CodePattern::parse(" i10 ");
        assert_eq!(p.code, "I10");
        assert!(!p.prefix);
    }
}
