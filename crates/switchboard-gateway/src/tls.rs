//! `wss://` and `https://`: a rustls server configuration from PEM files (`[server.tls]`,
//! `[management.tls]`).

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;
use switchboard_core::config::TlsConfig;
use tokio_rustls::TlsAcceptor;

/// Why TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// The certificate file is missing or not PEM.
    #[error("{table}.certFile {path}: {message}")]
    Certificate {
        /// The configuration table: `server.tls` or `management.tls`.
        table: &'static str,
        /// File path.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The key file is missing or not PEM.
    #[error("{table}.keyFile {path}: {message}")]
    Key {
        /// The configuration table: `server.tls` or `management.tls`.
        table: &'static str,
        /// File path.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// rustls refused the pair.
    #[error("{0}: {1}")]
    Rustls(&'static str, rustls::Error),
}

/// Builds a TLS acceptor offering TLS 1.2 and 1.3 (what API Gateway supports,
/// docs/behaviour.md §1); `table` (`server.tls`, `management.tls`) names it in errors.
pub fn acceptor(table: &'static str, cfg: &TlsConfig) -> Result<TlsAcceptor, TlsError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cfg.cert_file)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| TlsError::Certificate {
            table,
            path: cfg.cert_file.clone(),
            message: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Certificate {
            table,
            path: cfg.cert_file.clone(),
            message: "no certificate found".into(),
        });
    }
    let key = PrivateKeyDer::from_pem_file(&cfg.key_file).map_err(|e| TlsError::Key {
        table,
        path: cfg.key_file.clone(),
        message: e.to_string(),
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .and_then(|builder| builder.with_no_client_auth().with_single_cert(certs, key))
        .map_err(|e| TlsError::Rustls(table, e))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}
