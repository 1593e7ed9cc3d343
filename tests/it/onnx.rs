//! A tiny ONNX writer for test models: protobuf wire format by hand, so tests need no
//! Python and no model files in git. Only the fields the tests use are written.
#![allow(dead_code)]

fn varint(out: &mut Vec<u8>, mut v: u64) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

fn key(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, (u64::from(field) << 3) | u64::from(wire));
}

fn int_field(out: &mut Vec<u8>, field: u32, v: i64) {
    key(out, field, 0);
    varint(out, v as u64);
}

fn bytes_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    key(out, field, 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

const FLOAT: i64 = 1;
const INT64: i64 = 7;

/// A graph under construction.
#[derive(Default)]
pub struct Graph {
    nodes: Vec<Vec<u8>>,
    initializers: Vec<Vec<u8>>,
    inputs: Vec<Vec<u8>>,
    outputs: Vec<Vec<u8>>,
    metadata: Vec<(String, String)>,
}

fn value_info(name: &str, dims: &[i64]) -> Vec<u8> {
    value_info_of(name, dims, FLOAT)
}

/// ONNX element type of float16.
const FLOAT16: i64 = 10;

fn value_info_of(name: &str, dims: &[i64], elem_type: i64) -> Vec<u8> {
    let mut shape = Vec::new();
    for &d in dims {
        let mut dim = Vec::new();
        if d < 0 {
            // An open dimension, named as exporters name them (`dim_param`).
            bytes_field(&mut dim, 2, format!("dim{}", -d).as_bytes());
        } else {
            int_field(&mut dim, 1, d);
        }
        bytes_field(&mut shape, 1, &dim);
    }
    let mut tensor_type = Vec::new();
    int_field(&mut tensor_type, 1, elem_type);
    bytes_field(&mut tensor_type, 2, &shape);
    let mut type_proto = Vec::new();
    bytes_field(&mut type_proto, 1, &tensor_type);
    let mut vi = Vec::new();
    bytes_field(&mut vi, 1, name.as_bytes());
    bytes_field(&mut vi, 2, &type_proto);
    vi
}

impl Graph {
    pub fn input(mut self, name: &str, dims: &[i64]) -> Self {
        self.inputs.push(value_info(name, dims));
        self
    }

    pub fn output(mut self, name: &str, dims: &[i64]) -> Self {
        self.outputs.push(value_info(name, dims));
        self
    }

    /// A float16 input (a `half=True` export).
    pub fn input_f16(mut self, name: &str, dims: &[i64]) -> Self {
        self.inputs.push(value_info_of(name, dims, FLOAT16));
        self
    }

    /// A float16 output.
    pub fn output_f16(mut self, name: &str, dims: &[i64]) -> Self {
        self.outputs.push(value_info_of(name, dims, FLOAT16));
        self
    }

    pub fn float_init(mut self, name: &str, dims: &[i64], values: &[f32]) -> Self {
        let mut t = Vec::new();
        for &d in dims {
            int_field(&mut t, 1, d);
        }
        int_field(&mut t, 2, FLOAT);
        bytes_field(&mut t, 8, name.as_bytes());
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        bytes_field(&mut t, 9, &raw);
        self.initializers.push(t);
        self
    }

    pub fn int64_init(mut self, name: &str, values: &[i64]) -> Self {
        let mut t = Vec::new();
        int_field(&mut t, 1, values.len() as i64);
        int_field(&mut t, 2, INT64);
        bytes_field(&mut t, 8, name.as_bytes());
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        bytes_field(&mut t, 9, &raw);
        self.initializers.push(t);
        self
    }

    /// A node; `ints` are INTS attributes, `int` are INT attributes.
    pub fn node(
        mut self,
        op: &str,
        inputs: &[&str],
        outputs: &[&str],
        ints: &[(&str, &[i64])],
        int: &[(&str, i64)],
    ) -> Self {
        let mut n = Vec::new();
        for i in inputs {
            bytes_field(&mut n, 1, i.as_bytes());
        }
        for o in outputs {
            bytes_field(&mut n, 2, o.as_bytes());
        }
        bytes_field(&mut n, 3, format!("{op}_{}", self.nodes.len()).as_bytes());
        bytes_field(&mut n, 4, op.as_bytes());
        for (name, values) in ints {
            let mut a = Vec::new();
            bytes_field(&mut a, 1, name.as_bytes());
            for &v in *values {
                int_field(&mut a, 8, v);
            }
            int_field(&mut a, 20, 7);
            bytes_field(&mut n, 5, &a);
        }
        for (name, v) in int {
            let mut a = Vec::new();
            bytes_field(&mut a, 1, name.as_bytes());
            int_field(&mut a, 3, *v);
            int_field(&mut a, 20, 2);
            bytes_field(&mut n, 5, &a);
        }
        self.nodes.push(n);
        self
    }

    pub fn metadata(mut self, k: &str, v: &str) -> Self {
        self.metadata.push((k.into(), v.into()));
        self
    }

    /// Serialises a ModelProto (IR 7, opset 13).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut g = Vec::new();
        for n in &self.nodes {
            bytes_field(&mut g, 1, n);
        }
        bytes_field(&mut g, 2, b"test");
        for t in &self.initializers {
            bytes_field(&mut g, 5, t);
        }
        for i in &self.inputs {
            bytes_field(&mut g, 11, i);
        }
        for o in &self.outputs {
            bytes_field(&mut g, 12, o);
        }
        let mut m = Vec::new();
        int_field(&mut m, 1, 7);
        bytes_field(&mut m, 2, b"safecross-tests");
        let mut opset = Vec::new();
        bytes_field(&mut opset, 1, b"");
        int_field(&mut opset, 2, 13);
        bytes_field(&mut m, 8, &opset);
        bytes_field(&mut m, 7, &g);
        for (k, v) in &self.metadata {
            let mut e = Vec::new();
            bytes_field(&mut e, 1, k.as_bytes());
            bytes_field(&mut e, 2, v.as_bytes());
            bytes_field(&mut m, 14, &e);
        }
        m
    }
}

/// The body every constant detector shares: `output` = the constant `values` (shape
/// `[1, rows, cols]`) plus 0 x mean(`input`), so the input runs through real ops on either
/// engine. `batch` is the batch dimension the mean is reshaped to (-1 when it is open).
fn constant_body(g: Graph, input: &str, output: &str, rows: i64, cols: i64, values: &[f32], batch: i64) -> Graph {
    g.float_init("table", &[1, rows, cols], values)
        .float_init("zero", &[1], &[0.0])
        .int64_init("shape3", &[batch, 1, 1])
        .node("ReduceMean", &[input], &["mean"], &[("axes", &[1, 2, 3])], &[("keepdims", 1)])
        .node("Reshape", &["mean", "shape3"], &["mean3"], &[], &[])
        .node("Mul", &["mean3", "zero"], &["nothing"], &[], &[])
        .node("Add", &["nothing", "table"], &[output], &[], &[])
}

fn with_names(g: Graph, names: Option<&str>) -> Graph {
    match names {
        Some(n) => g.metadata("names", n),
        None => g,
    }
}

/// A detector-shaped model whose output is the constant `values` (shape `[1, rows, cols]`)
/// plus 0 x mean(input), so it runs the input through real ops on either engine.
pub fn constant_detector(size: i64, rows: i64, cols: i64, values: &[f32], names: Option<&str>) -> Vec<u8> {
    let g = Graph::default().input("images", &[1, 3, size, size]).output("output0", &[1, rows, cols]);
    with_names(constant_body(g, "images", "output0", rows, cols, values, 1), names).to_bytes()
}

/// [`constant_detector`] exported at half precision: float16 input and output, as
/// ultralytics writes with `half=True` (casts at both ends, float32 inside).
pub fn half_constant_detector(size: i64, rows: i64, cols: i64, values: &[f32], names: Option<&str>) -> Vec<u8> {
    let g = Graph::default().input_f16("images", &[1, 3, size, size]).output_f16("output0", &[1, rows, cols]).node(
        "Cast",
        &["images"],
        &["images32"],
        &[],
        &[("to", FLOAT)],
    );
    let g = constant_body(g, "images32", "output32", rows, cols, values, 1).node(
        "Cast",
        &["output32"],
        &["output0"],
        &[],
        &[("to", FLOAT16)],
    );
    with_names(g, names).to_bytes()
}

/// [`constant_detector`] as ultralytics exports it with `dynamic=True`: batch, height and
/// width of the input and the batch and anchors of the output left open, the input size
/// only in the `imgsz` metadata (`size`), or nowhere (`None`: another tool's export).
pub fn dynamic_constant_detector(size: Option<i64>, rows: i64, cols: i64, values: &[f32], names: &str) -> Vec<u8> {
    let g = Graph::default().input("images", &[-1, 3, -2, -3]).output("output0", &[-1, rows, -4]);
    let g = constant_body(g, "images", "output0", rows, cols, values, -1).metadata("names", names);
    match size {
        Some(size) => g.metadata("imgsz", &format!("[{size}, {size}]")).to_bytes(),
        None => g.to_bytes(),
    }
}
