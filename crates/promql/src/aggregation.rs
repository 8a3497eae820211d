//! Aggregation operators (`sum`, `avg`, `topk`, `quantile`, `count_values`, …) over one step's vector.
