//! C text in the kernel's style: comments that cannot break out of themselves, wrapped so that no
//! line is longer than 100 columns (a tab counts as 8), one-line comments where they fit and the
//! kernel's `/*` ` * ` ` */` block otherwise.

/// The kernel's line-length limit (Documentation/process/coding-style.rst, checkpatch).
pub const MAX_COLUMNS: usize = 100;

/// Columns a tab advances to, as the kernel counts them.
pub const TAB_COLUMNS: usize = 8;

/// Width of `line` in columns, tabs advancing to the next multiple of 8.
pub fn columns(line: &str) -> usize {
    line.chars().fold(0, |col, c| {
        if c == '\t' {
            (col / TAB_COLUMNS + 1) * TAB_COLUMNS
        } else {
            col + 1
        }
    })
}

/// Text that cannot end or nest a C comment, nor form a trigraph (`-std=c11` enables them).
pub fn comment_safe(text: &str) -> String {
    text.replace("*/", "* /")
        .replace("/*", "/ *")
        .replace("??", "? ?")
}

/// The lines of a comment holding `paragraphs` (an empty paragraph is a blank comment line),
/// each line to be written after `indent` (tabs); every line fits in [`MAX_COLUMNS`].
pub fn comment(paragraphs: &[String], indent: &str) -> Vec<String> {
    let paragraphs: Vec<String> = paragraphs.iter().map(|p| comment_safe(p)).collect();
    if let [one] = paragraphs.as_slice() {
        let line = format!("/* {one} */");
        if columns(&format!("{indent}{line}")) <= MAX_COLUMNS {
            return vec![line];
        }
    }
    let width = MAX_COLUMNS.saturating_sub(columns(indent) + 3).max(20);
    let mut lines = vec!["/*".to_string()];
    for paragraph in &paragraphs {
        if paragraph.trim().is_empty() {
            lines.push(" *".to_string());
            continue;
        }
        lines.extend(
            wrap(paragraph, width)
                .into_iter()
                .map(|l| format!(" * {l}")),
        );
    }
    lines.push(" */".to_string());
    lines
}

/// `text` broken at spaces into lines of at most `width` characters; a word longer than that is
/// split (it cannot be kept whole within the limit).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word: Vec<char> = word.chars().collect();
        while word.len() > width {
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            lines.push(word.drain(..width).collect());
        }
        let word: String = word.into_iter().collect();
        if line.is_empty() {
            line = word;
        } else if line.chars().count() + 1 + word.chars().count() <= width {
            line.push(' ');
            line.push_str(&word);
        } else {
            lines.push(std::mem::replace(&mut line, word));
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tabs_count_to_the_next_multiple_of_eight() {
        assert_eq!(columns("\tab"), 10);
        assert_eq!(columns("abc\td"), 9);
        assert_eq!(columns(""), 0);
    }

    #[test]
    fn short_comments_stay_on_one_line() {
        assert_eq!(comment(&["a b".into()], "\t"), ["/* a b */"]);
    }

    #[test]
    fn long_comments_become_kernel_blocks_within_100_columns() {
        let long = "word ".repeat(40);
        let lines = comment(&[long.clone(), String::new(), "end */ here".into()], "\t");
        assert_eq!(lines.first().map(String::as_str), Some("/*"));
        assert_eq!(lines.last().map(String::as_str), Some(" */"));
        assert!(lines.contains(&" *".to_string()), "{lines:?}");
        assert!(lines.contains(&" * end * / here".to_string()), "{lines:?}");
        for line in &lines {
            assert!(columns(&format!("\t{line}")) <= MAX_COLUMNS, "{line}");
        }
        let words: usize = lines.iter().map(|l| l.matches("word").count()).sum();
        assert_eq!(words, 40);
    }

    #[test]
    fn an_overlong_word_is_split() {
        let word = "x".repeat(250);
        let lines = wrap(&word, 100);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines.concat(), word);
    }

    #[test]
    fn comment_safe_defuses_comment_and_trigraph_sequences() {
        assert_eq!(comment_safe("a */ b /* c ??/"), "a * / b / * c ? ?/");
    }
}
