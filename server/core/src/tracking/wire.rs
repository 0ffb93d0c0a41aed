//! Just enough of the protobuf wire format to rewrite an ONNX model's initializers without
//! decoding the rest: fields are split with their raw bytes, and everything not rewritten is
//! copied byte for byte (so no field this code does not know is lost).

use prost::encoding::{WireType, decode_key, decode_varint, encode_key, encode_varint};

/// One field of a message: its number, its bytes as they were (key included), and for
/// length-delimited fields the payload, for varints the value.
pub struct Field<'a> {
    pub number: u32,
    pub raw: &'a [u8],
    pub payload: Option<&'a [u8]>,
    pub varint: Option<u64>,
}

/// The fields of a message, in order; `None` if the bytes are not a well-formed message.
pub fn fields(mut buf: &[u8]) -> Option<Vec<Field<'_>>> {
    let all = buf;
    let mut found = Vec::new();
    while !buf.is_empty() {
        let start = all.len() - buf.len();
        let (number, wire) = decode_key(&mut buf).ok()?;
        let (mut payload, mut varint) = (None, None);
        match wire {
            WireType::Varint => varint = Some(decode_varint(&mut buf).ok()?),
            WireType::SixtyFourBit => buf = buf.get(8..)?,
            WireType::ThirtyTwoBit => buf = buf.get(4..)?,
            WireType::LengthDelimited => {
                let len = usize::try_from(decode_varint(&mut buf).ok()?).ok()?;
                payload = Some(buf.get(..len)?);
                buf = &buf[len..];
            }
            WireType::StartGroup | WireType::EndGroup => return None,
        }
        let end = all.len() - buf.len();
        found.push(Field {
            number,
            raw: &all[start..end],
            payload,
            varint,
        });
    }
    Some(found)
}

/// The key and length prefix of a length-delimited field of `len` bytes.
pub fn delimited_header(number: u32, len: u64) -> Vec<u8> {
    let mut header = Vec::with_capacity(16);
    encode_key(number, WireType::LengthDelimited, &mut header);
    encode_varint(len, &mut header);
    header
}

/// A string field's text (`None` if not UTF-8).
pub fn text(field: &Field<'_>) -> Option<String> {
    field
        .payload
        .and_then(|p| std::str::from_utf8(p).ok())
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_their_raw_bytes_and_malformed_messages_are_refused() {
        // field 1 varint 150, field 2 string "hi", field 3 fixed64.
        let mut msg = vec![0x08, 0x96, 0x01, 0x12, 0x02, b'h', b'i', 0x19];
        msg.extend_from_slice(&[0u8; 8]);
        let found = fields(&msg).unwrap();
        assert_eq!(found.len(), 3);
        assert_eq!((found[0].number, found[0].varint), (1, Some(150)));
        assert_eq!(text(&found[1]).as_deref(), Some("hi"));
        assert_eq!(found[1].raw, &[0x12, 0x02, b'h', b'i']);
        assert_eq!(found.iter().map(|f| f.raw.len()).sum::<usize>(), msg.len());
        assert!(fields(&[0x12, 0x05, b'x']).is_none(), "length past the end");
        assert!(fields(&[0x0b]).is_none(), "groups");
        assert!(fields(&[0x08]).is_none(), "truncated varint");
        assert_eq!(delimited_header(9, 300), vec![0x4a, 0xac, 0x02]);
    }
}
