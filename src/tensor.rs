//! Tensor vocabulary: the model input, NCHW f32, allocated once and refilled.
//! Imports: std only.

/// A `[1, 3, height, width]` float tensor, RGB planes, values in `[0, 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct InputTensor {
    /// Width in px.
    pub width: u32,
    /// Height in px.
    pub height: u32,
    /// `3 * height * width` values, plane after plane (R, G, B).
    pub data: Vec<f32>,
}

impl InputTensor {
    /// A zeroed tensor for a `width x height` model input.
    pub fn new(width: u32, height: u32) -> Self {
        Self { width, height, data: vec![0.0; 3 * width as usize * height as usize] }
    }

    /// The shape as ONNX wants it.
    pub fn shape(&self) -> [usize; 4] {
        [1, 3, self.height as usize, self.width as usize]
    }
}
