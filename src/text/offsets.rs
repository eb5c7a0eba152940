//! Conversion between Unicode scalar (char) offsets and byte offsets of one text.

/// Char <-> byte offset map for one text.
///
/// Every public offset in the text layer is a char offset; slicing a `str` needs byte offsets.
#[derive(Clone, Debug, Default)]
pub(crate) struct CharIndex {
    /// Byte offset of every char, followed by the text's byte length.
    /// `None` for ASCII text, where char and byte offsets coincide (the common case, kept
    /// allocation-free).
    char_starts: Option<Vec<usize>>,
    byte_len: usize,
}

impl CharIndex {
    pub(crate) fn new(text: &str) -> Self {
        let char_starts = (!text.is_ascii()).then(|| {
            let mut starts = Vec::with_capacity(text.len() + 1);
            starts.extend(text.char_indices().map(|(byte, _)| byte));
            starts.push(text.len());
            starts
        });
        Self {
            char_starts,
            byte_len: text.len(),
        }
    }

    /// Number of chars in the text.
    pub(crate) fn char_len(&self) -> usize {
        match &self.char_starts {
            Some(starts) => starts.len().saturating_sub(1),
            None => self.byte_len,
        }
    }

    /// Byte offset of char offset `char_offset`, clamped to the text length.
    pub(crate) fn byte_of(&self, char_offset: usize) -> usize {
        match &self.char_starts {
            Some(starts) => starts.get(char_offset).copied().unwrap_or(self.byte_len),
            None => char_offset.min(self.byte_len),
        }
    }

    /// Char offset of the char containing byte `byte` (rounds down inside a multi-byte char).
    pub(crate) fn char_at_or_before(&self, byte: usize) -> usize {
        match &self.char_starts {
            Some(starts) => starts
                .partition_point(|&start| start <= byte)
                .saturating_sub(1)
                .min(self.char_len()),
            None => byte.min(self.byte_len),
        }
    }

    /// Char offset of the first char boundary at or after byte `byte` (rounds up inside a
    /// multi-byte char); used for exclusive end offsets.
    pub(crate) fn char_at_or_after(&self, byte: usize) -> usize {
        match &self.char_starts {
            Some(starts) => starts
                .partition_point(|&start| start < byte)
                .min(self.char_len()),
            None => byte.min(self.byte_len),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_offsets_are_identity() {
        let index = CharIndex::new("abc");
        assert_eq!(index.char_len(), 3);
        assert_eq!(index.byte_of(2), 2);
        assert_eq!(index.byte_of(10), 3);
        assert_eq!(index.char_at_or_before(2), 2);
        assert_eq!(index.char_at_or_after(3), 3);
    }

    #[test]
    fn multibyte_offsets_round_trip() {
        // 'é' is 2 bytes, '😀' is 4 bytes.
        let text = "aé😀b";
        let index = CharIndex::new(text);
        assert_eq!(index.char_len(), 4);
        assert_eq!(
            (0..=4).map(|c| index.byte_of(c)).collect::<Vec<_>>(),
            vec![0, 1, 3, 7, 8]
        );
        assert_eq!(index.byte_of(99), text.len());
        for (char_offset, (byte, _)) in text.char_indices().enumerate() {
            assert_eq!(index.char_at_or_before(byte), char_offset);
            assert_eq!(index.char_at_or_after(byte), char_offset);
        }
        // Inside the emoji: round down to the emoji, round up past it.
        assert_eq!(index.char_at_or_before(4), 2);
        assert_eq!(index.char_at_or_after(4), 3);
        assert_eq!(index.char_at_or_after(8), 4);
        assert_eq!(index.char_at_or_after(100), 4);
    }

    #[test]
    fn empty_text() {
        let index = CharIndex::new("");
        assert_eq!(index.char_len(), 0);
        assert_eq!(index.byte_of(0), 0);
        assert_eq!(index.char_at_or_before(5), 0);
    }
}
