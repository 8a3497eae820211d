//! Packing `hintspb` messages into the `google.protobuf.Any` fields of StoreAPI requests and
//! responses, under the type URLs Thanos uses (`type.googleapis.com/hintspb.<Message>`).

use prost::Message;
use prost_types::Any;

use crate::error::{Error, Result};
use crate::pb::hintspb;

/// The prefix of every type URL, as Go's `types.MarshalAny` writes it.
pub const TYPE_URL_PREFIX: &str = "type.googleapis.com/";

/// A hints message with its fully qualified protobuf name.
pub trait Hint: Message + Default {
    /// The fully qualified name, e.g. `hintspb.SeriesResponseHints`.
    const FULL_NAME: &'static str;
}

macro_rules! hint {
    ($($name:ident),* $(,)?) => {
        $(impl Hint for hintspb::$name {
            const FULL_NAME: &'static str = concat!("hintspb.", stringify!($name));
        })*
    };
}

hint!(
    SeriesRequestHints,
    SeriesResponseHints,
    LabelNamesRequestHints,
    LabelNamesResponseHints,
    LabelValuesRequestHints,
    LabelValuesResponseHints,
);

/// Packs a hints message into an `Any`.
pub fn to_any<H: Hint>(hint: &H) -> Any {
    Any { type_url: format!("{TYPE_URL_PREFIX}{}", H::FULL_NAME), value: hint.encode_to_vec() }
}

/// Unpacks an `Any` holding `H`; another type or undecodable bytes are `InvalidArgument`.
pub fn from_any<H: Hint>(any: &Any) -> Result<H> {
    let name = any.type_url.rsplit('/').next().unwrap_or_default();
    if name != H::FULL_NAME {
        return Err(Error::InvalidArgument(format!(
            "hints of type {:?}, want {}",
            any.type_url,
            H::FULL_NAME
        )));
    }
    H::decode(any.value.as_slice())
        .map_err(|e| Error::InvalidArgument(format!("undecodable {} hints: {e}", H::FULL_NAME)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_thanos_type_url() {
        let hints = hintspb::SeriesResponseHints {
            queried_blocks: vec![hintspb::Block { id: "01ARZ3NDEKTSV4RRFFQ69G5FAV".into() }],
            query_stats: None,
        };
        let any = to_any(&hints);
        assert_eq!(any.type_url, "type.googleapis.com/hintspb.SeriesResponseHints");
        assert_eq!(from_any::<hintspb::SeriesResponseHints>(&any).expect("same type"), hints);
        assert!(matches!(from_any::<hintspb::SeriesRequestHints>(&any), Err(Error::InvalidArgument(_))));
        let garbage = Any { type_url: any.type_url, value: vec![0xFF] };
        assert!(from_any::<hintspb::SeriesResponseHints>(&garbage).is_err());
    }
}
