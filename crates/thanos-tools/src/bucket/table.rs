//! Text tables as Thanos prints them: olekukonko/tablewriter v0.0.5 with Thanos' settings
//! (left and right borders only, `|` separators, headers centred, cells left-aligned, no
//! wrapping), and Go's `encoding/csv` for CSV and TSV.
//!
//! ```text
//! |    ULID    |   FROM   |
//! |------------|----------|
//! | 01HMX4T4V… | 2024-01… |
//! ```

/// A header row and the data rows, all of the header's width.
#[derive(Debug, Clone, Default)]
pub(super) struct Table {
    pub(super) header: Vec<String>,
    pub(super) rows: Vec<Vec<String>>,
}

/// Display width of a cell (one column per character; Go uses East Asian widths).
fn width(text: &str) -> usize {
    text.chars().count()
}

impl Table {
    /// Renders like tablewriter with `SetBorders({Left, Right})`, `SetCenterSeparator("|")`,
    /// `SetAutoWrapText(false)` and `SetAlignment(ALIGN_LEFT)`.
    pub(super) fn render_text(&self) -> String {
        let mut widths: Vec<usize> = self.header.iter().map(|h| width(h)).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(width(cell));
                }
            }
        }
        let mut out = String::new();
        out.push('|');
        for (h, w) in self.header.iter().zip(&widths) {
            // Centred, the extra space on the right (Go's `Pad`).
            let title = header_title(h);
            let gap = w.saturating_sub(width(&title));
            let left = gap / 2;
            out.push(' ');
            out.push_str(&" ".repeat(left));
            out.push_str(&title);
            out.push_str(&" ".repeat(gap - left));
            out.push_str(" |");
        }
        out.push('\n');
        out.push('|');
        for w in &widths {
            out.push_str(&"-".repeat(w + 2));
            out.push('|');
        }
        out.push('\n');
        for row in &self.rows {
            for (cell, w) in row.iter().zip(&widths) {
                out.push_str("| ");
                out.push_str(cell);
                out.push_str(&" ".repeat(w - width(cell)));
                out.push(' ');
            }
            out.push_str("|\n");
        }
        out
    }

    /// Renders with Go's `encoding/csv` writer using `separator`.
    pub(super) fn render_separated(&self, separator: char) -> String {
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            for (i, field) in row.iter().enumerate() {
                if i > 0 {
                    out.push(separator);
                }
                write_csv_field(&mut out, field, separator);
            }
            out.push('\n');
        }
        out
    }
}

/// tablewriter's `Title`: `_` and most `.` become spaces, then upper case.
fn header_title(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let num_or_space = |c: char| c.is_ascii_digit() || c == ' ';
    let replaced: String = chars
        .iter()
        .enumerate()
        .map(|(i, &c)| match c {
            '_' => ' ',
            '.' if (i != 0 && !num_or_space(chars[i - 1]))
                || (i + 1 != chars.len() && !num_or_space(chars[i + 1])) =>
            {
                ' '
            }
            c => c,
        })
        .collect();
    let trimmed = replaced.trim();
    if trimmed.is_empty() && !name.is_empty() {
        return " ".to_string();
    }
    trimmed.to_uppercase()
}

/// Go's `csv.Writer.fieldNeedsQuotes` and quoting.
fn write_csv_field(out: &mut String, field: &str, separator: char) {
    let needs_quotes = !field.is_empty()
        && (field == "\\."
            || field.contains(separator)
            || field.contains(['"', '\r', '\n'])
            || field.starts_with(char::is_whitespace));
    if !needs_quotes {
        out.push_str(field);
        return;
    }
    out.push('"');
    for c in field.chars() {
        if c == '"' {
            out.push_str("\"\"");
        } else {
            out.push(c);
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Table {
        Table {
            header: vec!["ULID".into(), "#SERIES".into(), "LABELS".into()],
            rows: vec![
                vec!["A1".into(), "1,234".into(), "a=b,c=d".into()],
                vec!["B".into(), "7".into(), "".into()],
            ],
        }
    }

    #[test]
    fn renders_like_tablewriter() {
        let want = "\
| ULID | #SERIES | LABELS  |
|------|---------|---------|
| A1   | 1,234   | a=b,c=d |
| B    | 7       |         |
";
        assert_eq!(table().render_text(), want);
        let wide = Table { header: vec!["AB".into()], rows: vec![vec!["ABCDEFG".into()]] };
        assert_eq!(wide.render_text(), "|   AB    |\n|---------|\n| ABCDEFG |\n");
        let empty = Table { header: vec!["ULID".into()], rows: vec![] };
        assert_eq!(empty.render_text(), "| ULID |\n|------|\n");
    }

    #[test]
    fn renders_csv_and_tsv_like_go() {
        assert_eq!(table().render_separated(','), "ULID,#SERIES,LABELS\nA1,\"1,234\",\"a=b,c=d\"\nB,7,\n");
        assert_eq!(table().render_separated('\t'), "ULID\t#SERIES\tLABELS\nA1\t1,234\ta=b,c=d\nB\t7\t\n");
        let mut out = String::new();
        write_csv_field(&mut out, " x\"y", ',');
        assert_eq!(out, "\" x\"\"y\"");
    }
}
