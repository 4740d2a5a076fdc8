//! Conversion between the protocol's field-table model and lapin's AMQP types.

use dripline_protocol::{FieldTable, FieldValue, WireProperties};
use lapin::types::{AMQPValue, ByteArray, DecimalValue, FieldArray, LongString, ShortString};
use lapin::BasicProperties;
use std::collections::BTreeMap;

/// Build AMQP basic properties from the protocol's wire properties. Header names longer than
/// an AMQP short string allows are dropped (dripline's own names are all short).
pub fn to_amqp_properties(properties: &WireProperties) -> BasicProperties {
    let mut amqp = BasicProperties::default().with_headers(to_amqp_table(&properties.headers));
    if let Some(encoding) = short(&properties.content_encoding) {
        amqp = amqp.with_content_encoding(encoding);
    }
    if let Some(id) = short(&properties.correlation_id) {
        amqp = amqp.with_correlation_id(id);
    }
    if let Some(reply_to) = short(&properties.reply_to) {
        amqp = amqp.with_reply_to(reply_to);
    }
    if let Some(id) = short(&properties.message_id) {
        amqp = amqp.with_message_id(id);
    }
    amqp
}

/// Read the dripline-relevant AMQP properties of a delivery.
pub fn from_amqp_properties(properties: &BasicProperties) -> WireProperties {
    let text = |value: &Option<ShortString>| value.as_ref().map(|s| s.as_str().to_string());
    WireProperties {
        content_encoding: text(properties.content_encoding()),
        correlation_id: text(properties.correlation_id()),
        reply_to: text(properties.reply_to()),
        message_id: text(properties.message_id()),
        headers: properties
            .headers()
            .as_ref()
            .map(from_amqp_table)
            .unwrap_or_default(),
    }
}

fn short(value: &Option<String>) -> Option<ShortString> {
    value
        .as_ref()
        .and_then(|text| ShortString::try_new(text.as_str()).ok())
}

fn to_amqp_table(table: &FieldTable) -> lapin::types::FieldTable {
    let mut amqp = lapin::types::FieldTable::default();
    for (name, value) in table {
        if let Ok(name) = ShortString::try_new(name.as_str()) {
            amqp.insert(name, to_amqp_value(value));
        }
    }
    amqp
}

fn to_amqp_value(value: &FieldValue) -> AMQPValue {
    match value {
        FieldValue::Bool(v) => AMQPValue::Boolean(*v),
        FieldValue::I8(v) => AMQPValue::ShortShortInt(*v),
        FieldValue::U8(v) => AMQPValue::ShortShortUInt(*v),
        FieldValue::I16(v) => AMQPValue::ShortInt(*v),
        FieldValue::U16(v) => AMQPValue::ShortUInt(*v),
        FieldValue::I32(v) => AMQPValue::LongInt(*v),
        FieldValue::U32(v) => AMQPValue::LongUInt(*v),
        FieldValue::I64(v) => AMQPValue::LongLongInt(*v),
        FieldValue::F32(v) => AMQPValue::Float(*v),
        FieldValue::F64(v) => AMQPValue::Double(*v),
        FieldValue::Decimal(scale, value) => AMQPValue::DecimalValue(DecimalValue {
            scale: *scale,
            value: *value,
        }),
        FieldValue::LongString(bytes) => AMQPValue::LongString(LongString::from(bytes.clone())),
        FieldValue::ByteArray(bytes) => AMQPValue::ByteArray(ByteArray::from(bytes.clone())),
        FieldValue::Array(items) => AMQPValue::FieldArray(FieldArray::from(
            items.iter().map(to_amqp_value).collect::<Vec<_>>(),
        )),
        FieldValue::Timestamp(v) => AMQPValue::Timestamp(*v),
        FieldValue::Table(table) => AMQPValue::FieldTable(to_amqp_table(table)),
        FieldValue::Void => AMQPValue::Void,
    }
}

fn from_amqp_table(table: &lapin::types::FieldTable) -> FieldTable {
    table
        .inner()
        .iter()
        .map(|(name, value)| (name.as_str().to_string(), from_amqp_value(value)))
        .collect::<BTreeMap<_, _>>()
}

fn from_amqp_value(value: &AMQPValue) -> FieldValue {
    match value {
        AMQPValue::Boolean(v) => FieldValue::Bool(*v),
        AMQPValue::ShortShortInt(v) => FieldValue::I8(*v),
        AMQPValue::ShortShortUInt(v) => FieldValue::U8(*v),
        AMQPValue::ShortInt(v) => FieldValue::I16(*v),
        AMQPValue::ShortUInt(v) => FieldValue::U16(*v),
        AMQPValue::LongInt(v) => FieldValue::I32(*v),
        AMQPValue::LongUInt(v) => FieldValue::U32(*v),
        AMQPValue::LongLongInt(v) => FieldValue::I64(*v),
        AMQPValue::Float(v) => FieldValue::F32(*v),
        AMQPValue::Double(v) => FieldValue::F64(*v),
        AMQPValue::DecimalValue(d) => FieldValue::Decimal(d.scale, d.value),
        AMQPValue::ShortString(s) => FieldValue::LongString(s.as_str().as_bytes().to_vec()),
        AMQPValue::LongString(s) => FieldValue::LongString(s.as_bytes().to_vec()),
        AMQPValue::FieldArray(items) => {
            FieldValue::Array(items.as_slice().iter().map(from_amqp_value).collect())
        }
        AMQPValue::Timestamp(v) => FieldValue::Timestamp(*v),
        AMQPValue::FieldTable(table) => FieldValue::Table(from_amqp_table(table)),
        AMQPValue::ByteArray(bytes) => FieldValue::ByteArray(bytes.as_slice().to_vec()),
        AMQPValue::Void => FieldValue::Void,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_round_trip_with_their_types() {
        let mut inner = FieldTable::new();
        inner.insert("version".into(), FieldValue::string("1.0"));
        let mut headers = FieldTable::new();
        headers.insert("message_type".into(), FieldValue::U32(3));
        headers.insert("signed".into(), FieldValue::I32(-3));
        headers.insert("sender_info".into(), FieldValue::Table(inner));
        let properties = WireProperties {
            content_encoding: Some("application/json".into()),
            correlation_id: Some("c".into()),
            reply_to: Some(String::new()),
            message_id: Some("id/0/1".into()),
            headers,
        };
        let back = from_amqp_properties(&to_amqp_properties(&properties));
        assert_eq!(back, properties);
    }
}
