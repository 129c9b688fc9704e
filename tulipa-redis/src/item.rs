//! How queue items become stream entries and back.

/// A value that can travel through a [`RedisQueue`](crate::RedisQueue).
///
/// `Vec<u8>` and `String` go as they are; with the `serde` feature any
/// `Serialize + DeserializeOwned` type goes as JSON through [`Json`].
///
/// # Examples
///
/// ```
/// use tulipa_redis::Item;
///
/// let bytes = "héllo".to_string().encode().unwrap();
/// assert_eq!(String::decode(bytes).unwrap(), "héllo");
/// assert!(String::decode(vec![0xff]).is_err());
/// ```
pub trait Item: Sized {
    /// The bytes stored in the stream entry.
    ///
    /// # Errors
    ///
    /// A message saying why the item cannot be encoded.
    fn encode(&self) -> Result<Vec<u8>, String>;
    /// Rebuilds the item.
    ///
    /// # Errors
    ///
    /// A message saying why the bytes are not a valid item.
    fn decode(bytes: Vec<u8>) -> Result<Self, String>;
}

impl Item for Vec<u8> {
    fn encode(&self) -> Result<Vec<u8>, String> {
        Ok(self.clone())
    }
    fn decode(bytes: Vec<u8>) -> Result<Self, String> {
        Ok(bytes)
    }
}

impl Item for String {
    fn encode(&self) -> Result<Vec<u8>, String> {
        Ok(self.as_bytes().to_vec())
    }
    fn decode(bytes: Vec<u8>) -> Result<Self, String> {
        String::from_utf8(bytes).map_err(|e| e.to_string())
    }
}

/// A `serde` value carried as JSON (feature `serde`).
///
/// # Examples
///
/// ```
/// use tulipa_redis::{Item, Json};
///
/// let j = Json(vec![1u32, 2, 3]);
/// assert_eq!(j.encode().unwrap(), b"[1,2,3]");
/// assert_eq!(Json::<Vec<u32>>::decode(b"[4]".to_vec()).unwrap().0, vec![4]);
/// assert!(Json::<u32>::decode(b"nope".to_vec()).is_err());
/// ```
#[cfg(feature = "serde")]
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Json<T>(pub T);

#[cfg(feature = "serde")]
impl<T: serde::Serialize + serde::de::DeserializeOwned> Item for Json<T> {
    fn encode(&self) -> Result<Vec<u8>, String> {
        serde_json::to_vec(&self.0).map_err(|e| e.to_string())
    }
    fn decode(bytes: Vec<u8>) -> Result<Self, String> {
        serde_json::from_slice(&bytes)
            .map(Json)
            .map_err(|e| e.to_string())
    }
}
