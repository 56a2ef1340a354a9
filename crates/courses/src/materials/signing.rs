//! Signed download URLs: a browser's `<video src>` or `<a download>` cannot send an
//! `authorization` header, so GetDownloadUrl hands out a URL that is its own credential for a
//! short while. The signature is an HMAC-SHA256 over the resource, its version, the caller, the
//! disposition and the expiry, under a key every replica shares (`CAMPUS_CONTENT_SIGNING_KEY`).
//! The URL names its key, so keys rotate: the first configured key signs, every configured key
//! verifies, and URLs signed with a key that is kept for verification work until they expire.

use std::{fmt, time::Duration};

use base64::{Engine as _, engine::general_purpose::URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac as _};
use sha2::Sha256;

use crate::config::MaterialsConfig;

/// Where download URLs are served.
pub(crate) const URL_PREFIX: &str = "/content/v1/";

/// Shortest secret accepted, in bytes.
const MIN_SECRET: usize = 32;

/// `CAMPUS_CONTENT_SIGNING_KEY` (or the file it is read from) is not a usable key list.
#[derive(Debug, thiserror::Error)]
pub enum SigningKeyError {
    /// An entry is not `id=secret`.
    #[error(
        "CAMPUS_CONTENT_SIGNING_KEY: entry {0} is not ID=SECRET (a short id, then a secret of at \
         least {MIN_SECRET} bytes)"
    )]
    Entry(usize),
    /// A secret is too short.
    #[error(
        "CAMPUS_CONTENT_SIGNING_KEY: the secret of key {0:?} is shorter than {MIN_SECRET} bytes"
    )]
    Short(String),
    /// The file cannot be read.
    #[error("CAMPUS_CONTENT_SIGNING_KEY_FILE: {path}: {source}")]
    File {
        /// The file.
        path: std::path::PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// One key: its id (in the URL) and secret.
#[derive(Clone)]
struct Key {
    id: String,
    secret: Vec<u8>,
}

/// The keys that sign (the first) and verify (all) download URLs.
#[derive(Clone)]
pub(crate) struct UrlSigner {
    keys: Vec<Key>,
}

impl fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ids: Vec<_> = self.keys.iter().map(|key| key.id.as_str()).collect();
        f.debug_struct("UrlSigner").field("key_ids", &ids).finish()
    }
}

/// What a URL grants: one version of one resource, to one user, until a time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Grant {
    pub(crate) resource_id: String,
    pub(crate) version: i64,
    pub(crate) user_id: String,
    pub(crate) attachment: bool,
    /// Unix seconds.
    pub(crate) expires_at: i64,
}

/// Why a URL is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Parameters missing or malformed.
    Malformed,
    /// Signed with a key this process does not hold.
    UnknownKey,
    /// The signature does not match the parameters.
    BadSignature,
    /// Past its expiry.
    Expired,
}

impl Grant {
    /// The fields the signature covers, after the key id; the first names the kind of URL, so
    /// a signature of another kind (the calendar feed's) never stands for a download's.
    fn signed_fields(&self) -> [String; 6] {
        [
            "content".to_owned(),
            self.resource_id.clone(),
            self.version.to_string(),
            self.user_id.clone(),
            u8::from(self.attachment).to_string(),
            self.expires_at.to_string(),
        ]
    }
}

/// The bytes a signature covers: the key id, then every field, each on its own line.
fn signed_text(key_id: &str, fields: &[String]) -> String {
    let mut text = key_id.to_owned();
    for field in fields {
        text.push('\n');
        text.push_str(field);
    }
    text
}

impl UrlSigner {
    /// Keys from `ID=SECRET[,ID=SECRET...]`; the first one signs.
    pub(crate) fn parse(value: &str) -> Result<Self, SigningKeyError> {
        let mut keys = Vec::new();
        for (index, entry) in value.split(',').map(str::trim).enumerate() {
            let Some((id, secret)) = entry.split_once('=') else {
                return Err(SigningKeyError::Entry(index + 1));
            };
            let (id, secret) = (id.trim(), secret.trim());
            let id_ok = !id.is_empty()
                && id.len() <= 32
                && id
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');
            if !id_ok {
                return Err(SigningKeyError::Entry(index + 1));
            }
            if secret.len() < MIN_SECRET {
                return Err(SigningKeyError::Short(id.to_owned()));
            }
            keys.push(Key {
                id: id.to_owned(),
                secret: secret.as_bytes().to_vec(),
            });
        }
        Ok(Self { keys })
    }

    /// The keys `config` names (`CAMPUS_CONTENT_SIGNING_KEY` or its file), else a key of this
    /// process alone.
    pub(crate) fn from_config(config: &MaterialsConfig) -> Result<Self, SigningKeyError> {
        let keys = match (&config.signing_key, &config.signing_key_file) {
            (Some(keys), _) => keys.clone(),
            (None, Some(path)) => {
                std::fs::read_to_string(path).map_err(|source| SigningKeyError::File {
                    path: path.clone(),
                    source,
                })?
            }
            (None, None) => {
                tracing::warn!(
                    "CAMPUS_CONTENT_SIGNING_KEY is not set: download and calendar URLs are \
                     signed with a key of this process and work on this replica only"
                );
                return Ok(Self::random());
            }
        };
        Self::parse(keys.trim())
    }

    /// A key of this process alone (when none is configured): URLs work on this replica only.
    pub(crate) fn random() -> Self {
        let secret: Vec<u8> = (0..MIN_SECRET).map(|_| fastrand::u8(..)).collect();
        Self {
            keys: vec![Key {
                id: "local".to_owned(),
                secret,
            }],
        }
    }

    fn mac(key: &Key, text: &str) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&key.secret).expect("HMAC takes keys of any length");
        mac.update(text.as_bytes());
        mac
    }

    /// The signing key's id and its signature of `fields`, for URLs of other kinds (the
    /// calendar feed) under the same keys; their first field keeps kinds apart.
    pub(crate) fn signature(&self, fields: &[String]) -> (&str, String) {
        let key = &self.keys[0];
        let signature = URL_SAFE_NO_PAD.encode(
            Self::mac(key, &signed_text(&key.id, fields))
                .finalize()
                .into_bytes(),
        );
        (&key.id, signature)
    }

    /// Checks `signature` of `fields` under the key `key_id`.
    pub(crate) fn check(
        &self,
        key_id: &str,
        fields: &[String],
        signature: &str,
    ) -> Result<(), Refusal> {
        let signature = URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| Refusal::Malformed)?;
        let key = self
            .keys
            .iter()
            .find(|key| key.id == key_id)
            .ok_or(Refusal::UnknownKey)?;
        Self::mac(key, &signed_text(key_id, fields))
            .verify_slice(&signature)
            .map_err(|_| Refusal::BadSignature)
    }

    /// The path and query of a URL granting `grant`, signed with the first key.
    pub(crate) fn sign(&self, grant: &Grant) -> String {
        let (key_id, signature) = self.signature(&grant.signed_fields());
        format!(
            "{URL_PREFIX}{}?v={}&u={}&d={}&e={}&k={}&s={signature}",
            grant.resource_id,
            grant.version,
            grant.user_id,
            if grant.attachment {
                "attachment"
            } else {
                "inline"
            },
            grant.expires_at,
            key_id
        )
    }

    /// What a URL's path and query grant, if its signature holds and it has not expired at
    /// `now` (unix seconds).
    pub(crate) fn verify(&self, path: &str, query: &str, now: i64) -> Result<Grant, Refusal> {
        let resource_id = path.strip_prefix(URL_PREFIX).ok_or(Refusal::Malformed)?;
        let [version, user, disposition, expiry, key, signature] =
            query_params(query, ["v", "u", "d", "e", "k", "s"])?;
        let attachment = match disposition {
            Some("attachment") => true,
            Some("inline") => false,
            _ => return Err(Refusal::Malformed),
        };
        let grant = Grant {
            resource_id: resource_id.to_owned(),
            version: parse(version)?,
            user_id: user.ok_or(Refusal::Malformed)?.to_owned(),
            attachment,
            expires_at: parse(expiry)?,
        };
        self.check(
            key.ok_or(Refusal::Malformed)?,
            &grant.signed_fields(),
            signature.ok_or(Refusal::Malformed)?,
        )?;
        if grant.expires_at <= now {
            return Err(Refusal::Expired);
        }
        Ok(grant)
    }
}

/// The values of the query parameters `names`, each at most once (Malformed if repeated);
/// other parameters are ignored.
pub(crate) fn query_params<'a, const N: usize>(
    query: &'a str,
    names: [&str; N],
) -> Result<[Option<&'a str>; N], Refusal> {
    let mut values = [None; N];
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        if let Some(index) = names.iter().position(|wanted| *wanted == name)
            && values[index].replace(value).is_some()
        {
            return Err(Refusal::Malformed);
        }
    }
    Ok(values)
}

/// A number parameter.
pub(crate) fn parse(value: Option<&str>) -> Result<i64, Refusal> {
    value
        .and_then(|value| value.parse().ok())
        .ok_or(Refusal::Malformed)
}

/// Unix seconds now.
pub(crate) fn unix_now() -> i64 {
    campus_store::now_micros() / 1_000_000
}

/// Unix seconds `ttl` from now.
pub(crate) fn expiry_after(ttl: Duration) -> i64 {
    unix_now().saturating_add(i64::try_from(ttl.as_secs()).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::{Grant, Refusal, UrlSigner};

    const OLD: &str = "old=0123456789abcdef0123456789abcdef";
    const NEW: &str = "new=fedcba9876543210fedcba9876543210";

    fn grant() -> Grant {
        Grant {
            resource_id: "r1".into(),
            version: 2,
            user_id: "u1".into(),
            attachment: false,
            expires_at: 1_000,
        }
    }

    fn split(url: &str) -> (&str, &str) {
        url.split_once('?').unwrap()
    }

    #[test]
    fn a_signed_url_verifies_until_it_expires() {
        let signer = UrlSigner::parse(OLD).unwrap();
        let url = signer.sign(&grant());
        let (path, query) = split(&url);
        assert_eq!(signer.verify(path, query, 999), Ok(grant()));
        assert_eq!(signer.verify(path, query, 1_000), Err(Refusal::Expired));
    }

    #[test]
    fn changing_any_parameter_breaks_the_signature() {
        let signer = UrlSigner::parse(OLD).unwrap();
        let url = signer.sign(&grant());
        for (from, to) in [
            ("v=2", "v=3"),
            ("u=u1", "u=u2"),
            ("e=1000", "e=2000"),
            ("d=inline", "d=attachment"),
        ] {
            let forged = url.replace(from, to);
            let (path, query) = split(&forged);
            assert_eq!(
                signer.verify(path, query, 0),
                Err(Refusal::BadSignature),
                "{from}"
            );
        }
        let other = url.replace("/r1?", "/r2?");
        let (path, query) = split(&other);
        assert_eq!(signer.verify(path, query, 0), Err(Refusal::BadSignature));
    }

    #[test]
    fn rotated_keys_verify_urls_of_the_previous_key() {
        let before = UrlSigner::parse(OLD).unwrap();
        let after = UrlSigner::parse(&format!("{NEW},{OLD}")).unwrap();
        let url = before.sign(&grant());
        let (path, query) = split(&url);
        assert_eq!(after.verify(path, query, 0), Ok(grant()));
        assert!(after.sign(&grant()).contains("k=new"));
        let retired = UrlSigner::parse(NEW).unwrap();
        assert_eq!(retired.verify(path, query, 0), Err(Refusal::UnknownKey));
    }

    #[test]
    fn key_lists_are_checked() {
        assert!(UrlSigner::parse("nokey").is_err());
        assert!(UrlSigner::parse("k=short").is_err());
        assert!(UrlSigner::parse("bad id=0123456789abcdef0123456789abcdef").is_err());
    }
}
