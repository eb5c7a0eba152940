//! A minimal, dependency-free writer of ONNX `ModelProto` files: enough of onnx.proto3 to
//! express a feed-forward network over float tensors (graph inputs and outputs, float
//! initializers, nodes with int/float attributes, model metadata).
//!
//! Field numbers follow onnx.proto3 (ONNX 1.12+, IR version 8). Encoding is deterministic:
//! fields are written in a fixed order and nothing depends on time or hashing, so the same
//! model always gives the same bytes.

/// IR version written (ONNX 1.10+; every ONNX Runtime since 1.10 reads it).
pub const IR_VERSION: i64 = 8;
/// Default-domain opset imported (Gemm-13, Relu-14, Sigmoid-13, Sub/Div-14 are current there).
pub const OPSET_VERSION: i64 = 17;
pub const PRODUCER_NAME: &str = "chartcoder";

/// `TensorProto.DataType.FLOAT`.
const FLOAT: u64 = 1;
/// `AttributeProto.AttributeType`.
const ATTRIBUTE_FLOAT: u64 = 1;
const ATTRIBUTE_INT: u64 = 2;

/// One dimension of a graph input or output.
#[derive(Clone, Debug, PartialEq)]
pub enum Dim {
    Fixed(i64),
    /// A named dynamic dimension (`dim_param`), e.g. "batch".
    Symbolic(String),
}

/// A float tensor input or output of the graph (`ValueInfoProto`).
#[derive(Clone, Debug, PartialEq)]
pub struct ValueInfo {
    pub name: String,
    pub dims: Vec<Dim>,
}

/// A float constant (`TensorProto` with little-endian `raw_data`), row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub name: String,
    pub dims: Vec<i64>,
    pub data: Vec<f32>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum AttributeValue {
    Float(f32),
    Int(i64),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Attribute {
    pub name: String,
    pub value: AttributeValue,
}

/// One operator of the default domain (`NodeProto`).
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub name: String,
    pub op_type: String,
    pub inputs: Vec<String>,
    pub outputs: Vec<String>,
    pub attributes: Vec<Attribute>,
}

impl Node {
    pub fn new(name: &str, op_type: &str, inputs: &[&str], outputs: &[&str]) -> Node {
        Node {
            name: name.to_string(),
            op_type: op_type.to_string(),
            inputs: inputs.iter().map(|s| s.to_string()).collect(),
            outputs: outputs.iter().map(|s| s.to_string()).collect(),
            attributes: Vec::new(),
        }
    }

    pub fn with_int(mut self, name: &str, value: i64) -> Node {
        self.attributes.push(Attribute {
            name: name.to_string(),
            value: AttributeValue::Int(value),
        });
        self
    }

    pub fn with_float(mut self, name: &str, value: f32) -> Node {
        self.attributes.push(Attribute {
            name: name.to_string(),
            value: AttributeValue::Float(value),
        });
        self
    }
}

/// `GraphProto`: nodes in topological order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Graph {
    pub name: String,
    pub doc_string: String,
    pub nodes: Vec<Node>,
    pub initializers: Vec<Tensor>,
    pub inputs: Vec<ValueInfo>,
    pub outputs: Vec<ValueInfo>,
}

/// `ModelProto` with one default-domain opset import.
#[derive(Clone, Debug, PartialEq)]
pub struct Model {
    pub ir_version: i64,
    pub opset_version: i64,
    pub producer_name: String,
    pub producer_version: String,
    pub doc_string: String,
    pub graph: Graph,
    /// `metadata_props`, written in this order; keys should be distinct.
    pub metadata: Vec<(String, String)>,
}

impl Model {
    /// A model with the crate's IR version, opset and producer.
    pub fn new(graph: Graph) -> Model {
        Model {
            ir_version: IR_VERSION,
            opset_version: OPSET_VERSION,
            producer_name: PRODUCER_NAME.to_string(),
            producer_version: env!("CARGO_PKG_VERSION").to_string(),
            doc_string: String::new(),
            graph,
            metadata: Vec::new(),
        }
    }

    /// The serialized `ModelProto`.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::default();
        // ModelProto: ir_version = 1, producer_name = 2, producer_version = 3,
        // doc_string = 6, graph = 7, opset_import = 8, metadata_props = 14.
        w.int64(1, self.ir_version);
        w.string(2, &self.producer_name);
        w.string(3, &self.producer_version);
        if !self.doc_string.is_empty() {
            w.string(6, &self.doc_string);
        }
        w.message(7, |w| encode_graph(w, &self.graph));
        w.message(8, |w| {
            // OperatorSetIdProto: domain = 1 (empty: the default domain), version = 2.
            w.int64(2, self.opset_version);
        });
        for (key, value) in &self.metadata {
            // StringStringEntryProto: key = 1, value = 2.
            w.message(14, |w| {
                w.string(1, key);
                w.string(2, value);
            });
        }
        w.buf
    }
}

fn encode_graph(w: &mut Writer, graph: &Graph) {
    // GraphProto: node = 1, name = 2, initializer = 5, doc_string = 10, input = 11,
    // output = 12.
    for node in &graph.nodes {
        w.message(1, |w| encode_node(w, node));
    }
    w.string(2, &graph.name);
    for tensor in &graph.initializers {
        w.message(5, |w| encode_tensor(w, tensor));
    }
    if !graph.doc_string.is_empty() {
        w.string(10, &graph.doc_string);
    }
    for value in &graph.inputs {
        w.message(11, |w| encode_value_info(w, value));
    }
    for value in &graph.outputs {
        w.message(12, |w| encode_value_info(w, value));
    }
}

fn encode_node(w: &mut Writer, node: &Node) {
    // NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5.
    for input in &node.inputs {
        w.string(1, input);
    }
    for output in &node.outputs {
        w.string(2, output);
    }
    w.string(3, &node.name);
    w.string(4, &node.op_type);
    for attribute in &node.attributes {
        // AttributeProto: name = 1, f = 2, i = 3, type = 20.
        w.message(5, |w| {
            w.string(1, &attribute.name);
            match attribute.value {
                AttributeValue::Float(f) => {
                    w.float(2, f);
                    w.uint(20, ATTRIBUTE_FLOAT);
                }
                AttributeValue::Int(i) => {
                    w.int64(3, i);
                    w.uint(20, ATTRIBUTE_INT);
                }
            }
        });
    }
}

fn encode_tensor(w: &mut Writer, tensor: &Tensor) {
    // TensorProto: dims = 1 (packed int64), data_type = 2, name = 8, raw_data = 9.
    let mut dims = Writer::default();
    for &d in &tensor.dims {
        dims.varint(d as u64);
    }
    w.bytes(1, &dims.buf);
    w.uint(2, FLOAT);
    w.string(8, &tensor.name);
    let raw: Vec<u8> = tensor.data.iter().flat_map(|v| v.to_le_bytes()).collect();
    w.bytes(9, &raw);
}

fn encode_value_info(w: &mut Writer, value: &ValueInfo) {
    // ValueInfoProto: name = 1, type = 2. TypeProto: tensor_type = 1.
    // TypeProto.Tensor: elem_type = 1, shape = 2. TensorShapeProto: dim = 1.
    // Dimension: dim_value = 1, dim_param = 2.
    w.string(1, &value.name);
    w.message(2, |w| {
        w.message(1, |w| {
            w.uint(1, FLOAT);
            w.message(2, |w| {
                for dim in &value.dims {
                    w.message(1, |w| match dim {
                        Dim::Fixed(n) => w.int64(1, *n),
                        Dim::Symbolic(name) => w.string(2, name),
                    });
                }
            });
        });
    });
}

/// Protobuf wire format: varints, fixed32 and length-delimited fields.
#[derive(Default)]
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.buf.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        self.buf.push(v as u8);
    }

    fn key(&mut self, field: u32, wire_type: u8) {
        self.varint((u64::from(field) << 3) | u64::from(wire_type));
    }

    fn uint(&mut self, field: u32, v: u64) {
        self.key(field, 0);
        self.varint(v);
    }

    /// int64 fields: negative values as their 64-bit two's complement (ten bytes).
    fn int64(&mut self, field: u32, v: i64) {
        self.uint(field, v as u64);
    }

    fn float(&mut self, field: u32, v: f32) {
        self.key(field, 5);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }

    fn bytes(&mut self, field: u32, data: &[u8]) {
        self.key(field, 2);
        self.varint(data.len() as u64);
        self.buf.extend_from_slice(data);
    }

    fn string(&mut self, field: u32, s: &str) {
        self.bytes(field, s.as_bytes());
    }

    fn message(&mut self, field: u32, body: impl FnOnce(&mut Writer)) {
        let mut inner = Writer::default();
        body(&mut inner);
        self.bytes(field, &inner.buf);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One decoded field: varint, fixed32 or length-delimited.
    #[derive(Debug, Clone, PartialEq)]
    pub(crate) enum Field {
        Varint(u64),
        Fixed32(u32),
        Bytes(Vec<u8>),
    }

    /// A strict protobuf decoder for the wire types the writer emits (tests only).
    pub(crate) fn decode(mut bytes: &[u8]) -> Vec<(u32, Field)> {
        fn varint(bytes: &mut &[u8]) -> u64 {
            let mut v = 0u64;
            for shift in (0..64).step_by(7) {
                let (b, rest) = bytes.split_first().expect("truncated varint");
                *bytes = rest;
                v |= u64::from(b & 0x7f) << shift;
                if b & 0x80 == 0 {
                    return v;
                }
            }
            panic!("varint too long");
        }
        let mut out = Vec::new();
        while !bytes.is_empty() {
            let key = varint(&mut bytes);
            let field = (key >> 3) as u32;
            let value = match key & 7 {
                0 => Field::Varint(varint(&mut bytes)),
                5 => {
                    let (head, rest) = bytes.split_at(4);
                    bytes = rest;
                    Field::Fixed32(u32::from_le_bytes(head.try_into().unwrap()))
                }
                2 => {
                    let len = varint(&mut bytes) as usize;
                    let (head, rest) = bytes.split_at(len);
                    bytes = rest;
                    Field::Bytes(head.to_vec())
                }
                other => panic!("unexpected wire type {other}"),
            };
            out.push((field, value));
        }
        out
    }

    pub(crate) fn get(fields: &[(u32, Field)], number: u32) -> Vec<Field> {
        fields
            .iter()
            .filter(|(n, _)| *n == number)
            .map(|(_, f)| f.clone())
            .collect()
    }

    pub(crate) fn bytes(field: &Field) -> &[u8] {
        match field {
            Field::Bytes(b) => b,
            other => panic!("expected bytes, got {other:?}"),
        }
    }

    fn text(field: &Field) -> String {
        String::from_utf8(bytes(field).to_vec()).unwrap()
    }

    fn tiny() -> Model {
        let graph = Graph {
            name: "g".into(),
            nodes: vec![Node::new("n", "Gemm", &["x", "w"], &["y"]).with_int("transB", 1)],
            initializers: vec![Tensor {
                name: "w".into(),
                dims: vec![1, 2],
                data: vec![1.5, -2.0],
            }],
            inputs: vec![ValueInfo {
                name: "x".into(),
                dims: vec![Dim::Symbolic("batch".into()), Dim::Fixed(2)],
            }],
            outputs: vec![ValueInfo {
                name: "y".into(),
                dims: vec![Dim::Symbolic("batch".into()), Dim::Fixed(1)],
            }],
            ..Default::default()
        };
        let mut model = Model::new(graph);
        model.metadata.push(("a".into(), "b".into()));
        model
    }

    #[test]
    fn varints_and_keys_follow_the_wire_format() {
        let mut w = Writer::default();
        w.varint(300);
        assert_eq!(w.buf, [0xac, 0x02]);
        let mut w = Writer::default();
        w.int64(1, -1);
        assert_eq!(
            w.buf.len(),
            11,
            "negative int64 is ten varint bytes after the key"
        );
        let mut w = Writer::default();
        w.message(14, |w| {
            w.string(1, "a");
            w.string(2, "b");
        });
        assert_eq!(w.buf, [0x72, 6, 0x0a, 1, b'a', 0x12, 1, b'b']);
    }

    #[test]
    fn model_fields_have_the_onnx_numbers() {
        let model = tiny().encode();
        let top = decode(&model);
        assert_eq!(get(&top, 1), [Field::Varint(IR_VERSION as u64)]);
        assert_eq!(text(&get(&top, 2)[0]), "chartcoder");
        let opset = decode(bytes(&get(&top, 8)[0]));
        assert_eq!(opset, [(2, Field::Varint(OPSET_VERSION as u64))]);
        let meta = decode(bytes(&get(&top, 14)[0]));
        assert_eq!(text(&get(&meta, 1)[0]), "a");
        assert_eq!(text(&get(&meta, 2)[0]), "b");

        let graph = decode(bytes(&get(&top, 7)[0]));
        let node = decode(bytes(&get(&graph, 1)[0]));
        assert_eq!(text(&get(&node, 4)[0]), "Gemm");
        assert_eq!(
            get(&node, 1).iter().map(text).collect::<Vec<_>>(),
            ["x", "w"]
        );
        let attribute = decode(bytes(&get(&node, 5)[0]));
        assert_eq!(text(&get(&attribute, 1)[0]), "transB");
        assert_eq!(get(&attribute, 3), [Field::Varint(1)]);
        assert_eq!(get(&attribute, 20), [Field::Varint(ATTRIBUTE_INT)]);

        let tensor = decode(bytes(&get(&graph, 5)[0]));
        assert_eq!(bytes(&get(&tensor, 1)[0]), [1, 2]);
        assert_eq!(get(&tensor, 2), [Field::Varint(FLOAT)]);
        let raw = bytes(&get(&tensor, 9)[0]).to_vec();
        assert_eq!(
            raw,
            [1.5f32.to_le_bytes(), (-2.0f32).to_le_bytes()].concat()
        );

        let input = decode(bytes(&get(&graph, 11)[0]));
        assert_eq!(text(&get(&input, 1)[0]), "x");
        let ty = decode(bytes(&get(&input, 2)[0]));
        let tensor_type = decode(bytes(&get(&ty, 1)[0]));
        assert_eq!(get(&tensor_type, 1), [Field::Varint(FLOAT)]);
        let shape = decode(bytes(&get(&tensor_type, 2)[0]));
        let dims: Vec<_> = get(&shape, 1).iter().map(|d| decode(bytes(d))).collect();
        assert_eq!(dims[0], [(2, Field::Bytes(b"batch".to_vec()))]);
        assert_eq!(dims[1], [(1, Field::Varint(2))]);
        assert_eq!(get(&graph, 12).len(), 1);
    }

    #[test]
    fn encoding_is_deterministic() {
        assert_eq!(tiny().encode(), tiny().encode());
        let mut other = tiny();
        other.graph.initializers[0].data[0] = 1.25;
        assert_ne!(tiny().encode(), other.encode());
    }
}
