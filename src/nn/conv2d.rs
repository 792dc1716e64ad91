//! 2-D convolution and max-pooling (spec part 2).
