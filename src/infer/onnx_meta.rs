//! Reads what safecross needs from an ONNX file without any backend: graph input and
//! output names with their static shapes, and the `metadata_props` map (where
//! ultralytics-style exports keep `names`, `imgsz` and `stride`).
//!
//! Reading it ourselves keeps model checks identical for ONNX Runtime and tract
//! (tract's ort shim has no metadata API) and lets a wrong model fail at load time with
//! a message about shapes, before any backend is touched. The protobuf wire format is
//! small enough to walk by hand; only the fields below are read and everything else is
//! skipped by length, so big weight blobs cost nothing.

use std::collections::BTreeMap;

/// A graph input or output: its name and shape (`None` for a symbolic dimension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// Name in the graph.
    pub name: String,
    /// Dimensions; `None` where the model names a symbolic size.
    pub dims: Vec<Option<i64>>,
    /// ONNX element type (1 = float32).
    pub elem_type: i32,
}

/// What the ONNX file says about itself.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OnnxSummary {
    /// Graph inputs that are not initializers.
    pub inputs: Vec<TensorInfo>,
    /// Graph outputs.
    pub outputs: Vec<TensorInfo>,
    /// `metadata_props` key/value pairs.
    pub metadata: BTreeMap<String, String>,
    /// `producer_name` field.
    pub producer: String,
}

/// Why the bytes are not a readable ONNX model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an ONNX model: {0}")]
pub struct OnnxFormatError(pub String);

struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8]) -> Self {
        Self { buf, pos: 0 }
    }

    fn varint(&mut self) -> Result<u64, OnnxFormatError> {
        let mut value = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.buf.get(self.pos).ok_or_else(|| OnnxFormatError("truncated varint".into()))?;
            self.pos += 1;
            value |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(OnnxFormatError("varint longer than 10 bytes".into()))
    }

    fn next(&mut self) -> Result<Option<(u32, Field<'a>)>, OnnxFormatError> {
        if self.pos >= self.buf.len() {
            return Ok(None);
        }
        let key = self.varint()?;
        let number = (key >> 3) as u32;
        let field = match key & 7 {
            0 => Field::Varint(self.varint()?),
            1 => self.skip(8)?,
            2 => {
                let len = usize::try_from(self.varint()?).map_err(|_| OnnxFormatError("length overflow".into()))?;
                let end = self.pos.checked_add(len).filter(|&e| e <= self.buf.len());
                let end = end.ok_or_else(|| OnnxFormatError("field runs past the end of the file".into()))?;
                let bytes = &self.buf[self.pos..end];
                self.pos = end;
                Field::Bytes(bytes)
            }
            5 => self.skip(4)?,
            other => return Err(OnnxFormatError(format!("unsupported protobuf wire type {other}"))),
        };
        Ok(Some((number, field)))
    }

    fn skip(&mut self, n: usize) -> Result<Field<'a>, OnnxFormatError> {
        if self.pos + n > self.buf.len() {
            return Err(OnnxFormatError("truncated fixed-width field".into()));
        }
        self.pos += n;
        Ok(Field::Fixed)
    }
}

fn string(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Parses the summary out of a whole ONNX file's bytes.
///
/// # Errors
/// [`OnnxFormatError`] when the bytes are not a protobuf ModelProto with a graph.
pub fn parse(bytes: &[u8]) -> Result<OnnxSummary, OnnxFormatError> {
    let mut summary = OnnxSummary::default();
    let mut graph = None;
    let mut saw_ir_version = false;
    let mut r = Reader::new(bytes);
    while let Some((number, field)) = r.next()? {
        match (number, field) {
            (1, Field::Varint(_)) => saw_ir_version = true,
            (2, Field::Bytes(b)) => summary.producer = string(b),
            (7, Field::Bytes(b)) => graph = Some(b),
            (14, Field::Bytes(b)) => {
                let (mut key, mut value) = (String::new(), String::new());
                let mut entry = Reader::new(b);
                while let Some((n, f)) = entry.next()? {
                    match (n, f) {
                        (1, Field::Bytes(k)) => key = string(k),
                        (2, Field::Bytes(v)) => value = string(v),
                        _ => {}
                    }
                }
                summary.metadata.insert(key, value);
            }
            _ => {}
        }
    }
    let graph = graph.ok_or_else(|| OnnxFormatError("no graph in the file".into()))?;
    if !saw_ir_version {
        return Err(OnnxFormatError("no ir_version field".into()));
    }
    let mut initializers = Vec::new();
    let mut inputs = Vec::new();
    let mut g = Reader::new(graph);
    while let Some((number, field)) = g.next()? {
        match (number, field) {
            (5, Field::Bytes(b)) => initializers.push(tensor_proto_name(b)?),
            (11, Field::Bytes(b)) => inputs.push(value_info(b)?),
            (12, Field::Bytes(b)) => summary.outputs.push(value_info(b)?),
            _ => {}
        }
    }
    // Old exports list weights among the graph inputs; they are not inputs we feed.
    summary.inputs = inputs.into_iter().filter(|i| !initializers.contains(&i.name)).collect();
    Ok(summary)
}

fn tensor_proto_name(bytes: &[u8]) -> Result<String, OnnxFormatError> {
    let mut r = Reader::new(bytes);
    while let Some((number, field)) = r.next()? {
        if let (8, Field::Bytes(b)) = (number, field) {
            return Ok(string(b));
        }
    }
    Ok(String::new())
}

fn value_info(bytes: &[u8]) -> Result<TensorInfo, OnnxFormatError> {
    let mut info = TensorInfo { name: String::new(), dims: Vec::new(), elem_type: 0 };
    let mut r = Reader::new(bytes);
    while let Some((number, field)) = r.next()? {
        match (number, field) {
            (1, Field::Bytes(b)) => info.name = string(b),
            (2, Field::Bytes(type_proto)) => {
                let mut t = Reader::new(type_proto);
                while let Some((n, f)) = t.next()? {
                    if let (1, Field::Bytes(tensor_type)) = (n, f) {
                        read_tensor_type(tensor_type, &mut info)?;
                    }
                }
            }
            _ => {}
        }
    }
    Ok(info)
}

fn read_tensor_type(bytes: &[u8], info: &mut TensorInfo) -> Result<(), OnnxFormatError> {
    let mut r = Reader::new(bytes);
    while let Some((number, field)) = r.next()? {
        match (number, field) {
            (1, Field::Varint(v)) => info.elem_type = v as i32,
            (2, Field::Bytes(shape)) => {
                let mut s = Reader::new(shape);
                while let Some((n, f)) = s.next()? {
                    if let (1, Field::Bytes(dim)) = (n, f) {
                        let mut d = Reader::new(dim);
                        let mut value = None;
                        while let Some((dn, df)) = d.next()? {
                            if let (1, Field::Varint(v)) = (dn, df) {
                                value = Some(v as i64);
                            }
                        }
                        info.dims.push(value);
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

/// Parses the class names as ultralytics writes them (`{0: 'red', 1: 'green'}`), or a
/// plain list (`['red', 'green']`, `red,green`). Returns names in id order.
///
/// # Errors
/// What is malformed: an unclosed `{` or `[`, an entry without a name, an id that is not
/// a whole number, or ids that do not run 0, 1, 2, ... (class indices would not line up).
pub fn parse_names(text: &str) -> Result<Vec<String>, String> {
    let trimmed = text.trim();
    let unquote = |s: &str| s.trim().trim_matches(|c| c == '\'' || c == '"').to_string();
    let closed = |open: char, close: char| match trimmed.strip_prefix(open) {
        Some(rest) => rest.strip_suffix(close).map(Some).ok_or_else(|| format!("`{open}` is never closed")),
        None => Ok(None),
    };
    if let Some(body) = closed('{', '}')? {
        let mut pairs = Vec::new();
        for item in split_top_level(body) {
            let (id, name) = item.split_once(':').ok_or_else(|| format!("`{}` is not `id: name`", item.trim()))?;
            let id =
                unquote(id).parse::<usize>().map_err(|_| format!("class id `{}` is not a whole number", id.trim()))?;
            let name = unquote(name);
            if name.is_empty() {
                return Err(format!("class {id} has no name"));
            }
            pairs.push((id, name));
        }
        pairs.sort_by_key(|(id, _)| *id);
        if let Some((expect, (id, _))) = pairs.iter().enumerate().find(|(i, (id, _))| id != i) {
            return Err(format!("class ids must run 0, 1, 2, ... without gaps; expected {expect}, got {id}"));
        }
        if pairs.is_empty() {
            return Err("it lists no classes".into());
        }
        return Ok(pairs.into_iter().map(|(_, n)| n).collect());
    }
    let body = closed('[', ']')?.unwrap_or(trimmed);
    let names: Vec<String> = split_top_level(body).into_iter().map(unquote).collect();
    if let Some(i) = names.iter().position(String::is_empty) {
        return Err(format!("entry {i} has no name"));
    }
    if names.is_empty() {
        return Err("it lists no classes".into());
    }
    Ok(names)
}

/// Splits on commas that are not inside quotes (class names may contain commas).
fn split_top_level(body: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut quote = None;
    let mut start = 0;
    for (i, c) in body.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), _) if c == q => quote = None,
            (None, ',') => {
                parts.push(&body[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if !body[start..].trim().is_empty() {
        parts.push(&body[start..]);
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ultralytics_names() {
        let names = parse_names("{0: 'red', 1: 'yellow', 2: 'green'}").unwrap();
        assert_eq!(names, ["red", "yellow", "green"]);
        assert_eq!(parse_names("['a', 'b,c']").unwrap(), ["a", "b,c"]);
        assert_eq!(parse_names("red, green").unwrap(), ["red", "green"]);
        assert!(parse_names("{0: 'a', 2: 'b'}").unwrap_err().contains("expected 1, got 2"), "gaps in ids");
    }

    #[test]
    fn malformed_names_are_errors_that_say_what_is_wrong() {
        for (text, says) in [
            ("{0: 'ped_stop', 1: ", "never closed"),
            ("{0: 'ped_stop', 1: }", "class 1 has no name"),
            ("{0: 'a', x: 'b'}", "`x` is not a whole number"),
            ("{0: 'a', 'b'}", "is not `id: name`"),
            ("['a', 'b'", "never closed"),
            ("a,,b", "entry 1 has no name"),
            ("{}", "no classes"),
            ("", "no classes"),
        ] {
            let err = parse_names(text).unwrap_err();
            assert!(err.contains(says), "{text:?}: {err}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let _ = parse(&bytes);
        }

        #[test]
        fn never_panics_on_a_damaged_model(cut in 0usize..200, flip in 0usize..200, bit in 0u8..8) {
            // A valid header (ir_version, producer, a graph with one input) then damage.
            let mut model = vec![0x08, 0x07, 0x12, 0x02, b'p', b'y', 0x3a, 0x0c, 0x5a, 0x0a, 0x0a, 0x01, b'x', 0x12, 0x05, 0x0a, 0x03, 0x08, 0x01, 0x12, 0x00];
            if flip < model.len() {
                model[flip] ^= 1 << bit;
            }
            model.truncate(cut.min(model.len()));
            let _ = parse(&model);
        }
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse(b"").is_err());
        assert!(parse(b"\xff\xff\xff").is_err());
        assert!(parse(b"hello world, this is not protobuf").is_err());
    }
}
