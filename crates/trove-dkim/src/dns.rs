//! Live DNS lookup of keys missing from the store (`trove verify --dns`, `trove keys add
//! --dns`). The only network code in the crate, kept apart from verification, which never
//! touches the network. Uses mail-auth's hickory-based resolver (`txt_raw_lookup`) on a
//! private current-thread tokio runtime, so callers stay synchronous.

use std::net::SocketAddr;
use std::time::Duration;

use mail_auth::hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use mail_auth::MessageAuthenticator;

use crate::error::{Error, Result};
use crate::keys::{KeyRecord, LookupFailure};

/// Looks DKIM keys up in DNS and turns the answers into [`KeyRecord`]s with provenance
/// `"dns lookup via <server>"` and the time the caller passes in.
pub struct DnsKeyFetcher {
    resolver: MessageAuthenticator,
    runtime: tokio::runtime::Runtime,
    servers: String,
}

impl DnsKeyFetcher {
    /// A fetcher asking the given name servers (UDP then TCP), e.g. `127.0.0.1:5353`.
    /// `timeout` bounds each query attempt (two attempts are made).
    pub fn new(servers: &[SocketAddr], timeout: Duration) -> Result<DnsKeyFetcher> {
        let name_servers = servers
            .iter()
            .map(|addr| {
                let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                for c in &mut ns.connections {
                    c.port = addr.port();
                }
                ns
            })
            .collect();
        let config = ResolverConfig::from_name_servers(name_servers);
        let label = servers
            .iter()
            .map(SocketAddr::to_string)
            .collect::<Vec<_>>()
            .join(",");
        Self::build(config, timeout, label)
    }

    /// A fetcher using the system's resolver configuration (`/etc/resolv.conf`).
    pub fn system(timeout: Duration) -> Result<DnsKeyFetcher> {
        let (config, _) = mail_auth::hickory_resolver::system_conf::read_system_conf()
            .map_err(|e| Error::Dns(e.to_string()))?;
        Self::build(config, timeout, "system resolver".into())
    }

    fn build(config: ResolverConfig, timeout: Duration, servers: String) -> Result<DnsKeyFetcher> {
        let mut opts = ResolverOpts::default();
        opts.timeout = timeout;
        opts.attempts = 2;
        opts.cache_size = 0;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::Dns(e.to_string()))?;
        // The resolver must be built inside the runtime it will run on.
        let resolver = {
            let _guard = runtime.enter();
            MessageAuthenticator::new(config, opts).map_err(|e| Error::Dns(e.to_string()))?
        };
        Ok(DnsKeyFetcher {
            resolver,
            runtime,
            servers,
        })
    }

    /// Fetches `<selector>._domainkey.<domain>`. A TXT answer becomes a record (even a
    /// revoked or malformed one: that is what DNS says); no answer becomes a [`LookupFailure`].
    pub fn fetch(
        &self,
        selector: &str,
        domain: &str,
        now: u64,
    ) -> std::result::Result<KeyRecord, LookupFailure> {
        let name = format!(
            "{}._domainkey.{}.",
            selector.to_ascii_lowercase(),
            domain.trim_end_matches('.').to_ascii_lowercase()
        );
        let answer = self
            .runtime
            .block_on(self.resolver.txt_raw_lookup(name.as_str()));
        match answer {
            Ok(bytes) => Ok(KeyRecord::from_txt(
                selector,
                domain,
                &String::from_utf8_lossy(&bytes),
                &format!("dns lookup via {}", self.servers),
                now,
            )),
            Err(mail_auth::Error::Dns(mail_auth::DnsError::RecordNotFound(_))) => {
                Err(LookupFailure::NxDomain)
            }
            Err(e) if e.to_string().to_ascii_lowercase().contains("timed out") => {
                Err(LookupFailure::Timeout)
            }
            Err(_) => Err(LookupFailure::ServFail),
        }
    }
}
