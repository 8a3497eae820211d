//! Rules for object keys and listing prefixes shared by the backends.

use crate::error::{ObjstoreError, Result};

/// Separator of key components, as in S3 and Thanos.
pub(crate) const DIR_DELIM: char = '/';

/// File names starting with this are in-flight writes of the filesystem backend; they are never
/// listed or read, and keys may not use them.
pub(crate) const TEMP_FILE_PREFIX: &str = ".objstore-tmp-";

/// Checks that `key` names an object that every backend can store at a unique local path.
///
/// Rejected: empty keys, a leading `/`, empty components (`a//b`, trailing `/`), `.` and `..`
/// components (they would escape or alias the filesystem root), NUL bytes, and names reserved for
/// temporary files.
pub(crate) fn validate_key(key: &str) -> Result<()> {
    let invalid = |reason| Err(ObjstoreError::InvalidKey { key: key.to_owned(), reason });
    if key.is_empty() {
        return invalid("key is empty");
    }
    if key.contains('\0') {
        return invalid("key contains a NUL byte");
    }
    for component in key.split(DIR_DELIM) {
        match component {
            "" => return invalid("key has an empty path component (leading, trailing or double /)"),
            "." | ".." => return invalid("key has a '.' or '..' path component"),
            name if name.starts_with(TEMP_FILE_PREFIX) => {
                return invalid("key uses the reserved temporary-file prefix");
            }
            _ => {}
        }
    }
    Ok(())
}

/// Turns a listing prefix into a directory prefix: `""` stays `""`, `"a"` and `"a/"` become `"a/"`.
///
/// This is Thanos' `Iter` rule: the prefix always names a directory, never a key fragment.
pub(crate) fn dir_prefix(prefix: &str) -> Result<String> {
    let trimmed = prefix.trim_end_matches(DIR_DELIM);
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    validate_key(trimmed)?;
    Ok(format!("{trimmed}{DIR_DELIM}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_keys_are_accepted() {
        for key in ["a", "a/b/c", "with space/x=y", "ünïcødé/日本", "01H/chunks/000001", ".hidden"] {
            validate_key(key).unwrap_or_else(|error| panic!("{key}: {error}"));
        }
    }

    #[test]
    fn escaping_and_ambiguous_keys_are_rejected() {
        for key in ["", "/a", "a/", "a//b", "..", "a/../b", "./a", "a/.objstore-tmp-1", "a\0b"] {
            let error = validate_key(key).expect_err(key);
            assert!(matches!(error, ObjstoreError::InvalidKey { .. }), "{key}: {error}");
        }
    }

    #[test]
    fn prefixes_are_normalized_to_directories() {
        assert_eq!(dir_prefix("").expect("empty"), "");
        assert_eq!(dir_prefix("/").expect("slash"), "");
        assert_eq!(dir_prefix("a").expect("a"), "a/");
        assert_eq!(dir_prefix("a/b/").expect("a/b/"), "a/b/");
        assert!(dir_prefix("../x").is_err());
    }
}
