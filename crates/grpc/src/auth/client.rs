//! The client side: an interceptor that sends an API key with every call, for leadledger's
//! own clients (`simulate`, `report`) and the tests.

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::interceptor::InterceptedService;
use tonic::service::Interceptor;
use tonic::transport::Channel;
use tonic::{Request, Status};

/// Adds `authorization: Bearer <key>` to every call (nothing when there is no key).
#[derive(Clone, Default)]
pub struct BearerKey(Option<MetadataValue<Ascii>>);

/// A channel whose calls carry a key.
pub type KeyedChannel = InterceptedService<Channel, BearerKey>;

impl BearerKey {
    /// The interceptor for `key`; an empty key sends nothing (`auth.mode = none`).
    pub fn new(key: &str) -> Result<Self, String> {
        let key = key.trim();
        if key.is_empty() {
            return Ok(Self(None));
        }
        let mut v: MetadataValue<Ascii> = format!("Bearer {key}")
            .parse()
            .map_err(|_| "the API key has characters a header cannot carry".to_string())?;
        v.set_sensitive(true);
        Ok(Self(Some(v)))
    }

    /// `channel` with this key on every call.
    pub fn on(self, channel: Channel) -> KeyedChannel {
        InterceptedService::new(channel, self)
    }
}

impl Interceptor for BearerKey {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(v) = &self.0 {
            request.metadata_mut().insert("authorization", v.clone());
        }
        Ok(request)
    }
}
