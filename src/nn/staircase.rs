//! Straight-through staircase and sum-of-sigmoids surrogate (spec part 4).
