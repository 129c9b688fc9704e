//! Replies, decoded from RESP2 or RESP3 by `redis-protocol`.

use redis_protocol::resp2::types::OwnedFrame as Frame2;
use redis_protocol::resp3::types::OwnedFrame as Frame3;

use crate::RedisError;

/// One reply from the server, the same shape for RESP2 and RESP3.
///
/// Error replies never appear here: they become [`RedisError::Server`].
///
/// # Examples
///
/// ```
/// use tulipa_redis::Value;
///
/// let v = Value::Bulk(b"42".to_vec());
/// assert_eq!(v.as_int(), Some(42));
/// assert_eq!(v.as_str(), Some("42"));
/// assert!(Value::Nil.is_nil());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// Null (RESP2 `$-1` / `*-1`, RESP3 `_`).
    Nil,
    /// An integer.
    Int(i64),
    /// A bulk, simple or verbatim string.
    Bulk(Vec<u8>),
    /// An array, set or push frame.
    Array(Vec<Value>),
    /// A RESP3 map, in the server's order.
    Map(Vec<(Value, Value)>),
    /// A RESP3 double.
    Double(f64),
    /// A RESP3 boolean.
    Bool(bool),
}

impl Value {
    /// True for [`Value::Nil`].
    ///
    /// # Examples
    ///
    /// ```
    /// assert!(!tulipa_redis::Value::Int(0).is_nil());
    /// ```
    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// The integer, parsing a bulk string of digits too.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tulipa_redis::Value::Int(7).as_int(), Some(7));
    /// ```
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(n) => Some(*n),
            Value::Bulk(b) => std::str::from_utf8(b).ok()?.parse().ok(),
            _ => None,
        }
    }

    /// The bytes of a string reply.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tulipa_redis::Value::Bulk(b"a".to_vec()).as_bytes(), Some(&b"a"[..]));
    /// ```
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::Bulk(b) => Some(b),
            _ => None,
        }
    }

    /// A string reply as UTF-8.
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(tulipa_redis::Value::Int(1).as_str(), None);
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_bytes()?).ok()
    }

    /// The elements of an array (or the flattened pairs of a map).
    ///
    /// # Examples
    ///
    /// ```
    /// use tulipa_redis::Value;
    /// let v = Value::Array(vec![Value::Int(1), Value::Nil]);
    /// assert_eq!(v.into_array().unwrap().len(), 2);
    /// ```
    pub fn into_array(self) -> Option<Vec<Value>> {
        match self {
            Value::Array(items) => Some(items),
            Value::Map(pairs) => Some(pairs.into_iter().flat_map(|(k, v)| [k, v]).collect()),
            _ => None,
        }
    }

    /// Converts a RESP2 frame; error frames become `Err`.
    pub(crate) fn from_resp2(frame: Frame2) -> Result<Value, RedisError> {
        Ok(match frame {
            Frame2::SimpleString(b) | Frame2::BulkString(b) => Value::Bulk(b),
            Frame2::Error(msg) => return Err(RedisError::Server(msg)),
            Frame2::Integer(n) => Value::Int(n),
            Frame2::Null => Value::Nil,
            Frame2::Array(items) => Value::Array(nested(items, Value::from_resp2)),
        })
    }

    /// Converts a RESP3 frame; error frames become `Err`.
    pub(crate) fn from_resp3(frame: Frame3) -> Result<Value, RedisError> {
        Ok(match frame {
            Frame3::BlobString { data, .. }
            | Frame3::SimpleString { data, .. }
            | Frame3::BigNumber { data, .. }
            | Frame3::VerbatimString { data, .. }
            | Frame3::ChunkedString(data) => Value::Bulk(data),
            Frame3::BlobError { data, .. } => {
                return Err(RedisError::Server(
                    String::from_utf8_lossy(&data).into_owned(),
                ))
            }
            Frame3::SimpleError { data, .. } => return Err(RedisError::Server(data)),
            Frame3::Boolean { data, .. } => Value::Bool(data),
            Frame3::Null => Value::Nil,
            Frame3::Number { data, .. } => Value::Int(data),
            Frame3::Double { data, .. } => Value::Double(data),
            Frame3::Array { data, .. } | Frame3::Push { data, .. } => {
                Value::Array(nested(data, Value::from_resp3))
            }
            Frame3::Set { data, .. } => {
                Value::Array(nested(data.into_iter().collect(), Value::from_resp3))
            }
            Frame3::Map { data, .. } => Value::Map(
                data.into_iter()
                    .map(|(k, v)| (inner3(k), inner3(v)))
                    .collect(),
            ),
            Frame3::Hello { .. } => Value::Nil,
        })
    }
}

/// Nested error frames (an `EXEC` or a script's table) stay values carrying
/// the message, so one failed element does not hide the others.
fn nested<F>(items: Vec<F>, convert: fn(F) -> Result<Value, RedisError>) -> Vec<Value> {
    items
        .into_iter()
        .map(|f| convert(f).unwrap_or_else(|e| Value::Bulk(e.to_string().into_bytes())))
        .collect()
}

fn inner3(frame: Frame3) -> Value {
    Value::from_resp3(frame).unwrap_or_else(|e| Value::Bulk(e.to_string().into_bytes()))
}
