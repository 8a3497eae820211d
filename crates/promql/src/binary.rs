//! Binary operators: arithmetic, comparison and set operators with vector matching.
