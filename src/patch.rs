//! Update bodies tell "leave as is" (field absent) from "clear" (null) from "set"; serde needs
//! a little help to keep the first two apart.

use serde::{Deserialize, Deserializer};

/// Use with `#[serde(default, deserialize_with = "patch::nullable")]` on `Option<Option<T>>`.
pub fn nullable<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}
