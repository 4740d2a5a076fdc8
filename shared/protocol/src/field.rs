//! The AMQP 0-9-1 field-table model, as RabbitMQ encodes it.
//!
//! Headers are kept with their exact AMQP type so that what we send can be compared, type tag
//! for type tag, with what dripline-cpp sends (`i` for integers, `S` for strings, `F` for
//! tables). The tags are RabbitMQ's (which differ from the 0-9-1 spec for a few short types).

use std::collections::BTreeMap;

/// A field table: header name → typed value.
pub type FieldTable = BTreeMap<String, FieldValue>;

/// One typed AMQP field value.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldValue {
    /// `t` boolean.
    Bool(bool),
    /// `b` signed 8-bit.
    I8(i8),
    /// `B` unsigned 8-bit.
    U8(u8),
    /// `s` signed 16-bit (RabbitMQ's tag).
    I16(i16),
    /// `u` unsigned 16-bit.
    U16(u16),
    /// `I` signed 32-bit.
    I32(i32),
    /// `i` unsigned 32-bit: what dripline writes for integer headers.
    U32(u32),
    /// `l` signed 64-bit.
    I64(i64),
    /// `f` 32-bit float.
    F32(f32),
    /// `d` 64-bit float.
    F64(f64),
    /// `D` decimal: scale and unscaled value.
    Decimal(u8, u32),
    /// `S` long string: what dripline writes for string headers (bytes, usually UTF-8).
    LongString(Vec<u8>),
    /// `x` byte array.
    ByteArray(Vec<u8>),
    /// `A` array.
    Array(Vec<FieldValue>),
    /// `T` timestamp (seconds since the epoch).
    Timestamp(u64),
    /// `F` nested table.
    Table(FieldTable),
    /// `V` void.
    Void,
}

impl FieldValue {
    /// A long string (`S`) from text.
    pub fn string(text: impl Into<String>) -> Self {
        FieldValue::LongString(text.into().into_bytes())
    }

    /// The RabbitMQ type tag of this value (`i`, `S`, `F`, …).
    pub fn type_tag(&self) -> char {
        match self {
            FieldValue::Bool(_) => 't',
            FieldValue::I8(_) => 'b',
            FieldValue::U8(_) => 'B',
            FieldValue::I16(_) => 's',
            FieldValue::U16(_) => 'u',
            FieldValue::I32(_) => 'I',
            FieldValue::U32(_) => 'i',
            FieldValue::I64(_) => 'l',
            FieldValue::F32(_) => 'f',
            FieldValue::F64(_) => 'd',
            FieldValue::Decimal(..) => 'D',
            FieldValue::LongString(_) => 'S',
            FieldValue::ByteArray(_) => 'x',
            FieldValue::Array(_) => 'A',
            FieldValue::Timestamp(_) => 'T',
            FieldValue::Table(_) => 'F',
            FieldValue::Void => 'V',
        }
    }

    /// The value as an integer, for any integer kind (dl-cpp ≥ 2.10.4 accepts them all).
    pub fn as_integer(&self) -> Option<i64> {
        match *self {
            FieldValue::I8(v) => Some(i64::from(v)),
            FieldValue::U8(v) => Some(i64::from(v)),
            FieldValue::I16(v) => Some(i64::from(v)),
            FieldValue::U16(v) => Some(i64::from(v)),
            FieldValue::I32(v) => Some(i64::from(v)),
            FieldValue::U32(v) => Some(i64::from(v)),
            FieldValue::I64(v) => Some(v),
            _ => None,
        }
    }

    /// The value as text, for a long string or byte array holding UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            FieldValue::LongString(bytes) | FieldValue::ByteArray(bytes) => {
                std::str::from_utf8(bytes).ok()
            }
            _ => None,
        }
    }

    /// The nested table, if this is one.
    pub fn as_table(&self) -> Option<&FieldTable> {
        match self {
            FieldValue::Table(table) => Some(table),
            _ => None,
        }
    }
}
