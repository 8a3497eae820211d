//! The evaluator: walks the AST step by step over series read from a [`crate::Queryable`].
